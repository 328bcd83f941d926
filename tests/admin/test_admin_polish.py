"""How the admin reads: its name, where "View site" goes, model names, empty values, times
with their zone, the purpose filter as one list, and counts with the right plural."""

import html
import re

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders

from messages_app.admin.base import EMPTY, pretty_json
from messages_app.models import (
    ApiClient,
    ApiClientGrant,
    CallbackAttempt,
    CallbackDelivery,
    ImportBatch,
    Message,
    MessageTag,
)
from tests.admin import support
from tests.admin.support import (
    change_url,
    changelist,
    client_for,
    conversation_of,
    form_data,
    import_items,
    staff_user,
    transcript_url,
)
from tests.builders import minimal_message, with_attrs

# Fixtures shared by the admin tests.
two_departments = support.two_departments

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(department):
    return staff_user("polly", department)


@pytest.fixture
def client(staff):
    return client_for(staff)


def text(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def import_one(department, customer="cust", **attributes):
    return import_items(department, customer, [with_attrs(minimal_message(1), **attributes)])


# The site


def test_every_page_is_headed_historical_communications(department, client):
    page = text(client, "/admin/")
    assert re.search(r'id="site-name"><a href="/admin/">Historical communications</a>', page)
    assert "<title>Conversations, messages and imports | Historical communications</title>" in page
    assert "Django administration" not in page and "Django site admin" not in page


def test_view_site_leads_to_the_api_docs(department, client):
    page = text(client, "/admin/")
    assert '<a href="/communications/docs/">View site</a>' in page
    assert client.get("/communications/docs/").status_code == 200


def test_no_navigation_sidebar_takes_the_width_of_the_lists(department, client):
    assert 'id="nav-sidebar"' not in text(client, changelist("message"))


def test_model_names_read_as_people_say_them():
    names = {
        model: (model._meta.verbose_name, model._meta.verbose_name_plural)
        for model in (ApiClient, ApiClientGrant, ImportBatch, CallbackDelivery, CallbackAttempt, MessageTag)
    }
    assert names == {
        ApiClient: ("API client", "API clients"),
        ApiClientGrant: ("API client grant", "API client grants"),
        ImportBatch: ("import batch", "import batches"),
        CallbackDelivery: ("callback delivery", "callback deliveries"),
        CallbackAttempt: ("callback attempt", "callback attempts"),
        MessageTag: ("message tag", "message tags"),
    }


def test_the_index_lists_api_clients_by_their_name(department):
    page = text(client_for(staff_user("root", superuser=True)), "/admin/")
    assert ">API clients<" in page
    assert "Api clients" not in page


def test_identifier_labels_keep_their_capitals(department, client):
    import_one(department)
    page = text(client, change_url("message", Message.objects.get().pk))
    assert "Source UUID:" in page
    assert "User UUID:" in page
    assert "Callback path URL:" in page
    assert "Source uuid" not in page


# Empty values


def test_pretty_json_shows_a_dash_for_null_and_empty_json():
    assert [pretty_json(value) for value in (None, {}, [])] == [EMPTY] * 3
    assert EMPTY == "—"
    assert "&quot;a&quot;: 1" in pretty_json({"a": 1})


def test_an_empty_json_field_reads_as_a_dash_on_a_read_only_page(department, client):
    batch = import_one(department).batch
    ImportBatch.objects.filter(pk=batch.pk).update(response={})
    page = text(client, change_url("importbatch", batch.pk))
    response_row = re.search(r"<label>Response:</label>\s*<div class=\"readonly\">(.*?)</div>", page, re.S)
    assert response_row.group(1).strip() == EMPTY
    message_page = text(client, change_url("message", Message.objects.get().pk))
    corrected = re.search(r"<label>Corrected fields:</label>\s*<div class=\"readonly\">(.*?)</div>", message_page, re.S)
    assert corrected.group(1).strip() == EMPTY


def test_the_site_shows_a_dash_for_every_empty_value():
    assert admin.site.empty_value_display == EMPTY


def test_a_null_json_field_is_an_empty_box_in_the_correction_form_not_null(department, client):
    import_one(department)
    message = Message.objects.get()
    assert (message.meta_data, message.tags) == (None, None)
    data = form_data(client.get(change_url("message", message.pk)), "message_form")
    assert (data["meta_data"], data["tags"]) == ("", "")


def test_saving_a_form_with_empty_json_boxes_keeps_them_null_and_corrects_nothing(department, client):
    import_one(department)
    message = Message.objects.get()
    data = form_data(client.get(change_url("message", message.pk)), "message_form")
    assert client.post(change_url("message", message.pk), data).status_code == 302
    message.refresh_from_db()
    assert (message.meta_data, message.tags, message.corrected_at) == (None, None, None)


# Times


def test_the_message_list_shows_times_in_utc(department, client):
    import_one(department)
    assert "2024-02-01 12:00:00 UTC" in text(client, changelist("message"))


def test_the_message_page_shows_read_only_times_in_utc(department, client):
    import_one(department)
    page = text(client, change_url("message", Message.objects.get().pk))
    assert re.search(r"<label>Message time:</label>\s*<div class=\"readonly\">2024-02-01 12:00:00 UTC</div>", page)


def test_the_batch_list_shows_times_in_utc(department, client):
    import_one(department)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text(client, changelist("importbatch")))


def test_the_transcript_shows_times_in_utc_and_no_doubled_period(department, client):
    import_one(department)
    page = text(client, transcript_url(conversation_of(department, "cust")))
    assert '<time datetime="2024-02-01T12:00:00+00:00">2024-02-01 12:00:00 UTC</time>' in page
    assert "last activity: <time" in page
    assert "a.m." not in page and "p.m." not in page
    assert not re.search(r"\w\.\.(?!\.)", page)


def test_the_rollback_page_shows_times_in_utc(department, client):
    batch = import_one(department).batch
    data = {"action": "rollback", "_selected_action": [batch.pk], "index": 0}
    page = html.unescape(client.post(changelist("importbatch"), data).content.decode())
    assert "<td>2024-02-01 12:00:00 UTC</td>" in page
    assert re.search(rf"Batch {batch.pk} \(REST API, 1 item\): REST API, \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)


# The purpose filter


@pytest.fixture
def purposes(department):
    import_items(
        department,
        "cust",
        [
            with_attrs(minimal_message(1), purpose="F"),
            with_attrs(minimal_message(2), purpose="FinInviteM", body="the invitation"),
        ],
    )


def purpose_select(page):
    match = re.search(r"<details data-filter-title=\"purpose\" open>.*?</details>", page, re.S)
    assert match, "the purpose filter"
    return match.group(0)


def test_the_purpose_filter_is_one_select_of_every_purpose(department, client, purposes):
    select = purpose_select(text(client, changelist("message")))
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)
    assert "<select data-dropdown-filter" in select
    assert len(options) == 1 + len(Message._meta.get_field("purpose").choices)
    assert options[0] == ("?", " selected", "All")
    assert ("?purpose__exact=FinInviteM", "", "FinInviteM") in options
    assert "<a href" not in select


def test_choosing_a_purpose_filters_by_the_same_parameter_as_before(department, client, purposes):
    page = text(client, changelist("message"), purpose__exact="FinInviteM")
    assert "the invitation" in page
    assert "hello 1" not in page
    assert '<option value="?purpose__exact=FinInviteM" selected>FinInviteM</option>' in purpose_select(page)


def test_a_dropdown_keeps_the_other_filters_in_its_choices(department, client, purposes):
    select = purpose_select(text(client, changelist("message"), type__exact="OUTGOING"))
    assert '<option value="?purpose__exact=FinInviteM&type__exact=OUTGOING">' in select
    assert '<option value="?type__exact=OUTGOING" selected>All</option>' in select


def test_the_department_filter_is_a_select_too(two_departments):
    north, south = two_departments
    page = text(client_for(staff_user("root", superuser=True)), changelist("message"))
    select = re.search(r"<details data-filter-title=\"department\" open>.*?</details>", page, re.S).group(0)
    assert f'<option value="?department={north.pk}">North service</option>' in select
    assert f'<option value="?department={south.pk}">South sales</option>' in select


def test_the_list_loads_the_dropdown_script_and_the_admin_styles(department, client):
    page = text(client, changelist("message"))
    for name in ("messages_app/admin/dropdown_filter.js", "messages_app/admin/comms_admin.css"):
        assert f"/static/{name}" in page
        assert finders.find(name), name


# Columns of the message list


def test_the_message_list_has_few_columns(department, client):
    import_one(department, tags=["TRASH"])
    page = text(client, changelist("message"))
    columns = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert columns == ["message_at", "customer_link", "kind", "excerpt", "flags"]
    assert "OUTGOING · TEXT · F" in page
    assert '<span class="flag flag-trashed">trashed</span>' in page


def test_the_department_column_is_there_only_for_someone_who_sees_several(two_departments):
    north, _south = two_departments
    own = text(client_for(staff_user("nora", north)), changelist("message"))
    every = text(client_for(staff_user("root", superuser=True)), changelist("message"))
    assert "column-department" not in own
    assert "column-department" in every


# Plurals


@pytest.mark.parametrize(("count", "expected"), [(1, "1 message"), (2, "2 messages")])
def test_a_conversation_counts_its_messages_with_the_right_plural(department, client, count, expected):
    import_items(department, "cust", [minimal_message(n) for n in range(count)])
    page = text(client, changelist("conversation"))
    assert f">{expected}</a>" in page


@pytest.mark.parametrize(("customers", "expected"), [(1, "1 conversation"), (2, "2 conversations")])
def test_a_department_counts_its_conversations_with_the_right_plural(department, client, customers, expected):
    for n in range(customers):
        import_items(department, f"cust-{n}", [minimal_message(n)])
    assert f">{expected}</a>" in text(client, changelist("department"))


@pytest.mark.parametrize(("count", "expected"), [(1, "Moved 1 message to the trash."), (2, "Moved 2 messages")])
def test_an_action_reports_its_count_with_the_right_plural(department, client, count, expected):
    import_items(department, "cust", [minimal_message(n) for n in range(count)])
    data = {"action": "move_to_trash", "_selected_action": list(Message.objects.values_list("pk", flat=True))}
    response = client.post(changelist("message"), {**data, "index": 0}, follow=True)
    page = html.unescape(response.content.decode())
    assert expected in page
    assert "(s)" not in page


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "Reverted 1 message to its imported state."),
        (2, "Reverted 2 messages to their imported state."),
    ],
)
def test_revert_reports_its_count_with_the_right_plural(department, client, count, expected):
    import_items(department, "cust", [minimal_message(n) for n in range(count)])
    data = {"action": "revert", "_selected_action": list(Message.objects.values_list("pk", flat=True))}
    response = client.post(changelist("message"), {**data, "index": 0}, follow=True)
    assert expected in html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        (1, "Rolled back 1 batch: deleted 1 message it created; kept 0 messages it only updated."),
        (2, "Rolled back 2 batches: deleted 2 messages they created; kept 0 messages they only updated."),
    ],
)
def test_a_rollback_reports_its_counts_with_the_right_plurals(department, client, batches, expected):
    chosen = [import_items(department, "cust", [minimal_message(n)]).batch.pk for n in range(batches)]
    data = {"action": "rollback", "_selected_action": chosen, "index": 0, "confirm": "yes"}
    response = client.post(changelist("importbatch"), data, follow=True)
    assert expected in html.unescape(response.content.decode())


@pytest.mark.parametrize(("count", "expected"), [(1, "1 item"), (2, "2 items")])
def test_a_batch_names_its_items_with_the_right_plural(department, count, expected):
    batch = import_items(department, "cust", [minimal_message(n) for n in range(count)]).batch
    assert str(batch) == f"Batch {batch.pk} (REST API, {expected})"


def test_the_batch_list_sums_up_what_a_batch_did_in_one_column(department, client):
    import_items(department, "cust", [minimal_message(1)])
    import_items(department, "cust", [minimal_message(1), minimal_message(2)])
    page = text(client, changelist("importbatch"))
    assert "1 item: 1 created" in page
    assert "2 items: 1 created, 1 unchanged" in page
