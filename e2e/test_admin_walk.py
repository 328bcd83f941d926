"""The admin walk of a new staff member, in a real browser against a live server.

Run by ``scripts/browser_e2e.sh``, which starts the app the way the README's first command
does (on a throwaway SQLite database), logs in as the demo staff member it prints, and
passes everything through ``E2E_*`` variables. Outside ``testpaths``: the normal test run
never collects it.

The walk: PUT the seed example through the API; the staff member logs in, finds the
message from the department in three clicks, reads the transcript, corrects the body; an
API re-send of the same item answers MESSAGE_LOCKED_BY_CORRECTION and the correction stays.
Then the message list at 1,400 by 900 (no sideways scrolling, a short filter column, the
purpose filter as one list), and the API docs (Swagger UI and ReDoc) with every request
to another host refused: they render from this server alone. Screenshots in artifacts/.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed_example.json"
ARTIFACTS = ROOT / "artifacts"
SCREENSHOT = ARTIFACTS / "transcript.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CORRECTED = "Corrected by staff: the customer asked to be called back after 5 pm."


@pytest.fixture(scope="module")
def live() -> dict[str, str]:
    names = ("BASE_URL", "API_CLIENT", "API_SECRET", "STAFF_USER", "STAFF_PASSWORD", "DEPARTMENT")
    missing = [f"E2E_{name}" for name in names if not os.environ.get(f"E2E_{name}")]
    if missing:
        pytest.fail(f"Run through scripts/browser_e2e.sh; missing {', '.join(missing)}.")
    return {name.lower(): os.environ[f"E2E_{name}"] for name in names}


def api(live: dict[str, str], method: str, path: str, body: Any = None) -> dict[str, Any]:
    token = base64.b64encode(f"{live['api_client']}:{live['api_secret']}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (the live server of this test, http://127.0.0.1)
        live["base_url"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def collection(live: dict[str, str], customer: str = "demo-customer") -> str:
    return f"/communications/department/{live['department']}/customer/{customer}/communication/historical"


@pytest.fixture(scope="module")
def page(live: dict[str, str]) -> Page:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def test_staff_find_read_and_correct_a_message_and_the_resend_keeps_it(live: dict[str, str], page: Page) -> None:
    seed = json.loads(SEED.read_text())
    imported = api(live, "PUT", collection(live), seed)
    assert imported["succesfullySubmittedSourceUuids"] == ["string"], imported
    # A few more messages of the same customer, so the transcript reads like a conversation.
    context = [
        {
            "sourceUuid": f"walk-{n}",
            "sentOn": f"2025-03-28T1{n}:00:00.000Z",
            "messageAttributes": {"body": body, "type": kind, "protocol": "TEXT", "purpose": "F"},
        }
        for n, (kind, body) in enumerate(
            [
                ("INCOMING", "Hi, is my car ready? <b>not bold</b>"),
                ("OUTGOING", "Yes, it is ready for pick-up until 6 pm."),
                ("NOTE", "Customer prefers a call after 5 pm."),
            ]
        )
    ]
    api(live, "PUT", collection(live), {"saveMessageRequestList": context})

    page.goto(live["base_url"] + "/admin/login/")
    page.fill("#id_username", live["staff_user"])
    page.fill("#id_password", live["staff_password"])
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()

    # Three clicks: departments, the department's conversations, the conversation's messages.
    page.get_by_role("link", name="Departments").first.click()
    page.get_by_role("link", name="1 conversation", exact=True).click()
    page.get_by_role("link", name="4 messages", exact=True).click()
    row = page.locator("#result_list tbody tr", has_text="DRAFT")
    expect(row).to_have_count(1)
    expect(page.locator("#result_list")).not_to_contain_text("South")

    # Open the message, then its transcript.
    row.locator("th a").click()
    expect(page.locator("#id_body")).to_have_value("string")
    page.get_by_role("link", name="Transcript", exact=True).click()
    expect(page.locator(".transcript article")).to_have_count(4)
    expect(page.locator(".transcript")).to_contain_text("<b>not bold</b>")
    expect(page.locator(".msg-note")).to_contain_text("Customer prefers a call")

    # Correct the body from the transcript's message link.
    page.locator("article.msg-draft").get_by_role("link", name="open").click()
    page.fill("#id_body", CORRECTED)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # The API re-send of the same item keeps the correction.
    resent = api(live, "PUT", collection(live), seed)
    warnings = [warning["warningCode"] for warning in resent["saveMessageResponse"][0]["warnings"]]
    assert "MESSAGE_LOCKED_BY_CORRECTION" in warnings, resent
    stored = api(live, "GET", collection(live) + "/string")
    assert stored["messageAttributes"]["body"] == CORRECTED

    page.goto(page.url.split("/admin/")[0] + "/admin/messages_app/conversation/")
    page.get_by_role("link", name="Transcript").first.click()
    expect(page.locator("article.msg-draft div.msg-body")).to_have_text(CORRECTED)
    expect(page.locator("article.msg-draft .badge-corrected")).to_be_visible()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


# A customer with a long identifier and messages with long values: the widest rows.
WIDE_CUSTOMER = "3f2b8a9c-61d4-4e0f-9b7a-0c5d2e8f1a64"
LONGEST_PURPOSE = "COMMUNICATION_PREFERENCE_CHANGE_NOTIFICATION"


def test_the_message_list_fits_1400_pixels_with_a_short_filter_column(live: dict[str, str], page: Page) -> None:
    """Logged in from the walk above."""
    wide = [
        {
            "sourceUuid": f"wide-{n}",
            "sentOn": f"2025-04-0{n + 1}T09:15:00.000Z",
            "messageAttributes": {
                "subject": "Re: " + "your vehicle's extended warranty and the service plan renewal " * 3,
                "body": "A long body " * 40,
                "type": kind,
                "protocol": "VOICE_CALL",
                "purpose": LONGEST_PURPOSE,
                "tags": ["TRASH"],
            },
        }
        for n, kind in enumerate(["DISCARDED_DRAFT", "INCOMING"])
    ]
    api(live, "PUT", collection(live, WIDE_CUSTOMER), {"saveMessageRequestList": wide})

    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live["base_url"] + "/admin/messages_app/message/")
    expect(page.locator("#site-name")).to_have_text("Historical communications")
    expect(page.locator("#result_list tbody tr")).to_have_count(6)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    results = page.locator("#changelist .results")
    widths = results.evaluate("element => [element.scrollWidth, element.clientWidth]")
    assert widths[0] <= widths[1], f"the list scrolls sideways: {widths}"
    overflowing = page.locator("#result_list th, #result_list td").evaluate_all(
        "cells => cells.filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.className)"
    )
    assert overflowing == [], f"cells wider than their column: {overflowing}"
    sidebar = page.locator("#changelist-filter").bounding_box()
    assert sidebar is not None and sidebar["height"] < 1200, sidebar
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "message_list.png"))

    # The purpose filter is one list; choosing a purpose filters by it.
    purpose = page.locator('details[data-filter-title="purpose"] select')
    expect(purpose.locator("option")).to_have_count(114)
    purpose.select_option(label=LONGEST_PURPOSE)
    page.wait_for_url(f"**purpose__exact={LONGEST_PURPOSE}*")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(purpose).to_have_value(f"?purpose__exact={LONGEST_PURPOSE}")


def refuse_other_hosts(page: Page) -> list[str]:
    """Abort every request to a host other than the live server's; the list collects them."""
    refused: list[str] = []

    def handle(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_the_api_docs_render_without_internet(live: dict[str, str], page: Page) -> None:
    """Swagger UI and ReDoc come from this server: with other hosts unreachable they still render."""
    refused = refuse_other_hosts(page)
    try:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.goto(live["base_url"] + "/admin/")
        page.get_by_role("link", name="View site").click()
        page.wait_for_url("**/communications/docs/")
        expect(page.locator(".opblock").first).to_be_visible()
        expect(page.get_by_text("Import historical messages").first).to_be_visible()
        page.locator(".opblock").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "docs.png"))

        page.goto(live["base_url"] + "/communications/redoc/")
        operation = page.locator("h2", has_text="Import historical messages")
        expect(operation).to_be_visible()
        operation.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "redoc.png"))
    finally:
        page.unroute("**/*")
    assert refused == [], refused


def test_a_word_search_in_the_message_list_marks_the_matched_word(live: dict[str, str], page: Page) -> None:
    """Logged in from the walk above: the search box finds words of bodies and marks them."""
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live["base_url"] + "/admin/messages_app/message/")
    page.fill("#searchbar", "pick-up")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=pick-up*")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("mark")).to_have_text("pick-up")
    expect(rows.first).to_contain_text("ready for")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"))
