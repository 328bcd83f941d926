"""Read replicas in the admin: list pages and transcripts read ``replica_0`` (a mirror of
the test database); change forms, actions and the staff user's own session and
departments read the primary. Transactional: inside a test's transaction the router
always reads the primary."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tests.admin.support import (
    change_url,
    changelist,
    client_for,
    conversation_of,
    message,
    staff_user,
    transcript_url,
    two_departments,  # noqa: F401  (fixture)
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])


def replica_sql(send) -> tuple[object, list[str]]:
    """The response of ``send()`` and the SQL it ran on the replica."""
    with CaptureQueriesContext(connections["replica_0"]) as captured:
        response = send()
    return response, [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def staff(two_departments):  # noqa: F811
    north, _ = two_departments
    return client_for(staff_user("tess", north))


def test_the_message_list_reads_the_replica(staff):
    response, sql = replica_sql(lambda: staff.get(changelist("message")))

    assert response.status_code == 200
    assert b"North subject 0" in response.content
    assert any('FROM "messages_app_message"' in query for query in sql)


def test_the_user_session_and_departments_of_a_list_page_are_read_from_the_primary(staff):
    _, sql = replica_sql(lambda: staff.get(changelist("message")))

    assert sql
    assert not [query for query in sql if "auth_user" in query or "django_session" in query or "_members" in query]


def test_the_transcript_reads_the_replica(staff, two_departments):  # noqa: F811
    conversation = conversation_of(two_departments[0], "north-customer")

    response, sql = replica_sql(lambda: staff.get(transcript_url(conversation)))

    assert response.status_code == 200
    assert any("messages_app_message" in query for query in sql)


def test_the_change_form_reads_the_primary(staff):
    response, sql = replica_sql(lambda: staff.get(change_url("message", message("north-0").pk)))

    assert response.status_code == 200
    assert sql == []


def test_a_list_right_after_the_staff_users_own_post_reads_the_primary(staff):
    staff.post(changelist("message"), {"action": "", "index": "0"})

    response, sql = replica_sql(lambda: staff.get(changelist("message")))

    assert response.status_code == 200
    assert sql == []
