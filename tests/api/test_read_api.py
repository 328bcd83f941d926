"""The read API: list a customer's messages and retrieve one, in the PUT's item shape.

``GET …/communication/historical`` lists, ordered by message time (the later of sentOn and
receivedOn, then insertion), cursor-paginated and filtered; ``GET …/historical/{messageUuid}``
returns one message. Both need the ``message.read`` scope on the path's department.
Every message here is stored through the PUT endpoint and read back over HTTP.
"""

import base64
import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from messages_app.clients import register_client
from messages_app.enums import ApiScope
from tests.builders import (
    CLIENT_NAME,
    CLIENT_SECRET,
    basic,
    full_message,
    minimal_message,
    url,
    with_attrs,
)

pytestmark = pytest.mark.django_db

OTHER_CUSTOMER_UUID = "another-customer-of-the-same-department"
OTHER_DEPARTMENT_UUID = "b" * 64
MISSING_DEPARTMENT_UUID = "c" * 64
OTHER_CLIENT_NAME = "integration-b"
OTHER_CLIENT_SECRET = "another-secret-for-tests-9876543210"
DATE_TIME_FIELDS = frozenset({"sentOn", "receivedOn", "callDateTime"})


# --- Helpers --------------------------------------------------------------------------------


def at(hour: int, minute: int = 0, day: int = 1) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def message(n: int, sent_on: str, **attributes: Any) -> dict[str, Any]:
    """A minimal message ``min-{n}`` sent at ``sent_on``, with the given messageAttributes."""
    return with_attrs(minimal_message(n, sentOn=sent_on), **attributes)


def store(put, items: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    """PUT the items, check every one was stored, return their messageUuids."""
    response = put(items, **kwargs)
    body = response.json()
    assert response.status_code == 200, body
    assert body["failedSourceUuids"] == [], body
    return [entry["messageUuid"] for entry in body["saveMessageResponse"]]


def http(authorization: str | None = None) -> APIClient:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def retrieve_url(message_uuid: str, **path: str) -> str:
    return f"{url(**path)}/{message_uuid}"


def page(api, path: str | None = None, **params: Any) -> dict[str, Any]:
    response = api.get(path or url(), params)
    assert response.status_code == 200, response.json()
    return response.json()


def listed(api, path: str | None = None, **params: Any) -> list[str]:
    """The sourceUuids of the first page of a list request."""
    return [item["sourceUuid"] for item in page(api, path, **params)["results"]]


def follow(api, link: str | None) -> list[dict[str, Any]]:
    """Every page from ``link`` on, following ``next``."""
    pages = []
    while link is not None:
        response = api.get(link)
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        link = pages[-1]["next"]
    return pages


def source_uuids(pages: list[dict[str, Any]]) -> list[str]:
    return [item["sourceUuid"] for body in pages for item in body["results"]]


def error_code(response) -> str:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]["errorCode"]


def utc_z(value: str) -> str:
    """An ISO 8601 date-time as the read side writes it: UTC, Z, milliseconds when exact."""
    moment = datetime.fromisoformat(value).astimezone(UTC)
    if moment.microsecond == 0:
        timespec = "seconds"
    elif moment.microsecond % 1000 == 0:
        timespec = "milliseconds"
    else:
        timespec = "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def normalised(value: Any, key: str = "") -> Any:
    """A sent item as the read side returns it: null and absent fields and empty lists left
    out, date-times in UTC with Z. ``messageTags[].value`` is free JSON, kept as sent."""
    if key == "value":
        return value
    if key in DATE_TIME_FIELDS:
        return utc_z(value)
    if isinstance(value, dict):
        return {k: normalised(v, k) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def expected_item(sent: dict[str, Any], message_uuid: str) -> dict[str, Any]:
    return normalised({**copy.deepcopy(sent), "messageUuid": message_uuid})


@pytest.fixture
def read_only_client(department) -> APIClient:
    register_client(OTHER_CLIENT_NAME, [department.uuid], [ApiScope.MESSAGE_READ], secret=OTHER_CLIENT_SECRET)
    return http(basic(OTHER_CLIENT_NAME, OTHER_CLIENT_SECRET))


@pytest.fixture
def create_only_client(department) -> APIClient:
    register_client(OTHER_CLIENT_NAME, [department.uuid], [ApiScope.MESSAGE_CREATE], secret=OTHER_CLIENT_SECRET)
    return http(basic(OTHER_CLIENT_NAME, OTHER_CLIENT_SECRET))


@pytest.fixture
def other_department_client(department) -> APIClient:
    """A valid client granted every scope, but only in another department."""
    register_client(OTHER_CLIENT_NAME, [OTHER_DEPARTMENT_UUID], ApiScope.values, secret=OTHER_CLIENT_SECRET)
    return http(basic(OTHER_CLIENT_NAME, OTHER_CLIENT_SECRET))


# --- Round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 8], ids=["manual-false", "manual-true"])
def test_a_full_message_is_listed_exactly_as_it_was_put(put, api, n):
    sent = full_message(n)
    [message_uuid] = store(put, [sent])

    results = page(api)["results"]

    assert results == [expected_item(sent, message_uuid)]


@pytest.mark.parametrize("n", [3, 8], ids=["manual-false", "manual-true"])
def test_a_full_message_is_retrieved_exactly_as_it_was_put(put, api, n):
    sent = full_message(n)
    [message_uuid] = store(put, [sent])

    response = api.get(retrieve_url(message_uuid))

    assert response.status_code == 200
    assert response.json() == expected_item(sent, message_uuid)


def test_read_items_carry_the_message_uuid_the_put_returned(put, api):
    message_uuids = store(put, [full_message(1), minimal_message(2)])

    results = page(api)["results"]

    assert [item["messageUuid"] for item in results] == message_uuids
    assert all(message_uuids)


def test_the_seed_example_is_listed_exactly_as_it_was_put(put, api, seed_example):
    [sent] = seed_example["saveMessageRequestList"]
    store(put, seed_example)

    results = page(api, includeTrashed="true")["results"]

    assert results == [expected_item(sent, "string")]


def test_the_seed_example_is_retrieved_exactly_as_it_was_put(put, api, seed_example):
    [sent] = seed_example["saveMessageRequestList"]
    store(put, seed_example)

    response = api.get(retrieve_url("string"))

    assert response.status_code == 200
    assert response.json() == expected_item(sent, "string")


def test_null_fields_and_empty_lists_are_left_out_of_the_read_item(put, api):
    sent = with_attrs(
        minimal_message(1, receivedOn=None, userUuid=None, notificationAttributes=None),
        tags=[],
        attachments=[],
        subject=None,
        isManual=None,
    )
    [message_uuid] = store(put, [sent])

    [item] = page(api)["results"]

    assert item["sourceUuid"] == "min-1"
    assert item["messageUuid"] == message_uuid
    assert set(item) == {"sourceUuid", "messageUuid", "sentOn", "messageAttributes"}
    assert not {"tags", "attachments", "subject", "isManual"} & set(item["messageAttributes"])


def test_absent_booleans_that_mean_true_are_read_back_as_true(put, api):
    [message_uuid] = store(put, [minimal_message(1)])

    attributes = api.get(retrieve_url(message_uuid)).json()["messageAttributes"]

    assert attributes == {
        "body": "hello 1",
        "type": "OUTGOING",
        "protocol": "TEXT",
        "purpose": "F",
        "updateThreadTimestamp": True,
        "updateTotalMessageCount": True,
        "showInCustomerConversation": True,
    }


def test_date_times_are_read_back_in_utc_with_z(put, api):
    sent = minimal_message(1, sentOn="2024-02-01T14:00:00.5+02:00", receivedOn="2024-02-01T07:30:00-05:00")
    [message_uuid] = store(put, [sent])

    item = api.get(retrieve_url(message_uuid)).json()

    assert (item["sentOn"], item["receivedOn"]) == ("2024-02-01T12:00:00.500Z", "2024-02-01T12:30:00Z")


def test_a_tag_value_is_free_json_and_keeps_its_nulls_and_empty_lists(put, api):
    value = {"none": None, "empty": [], "object": {}, "list": [None, [], {"deep": None}]}
    sent = with_attrs(minimal_message(1), messageTags=[{"tagTypeUuid": "vip", "value": value}])
    [message_uuid] = store(put, [sent])

    item = api.get(retrieve_url(message_uuid)).json()

    assert item["messageAttributes"]["messageTags"] == [{"tagTypeUuid": "vip", "value": value}]


# --- Ordering -------------------------------------------------------------------------------


def test_messages_are_listed_by_message_time_not_insertion_order(put, api):
    store(put, [message(1, at(12)), message(2, at(9))])
    store(put, [message(3, at(11)), message(4, at(10, day=2)), message(5, at(10))])

    assert listed(api) == ["min-2", "min-5", "min-3", "min-1", "min-4"]


def test_message_time_is_the_later_of_sent_on_and_received_on(put, api):
    store(
        put,
        [
            minimal_message(1, sentOn=at(9), receivedOn=at(12)),
            minimal_message(2, sentOn=at(11)),
            minimal_message(3, sentOn=None, receivedOn=at(10)),
        ],
    )

    assert listed(api) == ["min-3", "min-2", "min-1"]


def test_messages_at_the_same_time_are_listed_in_the_order_they_were_stored(put, api):
    for n in (5, 2, 9, 1, 7):
        store(put, [message(n, at(10))])

    assert listed(api) == ["min-5", "min-2", "min-9", "min-1", "min-7"]


def test_ties_keep_their_order_across_pages_of_every_size(put, api):
    for n in (5, 2, 9, 1, 7):
        store(put, [message(n, at(10))])
    store(put, [message(0, at(9)), message(6, at(11))])
    expected = ["min-0", "min-5", "min-2", "min-9", "min-1", "min-7", "min-6"]

    for size in (1, 2, 3, 7):
        assert source_uuids(follow(api, f"{url()}?pageSize={size}")) == expected, size


# --- Filters --------------------------------------------------------------------------------


@pytest.fixture
def assorted(put) -> None:
    """Five visible messages of different kinds, one an hour from 09:00."""
    store(
        put,
        [
            message(1, at(9), type="OUTGOING", protocol="TEXT", purpose="F", isManual=True),
            message(2, at(10), type="INCOMING", protocol="EMAIL", purpose="FinInviteM", isManual=False),
            message(3, at(11), type="INCOMING", protocol="TEXT", purpose="CIWNotOp"),
            message(4, at(12), type="NOTE", protocol="NONE", purpose="F", isManual=False),
            message(5, at(13), type="OUTGOING", protocol="EMAIL", purpose="CardSave_RCPT", isManual=True),
        ],
    )


def test_without_filters_every_visible_message_is_listed(api, assorted):
    assert listed(api) == ["min-1", "min-2", "min-3", "min-4", "min-5"]


def test_type_filter_keeps_one_type(api, assorted):
    assert listed(api, type="INCOMING") == ["min-2", "min-3"]


def test_type_filter_accepts_several_types(api, assorted):
    assert listed(api, type=["NOTE", "OUTGOING"]) == ["min-1", "min-4", "min-5"]


def test_protocol_filter_keeps_one_protocol(api, assorted):
    assert listed(api, protocol="EMAIL") == ["min-2", "min-5"]


def test_purpose_filter_accepts_several_purposes(api, assorted):
    assert listed(api, purpose=["F", "FinInviteM"]) == ["min-1", "min-2", "min-4"]


def test_purpose_filter_matches_mixed_case_values_exactly(api, assorted):
    assert listed(api, purpose="CIWNotOp") == ["min-3"]


def test_type_and_protocol_filters_combine(api, assorted):
    assert listed(api, type="INCOMING", protocol="TEXT") == ["min-3"]
    assert listed(api, type=["INCOMING", "OUTGOING"], protocol="EMAIL") == ["min-2", "min-5"]


def test_choice_filters_read_a_page_without_select_distinct(api, assorted):
    # DISTINCT would sort every matching message of the customer before taking a page.
    with CaptureQueriesContext(connection) as context:
        assert listed(api, type=["INCOMING", "OUTGOING"], protocol="EMAIL", purpose=["F", "FinInviteM"]) == ["min-2"]
    message_queries = [q["sql"] for q in context.captured_queries if 'FROM "messages_app_message"' in q["sql"]]
    assert message_queries
    assert not any("DISTINCT" in sql.upper() for sql in message_queries)


def test_is_manual_true_keeps_manual_messages(api, assorted):
    assert listed(api, isManual="true") == ["min-1", "min-5"]


def test_is_manual_false_keeps_messages_sent_as_not_manual(api, assorted):
    assert listed(api, isManual="false") == ["min-2", "min-4"]


def test_is_manual_accepts_any_case_and_1_and_0(api, assorted):
    assert listed(api, isManual="TRUE") == listed(api, isManual="1") == ["min-1", "min-5"]
    assert listed(api, isManual="False") == listed(api, isManual="0") == ["min-2", "min-4"]


def test_sent_on_after_is_inclusive(api, assorted):
    assert listed(api, sentOnAfter=at(12)) == ["min-4", "min-5"]


def test_sent_on_before_is_exclusive(api, assorted):
    assert listed(api, sentOnBefore=at(11)) == ["min-1", "min-2"]


def test_sent_on_range_on_both_ends(api, assorted):
    assert listed(api, sentOnAfter=at(10), sentOnBefore=at(12)) == ["min-2", "min-3"]


def test_time_filters_honour_the_offset(api, assorted):
    assert listed(api, sentOnAfter="2024-03-01T12:00:00+02:00", sentOnBefore="2024-03-01T07:00:00-05:00") == [
        "min-2",
        "min-3",
    ]


def test_received_on_range_on_both_ends(put, api):
    store(
        put,
        [
            minimal_message(n, sentOn=at(8), receivedOn=at(hour))
            for n, hour in ((1, 9), (2, 10), (3, 11), (4, 12), (5, 13))
        ]
        + [minimal_message(6, sentOn=at(11))],
    )

    assert listed(api, receivedOnAfter=at(10), receivedOnBefore=at(12)) == ["min-2", "min-3"]
    assert listed(api, receivedOnAfter=at(12)) == ["min-4", "min-5"]
    assert listed(api, receivedOnBefore=at(10)) == ["min-1"]


def test_sent_and_received_ranges_combine(put, api):
    store(
        put,
        [
            minimal_message(1, sentOn=at(9), receivedOn=at(10)),
            minimal_message(2, sentOn=at(9), receivedOn=at(12)),
            minimal_message(3, sentOn=at(11), receivedOn=at(10)),
        ],
    )

    assert listed(api, sentOnBefore=at(10), receivedOnBefore=at(11)) == ["min-1"]


def test_tag_filter_keeps_messages_with_a_message_tag_of_that_type(put, api):
    store(
        put,
        [
            message(1, at(9), messageTags=[{"tagTypeUuid": "vip"}]),
            message(2, at(10), messageTags=[{"tagTypeUuid": "service"}]),
            message(3, at(11), messageTags=[{"tagTypeUuid": "service"}, {"tagTypeUuid": "vip"}]),
            message(4, at(12)),
        ],
    )

    assert listed(api, tag="vip") == ["min-1", "min-3"]
    assert listed(api, tag="nobody") == []


def test_tag_filter_lists_a_message_once_however_many_matching_tags_it_has(put, api):
    tags = [{"tagTypeUuid": "vip", "referenceIdentifier": f"ref-{i}"} for i in range(3)]
    store(put, [message(1, at(9), messageTags=tags), message(2, at(10), messageTags=tags[:1])])

    assert listed(api, tag="vip") == ["min-1", "min-2"]


def test_tag_filter_combines_with_other_filters(put, api):
    store(
        put,
        [
            message(1, at(9), type="NOTE", messageTags=[{"tagTypeUuid": "vip"}]),
            message(2, at(10), type="OUTGOING", messageTags=[{"tagTypeUuid": "vip"}]),
            message(3, at(11), type="NOTE"),
        ],
    )

    assert listed(api, tag="vip", type="NOTE") == ["min-1"]


@pytest.fixture
def trashed_and_hidden(put) -> None:
    store(
        put,
        [
            message(1, at(9)),
            message(2, at(10), tags=["TRASH"]),
            message(3, at(11), showInCustomerConversation=False),
            message(4, at(12), tags=["TRASH"], showInCustomerConversation=False),
        ],
    )


def test_trashed_and_hidden_messages_are_left_out_by_default(api, trashed_and_hidden):
    assert listed(api) == ["min-1"]


def test_include_trashed_adds_trashed_messages_but_not_hidden_ones(api, trashed_and_hidden):
    assert listed(api, includeTrashed="true") == ["min-1", "min-2"]


def test_include_hidden_adds_hidden_messages_but_not_trashed_ones(api, trashed_and_hidden):
    assert listed(api, includeHidden="true") == ["min-1", "min-3"]


def test_a_trashed_hidden_message_needs_both_includes(api, trashed_and_hidden):
    assert listed(api, includeTrashed="true", includeHidden="true") == ["min-1", "min-2", "min-3", "min-4"]


def test_include_flags_accept_any_case_and_1(api, trashed_and_hidden):
    assert listed(api, includeTrashed="True", includeHidden="1") == ["min-1", "min-2", "min-3", "min-4"]


def test_include_flags_set_to_false_leave_the_defaults(api, trashed_and_hidden):
    assert listed(api, includeTrashed="false", includeHidden="false") == ["min-1"]


def test_includes_combine_with_other_filters(put, api):
    store(
        put,
        [
            message(1, at(9), type="NOTE", tags=["TRASH"]),
            message(2, at(10), type="OUTGOING", tags=["TRASH"]),
            message(3, at(11), type="NOTE"),
        ],
    )

    assert listed(api, includeTrashed="true", type="NOTE") == ["min-1", "min-3"]


def test_a_trashed_message_can_still_be_retrieved(put, api):
    [message_uuid] = store(put, [message(1, at(9), tags=["TRASH"], showInCustomerConversation=False)])

    response = api.get(retrieve_url(message_uuid))

    assert response.status_code == 200
    assert response.json()["sourceUuid"] == "min-1"


INVALID_FILTERS = {
    "unknown-type": {"type": "SMS"},
    "unknown-protocol": {"protocol": "FAX"},
    "purpose-in-wrong-case": {"purpose": "fininvitem"},
    "one-bad-purpose-among-good": {"purpose": ["F", "NOPE"]},
    "lower-case-type": {"type": "incoming"},
    "unparseable-date-time": {"sentOnAfter": "yesterday"},
    "impossible-date": {"receivedOnBefore": "2024-02-30T10:00:00Z"},
    "is-manual-neither-true-nor-false": {"isManual": "maybe"},
    "include-trashed-yes": {"includeTrashed": "yes"},
    "include-hidden-on": {"includeHidden": "on"},
}


@pytest.mark.parametrize("params", INVALID_FILTERS.values(), ids=INVALID_FILTERS.keys())
def test_an_invalid_filter_value_is_400_invalid_query_parameter(put, api, params):
    store(put, [minimal_message(1)])

    response = api.get(url(), params)

    assert response.status_code == 400
    assert error_code(response) == "INVALID_QUERY_PARAMETER"
    assert response.json()["saveMessageResponse"] == []


NUL_QUERIES = {
    "type": "type=%00",
    "purpose-second-value": "purpose=F&purpose=F%00",
    "tag": "tag=vip%00",
    "date-time": "sentOnAfter=2024-03-01T10:00:00Z%00",
    "boolean": "isManual=true%00",
    "include": "includeTrashed=%00",
    "page-size": "pageSize=5%00",
    "cursor": "cursor=%00",
    "unknown-parameter": "anything=%00",
    "parameter-name": "ty%00pe=NOTE",
}


@pytest.mark.parametrize("query", NUL_QUERIES.values(), ids=NUL_QUERIES.keys())
def test_a_nul_in_a_list_query_parameter_is_400_never_500(put, api, query):
    store(put, [minimal_message(1)])

    response = api.get(f"{url()}?{query}")

    assert response.status_code == 400
    assert error_code(response) == "INVALID_QUERY_PARAMETER"


def test_a_nul_in_a_retrieve_query_parameter_is_400_never_500(put, api):
    [message_uuid] = store(put, [minimal_message(1)])

    response = api.get(f"{retrieve_url(message_uuid)}?x=%00")

    assert response.status_code == 400
    assert error_code(response) == "INVALID_QUERY_PARAMETER"


def test_a_nul_in_the_message_uuid_is_400_invalid_path_parameter(put, api):
    store(put, [minimal_message(1)])

    response = api.get(retrieve_url("min%00-1"))

    assert response.status_code == 400
    assert error_code(response) == "INVALID_PATH_PARAMETER"


# --- Pagination -----------------------------------------------------------------------------


def test_a_page_holds_page_size_messages_with_next_and_no_previous(put, api):
    store(put, [message(n, at(9, minute=n)) for n in range(7)])

    body = page(api, pageSize=3)

    assert set(body) == {"next", "previous", "results"}
    assert [item["sourceUuid"] for item in body["results"]] == ["min-0", "min-1", "min-2"]
    assert body["next"] is not None
    assert body["previous"] is None


def test_the_default_page_holds_100_messages(put, api):
    store(put, [message(n, at(9, minute=n % 60, day=1 + n // 60)) for n in range(101)])

    body = page(api)

    assert len(body["results"]) == 100
    assert body["next"] is not None


def test_following_next_visits_every_message_exactly_once_in_order(put, api):
    items = [message(n, at(9 + n % 5, minute=n)) for n in range(11)]
    store(put, items)
    expected = [item["sourceUuid"] for item in sorted(items, key=lambda item: item["sentOn"])]

    pages = follow(api, f"{url()}?pageSize=3")

    assert [len(body["results"]) for body in pages] == [3, 3, 3, 2]
    assert source_uuids(pages) == expected
    assert pages[-1]["next"] is None


def test_next_keeps_the_filters(put, api):
    store(put, [message(n, at(9, minute=n), type="NOTE" if n % 2 else "OUTGOING") for n in range(10)])

    pages = follow(api, f"{url()}?pageSize=2&type=NOTE")

    assert source_uuids(pages) == ["min-1", "min-3", "min-5", "min-7", "min-9"]


def test_next_skips_and_repeats_nothing_when_messages_arrive_between_pages(put, api):
    originals = [message(0, at(10)), message(1, at(11)), message(2, at(12)), message(3, at(12))]
    store(put, [*originals, message(4, at(13)), message(5, at(14))])
    first = page(api, pageSize=3)
    assert [item["sourceUuid"] for item in first["results"]] == ["min-0", "min-1", "min-2"]

    store(
        put,
        [
            message(100, at(8)),  # before the whole first page
            message(101, at(11, minute=30)),  # between the first page's last two messages
            message(102, at(12)),  # at the time of the first page's last message
            message(103, at(13, minute=30)),  # between two messages of the next page
            message(104, at(20)),  # after everything
        ],
    )
    rest = source_uuids(follow(api, first["next"]))

    assert rest == ["min-3", "min-102", "min-4", "min-103", "min-5", "min-104"]


def test_a_message_at_the_time_of_a_page_boundary_is_not_skipped(put, api):
    store(put, [message(n, at(10 + n)) for n in range(4)])
    first = page(api, pageSize=2)

    store(put, [message(100, at(11))])

    assert source_uuids(follow(api, first["next"])) == ["min-100", "min-2", "min-3"]


def test_a_cursor_page_bounds_the_message_time_so_the_index_starts_at_the_cursor(put, api):
    store(put, [message(n, at(9, minute=n)) for n in range(7)])
    first = page(api, pageSize=3)
    second = api.get(first["next"]).json()
    for link, bound in ((first["next"], '"message_at" >='), (second["previous"], '"message_at" <=')):
        with CaptureQueriesContext(connection) as context:
            assert api.get(link).status_code == 200
        [query] = [q["sql"] for q in context.captured_queries if 'FROM "messages_app_message"' in q["sql"]]
        assert bound in query, query


def test_previous_returns_the_page_before(put, api):
    store(put, [message(n, at(9, minute=n)) for n in range(7)])
    first = page(api, pageSize=3)
    second = api.get(first["next"]).json()

    back = api.get(second["previous"]).json()

    assert [item["sourceUuid"] for item in second["results"]] == ["min-3", "min-4", "min-5"]
    assert back["results"] == first["results"]
    assert back["previous"] is None


def test_previous_from_the_last_page_walks_back_to_the_first(put, api):
    store(put, [message(n, at(9, minute=n % 3)) for n in range(8)])
    forward = follow(api, f"{url()}?pageSize=3")

    backward = []
    link = forward[-1]["previous"]
    while link is not None:
        body = api.get(link).json()
        backward.insert(0, body)
        link = body["previous"]

    assert source_uuids(backward) == source_uuids(forward[:-1])


def test_page_size_is_capped_at_500(put, api):
    store(put, [message(n, at(9, minute=n % 60, day=1 + n // 60)) for n in range(501)])

    capped = page(api, pageSize=1000)
    largest = page(api, pageSize=500)

    assert len(capped["results"]) == len(largest["results"]) == 500
    assert capped["next"] is not None
    assert source_uuids(follow(api, capped["next"])) == ["min-500"]


TAMPERED_POSITIONS = {
    "not-a-date-time": "not-a-date-time,1",
    "no-id": "2024-03-01T09:00:00+00:00",
    "non-numeric-id": "2024-03-01T09:00:00+00:00,abc",
    "negative-id": "2024-03-01T09:00:00+00:00,-1",
    "id-beyond-64-bits": f"2024-03-01T09:00:00+00:00,{2**64}",
    "no-offset": "2024-03-01T09:00:00,1",
    "year-out-of-range-in-utc": "0001-01-01T00:00:00+01:00,1",
    "nul": "2024-03-01T09:00:00+00:00\x00,1",
}


@pytest.mark.parametrize("position", TAMPERED_POSITIONS.values(), ids=TAMPERED_POSITIONS.keys())
@pytest.mark.parametrize("direction", ["", "r=1&"], ids=["next", "previous"])
def test_a_tampered_cursor_is_400_invalid_query_parameter_never_500(put, api, position, direction):
    store(put, [message(n, at(9, minute=n)) for n in range(3)])
    cursor = base64.b64encode(f"{direction}{urlencode({'p': position})}".encode()).decode()

    response = api.get(url(), {"cursor": cursor})

    assert response.status_code == 400
    assert error_code(response) == "INVALID_QUERY_PARAMETER"


# --- Customer and department isolation ------------------------------------------------------


def test_only_the_path_customers_messages_are_listed(put, api):
    store(put, [message(1, at(9))])
    store(put, [message(2, at(10))], path=url(customer_uuid=OTHER_CUSTOMER_UUID))

    assert listed(api) == ["min-1"]
    assert listed(api, url(customer_uuid=OTHER_CUSTOMER_UUID)) == ["min-2"]


def test_a_customer_without_messages_has_an_empty_list(put, api):
    store(put, [message(1, at(9))])

    assert page(api, url(customer_uuid="nobody-yet")) == {"next": None, "previous": None, "results": []}


def test_another_customers_message_is_404_not_found(put, api):
    [other] = store(put, [message(1, at(9))], path=url(customer_uuid=OTHER_CUSTOMER_UUID))

    response = api.get(retrieve_url(other))

    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"


def test_the_same_customer_uuid_in_another_department_is_another_customer(put, api, api_client_record):
    register_client(CLIENT_NAME, [OTHER_DEPARTMENT_UUID], ApiScope.values)
    store(put, [message(1, at(9))])
    [elsewhere] = store(put, [message(2, at(10))], path=url(department_uuid=OTHER_DEPARTMENT_UUID))

    response = api.get(retrieve_url(elsewhere))

    assert listed(api) == ["min-1"]
    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    in_its_department = api.get(retrieve_url(elsewhere, department_uuid=OTHER_DEPARTMENT_UUID))
    assert in_its_department.status_code == 200
    assert in_its_department.json()["sourceUuid"] == "min-2"


def test_an_unknown_message_uuid_is_404_not_found(put, api):
    store(put, [minimal_message(1)])

    response = api.get(retrieve_url("no-such-message"))

    assert response.status_code == 404
    assert error_code(response) == "NOT_FOUND"
    assert response.json()["saveMessageResponse"] == []


# --- Scopes, departments, credentials -------------------------------------------------------


def test_a_client_with_only_message_create_cannot_list(put, create_only_client):
    store(put, [minimal_message(1)])

    response = create_only_client.get(url())

    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"


def test_a_client_with_only_message_create_cannot_retrieve(put, create_only_client):
    [message_uuid] = store(put, [minimal_message(1)])

    response = create_only_client.get(retrieve_url(message_uuid))

    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"


def test_a_client_with_only_message_read_can_list_and_retrieve(put, read_only_client):
    [message_uuid] = store(put, [minimal_message(1)])

    listing = read_only_client.get(url())
    one = read_only_client.get(retrieve_url(message_uuid))

    assert listing.status_code == one.status_code == 200
    assert [item["messageUuid"] for item in listing.json()["results"]] == [message_uuid]
    assert one.json()["messageUuid"] == message_uuid
    assert one.json()["sourceUuid"] == "min-1"


def test_a_client_with_only_message_read_cannot_put(put, read_only_client):
    response = put([minimal_message(1)], client=read_only_client)

    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"
    assert read_only_client.get(url()).json()["results"] == []


def without_error_uid(response) -> bytes:
    """The response body with its errorUID removed, to compare two refusals byte for byte."""
    [error] = response.json()["errors"]
    assert error["errorUID"]
    return response.content.replace(error["errorUID"].encode(), b"")


@pytest.mark.parametrize("path", ["", "/some-message"], ids=["list", "retrieve"])
def test_403_for_another_department_is_identical_to_a_missing_departments(put, other_department_client, path):
    store(put, [minimal_message(1, messageUuid="some-message")])

    existing = other_department_client.get(url() + path)
    missing = other_department_client.get(url(department_uuid=MISSING_DEPARTMENT_UUID) + path)

    assert existing.status_code == missing.status_code == 403
    assert error_code(existing) == "PERMISSION_DENIED"
    assert without_error_uid(existing) == without_error_uid(missing)
    assert existing.json()["errors"][0]["errorUID"] != missing.json()["errors"][0]["errorUID"]


@pytest.mark.parametrize("path", ["", "/some-message"], ids=["list", "retrieve"])
def test_a_read_without_credentials_is_401_with_www_authenticate(put, path):
    store(put, [minimal_message(1, messageUuid="some-message")])

    response = http().get(url() + path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="communications"'
    assert error_code(response) == "AUTHENTICATION_REQUIRED"


def test_a_read_with_a_wrong_secret_is_401_authentication_failed(put):
    store(put, [minimal_message(1)])

    response = http(basic(CLIENT_NAME, CLIENT_SECRET + "-wrong")).get(url())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="communications"'
    assert error_code(response) == "AUTHENTICATION_FAILED"


# --- Query count ----------------------------------------------------------------------------

LIST_QUERIES = 10  # client, grant, the customer's id, messages with their 1:1 parts, and 6 prefetches of the lists


@pytest.fixture
def hundred_full_messages(put) -> dict[str, tuple[dict[str, Any], str]]:
    """100 full messages stored: each sent item and its messageUuid, by sourceUuid."""
    sent = [full_message(n) for n in range(100)]
    return {item["sourceUuid"]: (item, uuid) for item, uuid in zip(sent, store(put, sent), strict=True)}


def queries_for_a_page(api, size: int) -> int:
    with CaptureQueriesContext(connection) as context:
        body = page(api, pageSize=size)
    assert len(body["results"]) == size
    assert all(len(item["messageAttributes"]["messageTags"]) == 2 for item in body["results"])
    return len(context.captured_queries)


def test_a_page_of_100_runs_as_many_queries_as_a_page_of_5(api, hundred_full_messages):
    assert queries_for_a_page(api, 100) == queries_for_a_page(api, 5)


def test_a_page_of_full_messages_runs_a_fixed_number_of_queries(api, hundred_full_messages, django_assert_num_queries):
    with django_assert_num_queries(LIST_QUERIES):
        body = page(api, pageSize=5)

    assert len(body["results"]) == 5
    for item in body["results"]:
        assert item == expected_item(*hundred_full_messages[item["sourceUuid"]])


def test_retrieving_a_full_message_runs_a_fixed_number_of_queries(put, api, django_assert_num_queries):
    sent = full_message(1)
    [message_uuid] = store(put, [sent])

    with django_assert_num_queries(LIST_QUERIES):
        response = api.get(retrieve_url(message_uuid))

    assert response.status_code == 200
    assert response.json() == expected_item(sent, message_uuid)
