"""The admin walk of a new staff member, in a real browser against a live server.

Run by ``scripts/browser_e2e.sh``, which starts the app the way the README's first command
does (on a throwaway SQLite database), logs in as the demo staff member it prints, and
passes everything through ``E2E_*`` variables. Outside ``testpaths``: the normal test run
never collects it.

The walk: PUT the seed example through the API; the staff member logs in, finds the
message from the department in three clicks, reads the transcript, corrects the body; an
API re-send of the same item answers MESSAGE_LOCKED_BY_CORRECTION and the correction stays.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed_example.json"
SCREENSHOT = ROOT / "artifacts" / "transcript.png"
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


def collection(live: dict[str, str]) -> str:
    return f"/communications/department/{live['department']}/customer/demo-customer/communication/historical"


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
    page.get_by_role("link", name="1 conversations").click()
    page.get_by_role("link", name="4 messages").click()
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
