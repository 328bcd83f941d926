"""Every statement a PUT or a read of one customer runs on the message tables names the
department, so that tables partitioned by department (models/partitioning.py) are
read in one partition."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages_app.models import Department
from tests.builders import DEPARTMENT_UUID, full_message, url, with_attrs

pytestmark = pytest.mark.django_db

# The tables a department's rows are spread over; conversation and customer stay whole.
PARTITIONED = re.compile(
    r'"messages_app_(message|draftattributes|attachment|messagetag|messagetagsecondaryattribute|messagetagparent|'
    r'notificationattributes|notificationnotifier|notificationbutton|voicecallattributes)"'
)


# Writes of new rows carry their department in the row; ids are allocated from the sequences
# (PostgreSQL) or after the largest (SQLite).
NEW_ROWS = re.compile(r"^(\d+ times: )?(COPY|INSERT|SELECT nextval|SELECT COALESCE\(MAX\(\"id\"\))")


def statements_on_message_tables(queries) -> list[str]:
    return [query["sql"] for query in queries if PARTITIONED.search(query["sql"]) and not NEW_ROWS.match(query["sql"])]


def assert_each_names_the_department(statements: list[str]) -> None:
    department_id = Department.objects.get(uuid=DEPARTMENT_UUID).pk
    assert statements
    named = re.compile(rf'department_id"? = {department_id}\b')
    for sql in statements:
        assert named.search(sql), sql


def test_a_put_that_replaces_messages_names_the_department_in_every_statement(put):
    items = [full_message(n) for n in range(3)]
    put(items)
    edited = [with_attrs(item, body="edited") for item in items]

    with CaptureQueriesContext(connection) as queries:
        response = put(edited)

    assert response.status_code == 200
    statements = statements_on_message_tables(queries)
    assert sum(sql.startswith("DELETE") for sql in statements) == 10  # nine part tables and the message table
    assert_each_names_the_department(statements)


def test_reading_a_customers_messages_names_the_department_in_every_statement(api, put):
    put([full_message(n) for n in range(3)])

    with CaptureQueriesContext(connection) as queries:
        response = api.get(url())

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    statements = statements_on_message_tables(queries)
    assert len(statements) >= 7  # the messages (parts of one to one joined) and six prefetches
    assert_each_names_the_department(statements)
