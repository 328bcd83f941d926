"""The transcript page: time order, sides and kinds, attachments, escaping, keyset pages."""

import re

import pytest

from messages_app import transcripts
from messages_app.models import Conversation, Message
from tests.admin.support import (
    client_for,
    import_items,
    staff_user,
    transcript_url,
)
from tests.builders import full_message, minimal_message, with_attrs

# Fixtures shared by the admin tests.

pytestmark = pytest.mark.django_db


def item(n, minute, **attributes):
    """Message ``n`` sent ``minute`` minutes after 10:00."""
    sent = f"2024-05-01T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"
    return with_attrs(minimal_message(n, sentOn=sent), **attributes)


@pytest.fixture
def client(department):
    return client_for(staff_user("tess", department))


def articles(html):
    """(id, classes) of the transcript's messages, in page order."""
    return re.findall(r'<article class="msg ([^"]*)" id="m(\d+)"', html)


def bodies(html):
    return re.findall(r'<div class="msg-body">(.*?)</div>', html, flags=re.S)


def test_messages_are_in_time_order_whatever_the_import_order(department, client):
    import_items(department, "cust", [item(3, 30, body="third"), item(1, 10, body="first")])
    import_items(department, "cust", [item(2, 20, body="second")])
    html = client.get(transcript_url(Conversation.objects.get())).content.decode()
    assert bodies(html) == ["first", "second", "third"]


def test_bodies_and_subjects_are_escaped(department, client):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    import_items(department, "cust", [item(1, 1, body=evil, subject="<b>subject</b>", protocol="EMAIL")])
    html = client.get(transcript_url(Conversation.objects.get())).content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;subject&lt;/b&gt;" in html


def test_sides_and_kinds_are_distinguishable(department, client):
    import_items(
        department,
        "cust",
        [
            item(1, 1, type="INCOMING"),
            item(2, 2, type="OUTGOING"),
            item(3, 3, type="NOTE", protocol="NONE"),
            item(4, 4, type="DRAFT"),
            item(5, 5, type="DISCARDED_DRAFT"),
            with_attrs(full_message(6, sentOn="2024-05-01T10:06:00Z", receivedOn=None), type="INCOMING"),
            item(7, 7, type="OUTGOING", tags=["TRASH"], showInCustomerConversation=False),
        ],
    )
    html = client.get(transcript_url(Conversation.objects.get())).content.decode()
    classes = [c for c, _pk in articles(html)]
    assert classes[0].startswith("msg-incoming")
    assert classes[1].startswith("msg-outgoing")
    assert classes[2].startswith("msg-note")
    assert classes[3].startswith("msg-draft") and classes[4].startswith("msg-draft")
    assert classes[5] == "msg-incoming msg-call"
    assert "msg-trashed" in classes[6] and "msg-hidden" in classes[6]
    for label in ("Customer", "Dealership", "Internal note", "Draft", "Discarded draft", "Voice call · "):
        assert f'<span class="msg-kind">{label}' in html, label
    assert "transcript" in html and "Customer asked" not in html
    assert "calling party" in html


def test_attachments_are_links_with_their_names_and_only_web_addresses_are_links(department, client):
    attachments = [
        {"fileURL": "https://files.example/a.pdf", "originalFileName": "Invoice <1>.pdf"},
        {"fileURL": "javascript:alert(1)", "originalFileName": "evil.pdf"},
        {"fileURL": "https://files.example/no-name.png"},
    ]
    import_items(department, "cust", [item(1, 1, attachments=attachments)])
    html = client.get(transcript_url(Conversation.objects.get())).content.decode()
    assert '<a href="https://files.example/a.pdf" rel="noopener noreferrer nofollow" target="_blank">' in html
    assert "Invoice &lt;1&gt;.pdf</a>" in html
    assert 'href="javascript:' not in html
    assert "evil.pdf</span>" in html
    assert ">https://files.example/no-name.png</a>" in html


def test_customer_view_leaves_out_what_the_customer_never_saw(department, client):
    import_items(
        department,
        "cust",
        [
            item(1, 1, body="seen"),
            item(2, 2, body="note", type="NOTE"),
            item(3, 3, body="hidden", showInCustomerConversation=False),
            item(4, 4, body="trashed", tags=["TRASH"]),
            item(5, 5, body="draft", type="DRAFT"),
        ],
    )
    url = transcript_url(Conversation.objects.get())
    assert bodies(client.get(url, {"view": "customer"}).content.decode()) == ["seen"]
    assert len(bodies(client.get(url).content.decode())) == 5


def test_pages_walk_the_whole_conversation_by_cursor(department, client, settings):
    import_items(department, "cust", [item(n, n, body=f"m{n}") for n in range(12)])
    conversation = Conversation.objects.get()
    expected = [m.body for m in Message.objects.order_by("message_at", "pk")]

    newest = transcripts.transcript_page(conversation, size=5)
    assert [m.body for m in newest.messages] == expected[-5:]
    assert newest.newer is None and newest.older is not None
    seen = [m.body for m in newest.messages]
    page = newest
    while page.older:
        page = transcripts.transcript_page(conversation, before=page.older, size=5)
        seen = [m.body for m in page.messages] + seen
    assert seen == expected

    oldest = transcripts.transcript_page(conversation, after=transcripts.OLDEST, size=5)
    assert [m.body for m in oldest.messages] == expected[:5]
    forward = [m.body for m in oldest.messages]
    page = oldest
    while page.newer:
        page = transcripts.transcript_page(conversation, after=page.newer, size=5)
        forward += [m.body for m in page.messages]
    assert forward == expected

    target = Message.objects.get(body="m7")
    around = transcripts.transcript_page(conversation, focus=target.pk, size=8)
    assert [m.body for m in around.messages] == expected[2:10]
    assert around.focus == target.pk


def test_the_page_links_to_older_messages_and_opens_at_a_message(department, client):
    import_items(department, "cust", [item(n, n, body=f"m{n}") for n in range(transcripts.PAGE_SIZE + 3)])
    conversation = Conversation.objects.get()
    html = client.get(transcript_url(conversation)).content.decode()
    assert len(bodies(html)) == transcripts.PAGE_SIZE
    older = re.search(r'href="\?before=([^"&]+)"', html).group(1)
    html = client.get(transcript_url(conversation), {"before": older}).content.decode()
    assert bodies(html) == ["m0", "m1", "m2"]
    target = Message.objects.get(body="m50")
    html = client.get(transcript_url(conversation), {"message": target.pk}).content.decode()
    assert f'msg-focus" id="m{target.pk}"' in html
    assert client.get(transcript_url(conversation), {"before": "garbage"}).status_code == 400
