"""Task leases: a RUNNING task whose worker died is put back to READY for another worker.

django-tasks-db's ``db_worker`` claims a task (``SKIP LOCKED``, status RUNNING) but never
gives back one whose worker died, and one task carries every callback of a batch. Our
worker (``manage.py run_callback_worker``) keeps a lease on the task it runs: a thread
moves the task's ``run_after`` (unused while a task runs) to ``now + TASK_STALE_SECONDS``
every third of that time. A RUNNING task is stale, and reclaimed, once it started more
than ``TASK_STALE_SECONDS`` ago and its lease (if it ever got one) has expired: so a live
worker keeps its task however long the task runs, and a dead one loses it within
``TASK_STALE_SECONDS`` of its last renewal. Reclaiming is one conditional UPDATE, so two
workers reclaiming at once, or a renewal racing a reclaim, cannot both win.

Deliveries stay at-least-once and idempotent: a reclaimed task runs again from the
start, and ``attempt_delivery`` skips every delivery that is no longer pending.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger("messages_app.workers")


def stale_after() -> timedelta:
    """``TASK_STALE_SECONDS``: how long a RUNNING task may go without its lease renewed."""
    return timedelta(seconds=float(settings.TASK_STALE_SECONDS))


def renew_lease(task_id: uuid.UUID | str) -> bool:
    """Extend the lease of a task still RUNNING; False when it no longer is (finished or reclaimed)."""
    now = timezone.now()
    renewed = DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
        run_after=now + stale_after()
    )
    return renewed == 1


def reclaim_stale_tasks() -> int:
    """Put RUNNING tasks whose worker is gone back to READY, to run now; return how many."""
    now = timezone.now()
    reclaimed = (
        DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - stale_after())
        .filter(Q(run_after__lt=now) | Q(run_after=get_date_max()))
        .update(status=TaskResultStatus.READY, run_after=now)
    )
    if reclaimed:
        logger.warning("Reclaimed %d task(s) whose worker stopped renewing its lease.", reclaimed)
    return reclaimed


class LeaseKeeper(threading.Thread):
    """Renews the lease of the worker's current task and reclaims stale tasks, every
    third of ``TASK_STALE_SECONDS``, on a database connection of its own."""

    def __init__(self) -> None:
        super().__init__(name="task-lease-keeper", daemon=True)
        self.current: uuid.UUID | str | None = None
        self.interval = max(0.1, float(settings.TASK_STALE_SECONDS) / 3)
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        """One round; a database error is logged and the next round tries again."""
        close_old_connections()
        try:
            current = self.current
            if current is not None:
                renew_lease(current)
            reclaim_stale_tasks()
        except DatabaseError:
            logger.exception("Renewing the task lease or reclaiming stale tasks failed; retrying.")
        finally:
            close_old_connections()

    def stop(self) -> None:
        self._stopped.set()
