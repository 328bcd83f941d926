"""Import batches in the admin: what each run did, its messages, and rolling it back."""

import pytest

from messages_app import rollback as batches
from messages_app.models import Attachment, Conversation, ImportBatch, Message, MessageTagSecondaryAttribute
from tests.admin import support
from tests.admin.support import (
    change_url,
    changelist,
    client_for,
    import_items,
    staff_user,
)
from tests.builders import full_message, minimal_message, with_attrs

# Fixtures shared by the admin tests.
two_departments = support.two_departments

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(department):
    """Batch 1 creates a, b; batch 2 updates b and creates c, d (with parts)."""
    first = import_items(department, "cust", [minimal_message(1), minimal_message(2)]).batch
    second = import_items(
        department,
        "cust",
        [with_attrs(minimal_message(2), body="b updated"), full_message(3), full_message(4)],
    ).batch
    return first, second


def post_rollback(client, *batch_ids, confirm=False):
    data = {"action": "rollback", "_selected_action": list(batch_ids), "index": 0}
    if confirm:
        data["confirm"] = "yes"
    return client.post(changelist("importbatch"), data)


def test_batch_list_and_page_show_who_when_counts_and_response(department, history):
    _first, second = history
    client = client_for(staff_user("ben", department))
    listing = client.get(changelist("importbatch")).content.decode()
    assert f"?created_batch__id__exact={second.pk}&amp;department={second.department_id}" in listing
    page = client.get(change_url("importbatch", second.pk)).content.decode()
    assert "REST API" in page
    assert "succesfullySubmittedSourceUuids" in page
    created = client.get(
        changelist("message"), {"created_batch__id__exact": second.pk, "department": second.department_id}
    ).content.decode()
    assert "src-000003" in created or "Subject 3" in created
    assert "hello 1" not in created


def test_the_confirmation_page_says_what_will_go_and_changes_nothing(department, history):
    _first, second = history
    client = client_for(staff_user("ben", department))
    response = post_rollback(client, second.pk)
    assert response.status_code == 200
    text = response.content.decode()
    assert "<strong>2</strong> messages will be deleted" in text
    assert "<strong>1</strong> message this batch only updated will be kept" in text
    assert "src-000003" in text and "src-000004" in text
    assert Message.objects.count() == 4


def test_rollback_deletes_what_the_batch_created_keeps_what_it_updated_and_recounts(department, history):
    _first, second = history
    conversation = Conversation.objects.get()
    assert conversation.total_message_count == 4
    client = client_for(staff_user("ben", department))

    response = post_rollback(client, second.pk, confirm=True)

    assert response.status_code == 302
    assert sorted(Message.objects.values_list("source_uuid", flat=True)) == ["min-1", "min-2"]
    assert Message.objects.get(source_uuid="min-2").body == "b updated"
    assert not Attachment.objects.exists()
    assert not MessageTagSecondaryAttribute.objects.exists()
    conversation.refresh_from_db()
    assert conversation.total_message_count == 2
    assert conversation.last_message_at.isoformat() == "2024-02-01T12:00:00+00:00"
    assert ImportBatch.objects.filter(pk=second.pk).exists()

    # Re-sending the rolled-back items stores them again.
    result = import_items(department, "cust", [full_message(3)])
    assert result.batch.created_count == 1


def test_plan_counts_messages_changed_later_and_corrected(department, history):
    first, _second = history
    Message.objects.filter(source_uuid="min-1").update(corrected_at="2024-05-01T00:00:00Z")
    (plan,) = batches.plan_rollback([first])
    assert (plan.deleted, plan.kept, plan.changed_later, plan.corrected) == (2, 0, 1, 1)


def test_staff_cannot_roll_back_another_departments_batch(two_departments):
    north, south = two_departments
    south_batch = ImportBatch.objects.get(department=south)
    client = client_for(staff_user("nora", north))
    response = post_rollback(client, south_batch.pk, confirm=True)
    assert response.status_code == 302
    assert Message.objects.filter(department=south).count() == 2
    assert client.get(change_url("importbatch", south_batch.pk)).status_code == 404


def test_superuser_rolls_back_across_departments(two_departments, admin_client):
    ids = list(ImportBatch.objects.values_list("pk", flat=True))
    response = post_rollback(admin_client, *ids, confirm=True)
    assert response.status_code == 302
    assert not Message.objects.exists()
    assert set(Conversation.objects.values_list("total_message_count", flat=True)) == {0}
