"""The web UI in headless Chromium against the local stack: what a researcher does, click by click."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import threading
import zipfile
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import psycopg2
import pytest
import redis
from playwright.sync_api import expect

from bench.nef_events import publish_at_rate, subscribers

pytestmark = pytest.mark.browser

EXPORT_TIMEOUT_MS = 20_000
PHONE = {"width": 390, "height": 844}
NARROWEST_PHONE = {"width": 320, "height": 640}


def request_export(local_stack, user_id: str, query: dict, fields: list[str] | None = None) -> str:
    body = {"query": query, **({"fields": fields} if fields else {})}
    response = local_stack.api(user_id).post(f"{local_stack.url}/exports", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return str(response.json()["export_id"])


def card(page, export_id: str):
    return page.locator(f'article[data-export-id="{export_id}"]')


def test_a_new_user_is_asked_to_sign_in_and_then_told_how_to_start(signed_in, screenshot, browser, local_stack):
    # GIVEN someone who has never used the service opens the sign-in page
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    page.goto(f"{local_stack.url}/exports/new")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fexports%2Fnew$"))
    expect(page.get_by_label("User name")).to_be_focused()
    screenshot(page, "signin")
    context.close()

    # WHEN they sign in
    page = signed_in("newcomer")

    # THEN their list is empty and says what to do, and nothing is polling
    empty = page.locator("#my-exports .empty")
    expect(empty).to_contain_text("You have not requested any exports yet")
    expect(empty.get_by_role("link", name="New export")).to_be_visible()
    expect(page.locator("#shared-exports")).to_contain_text("Nothing has been shared with you")
    expect(page.locator("html")).to_have_attribute("data-polling", "off")
    screenshot(page, "exports-empty")


def test_alice_builds_a_query_picks_two_fields_watches_it_complete_and_downloads_the_zip(signed_in, screenshot):
    # GIVEN alice on the new export page
    page = signed_in("alice")
    page.get_by_role("link", name="New export").first.click()
    expect(page.get_by_role("heading", name="New export")).to_be_visible()

    # WHEN she builds "platform is INSTAGRAM and observed after 2025-06-01" ...
    page.get_by_label("Platform is: any of the platforms").fill("instagram")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Add condition").click()
    second = page.get_by_label("Condition 2", exact=True)
    expect(second).to_be_focused()
    second.select_option("DATETIME_AFTER")
    page.get_by_label("Observed after (UTC)").fill("2025-06-01T00:00:00")
    # ... picks exactly two fields ...
    page.get_by_role("button", name="None").click()
    page.get_by_label("Observation UUID").check()
    page.get_by_label("Platform observation.platform").check()
    screenshot(page, "new-export")
    page.get_by_role("button", name="Start export").click()

    # THEN her list shows the export's card, which goes to completed and stops polling
    expect(page).to_have_url(re.compile(r"/exports$"))
    cards = page.locator("#my-exports article")
    expect(cards).to_have_count(1)
    new_card = cards.first
    expect(new_card).to_contain_text("platform is INSTAGRAM and observed after 2025-06-01")
    expect(new_card).to_have_attribute("data-status", "completed", timeout=EXPORT_TIMEOUT_MS)
    expect(new_card.locator(".badge")).to_have_text("Completed")
    expect(new_card).to_contain_text(re.compile(r"Expires\s*in 6 days 23 hours"))
    expect(new_card).to_contain_text("Observation UUID, Platform")
    expect(page.locator("html")).to_have_attribute("data-polling", "off")
    screenshot(page, "exports")

    # AND the download is the ZIP with her two fields as the CSV's columns
    with page.expect_download() as info:
        new_card.get_by_role("button", name="Download ZIP").click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
        assert "all_data.csv" in names and "export_details.json" in names
        rows = list(csv.reader(io.StringIO(archive.read("all_data.csv").decode("utf-8"))))
    assert rows[0] == ["observation.uuid", "observation.platform"]
    assert len(rows) > 1 and {row[1] for row in rows[1:]} == {"INSTAGRAM"}


def test_alice_shares_with_bob_who_finds_it_under_shared_until_she_unshares(signed_in, screenshot, local_stack):
    # GIVEN a completed export of alice's
    export_id = request_export(local_stack, "alice", {"method": "PLATFORM_EQUALS", "args": ["TIKTOK"]})
    local_stack.wait_finished("alice", export_id)
    alice = signed_in("alice")

    # WHEN she shares it with bob from its card
    card(alice, export_id).get_by_role("button", name="Share").click()
    dialog = alice.get_by_role("dialog")
    dialog.get_by_label("Share with user id").fill("bob")
    dialog.get_by_role("button", name="Share", exact=True).click()
    expect(dialog.get_by_role("button", name="Stop sharing with bob")).to_be_visible()
    screenshot(alice, "share-dialog")
    dialog.get_by_role("button", name="Done").click()
    expect(card(alice, export_id)).to_contain_text(re.compile(r"Shared with\s*bob"))

    # THEN bob finds it under "Shared with me", shared by alice, and can download it
    bob = signed_in("bob")
    shared = bob.locator("#shared-exports").locator(f'article[data-export-id="{export_id}"]')
    expect(shared).to_contain_text(re.compile(r"Shared by\s*alice"))
    expect(shared.get_by_role("button", name="Download ZIP")).to_be_visible()
    expect(shared.get_by_role("button", name="Delete")).to_have_count(0)
    screenshot(bob, "exports-shared")

    # WHEN alice stops sharing it on the export's page
    card(alice, export_id).get_by_role("link", name=re.compile("^Details")).click()
    expect(alice.get_by_role("heading", name="Export", exact=True)).to_be_visible()
    expect(alice.locator("main")).to_contain_text("platform is TIKTOK")
    screenshot(alice, "export-detail")
    alice.get_by_role("button", name="Stop sharing with bob").click()
    expect(alice.locator(".shared-list")).to_contain_text("Not shared with anyone.")

    # THEN it is gone from bob's list, and its page is "not found" for him
    bob.reload()
    expect(bob.locator("#shared-exports")).to_contain_text("Nothing has been shared with you")
    bob.goto(f"{local_stack.url}/exports/{export_id}")
    expect(bob.get_by_role("heading", name="Not found")).to_be_visible()


def test_deleting_asks_first_then_removes_the_export(signed_in, local_stack):
    # GIVEN a completed export on alice's list
    export_id = request_export(local_stack, "alice", {"method": "PLATFORM_EQUALS", "args": ["YOUTUBE"]})
    local_stack.wait_finished("alice", export_id)
    page = signed_in("alice")

    # WHEN she clicks Delete and cancels, nothing happens
    card(page, export_id).get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this export?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(card(page, export_id)).to_have_count(1)

    # WHEN she confirms
    card(page, export_id).get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete export").click()

    # THEN the card is gone and so is the export
    expect(card(page, export_id)).to_have_count(0)
    response = local_stack.api("alice").get(f"{local_stack.url}/exports/{export_id}", timeout=10)
    assert response.status_code == 404


def test_a_bad_query_shows_the_apis_message_next_to_what_it_is_about(signed_in, screenshot):
    # GIVEN alice on the new export page, in JSON mode
    page = signed_in("alice")
    page.goto(page.url.replace("/exports", "/exports/new"))
    page.get_by_role("button", name="JSON").click()

    # WHEN she submits a date that is not a millisecond epoch
    page.get_by_label("Query as JSON").fill('{"method": "DATETIME_AFTER", "args": ["yesterday"]}')
    page.get_by_role("button", name="Start export").click()

    # THEN the API's message is under the JSON, which is marked invalid and focused
    json_box = page.get_by_label("Query as JSON")
    expect(page.locator("#main")).to_contain_text(
        "DATETIME_AFTER takes a millisecond epoch as a string of digits, got 'yesterday'"
    )
    expect(json_box).to_have_attribute("aria-invalid", "true")
    expect(json_box).to_be_focused()
    screenshot(page, "new-export-error")

    # WHEN, in the builder, the second condition is left empty
    page.get_by_label("Query as JSON").fill('{"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}')
    page.get_by_role("button", name="Builder").click()
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Condition 2", exact=True).select_option("OBSERVER_ID_CONTAINS")
    page.get_by_role("button", name="Start export").click()

    # THEN the message appears at that condition, not somewhere else
    second = page.locator(".condition").nth(1)
    expect(second.locator(".error")).to_have_text("query.args[1]: OBSERVER_ID_CONTAINS needs a non-empty list 'args'")
    expect(page.locator(".condition").first.locator(".error")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/exports/new$"))


def test_json_mode_round_trips_through_the_builder(signed_in):
    # GIVEN a nested query typed as JSON
    page = signed_in("alice")
    page.goto(page.url.replace("/exports", "/exports/new"))
    page.get_by_role("button", name="JSON").click()
    query = {
        "method": "OR",
        "args": [
            {"method": "NOT", "args": [{"method": "OBSERVER_ID_CONTAINS", "args": ["a1", "b2"]}]},
            {"method": "DATETIME_BEFORE", "args": ["1735689600123"]},
        ],
    }
    page.get_by_label("Query as JSON").fill(json.dumps(query))

    # WHEN she switches to the builder and back
    page.get_by_role("button", name="Builder").click()
    expect(page.locator(".chips li")).to_have_count(2)
    page.get_by_role("button", name="JSON").click()

    # THEN the JSON is the same query, to the millisecond
    assert json.loads(page.get_by_label("Query as JSON").input_value()) == query


def test_at_phone_width_the_list_fits_and_the_captures_page_answers(signed_in, screenshot, local_stack):
    # GIVEN alice on a phone-sized screen, with an export on her list
    export_id = request_export(local_stack, "alice", {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]})
    local_stack.wait_finished("alice", export_id)
    page = signed_in("alice", viewport=PHONE)

    # THEN nothing is wider than the screen
    expect(card(page, export_id)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "exports-phone")

    # AND on the narrowest phones the new-export form, field list included, fits too
    page.set_viewport_size(NARROWEST_PHONE)
    page.goto(page.url.replace("/exports", "/exports/new"))
    expect(page.get_by_label("Observation UUID")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROWEST_PHONE["width"]


def test_a_capture_is_started_with_a_duration_and_counts_down_to_a_csv(signed_in, screenshot, local_stack):
    # GIVEN carol on the captures page, while NEF events are being published to the stack's Redis
    page = signed_in("carol")
    page.get_by_role("link", name="Captures").click()
    expect(page.get_by_role("heading", name="Captures", exact=True)).to_be_visible()
    events = redis.Redis.from_url(local_stack.info["redis_url"])
    publisher = threading.Thread(
        target=publish_at_rate, args=(events.publish, subscribers(10, seed=31)), kwargs={"rate": 40, "seconds": 6}
    )
    publisher.start()

    # WHEN she starts a 3-second capture
    page.get_by_label("Duration in seconds").fill("3")
    page.get_by_role("button", name="Start capture").click()

    # THEN its card shows it running and counts the window down, second by second ...
    capture = page.locator("article").first
    expect(capture).to_contain_text("Capture of 3 s")
    expect(capture).to_have_attribute("data-status", "processing")
    countdown = capture.locator("[data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^in [0-3] s$"))
    first = countdown.inner_text()
    screenshot(page, "captures")
    expect(countdown).not_to_have_text(first, timeout=3_000)

    # ... then offers the CSV, which downloads with the messages of the window, masked
    expect(capture).to_have_attribute("data-status", "completed", timeout=EXPORT_TIMEOUT_MS)
    publisher.join()
    events.close()
    with page.expect_download() as info:
        capture.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["timestamp", "channel", "event", "user", "data"]
    assert len(rows) > 1 and all(row[1].startswith("broadcast:") for row in rows[1:])


def test_polling_backs_off_pauses_while_the_tab_is_hidden_and_stops_when_nothing_runs(signed_in):
    # GIVEN the page's poller, refreshing something that keeps running
    page = signed_in("dave")
    timeline = page.evaluate(
        """async () => {
          const { poller } = await import("/ui/poll.js");
          const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
          const state = () => document.documentElement.dataset.polling;
          const setHidden = (hidden) => {
            Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
          };
          const calls = [];
          let running = true;
          const start = performance.now();
          const polling = poller(async () => { calls.push(performance.now() - start); return running; });
          polling.watch(true);
          await sleep(2700);
          const beforeHiding = [...calls];
          setHidden(true);
          const hiddenState = state();
          await sleep(2500);
          const whileHidden = calls.length - beforeHiding.length;
          setHidden(false);
          await sleep(100);
          const shownAgain = calls.length - beforeHiding.length;
          running = false;
          await sleep(1200);
          const finalState = state();
          const finalCalls = calls.length;
          await sleep(1600);
          polling.dispose();
          return { beforeHiding, hiddenState, whileHidden, shownAgain, finalState, finalCalls, total: calls.length };
        }"""
    )
    # THEN it polled after ~1 s, then ~1.5 s later (backing off) ...
    first, second = timeline["beforeHiding"]
    assert 900 <= first <= 1400 and 1350 <= second - first <= 1900, timeline
    # ... paused while hidden, refreshed at once when shown ...
    assert timeline["hiddenState"] == "paused" and timeline["whileHidden"] == 0, timeline
    assert timeline["shownAgain"] == 1, timeline
    # ... and stopped for good once nothing ran
    assert timeline["finalState"] == "off" and timeline["total"] == timeline["finalCalls"], timeline


def test_a_running_poll_leaves_what_she_is_doing_alone(signed_in, local_stack):
    # GIVEN erin with a completed export and one a worker is part-way through
    done_id = request_export(local_stack, "erin", {"method": "PLATFORM_EQUALS", "args": ["TIKTOK"]})
    local_stack.wait_finished("erin", done_id)
    database = psycopg2.connect(local_stack.info["database_url"])
    database.autocommit = True
    with database.cursor() as cursor:
        cursor.execute(
            "INSERT INTO exports (export_id, creator_id, parameters, status, attempt, rows_written, rows_total,"
            " started_at, lease_owner, lease_expires_at)"
            " SELECT gen_random_uuid(), creator_id, parameters, 'processing', 1, 100, 1000, now(), 'a worker',"
            " now() + interval '1 hour' FROM exports WHERE export_id = %s RETURNING export_id",
            (done_id,),
        )
        running_id = str(cursor.fetchone()[0])

    def advance(rows: int) -> None:
        with database.cursor() as cursor:
            cursor.execute("UPDATE exports SET rows_written = %s WHERE export_id = %s", (rows, running_id))

    def polls(page, count: int) -> None:
        for _ in range(count):
            with page.expect_response(lambda r: r.request.method == "GET" and "/exports" in r.url, timeout=15_000):
                pass

    try:
        page = signed_in("erin")
        expect(page.locator("html")).to_have_attribute("data-polling", "on")

        # WHEN she has tabbed to the completed export's download button while the list polls
        button = card(page, done_id).get_by_role("button", name="Download ZIP")
        button.focus()
        button.evaluate("el => { el.dataset.before = 'poll'; }")
        advance(400)
        polls(page, 2)

        # THEN the running card moved on, and her focus is still on that same button
        expect(card(page, running_id)).to_contain_text("400 of 1,000 rows")
        expect(button).to_be_focused()
        assert button.get_attribute("data-before") == "poll"  # the same element, not a rebuilt one

        # WHEN, on the running export's page, she is half-way through typing a user id to share with
        page.goto(f"{local_stack.url}/exports/{running_id}")
        share_with = page.get_by_label("Share with user id")
        share_with.fill("bo")
        advance(700)
        polls(page, 2)

        # THEN the page shows the new progress and her typing is untouched, cursor still in the box
        expect(page.locator("main")).to_contain_text("700 of 1,000 rows")
        expect(share_with).to_have_value("bo")
        expect(share_with).to_be_focused()
    finally:
        with database.cursor() as cursor:
            cursor.execute("DELETE FROM exports WHERE export_id = %s", (running_id,))
        database.close()


def test_coming_back_to_the_tab_mid_refresh_does_not_start_a_second_poll_loop(signed_in):
    # GIVEN a poller whose refresh takes 600 ms, and a tab hidden and shown while one is in flight
    page = signed_in("dave")
    starts = page.evaluate(
        """async () => {
          const { poller } = await import("/ui/poll.js");
          const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
          const setHidden = (hidden) => {
            Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
          };
          const starts = [];
          const t0 = performance.now();
          const polling = poller(async () => { starts.push(performance.now() - t0); await sleep(600); return true; });
          polling.watch(true);
          await sleep(1200);
          setHidden(true);
          await sleep(100);
          setHidden(false);
          await sleep(5000);
          polling.dispose();
          return starts;
        }"""
    )
    # THEN after the immediate refresh on coming back, refreshes come one loop's interval apart
    later = [t for t in starts if t > 1250]
    assert len(later) >= 2, starts
    gaps = [b - a for a, b in pairwise(later)]
    assert min(gaps) >= 900, starts


def test_hosted_sign_in_uses_the_code_flow_with_pkce_and_keeps_the_token_out_of_cookies(browser, local_stack):
    # GIVEN the UI configured for a Hosted UI (as config.json is in AWS), with the identity provider faked
    idp = "https://auth.example.test"
    config = {
        "apiUrl": "",
        "auth": {
            "mode": "oauth",
            "authorizeUrl": f"{idp}/oauth2/authorize",
            "tokenUrl": f"{idp}/oauth2/token",
            "logoutUrl": f"{idp}/logout",
            "clientId": "web-client",
            "redirectUri": f"{local_stack.url}/signin",
            "scopes": ["openid", "email"],
        },
    }
    context = browser.new_context(bypass_csp=True)  # the local CSP allows only the stack's own origin
    page = context.new_page()
    seen: dict = {}

    def authorize(route):
        query = parse_qs(urlsplit(route.request.url).query)
        seen["authorize"] = {k: v[0] for k, v in query.items()}
        back = f"{local_stack.url}/signin?code=the-code&state={seen['authorize']['state']}"
        route.fulfill(status=302, headers={"Location": back})

    def token(route):
        seen["token"] = {k: v[0] for k, v in parse_qs(route.request.post_data).items()}
        route.fulfill(
            json={"access_token": local_stack.token("erin"), "token_type": "Bearer"},
            headers={"Access-Control-Allow-Origin": "*"},
        )

    page.route("**/config.json", lambda route: route.fulfill(json=config))
    page.route(f"{idp}/oauth2/authorize*", authorize)
    page.route(f"{idp}/oauth2/token", token)

    # WHEN erin opens her exports and continues to sign-in
    page.goto(f"{local_stack.url}/exports")
    page.get_by_role("button", name="Continue to sign-in").click()

    # THEN she lands on her exports, signed in through the code flow with an S256 challenge
    expect(page.get_by_role("heading", name="My exports")).to_be_visible()
    authorize_query, token_form = seen["authorize"], seen["token"]
    assert authorize_query["response_type"] == "code" and authorize_query["client_id"] == "web-client"
    assert authorize_query["redirect_uri"] == f"{local_stack.url}/signin"
    assert authorize_query["code_challenge_method"] == "S256"
    verifier = token_form["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert authorize_query["code_challenge"] == challenge and len(verifier) >= 43
    assert token_form["grant_type"] == "authorization_code" and token_form["code"] == "the-code"
    # AND the token is in this tab's session storage, never in a cookie
    assert context.cookies() == []
    assert page.evaluate("sessionStorage.getItem('exports.token')").count(".") == 2
    context.close()
