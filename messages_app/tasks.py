"""Background tasks (django-tasks; ``manage.py db_worker`` runs them)."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import callbacks


@task()
def deliver_callbacks(delivery_ids: list[int]) -> None:
    """Attempt each delivery once; a retryable failure is enqueued again after its backoff.

    Retries are new tasks deferred with ``run_after`` rather than sleeps, so a worker is
    never held by a slow receiver's backoff. A backend that cannot defer (the immediate
    one, in tests) waits in-process through the injectable ``callbacks.sleep``.
    """
    for delivery_id in delivery_ids:
        delay = callbacks.attempt_delivery(delivery_id)
        if delay is None:
            continue
        if delay > 0 and deliver_callbacks.get_backend().supports_defer:
            deliver_callbacks.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue([delivery_id])
        else:
            if delay > 0:
                callbacks.sleep(delay)
            deliver_callbacks.enqueue([delivery_id])
