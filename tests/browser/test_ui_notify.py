""" "E-mail me when it's done" in headless Chromium: the local sign-in's optional address, the box on the
three forms that create an export, and the e-mail the local stack sends through moto's SES.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# The dataset export runs on the local worker; the e-mail follows its "Export Completed" event.
EXPORT_TIMEOUT_MS = 90_000
MAIL_TIMEOUT_SECONDS = 60
NO_ADDRESS = re.compile(r"^notify: your token has no email claim")


def observations(page):
    return page.locator('article[data-dataset="observations"]')


def notify_box(scope):
    return scope.get_by_label("E-mail me when it's done")


def notify_error(scope):
    return scope.locator(".notify .error")


def exports_of(local_stack, user_id: str) -> list[dict]:
    response = local_stack.api(user_id).get(f"{local_stack.url}/exports", timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_erin_signs_in_with_her_address_and_is_emailed_a_link_when_her_dataset_export_completes(
    signed_in, mailbox, local_stack, screenshot
):
    # GIVEN erin signed in on the local sign-in page with an e-mail address
    to = f"erin+{uuid.uuid4().hex[:8]}@example.org"
    page = signed_in("erin", email=to)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    dataset = observations(page)

    # WHEN she fills in the dates, ticks "E-mail me when it's done" (which says where it will write) and runs it
    dataset.get_by_label("start_date").fill("2000-01-01")
    dataset.get_by_label("end_date").fill("2099-12-31")
    expect(dataset.locator(".notify .hint")).to_contain_text(f"One e-mail to {to} when the export completes or fails")
    notify_box(dataset).check()
    screenshot(page, "datasets-notify")
    dataset.get_by_role("button", name="Run").click()

    # THEN the run is listed, and its page shows it completed
    link = dataset.locator(".runs li").first.get_by_role("link")
    expect(link).to_have_attribute("href", re.compile(r"^/exports/[0-9a-f-]{36}$"))
    export_id = link.get_attribute("href").rsplit("/", 1)[1]
    link.click()
    expect(page.get_by_role("heading", name="Export", exact=True)).to_be_visible()
    expect(page.locator("main .status-line .badge")).to_have_text("Completed", timeout=EXPORT_TIMEOUT_MS)

    # AND one e-mail reached her address, saying it is ready, with the link to that page
    (sent,) = mailbox.wait_for(to, timeout=MAIL_TIMEOUT_SECONDS)
    assert sent["subject"] == "Your dataset export of observations is ready"
    assert f"{local_stack.url}/exports/{export_id}" in sent["body"]
    assert "X-Amz-Signature" not in sent["body"]


def test_without_an_address_each_form_shows_the_apis_notify_message_at_the_box_and_creates_nothing(
    signed_in, local_stack, screenshot
):
    # GIVEN gwen signed in without an e-mail address, running a dataset with the box ticked
    page = signed_in("gwen")
    page.goto(page.url.replace("/exports", "/datasets"))
    dataset = observations(page)
    dataset.get_by_label("start_date").fill("2025-06-01")
    dataset.get_by_label("end_date").fill("2025-06-02")
    notify_box(dataset).check()
    dataset.get_by_role("button", name="Run").click()

    # THEN the API's message is at the box, which is marked invalid and focused, and no run is listed
    expect(notify_error(dataset)).to_have_text(NO_ADDRESS)
    expect(notify_box(dataset)).to_be_focused()
    expect(notify_box(dataset)).to_have_attribute("aria-invalid", "true")
    expect(dataset.locator(".runs li")).to_have_count(0)
    screenshot(page, "datasets-notify-error")

    # WHEN she unticks it and runs again, the run starts (the message was about the box only)
    notify_box(dataset).uncheck()
    dataset.get_by_role("button", name="Run").click()
    expect(dataset.locator(".runs li")).to_have_count(1)
    expect(notify_error(dataset)).to_be_empty()
    expect(notify_box(dataset)).not_to_have_attribute("aria-invalid", "true")
    [run] = exports_of(local_stack, "gwen")

    # WHEN she asks for a query export with the box ticked
    page.get_by_role("link", name="New export").first.click()
    expect(page.get_by_role("heading", name="New export")).to_be_focused()
    form = page.locator("main form")
    notify_box(form).check()
    form.get_by_role("button", name="Start export").click()

    # THEN the message is at the box there too, and she stays on the form
    expect(notify_error(form)).to_have_text(NO_ADDRESS)
    expect(notify_box(form)).to_be_focused()
    expect(page).to_have_url(re.compile(r"/exports/new$"))

    # WHEN she asks the applications for inventory's hosts with the box ticked
    page.get_by_role("radio", name="From applications").check()
    form = page.locator("main form")
    page.get_by_role("group", name="inventory").get_by_label("hosts").check()
    form.get_by_label("Export name").fill("hosts")
    notify_box(form).check()
    form.get_by_role("button", name="Request export").click()

    # THEN the message is at that box, and none of the three requests made an export
    expect(notify_error(form)).to_have_text(NO_ADDRESS)
    expect(notify_box(form)).to_be_focused()
    expect(notify_box(form)).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/exports/new\?from=applications$"))
    assert [e["export_id"] for e in exports_of(local_stack, "gwen")] == [run["export_id"]]


def test_the_box_leaves_the_query_form_while_it_repeats_on_a_schedule(signed_in):
    # GIVEN hana on the new export page, where the box is offered
    page = signed_in("hana")
    page.get_by_role("link", name="New export").first.click()
    expect(page.get_by_role("heading", name="New export")).to_be_focused()
    expect(notify_box(page)).to_be_visible()

    # WHEN she makes it a schedule, whose runs have no one to e-mail, the box is gone; back to one export, it returns
    page.get_by_label("Repeat on a schedule").check()
    expect(notify_box(page)).to_have_count(0)
    page.get_by_label("Repeat on a schedule").uncheck()
    expect(notify_box(page)).to_be_visible()
