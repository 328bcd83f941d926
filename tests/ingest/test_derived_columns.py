"""``message_at`` and ``is_trashed`` follow one rule, whoever writes the message."""

from datetime import UTC, datetime

import pytest

from messages_app import corrections
from messages_app.models import Message
from tests.builders import minimal_message

SENT = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
RECEIVED_EARLIER = datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)


def test_message_at_is_the_later_of_sent_and_received():
    assert Message.derived_columns(sent_on=SENT, received_on=RECEIVED_EARLIER, tags=None)["message_at"] == SENT
    assert Message.derived_columns(sent_on=None, received_on=RECEIVED_EARLIER, tags=None)["message_at"] == (
        RECEIVED_EARLIER
    )


@pytest.mark.parametrize(("tags", "trashed"), [(None, False), ([], False), (["TRASH"], True)])
def test_is_trashed_says_whether_tags_hold_trash(tags, trashed):
    assert Message.derived_columns(sent_on=SENT, received_on=None, tags=tags)["is_trashed"] is trashed


def test_an_import_received_before_it_was_sent_is_placed_at_its_sent_time(put):
    put([minimal_message(1, sentOn="2024-05-01T12:00:05Z", receivedOn="2024-05-01T12:00:01Z")])

    assert Message.objects.get().message_at == SENT


def test_a_correction_recomputes_message_at_by_the_same_rule(put):
    put([minimal_message(1, sentOn="2024-05-01T12:00:00Z")])
    message = Message.objects.get()
    message.sent_on = SENT
    message.received_on = RECEIVED_EARLIER

    corrections.record_correction(message, user=None, fields=["sent_on", "received_on"])

    message.refresh_from_db()
    assert message.message_at == SENT
