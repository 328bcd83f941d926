"""Searching words in the admin: the message list (highlighted matches) and the conversation
list (conversations with matching messages and how many), within the user's departments."""

import pytest

from messages_app.admin.conversations import SEARCH_COUNT_CAP
from tests.admin import support
from tests.admin.support import changelist, client_for, import_items, message, staff_user
from tests.builders import minimal_message, with_attrs

two_departments = support.two_departments

pytestmark = pytest.mark.django_db


@pytest.fixture
def north_client(two_departments):
    north, _south = two_departments
    return client_for(staff_user("nora", north))


def listing(client, model: str, **params):
    response = client.get(changelist(model), params)
    assert response.status_code == 200
    return response


def shown(response) -> list[str]:
    """The sourceUuids (message list) or customer UUIDs (conversation list) on the page."""
    rows = response.context["cl"].result_list
    if response.context["cl"].model._meta.model_name == "message":
        return sorted(row.source_uuid for row in rows)
    return sorted(row.customer.uuid for row in rows)


def item(source_uuid: str, body: str, subject: str | None = None):
    return with_attrs(minimal_message(0, sourceUuid=source_uuid), body=body, subject=subject)


# --- Message list --------------------------------------------------------------------------


def test_words_find_the_messages_with_every_word(two_departments, north_client):
    north, _south = two_departments
    import_items(north, "north-customer", [item("pads", "Brake pads worn"), item("fluid", "Brake fluid low")])

    assert shown(listing(north_client, "message", q="brake pads")) == ["pads"]
    assert shown(listing(north_client, "message", q="brake -pads")) == ["fluid"]
    assert shown(listing(north_client, "message", q='"pads worn" OR fluid')) == ["fluid", "pads"]


def test_a_word_of_the_subject_only_finds_the_message(two_departments, north_client):
    assert shown(listing(north_client, "message", q="subject 1")) == ["north-1"]


def test_the_subject_or_body_column_shows_the_match_highlighted_and_escaped(two_departments, north_client):
    north, _south = two_departments
    import_items(north, "north-customer", [item("x", "brake <script>alert(1)</script> & <i>more</i>")])

    content = listing(north_client, "message", q="brake").content.decode()

    assert "<mark>brake</mark>" in content
    assert "<script>alert" not in content
    assert "<i>more" not in content
    assert "&amp;" in content


def test_without_a_search_the_column_shows_the_subject(two_departments, north_client):
    content = listing(north_client, "message").content.decode()

    assert "North subject 1" in content
    assert "<mark>" not in content


def test_staff_never_find_another_departments_messages_by_words(two_departments, north_client):
    assert shown(listing(north_client, "message", q="secret")) == []
    assert shown(listing(north_client, "message", q="subject")) == ["north-0", "north-1", "north-2"]


def test_an_identifier_is_still_found_exactly(two_departments, north_client):
    assert shown(listing(north_client, "message", q="north-1")) == ["north-1"]
    assert shown(listing(north_client, "message", q=message("north-2").message_uuid)) == ["north-2"]
    assert "<mark>" not in listing(north_client, "message", q="north-1").content.decode()


def test_a_superuser_finds_words_in_every_department(two_departments, admin_client):
    assert shown(listing(admin_client, "message", q="subject 0")) == ["north-0", "south-0"]


# --- Conversation list ---------------------------------------------------------------------


def test_words_find_conversations_with_their_number_of_matching_messages(two_departments, north_client):
    north, _south = two_departments
    import_items(north, "other-customer", [item("o1", "brake check"), item("o2", "invoice")])
    import_items(north, "north-customer", [item("n1", "brake pads"), item("n2", "brake fluid")])

    response = listing(north_client, "conversation", q="brake")

    assert shown(response) == ["north-customer", "other-customer"]
    matches = {row.customer.uuid: row.search_matches for row in response.context["cl"].result_list}
    assert matches == {"north-customer": 2, "other-customer": 1}
    assert "column-search_matches" in response.content.decode()


def test_a_word_search_of_conversations_counts_fewer_conversations_exactly(two_departments, north_client):
    north, _south = two_departments
    import_items(north, "north-customer", [item("n1", "brake pads")])

    searched = listing(north_client, "conversation", q="brake").context["cl"].paginator
    listed = listing(north_client, "conversation").context["cl"].paginator

    assert searched.count_cap == SEARCH_COUNT_CAP < listed.count_cap
    assert searched.count == 1


def test_the_matches_column_is_shown_only_while_searching(two_departments, north_client):
    assert "column-search_matches" not in listing(north_client, "conversation").content.decode()


def test_a_customer_uuid_finds_its_conversation_exactly(two_departments, north_client):
    north, _south = two_departments
    import_items(north, "brake", [item("b1", "nothing to see")])
    import_items(north, "other", [item("o1", "brake check")])

    assert shown(listing(north_client, "conversation", q="brake")) == ["brake"]
    assert shown(listing(north_client, "conversation", q="north-customer")) == ["north-customer"]


def test_staff_never_find_another_departments_conversations_by_words(two_departments, north_client):
    assert shown(listing(north_client, "conversation", q="secret")) == []
    assert shown(listing(north_client, "conversation", q="south-customer")) == []
    assert shown(listing(north_client, "conversation", q="subject")) == ["north-customer"]


@pytest.mark.parametrize("query", ["q=brake%00", "q=brake%ED%A0%80"], ids=["nul", "encoded-surrogate"])
@pytest.mark.parametrize("model", ["message", "conversation"])
def test_a_search_holding_a_nul_or_an_encoded_surrogate_never_fails(two_departments, north_client, model, query):
    # Django's search form drops a term with a NUL; other bytes that are not UTF-8 arrive as U+FFFD.
    response = north_client.get(f"{changelist(model)}?{query}")

    assert response.status_code == 200
