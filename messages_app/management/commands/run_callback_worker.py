"""``db_worker`` with task leases: the callback worker to run in production.

Same options as django-tasks-db's ``db_worker``; in addition, the task being run keeps a
lease and tasks of dead workers are reclaimed (``messages_app.workers``), at start and
every third of ``TASK_STALE_SECONDS``.
"""

import os
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from ...workers import LeaseKeeper, reclaim_stale_tasks


class LeasedWorker(db_worker.Worker):
    """A ``db_worker`` worker whose running task keeps a lease, and which reclaims stale tasks."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keeper = LeaseKeeper()

    def run(self) -> None:
        reclaim_stale_tasks()
        self.keeper.start()
        try:
            super().run()
        finally:
            self.keeper.stop()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self.keeper.current = db_task_result.pk
        try:
            super().run_task(db_task_result)
        finally:
            self.keeper.current = None


class Command(db_worker.Command):
    help = "Run the callback worker: db_worker whose tasks are reclaimed when their worker dies."

    def handle(  # type: ignore[override]
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = LeasedWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
