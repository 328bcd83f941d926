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
