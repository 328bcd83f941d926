"""``?q=`` on the message list: words of the subject and body, with the other filters and
the cursor pages; a bad ``q`` is a 400 in the envelope."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.textsearch import MAX_QUERY_LENGTH
from tests.api.support import assert_error_answer
from tests.builders import CLIENT_NAME, minimal_message, url, with_attrs

pytestmark = pytest.mark.django_db

OTHER_DEPARTMENT_UUID = "b" * 64
OTHER_CUSTOMER_UUID = "another-customer-of-the-same-department"


def item(n: int, body: str, subject: str | None = None, **attributes: Any) -> dict[str, Any]:
    return with_attrs(minimal_message(n, sentOn=f"2024-03-01T10:{n:02d}:00Z"), body=body, subject=subject, **attributes)


def store(put, items: list[dict[str, Any]], **kwargs: Any) -> None:
    response = put(items, **kwargs)
    assert response.status_code == 200, response.json()
    assert response.json()["failedSourceUuids"] == []


def listed(api, path: str | None = None, **params: Any) -> list[str]:
    response = api.get(path or url(), params)
    assert response.status_code == 200, response.json()
    return [entry["sourceUuid"] for entry in response.json()["results"]]


@pytest.fixture
def texts(put):
    store(
        put,
        [
            item(1, "Your brake pads are worn.", "Brake check"),
            item(2, "The invoice for your brake service (#123456).", "Invoice", type="NOTE"),
            item(3, "See you at the appointment.", "Appointment"),
            item(4, "New pads, then the brake test.", "Tyres", type="NOTE"),
        ],
    )


def test_q_keeps_the_messages_with_every_word(api, texts):
    assert listed(api, q="brake pads") == ["min-1", "min-4"]


def test_q_reads_phrases_exclusions_and_or(api, texts):
    assert listed(api, q='"brake pads"') == ["min-1"]
    assert listed(api, q="brake -invoice") == ["min-1", "min-4"]
    assert listed(api, q="invoice OR appointment") == ["min-2", "min-3"]


def test_q_finds_a_word_of_the_subject_only(api, texts):
    assert listed(api, q="tyres") == ["min-4"]


def test_an_empty_q_filters_nothing(api, texts):
    assert listed(api, q="") == ["min-1", "min-2", "min-3", "min-4"]


def test_q_combines_with_another_filter(api, texts):
    assert listed(api, q="brake", type="NOTE") == ["min-2", "min-4"]


def test_q_pages_by_cursor_over_every_match_once(put, api):
    store(put, [item(n, "brake" if n % 2 else "invoice") for n in range(11)])

    pages, link = [], f"{url()}?pageSize=2&q=brake"
    while link is not None:
        response = api.get(link)
        assert response.status_code == 200, response.json()
        pages.append([entry["sourceUuid"] for entry in response.json()["results"]])
        link = response.json()["next"]

    assert pages == [["min-1", "min-3"], ["min-5", "min-7"], ["min-9"]]


def test_q_never_finds_another_customers_or_departments_messages(put, api, texts, department):
    store(put, [item(9, "brake secret")], path=url(customer_uuid=OTHER_CUSTOMER_UUID))
    register_client(CLIENT_NAME, [OTHER_DEPARTMENT_UUID], ApiScope.values)
    store(put, [item(8, "brake secret")], path=url(department_uuid=OTHER_DEPARTMENT_UUID))

    assert listed(api, q="secret") == []
    assert listed(api, path=url(customer_uuid=OTHER_CUSTOMER_UUID), q="secret") == ["min-9"]


BAD_QUERIES = {
    "nul": "q=brake%00",
    "lone-surrogate": "q=%ED%A0%80",
    "too-long": f"q={'a' * (MAX_QUERY_LENGTH + 1)}",
}


@pytest.mark.parametrize("query", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_a_bad_q_is_400_invalid_query_parameter_at_q(api, texts, query):
    response = api.get(f"{url()}?{query}")

    assert_error_answer(response, 400, "INVALID_QUERY_PARAMETER", path="q")


def test_a_q_of_the_longest_length_is_accepted(api, texts):
    assert listed(api, q="brake " + "a" * (MAX_QUERY_LENGTH - 6)) == []


def test_q_adds_no_query_to_a_page(api, texts):
    def count(**params: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            listed(api, **params)
        return len(captured)

    assert count(q="brake pads") == count()


def test_any_query_parameter_that_is_not_utf8_is_400_at_its_name(api, texts):
    response = api.get(f"{url()}?q=brake&type=NOTE%FF")

    assert_error_answer(response, 400, "INVALID_QUERY_PARAMETER", path="type")
