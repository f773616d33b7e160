"""The Datasets and Schedules pages in headless Chromium: run a dataset, schedule it, repeat a query."""

from __future__ import annotations

import gzip
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

EXPORT_TIMEOUT_MS = 20_000
PHONE = {"width": 390, "height": 844}


def observations(page):
    return page.locator('article[data-dataset="observations"]')


def schedules_of(local_stack, user_id: str) -> list[dict]:
    response = local_stack.api(user_id).get(f"{local_stack.url}/schedules", timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_alice_runs_a_dataset_watches_the_export_complete_and_downloads_its_file(signed_in, screenshot):
    # GIVEN alice on the Datasets page, reached from the navigation
    page = signed_in("alice")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    expect(page.get_by_role("heading", name="Datasets", level=1)).to_be_focused()
    dataset = observations(page)

    # THEN the catalogue says what the dataset is, how it is written, that it deletes nothing, and its schedule
    expect(dataset.get_by_role("heading", name="Ad observations")).to_be_visible()
    expect(dataset).to_contain_text("who saw which ad")
    expect(dataset.locator("dl")).to_contain_text(re.compile(r"Format\s*csv\.gz"))
    expect(dataset.locator("dl")).to_contain_text(re.compile(r"Deletes\s*No"))
    expect(dataset.locator("dl")).to_contain_text("cron(0 2 * * ? *) (UTC) with start_date = {{ run_date - 1 day }}")
    # AND the form has one date input per parameter, both marked required
    start = dataset.get_by_label("start_date")
    expect(start).to_have_attribute("type", "date")
    expect(dataset.locator("label", has_text="start_date")).to_contain_text("(required)")
    expect(dataset.get_by_label("end_date")).to_have_attribute("aria-required", "true")

    # WHEN she picks a date range and runs it, with the keyboard
    start.fill("2000-01-01")
    dataset.get_by_label("end_date").fill("2099-12-31")
    screenshot(page, "datasets")
    dataset.get_by_role("button", name="Run").focus()
    page.keyboard.press("Enter")

    # THEN the new export appears under the dataset, linked, and goes to completed
    run = dataset.locator(".runs li").first
    expect(run.get_by_role("link")).to_contain_text("Ad observations (start_date 2000-01-01, end_date 2099-12-31)")
    expect(run).to_have_attribute("data-status", "completed", timeout=EXPORT_TIMEOUT_MS)
    expect(run.locator(".badge")).to_have_text("Completed")
    expect(page.locator("html")).to_have_attribute("data-polling", "off")

    # WHEN she follows the link to the export's page
    run.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Export", exact=True)).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text(re.compile(r"Dataset\s*observations"))
    expect(main).to_contain_text("start_date = 2000-01-01")
    screenshot(page, "dataset-export")

    # THEN it downloads like any export: a gzipped CSV with a header row
    with page.expect_download() as info:
        page.get_by_role("button", name="Download csv.gz").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv.gz")
    with open(download.path(), "rb") as handle:
        header = gzip.decompress(handle.read()).decode("utf-8").splitlines()[0]
    assert "," in header

    # AND it is on her list of exports, described as the dataset run
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My exports").click()
    expect(page.locator("#my-exports article").first).to_contain_text(
        "dataset observations (end_date 2099-12-31, start_date 2000-01-01)"
    )


def test_a_bad_parameter_shows_the_apis_message_at_that_parameter(signed_in, screenshot):
    # GIVEN bob on the Datasets page
    page = signed_in("bob")
    page.goto(page.url.replace("/exports", "/datasets"))
    dataset = observations(page)
    dataset.get_by_label("start_date").fill("2025-06-01")

    # WHEN he runs it without the last day
    dataset.get_by_role("button", name="Run").click()

    # THEN the API's message is under end_date, which is marked invalid and focused; start_date is untouched
    end = dataset.get_by_label("end_date")
    expect(end).to_be_focused()
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(dataset.locator(".param").filter(has=page.get_by_label("end_date")).locator(".error")).to_have_text(
        "parameter 'end_date' is required"
    )
    expect(dataset.get_by_label("start_date")).not_to_have_attribute("aria-invalid", "true")
    expect(dataset.locator(".runs li")).to_have_count(0)
    screenshot(page, "datasets-error")


def test_carol_schedules_a_dataset_sees_its_next_run_pauses_and_deletes_it(signed_in, screenshot, local_stack):
    # GIVEN carol chooses "Schedule…" on the observations dataset
    page = signed_in("carol")
    page.goto(page.url.replace("/exports", "/datasets"))
    observations(page).get_by_role("link", name="Schedule Ad observations").click()
    expect(page).to_have_url(re.compile(r"/schedules\?dataset=observations$"))
    form = page.locator("#new-schedule")
    expect(form.get_by_label("Schedule name")).to_be_focused()
    expect(page.locator("#schedule-list")).to_contain_text("You have no schedules")

    # THEN the form holds that dataset with the operator's relative parameters and timing
    expect(form.get_by_label("Dataset")).to_have_value("observations")
    expect(form.get_by_label("start_date")).to_have_value("{{ run_date - 1 day }}")
    expect(form.get_by_label("When")).to_have_value("cron(0 2 * * ? *)")

    # WHEN she asks for an hour that does not exist
    form.get_by_label("Schedule name").fill("nightly observations")
    form.get_by_label("end_date").fill("{{ run_date }}")
    form.get_by_label("When").fill("cron(30 25 * * ? *)")
    form.get_by_role("button", name="Create schedule").click()

    # THEN the API's message is at the expression
    when = form.get_by_label("When")
    expect(when).to_be_focused()
    expect(form.locator(".param").filter(has=page.get_by_label("When")).locator(".error")).to_contain_text(
        "cron hours: 25 is outside 0-23"
    )

    # WHEN she fixes it and picks a time zone
    when.fill("cron(30 3 * * ? *)")
    form.get_by_label("Time zone").fill("Europe/Paris")
    form.get_by_role("button", name="Create schedule").click()

    # THEN the schedule is listed, active, with its next run
    card = page.locator("#schedule-list article").first
    expect(card.get_by_role("heading", name="nightly observations")).to_be_focused()
    expect(card.locator(".badge")).to_have_text("Active")
    expect(card).to_contain_text("cron(30 3 * * ? *) in Europe/Paris")
    expect(card).to_contain_text(
        "Dataset Ad observations (start_date = {{ run_date - 1 day }}, end_date = {{ run_date }})"
    )
    expect(card.locator(".next-run dd")).to_contain_text(re.compile(r"\(in (\d+ hours?|\d+ min)"))
    expect(page.locator(".flash")).to_contain_text("Schedule “nightly observations” created. Next runs:")
    [stored] = schedules_of(local_stack, "carol")
    assert stored["target"] == {
        "dataset": "observations",
        "parameters": {"start_date": "{{ run_date - 1 day }}", "end_date": "{{ run_date }}"},
    }
    assert stored["timezone"] == "Europe/Paris" and stored["enabled"] is True
    screenshot(page, "schedules")

    # WHEN she pauses it with the keyboard
    card.get_by_role("button", name="Pause").focus()
    page.keyboard.press("Enter")

    # THEN it reads paused, offers Resume, and the API has it disabled
    expect(card.locator(".badge")).to_have_text("Paused")
    expect(card.locator(".next-run dd")).to_have_text("paused")
    expect(card.get_by_role("button", name="Resume")).to_be_focused()
    assert schedules_of(local_stack, "carol")[0]["enabled"] is False

    # WHEN she resumes it, then deletes it but cancels first
    card.get_by_role("button", name="Resume").click()
    expect(card.locator(".badge")).to_have_text("Active")
    card.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this schedule?")
    expect(dialog).to_contain_text("“nightly observations” will not run again")
    dialog.get_by_role("button", name="Cancel").click()
    expect(card).to_be_visible()
    card.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete schedule").click()

    # THEN it is gone, here and in the API
    expect(page.locator("#schedule-list article")).to_have_count(0)
    expect(page.locator("#schedule-list")).to_contain_text("You have no schedules")
    assert schedules_of(local_stack, "carol") == []


def test_the_repeat_option_makes_a_schedule_of_the_query_instead_of_an_export(signed_in, screenshot, local_stack):
    # GIVEN dave building "platform is INSTAGRAM" on the new export page
    page = signed_in("dave")
    page.get_by_role("link", name="New export").first.click()
    page.get_by_label("Platform is: any of the platforms").fill("instagram")
    page.keyboard.press("Enter")

    # WHEN he turns on "Repeat on a schedule" and says every 7 days
    page.get_by_label("Repeat on a schedule").check()
    expect(page.get_by_label("Schedule name")).to_be_focused()
    page.get_by_label("Schedule name").fill("weekly instagram")
    page.get_by_label("When").fill("rate(7 days)")
    screenshot(page, "new-export-repeat")
    page.get_by_role("button", name="Create schedule").click()

    # THEN he lands on his schedules, with the new one focused and active
    expect(page).to_have_url(re.compile(r"/schedules$"))
    card = page.locator("#schedule-list article").first
    expect(card.get_by_role("heading", name="weekly instagram")).to_be_focused()
    expect(card).to_contain_text("Export of platform is INSTAGRAM")
    expect(card).to_contain_text("rate(7 days) in UTC")
    expect(card.locator(".next-run dd")).to_contain_text(re.compile(r"\(in 6 days 23 hours|\(in 7 days"))
    expect(page.locator(".flash")).to_contain_text("Schedule “weekly instagram” created.")

    # AND the schedule's target is the query export, and no one-off export was made
    [stored] = schedules_of(local_stack, "dave")
    assert stored["target"]["query"] == {"method": "PLATFORM_EQUALS", "args": ["INSTAGRAM"]}
    assert stored["target"]["fields"]
    exports = local_stack.api("dave").get(f"{local_stack.url}/exports", timeout=10).json()
    assert exports["items"] == []


def test_the_datasets_and_schedules_pages_fit_a_phone(signed_in, screenshot, local_stack):
    # GIVEN erin on a phone, with a schedule
    response = local_stack.api("erin").post(
        f"{local_stack.url}/schedules",
        json={
            "name": "daily observations",
            "target": {
                "dataset": "observations",
                "parameters": {"start_date": "{{ run_date - 1 day }}", "end_date": "{{ run_date }}"},
            },
            "expression": "cron(0 2 * * ? *)",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    page = signed_in("erin", viewport=PHONE)

    # THEN both pages fit the screen's width
    page.goto(page.url.replace("/exports", "/datasets"))
    expect(observations(page).get_by_role("button", name="Run")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(page.url.replace("/datasets", "/schedules"))
    expect(page.locator("#schedule-list article")).to_have_count(1)
    expect(page.get_by_label("Time zone")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "schedules-phone")
