"""Background tasks (django-tasks; ``manage.py run_callback_worker`` runs them), and how they are queued.

This module's path is stored in every queued task row (``messages_app.tasks.deliver_callbacks``):
it stays here so that tasks enqueued by an earlier version still run.
"""

import queue
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django_tasks import task
from django_tasks_db.backend import DatabaseBackend

from .callbacks import delivery
from .models import CallbackDelivery


@task()
def deliver_callbacks(delivery_ids: list[int]) -> None:
    """Attempt each delivery once; a retryable failure is enqueued again after its backoff.

    Up to ``CALLBACK_PARALLELISM`` deliveries are in flight at once (``attempt_all``).
    Retries are new tasks deferred with ``run_after`` rather than sleeps, so a worker is
    never held by a slow receiver's backoff. A backend that cannot defer (the immediate
    one, in tests) waits in-process through the injectable ``delivery.sleep``.
    """
    for delivery_id, delay in attempt_all(delivery_ids):
        if delay is None:
            continue
        if delay > 0 and deliver_callbacks.get_backend().supports_defer:
            deliver_callbacks.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue([delivery_id])
        else:
            if delay > 0:
                delivery.sleep(delay)
            deliver_callbacks.enqueue([delivery_id])


def attempt_all(delivery_ids: list[int]) -> list[tuple[int, float | None]]:
    """One attempt at each delivery, ``CALLBACK_PARALLELISM`` at a time; ``(id, delay)`` in order.

    Each thread drains a shared queue with one HTTP session of its own (keep-alive across
    its deliveries) and closes the database connections it opened when the queue is empty.
    Every attempt commits on its own (``attempt_delivery``), so a crash loses no result.
    """
    parallelism = max(1, min(int(settings.CALLBACK_PARALLELISM), len(delivery_ids)))
    if parallelism == 1:
        with delivery.new_session() as session:
            return [(pk, delivery.attempt_delivery(pk, session)) for pk in delivery_ids]
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for pk in delivery_ids:
        pending.put(pk)
    delays: dict[int, float | None] = {}

    def drain() -> None:
        try:
            with delivery.new_session() as session:
                while True:
                    try:
                        pk = pending.get_nowait()
                    except queue.Empty:
                        return
                    delays[pk] = delivery.attempt_delivery(pk, session)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="callbacks") as pool:
        for future in [pool.submit(drain) for _ in range(parallelism)]:
            future.result()
    return [(pk, delays.get(pk)) for pk in delivery_ids]


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Enqueue the delivery task so that it exists if and only if the transaction commits.

    The database backend stores the task row in this very transaction (atomic with the
    import); any other backend (the immediate one in tests) is enqueued on commit.
    """
    if not delivery_ids:
        return
    if isinstance(deliver_callbacks.get_backend(), DatabaseBackend):
        deliver_callbacks.enqueue(delivery_ids)
    else:
        transaction.on_commit(lambda: deliver_callbacks.enqueue(delivery_ids))


def resend(deliveries: Iterable[CallbackDelivery]) -> int:
    """Put deliveries back to pending with a fresh round of attempts (admin action)."""
    ids = [row.pk for row in deliveries]
    with transaction.atomic():
        CallbackDelivery.objects.filter(pk__in=ids).update(
            status=CallbackDelivery.Status.PENDING, attempt_count=0, next_attempt_at=None
        )
        enqueue_deliveries(ids)
    return len(ids)
