"""Exports from source applications in headless Chromium, against the local stack and its two demo applications.

``inventory`` uploads the hosts it is asked for; ``advisor`` always answers with an error. Both run as
processes of ``python -m local`` (see local/demo_applications.py) and answer through the internal API.
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# The demo applications poll their queues every few seconds, then the assembler zips the parts.
APPLICATIONS_TIMEOUT_MS = 90_000
ADVISOR_ERROR = "recommendations are not available from the demo advisor"
PHONE = {"width": 390, "height": 844}


def application_exports(local_stack, user_id: str) -> list[dict]:
    response = local_stack.api(user_id).get(f"{local_stack.url}/api/export/v1/exports", timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def source_row(page, application: str):
    return (
        page.get_by_role("table", name="Sources")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=application, exact=True))
    )


def test_frank_asks_inventory_and_advisor_and_watches_a_partial_export_he_can_download(
    signed_in, screenshot, local_stack
):
    # GIVEN frank on the new export page, choosing "From applications"
    page = signed_in("frank")
    page.get_by_role("link", name="New export").first.click()
    page.get_by_role("radio", name="From applications").check()
    expect(page).to_have_url(re.compile(r"/exports/new\?from=applications$"))
    expect(page.get_by_role("button", name="Start export")).to_be_hidden()

    # WHEN he ticks inventory's hosts, filtered to names with "web", and advisor's recommendations
    inventory = page.get_by_role("group", name="inventory")
    expect(inventory.get_by_label("name")).to_be_hidden()
    inventory.get_by_label("hosts").check()
    inventory.get_by_label("name").fill("web")
    advisor = page.get_by_role("group", name="advisor")
    advisor.get_by_label("recommendations").check()
    expect(advisor).to_contain_text("recommendations takes no filters")
    # ... names the export, picks JSON, and requests it
    page.get_by_label("Export name").fill("hosts and advice")
    page.get_by_role("radio", name="JSON").check()
    screenshot(page, "new-export-applications")
    page.get_by_role("button", name="Request export").click()

    # THEN he is on the export's page, where each source is listed with what was asked of it
    expect(page).to_have_url(re.compile(r"/exports/[0-9a-f-]{36}$"))
    export_id = page.url.rsplit("/", 1)[1]
    main = page.locator("main")
    expect(main).to_contain_text(re.compile(r"Name\s*hosts and advice"))
    expect(main).to_contain_text(re.compile(r"Format\s*JSON"))
    expect(source_row(page, "inventory")).to_contain_text("name = web")

    # AND, once both applications have answered, the export is partial: inventory uploaded, advisor failed
    expect(main.locator(".status-line .badge")).to_have_text("Partial", timeout=APPLICATIONS_TIMEOUT_MS)
    expect(main.locator(".status-line")).to_contain_text("1 of 2 sources failed")
    expect(source_row(page, "inventory")).to_contain_text("Uploaded")
    expect(source_row(page, "advisor")).to_contain_text("Failed")
    expect(source_row(page, "advisor")).to_contain_text(ADVISOR_ERROR)
    expect(page.locator("html")).to_have_attribute("data-polling", "off")
    screenshot(page, "export-detail-applications")

    # AND the ZIP downloads like any export's, with inventory's hosts (only the web ones) and the manifest
    with page.expect_download() as info:
        page.get_by_role("button", name="Download ZIP").click()
    with zipfile.ZipFile(info.value.path()) as archive:
        assert "inventory/hosts.json" in archive.namelist()
        assert not any(name.startswith("advisor/") for name in archive.namelist())
        hosts = json.loads(archive.read("inventory/hosts.json"))
        manifest = json.loads(archive.read("manifest.json"))
    assert hosts and all("web" in host["name"] for host in hosts)
    assert manifest["status"] == "partial"

    # AND the API says the same of it
    [listed] = application_exports(local_stack, "frank")
    assert (listed["id"], listed["status"], listed["format"]) == (export_id, "partial", "json")

    # AND on his list of exports it reads as the sources it came from, one part of two in its ZIP
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My exports").click()
    listed_card = page.locator(f'article[data-export-id="{export_id}"]')
    expect(listed_card).to_contain_text("“hosts and advice” from advisor/recommendations, inventory/hosts")
    expect(listed_card).to_contain_text("1 of 2 parts")

    # AND on a phone its page fits the screen's width, the sources table scrolling on its own
    page.set_viewport_size(PHONE)
    listed_card.get_by_role("link", name="Details").click()
    expect(source_row(page, "advisor")).to_contain_text(ADVISOR_ERROR)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_without_a_source_the_form_says_so_and_a_refusal_shows_at_its_input(signed_in, screenshot, local_stack):
    # GIVEN grace on the "From applications" form, reached by its address
    page = signed_in("grace")
    page.goto(f"{local_stack.url}/exports/new?from=applications")
    expect(page.get_by_role("radio", name="From applications")).to_be_checked()
    page.get_by_label("Export name").fill("nothing picked")

    # WHEN she requests it without ticking any source
    page.get_by_role("button", name="Request export").click()

    # THEN the sources say what is missing, the first resource is focused, and she is still on the form
    sources = page.get_by_role("group", name="Sources")
    expect(sources.get_by_role("alert")).to_have_text(
        "Pick at least one source: tick the resources the export should hold."
    )
    first = page.get_by_role("group", name="advisor").get_by_label("recommendations")
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/exports/new\?from=applications$"))
    expect(page.get_by_label("Export name")).to_have_value("nothing picked")
    screenshot(page, "new-export-applications-error")

    # WHEN she ticks inventory's hosts but asks for the file to expire on a day that has passed
    page.get_by_role("group", name="inventory").get_by_label("hosts").check()
    page.get_by_label("Expires on").fill("2020-01-01")
    page.get_by_role("button", name="Request export").click()

    # THEN the API's refusal is shown at the expiry date, which is focused; the sources' message is gone
    expires = page.get_by_label("Expires on")
    expect(expires).to_be_focused()
    expect(expires).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".param").filter(has=expires).get_by_role("alert")).to_have_text("expires_at is in the past")
    expect(sources.get_by_role("alert")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/exports/new\?from=applications$"))

    # AND nothing was requested
    assert application_exports(local_stack, "grace") == []
