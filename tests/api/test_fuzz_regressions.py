"""Bad input that schemathesis once turned into a 500, kept as regressions."""

import pytest

from messages_app.models import ImportBatch, Message
from tests.builders import minimal_message, url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", [url(), url() + "/some-message"], ids=["collection", "message"])
def test_an_unmapped_method_is_405_not_500(api, path):
    response = api.generic("TRACE", path)

    assert response.status_code == 405
    assert response.json()["errors"][0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_null_entries_in_a_list_of_objects_are_an_item_error(put):
    item = minimal_message(1, notificationAttributes={"notificationButtons": [None, None]})

    body = put([item]).json()

    errors = body["saveMessageResponse"][0]["errors"]
    assert [e["errorCode"] for e in errors] == ["INVALID_FIELD_TYPE", "INVALID_FIELD_TYPE"]
    assert errors[0]["errorDescription"].startswith(
        "saveMessageRequestList[0].notificationAttributes.notificationButtons[0]"
    )
    assert not Message.objects.exists()


def test_a_cursor_the_api_did_not_give_is_400(api, put):
    put([minimal_message(1)])

    response = api.get(url(), {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["errorCode"] == "INVALID_QUERY_PARAMETER"
    assert ImportBatch.objects.count() == 1


def test_a_date_filter_with_an_offset_postgresql_refuses_is_read_in_utc(api, put):
    put([minimal_message(1, sentOn="2024-01-02T01:20:00Z")])  # the filter is 01:19 UTC

    after = api.get(url(), {"sentOnAfter": "2024-01-01T02:00:00-23:19"})
    before = api.get(url(), {"sentOnBefore": "2024-01-01T02:00:00-23:19"})

    assert after.status_code == before.status_code == 200
    assert [m["sourceUuid"] for m in after.json()["results"]] == ["min-1"]
    assert before.json()["results"] == []


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "2024-01-01", "yesterday"])
def test_a_date_filter_that_is_no_utc_date_time_is_400(api, moment):
    response = api.get(url(), {"receivedOnAfter": moment})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["errorCode"] == "INVALID_QUERY_PARAMETER"
    assert "receivedOnAfter" in error["errorDescription"]
