"""A batch that loses a race for a key is written again: first side by side, then queued
behind the other losers, then alone; what is not a race is not retried."""

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError

from messages_app.ingest import service
from messages_app.ingest.write import Turn
from messages_app.models import Message
from tests.builders import CUSTOMER_UUID, minimal_message

pytestmark = pytest.mark.django_db


class DeadlockDetected(Exception):
    """Stands in for psycopg's error of that name: what Django's OperationalError wraps."""

    sqlstate = "40P01"


def deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = DeadlockDetected()
    return error


@dataclass
class Attempts:
    """The turn of each write attempt; ``failures`` are raised first, one per attempt."""

    turns: list[Turn] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)


@pytest.fixture
def attempts(monkeypatch) -> Attempts:
    seen = Attempts()
    real = service.write_batch

    def write_batch(*args: Any, turn: Turn, **kwargs: Any) -> Any:
        seen.turns.append(turn)
        if seen.failures:
            raise seen.failures.pop(0)
        return real(*args, turn=turn, **kwargs)

    monkeypatch.setattr(service, "write_batch", write_batch)
    return seen


def ingest(department) -> service.IngestResult:
    return service.ingest_messages(department=department, customer_uuid=CUSTOMER_UUID, items=[minimal_message(1)])


def test_a_batch_that_keeps_losing_races_is_written_alone_on_its_third_turn(department, attempts):
    attempts.failures.extend([IntegrityError("duplicate key"), deadlock()])

    result = ingest(department)

    assert attempts.turns == [Turn.FIRST, Turn.RETRY, Turn.ALONE]
    assert [item.succeeded for item in result.items] == [True]
    assert Message.objects.count() == 1


def test_a_deadlock_is_retried_like_a_unique_violation(department, attempts):
    attempts.failures.append(deadlock())

    ingest(department)

    assert attempts.turns == [Turn.FIRST, Turn.RETRY]
    assert Message.objects.count() == 1


def test_an_operational_error_that_is_no_deadlock_is_not_retried(department, attempts):
    attempts.failures.append(OperationalError("server closed the connection unexpectedly"))

    with pytest.raises(OperationalError):
        ingest(department)

    assert attempts.turns == [Turn.FIRST]


def test_a_race_lost_alone_is_raised(department, attempts):
    attempts.failures.extend([IntegrityError("duplicate key")] * 3)

    with pytest.raises(IntegrityError):
        ingest(department)

    assert attempts.turns == [Turn.FIRST, Turn.RETRY, Turn.ALONE]
