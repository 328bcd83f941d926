"""Keyset pages of the message and batch lists, capped page numbers of the conversation list."""

import re
from html import unescape

import pytest

from messages_app.admin.batches import ImportBatchAdmin
from messages_app.admin.conversations import ConversationAdmin
from messages_app.admin.messages import MessageAdmin
from messages_app.admin.paging import encode_edge
from messages_app.models import Message
from tests.admin.support import changelist, client_for, import_items, staff_user
from tests.builders import minimal_message

pytestmark = pytest.mark.django_db

# Eight messages, three pairs of them at the same time: a page boundary falls inside a pair.
TIMES = ["01", "02", "02", "03", "03", "04", "05", "05"]
PER_PAGE = 3


@pytest.fixture
def client(department, monkeypatch):
    monkeypatch.setattr(MessageAdmin, "list_per_page", PER_PAGE)
    items = [minimal_message(n, sentOn=f"2024-02-{day}T12:00:00Z") for n, day in enumerate(TIMES)]
    import_items(department, "cust", items)
    return client_for(staff_user("quinn", department))


def newest_first() -> list[int]:
    return list(Message.objects.order_by("-message_at", "-id").values_list("pk", flat=True))


def shown(response) -> list[int]:
    assert response.status_code == 200
    return [message.pk for message in response.context["cl"].result_list]


def links(response) -> dict[str, str]:
    """The keyset links of the page that lead somewhere, by their rel."""
    return {link.rel: link.url for link in response.context["cl"].keyset_links if link.url}


def follow(client, response, rel):
    return client.get(changelist("message") + links(response)[rel])


def test_first_page_is_the_newest_rows_with_only_older_pages_after_it(client):
    response = client.get(changelist("message"))
    assert shown(response) == newest_first()[:PER_PAGE]
    assert set(links(response)) == {"next", "last"}
    assert "Older \u203a" in unescape(response.content.decode())


def test_older_pages_walk_every_row_once_even_across_equal_times(client):
    response = client.get(changelist("message"))
    seen = shown(response)
    while "next" in links(response):
        response = follow(client, response, "next")
        seen += shown(response)
    assert seen == newest_first()


def test_newer_pages_walk_back_to_the_newest_page(client):
    response = client.get(changelist("message"), {"after": "start"})
    seen = shown(response)
    while "prev" in links(response):
        response = follow(client, response, "prev")
        seen = shown(response) + seen
    assert seen == newest_first()
    assert set(links(response)) == {"next", "last"}


def test_oldest_page_is_the_last_rows_with_no_older_page(client):
    response = client.get(changelist("message"), {"after": "start"})
    assert shown(response) == newest_first()[-PER_PAGE:]
    assert set(links(response)) == {"first", "prev"}


def test_a_page_past_an_edge_starts_right_after_it(client):
    order = newest_first()
    edge = Message.objects.get(pk=order[3])
    response = client.get(changelist("message"), {"before": encode_edge(edge.message_at, edge.pk)})
    assert shown(response) == order[4 : 4 + PER_PAGE]


def test_oldest_first_order_pages_the_other_way(client):
    # Column 1 is the message time (0 is the action checkbox); o=1 sorts it oldest first.
    response = client.get(changelist("message"), {"o": "1"})
    seen = shown(response)
    assert "Newer \u203a" in unescape(response.content.decode())
    while "next" in links(response):
        response = follow(client, response, "next")
        seen += shown(response)
    assert seen == list(reversed(newest_first()))
    assert "o=1" in links(response)["first"]


def test_filters_stay_in_the_page_links_and_the_edge_leaves_the_filter_links(client, department):
    response = client.get(changelist("message"), {"type__exact": "OUTGOING", "department": str(department.pk)})
    older = links(response)["next"]
    assert "type__exact=OUTGOING" in older
    assert f"department={department.pk}" in older
    response = client.get(changelist("message") + older)
    assert shown(response) == newest_first()[PER_PAGE : 2 * PER_PAGE]
    content = unescape(response.content.decode())
    assert not re.search(r'href="[^"]*purpose__exact=[^"]*before=', content)
    assert not re.search(r'name="before"', content)


@pytest.mark.parametrize(
    "params",
    [
        {"before": "not-a-cursor"},
        {"after": "12_x"},
        {"before": "99999999999999999999999_1"},
        {"before": "1_99999999999999999999"},
        {"before": "1_1", "after": "1_1"},
        {"after": "\x00"},
    ],
    ids=["words", "letters", "huge-time", "huge-id", "both", "nul"],
)
def test_a_bad_page_link_shows_the_first_page_with_a_warning(client, params):
    response = client.get(changelist("message"), params)
    assert shown(response) == newest_first()[:PER_PAGE]
    assert "That page link is not valid" in response.content.decode()


def test_an_old_page_number_link_still_opens_its_page(client):
    response = client.get(changelist("message"), {"p": "2"})
    assert shown(response) == newest_first()[PER_PAGE : 2 * PER_PAGE]
    assert set(links(response)) == {"first", "prev", "next", "last"}


def test_a_page_number_past_the_end_shows_the_last_page(client):
    response = client.get(changelist("message"), {"p": "999"})
    assert shown(response) == newest_first()[2 * PER_PAGE :]


def test_a_date_drill_down_pages_by_keyset_within_the_period(client):
    response = client.get(changelist("message"), {"message_at__year": "2024", "message_at__month": "2"})
    seen = shown(response)
    while "next" in links(response):
        response = follow(client, response, "next")
        seen += shown(response)
    assert seen == newest_first()


def test_batch_list_pages_by_keyset(department, monkeypatch):
    monkeypatch.setattr(ImportBatchAdmin, "list_per_page", 2)
    for n in range(5):
        import_items(department, f"cust-{n}", [minimal_message(n)])
    client = client_for(staff_user("quinn", department))
    response = client.get(changelist("importbatch"))
    seen = shown(response)
    while "next" in links(response):
        response = client.get(changelist("importbatch") + links(response)["next"])
        seen += shown(response)
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)


@pytest.fixture
def conversations(department, monkeypatch):
    monkeypatch.setattr(ConversationAdmin, "list_per_page", 1)
    monkeypatch.setattr("messages_app.admin.paging.MAX_PAGE", 2)
    for n in range(4):
        import_items(department, f"cust-{n}", [minimal_message(n, sentOn=f"2024-02-0{n + 1}T12:00:00Z")])
    return client_for(staff_user("quinn", department))


def test_conversation_page_numbers_stop_at_the_cap_with_a_hint(conversations):
    response = conversations.get(changelist("conversation"), {"p": "2"})
    cl = response.context["cl"]
    assert (cl.paginator.num_pages, cl.page_num, len(cl.result_list)) == (2, 2, 1)
    assert "Refine the filters" in response.content.decode()
    assert "?p=3" not in response.content.decode()


def test_a_conversation_page_number_past_the_cap_shows_the_last_numbered_page(conversations):
    response = conversations.get(changelist("conversation"), {"p": "3"})
    assert response.status_code == 200
    assert response.context["cl"].page_num == 2
    assert "Page numbers stop at 2" in response.content.decode()


def test_first_conversation_page_has_no_cap_hint(conversations):
    response = conversations.get(changelist("conversation"))
    assert "Refine the filters" not in response.content.decode()
