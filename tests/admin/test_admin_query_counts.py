"""The message, conversation and import batch lists and the transcript run a fixed number of queries,
whatever the number of rows (pinned), and never count a large table exactly on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages_app.admin.paging import encode_edge
from messages_app.models import Conversation, Message
from tests.admin.support import (
    changelist,
    client_for,
    import_items,
    staff_user,
    transcript_url,
)
from tests.builders import full_message

# Fixtures shared by the admin tests.

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_conversation_per_page(monkeypatch):
    """So that the second page of conversations has a row with few of them, too."""
    from messages_app.admin.conversations import ConversationAdmin

    monkeypatch.setattr(ConversationAdmin, "list_per_page", 1)


def fill(department, customers, per_customer):
    """``customers`` conversations of fully populated messages (every part present)."""
    for c in range(customers):
        import_items(department, f"cust-{c}", [full_message(c * 1000 + n) for n in range(per_customer)])


def rows_shown(response) -> int:
    """How many rows a list page shows, or how many messages a transcript page shows."""
    if "cl" in response.context:
        return len(response.context["cl"].result_list)
    return response.content.decode().count('<article class="msg ')


def queries(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    assert rows_shown(response) > 0, url
    return len(captured), [q["sql"] for q in captured]


def newest_edge() -> str:
    newest = Message.objects.order_by("-message_at", "-id").first()
    return encode_edge(newest.message_at, newest.pk)


def oldest_edge() -> str:
    oldest = Message.objects.order_by("message_at", "id").first()
    return encode_edge(oldest.message_at, oldest.pk)


def newest_batch_edge() -> str:
    from messages_app.models import ImportBatch

    newest = ImportBatch.objects.order_by("-created_at", "-id").first()
    return encode_edge(newest.created_at, newest.pk)


PAGES = {
    "message list": lambda: (changelist("message"), None),
    "message list, filtered": lambda: (changelist("message"), {"type": "DRAFT", "q": "vehicle"}),
    "message list, by sourceUuid": lambda: (changelist("message"), {"q": "src-000001"}),
    "message list, words": lambda: (changelist("message"), {"q": "vehicle ready -zebra"}),
    "message list, one year": lambda: (changelist("message"), {"message_at__year": "2024"}),
    "message list, older page": lambda: (changelist("message"), {"before": newest_edge()}),
    "message list, oldest page": lambda: (changelist("message"), {"after": "start"}),
    "message list, newer page": lambda: (changelist("message"), {"after": oldest_edge()}),
    "conversation list": lambda: (changelist("conversation"), None),
    "conversation list, page 2": lambda: (changelist("conversation"), {"p": "2"}),
    "import batch list": lambda: (changelist("importbatch"), None),
    "import batch list, older page": lambda: (changelist("importbatch"), {"before": newest_batch_edge()}),
    "conversation list, words": lambda: (changelist("conversation"), {"q": "vehicle ready"}),
    "conversation list, by customer": lambda: (changelist("conversation"), {"q": "cust-0"}),
    "transcript": lambda: (transcript_url(Conversation.objects.order_by("pk").first()), None),
}


@pytest.mark.parametrize("superuser", [False, True], ids=["staff", "superuser"])
def test_pages_run_the_same_queries_for_few_and_many_rows(department, superuser):
    user = staff_user("quinn", department, superuser=superuser)
    client = client_for(user)
    fill(department, customers=2, per_customer=2)
    few = {name: queries(client, *page()) for name, page in PAGES.items()}
    fill(department, customers=25, per_customer=12)
    many = {name: queries(client, *page()) for name, page in PAGES.items()}
    for name in PAGES:
        assert few[name][0] == many[name][0], (name, few[name][1], many[name][1])


# Staff: session, user, the user's departments, their names (department filter), count,
# Django's auth permissions (2, for the auth app in the sidebar), rows, date range.
# A keyset page (older, newer, oldest) costs what the first page does: the same queries,
# its rows read from the edge on. Conversation and import batch lists: the same without
# the date range. Transcript: session, user,
# departments, conversation, one page of messages with draft and voice call joined, its
# attachments, permissions (2). A superuser skips the departments and the permissions.
# On PostgreSQL every list also asks for an estimate (pg_class.reltuples or EXPLAIN) next
# to its capped count, at any size (admin_paging). A search term that looks like
# an identifier first looks for customers with that UUID and checks for exact matches (2;
# a superuser also lists the departments, whose index those lookups lead with). Words
# are searched in the same queries; the conversation list counts the shown conversations'
# matching messages (1). On PostgreSQL a word search first probes the search index (1,
# textsearch.searched) and the highlights of a message page take one more (1), for that
# page only. A conversation search by customer UUID checks for that customer first (1).
STAFF = {
    "message list": 9,
    "message list, filtered": 11,
    "message list, by sourceUuid": 11,
    "message list, words": 9,
    "message list, one year": 9,
    "message list, older page": 9,
    "message list, oldest page": 9,
    "message list, newer page": 9,
    "conversation list": 8,
    "conversation list, page 2": 8,
    "import batch list": 8,
    "import batch list, older page": 8,
    "conversation list, words": 9,
    "conversation list, by customer": 9,
    "transcript": 8,
}
SUPERUSER = {
    "message list": 6,
    "message list, filtered": 9,
    "message list, by sourceUuid": 9,
    "message list, words": 6,
    "message list, one year": 6,
    "message list, older page": 6,
    "message list, oldest page": 6,
    "message list, newer page": 6,
    "conversation list": 5,
    "conversation list, page 2": 5,
    "import batch list": 5,
    "import batch list, older page": 5,
    "conversation list, words": 6,
    "conversation list, by customer": 6,
    "transcript": 5,
}
HIGHLIGHTED = ("message list, filtered", "message list, words")
PROBED = ("message list, filtered", "message list, words", "conversation list, words")


@pytest.mark.parametrize("superuser", [False, True], ids=["staff", "superuser"])
def test_pinned_query_counts(department, superuser):
    client = client_for(staff_user("quinn", department, superuser=superuser))
    fill(department, customers=3, per_customer=3)
    counts = {name: queries(client, *page())[0] for name, page in PAGES.items()}
    expected = dict(SUPERUSER if superuser else STAFF)
    if connection.vendor == "postgresql":
        expected.update({name: expected[name] + 1 for name in PAGES if name != "transcript"})
        expected.update({name: expected[name] + 1 for name in HIGHLIGHTED})
        expected.update({name: expected[name] + 1 for name in PROBED})
    assert counts == expected
