"""Staff see, search, open, change and export only their departments' rows; superusers see all."""

import json

import pytest
from django.contrib.auth import get_user_model

from messages_app.models import Conversation, Department, ImportBatch, Message
from tests.admin import support
from tests.admin.support import (
    change_url,
    changelist,
    client_for,
    conversation_of,
    import_items,
    message,
    staff_user,
    transcript_url,
)
from tests.builders import full_message

# Fixtures shared by the admin tests.
two_departments = support.two_departments

pytestmark = pytest.mark.django_db


@pytest.fixture
def north_client(two_departments):
    north, _south = two_departments
    return client_for(staff_user("nora", north))


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_staff_lists_show_only_their_department(two_departments, north_client):
    messages_page = page(north_client, changelist("message"))
    assert "North body 0" in messages_page or "North subject 0" in messages_page
    assert "South" not in messages_page
    assert "south-customer" not in messages_page

    conversations_page = page(north_client, changelist("conversation"))
    assert "north-customer" in conversations_page
    assert "south-customer" not in conversations_page

    departments_page = page(north_client, changelist("department"))
    assert "North service" in departments_page
    assert "South sales" not in departments_page

    batches_page = page(north_client, changelist("importbatch"))
    assert "north-customer" in batches_page
    assert "south-customer" not in batches_page


def test_staff_search_never_finds_another_department(two_departments, north_client):
    for term in ("South", "secret", "south-customer", "south-0", message("south-0").message_uuid):
        found = page(north_client, changelist("message"), q=term)
        assert "South secret" not in found
        assert "0 messages" in found or "0 results" in found, term
    assert "south-customer" not in page(north_client, changelist("conversation"), q="south")
    assert "North subject 1" in page(north_client, changelist("message"), q="North subject 1")


def test_identifiers_are_found_exactly(two_departments, north_client):
    by_source = page(north_client, changelist("message"), q="north-1")
    assert "North subject 1" in by_source
    assert "North subject 2" not in by_source
    by_message_uuid = page(north_client, changelist("message"), q=message("north-2").message_uuid)
    assert "North subject 2" in by_message_uuid
    assert "North subject 1" not in by_message_uuid
    by_customer = page(north_client, changelist("message"), q="north-customer")
    assert all(f"North subject {n}" in by_customer for n in range(3))
    # A part of an identifier is not an identifier: it is searched as words (and not found).
    assert "North subject" not in page(north_client, changelist("message"), q="north-")


def test_staff_filters_do_not_name_other_departments(two_departments, north_client):
    _north, south = two_departments
    assert "South sales" not in page(north_client, changelist("message"))
    # Asking for the other department's rows by filter gives an empty list, not its rows.
    filtered = page(north_client, changelist("message"), department=south.pk)
    assert "South secret" not in filtered
    south_conversation = conversation_of(south, "south-customer")
    filtered = page(north_client, changelist("message"), conversation__id__exact=south_conversation.pk)
    assert "South secret" not in filtered
    filtered = page(north_client, changelist("message"), customer__id__exact=south_conversation.customer_id)
    assert "South secret" not in filtered


def test_another_departments_objects_by_url_are_404(two_departments, north_client):
    north, south = two_departments
    import_items(south, "south-customer", [full_message(7)])
    south_message = message("south-0")
    south_conversation = conversation_of(south, "south-customer")
    south_batch = ImportBatch.objects.filter(department=south).first()
    south_tag = Message.objects.get(source_uuid="src-000007").message_tags.first()
    urls = [
        change_url("message", south_message.pk),
        f"/admin/messages_app/message/{south_message.pk}/history/",
        f"/admin/messages_app/message/{south_message.pk}/delete/",
        change_url("conversation", south_conversation.pk),
        transcript_url(south_conversation),
        transcript_url(south_conversation) + f"?message={south_message.pk}",
        change_url("importbatch", south_batch.pk),
        change_url("department", south.pk),
        change_url("messagetag", south_tag.pk),
    ]
    for url in urls:
        response = north_client.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)
        assert b"South secret" not in response.content
    # The same pages of the own department open.
    own = conversation_of(north, "north-customer")
    assert "North body 0" in page(north_client, transcript_url(own))
    assert "North body 0" in page(north_client, change_url("message", message("north-0").pk))
    # A message of the own conversation is reachable in its transcript, one of another is not.
    assert north_client.get(transcript_url(own) + f"?message={south_message.pk}").status_code == 404


def test_staff_cannot_change_another_departments_message_by_post(two_departments, north_client):
    south_message = message("south-0")
    response = north_client.post(change_url("message", south_message.pk), {"body": "hacked"})
    assert response.status_code == 404
    response = north_client.post(f"/admin/messages_app/message/{south_message.pk}/revert/")
    assert response.status_code == 404
    south_message.refresh_from_db()
    assert south_message.body == "South secret 0"
    assert south_message.corrected_at is None


@pytest.mark.parametrize("action", ["move_to_trash", "hide_from_customer", "revert"])
def test_actions_ignore_another_departments_ids(two_departments, north_client, action):
    south_message = message("south-0")
    north_message = message("north-0")
    response = north_client.post(
        changelist("message"),
        {"action": action, "_selected_action": [south_message.pk, north_message.pk], "index": 0},
    )
    assert response.status_code == 302
    south_message.refresh_from_db()
    assert south_message.corrected_at is None
    assert not south_message.is_trashed
    assert south_message.show_in_customer_conversation
    assert ImportBatch.objects.filter(department=south_message.department).count() == 1


def test_select_across_acts_on_the_own_department_only(two_departments, north_client):
    response = north_client.post(
        changelist("message"),
        {"action": "move_to_trash", "_selected_action": [message("north-0").pk], "select_across": 1, "index": 0},
    )
    assert response.status_code == 302
    assert set(Message.objects.filter(is_trashed=True).values_list("source_uuid", flat=True)) == {
        "north-0",
        "north-1",
        "north-2",
    }


def test_export_contains_only_the_own_department(two_departments, north_client):
    response = north_client.post(
        changelist("message"),
        {"action": "export", "_selected_action": [message("south-0").pk, message("north-1").pk], "index": 0},
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [line["departmentUUID"] for line in lines] == ["north-service"]
    assert [item["sourceUuid"] for item in lines[0]["saveMessageRequestList"]] == ["north-1"]


def test_raw_id_popup_and_autocomplete_are_scoped(two_departments, north_client):
    popup = page(north_client, changelist("conversation"), _to_field="id", _popup=1)
    assert "north-customer" in popup
    assert "south-customer" not in popup
    response = north_client.get(
        "/admin/autocomplete/",
        {"app_label": "messages_app", "model_name": "message", "field_name": "conversation", "term": "customer"},
    )
    assert response.status_code == 200
    texts = [result["text"] for result in response.json()["results"]]
    assert texts == ["Conversation with north-customer"]


def test_staff_without_a_department_see_nothing(two_departments):
    client = client_for(staff_user("nobody"))
    index = page(client, "/admin/")
    assert "Messages" not in index
    for model in ("message", "conversation", "department", "importbatch"):
        assert client.get(changelist(model)).status_code == 403


def test_non_staff_are_sent_to_the_login(two_departments):
    north, _south = two_departments
    user = get_user_model().objects.create_user("customer-care", password="x" * 30)
    north.members.add(user)
    response = client_for(user).get(changelist("message"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_member_of_two_departments_sees_both(two_departments):
    north, south = two_departments
    client = client_for(staff_user("both", north, south))
    listing = page(client, changelist("message"))
    assert "north-customer" in listing
    assert "south-customer" in listing


def test_superuser_sees_every_department(two_departments, admin_client):
    listing = page(admin_client, changelist("message"))
    assert "north-customer" in listing
    assert "south-customer" in listing
    assert page(admin_client, transcript_url(Conversation.objects.get(customer__uuid="south-customer")))


def test_superusers_register_departments_and_their_staff_and_staff_cannot(two_departments, admin_client):
    north, _south = two_departments
    nora = staff_user("nora", north)
    response = admin_client.post(
        "/admin/messages_app/department/add/", {"uuid": "east-parts", "name": "East parts", "members": [nora.pk]}
    )
    assert response.status_code == 302
    east = Department.objects.get(uuid="east-parts")
    assert list(east.members.all()) == [nora]

    nora_client = client_for(nora)
    assert "East parts" in page(nora_client, changelist("department"))
    assert nora_client.get("/admin/messages_app/department/add/").status_code == 403
    response = nora_client.post(change_url("department", north.pk), {"uuid": "renamed", "name": "x"})
    assert response.status_code == 403
    north.refresh_from_db()
    assert north.uuid == "north-service"
