"""gunicorn settings: ``gunicorn -c gunicorn.conf.py comms_project.wsgi``.

gunicorn also reads this file by itself when started from this folder without ``-c``
(the scripts and benchmarks do; their command-line options win over it). Everything
comes from the environment (and the same ``.env`` the Django settings read):

- ``BIND`` (e.g. ``0.0.0.0:8000`` in a container), else ``127.0.0.1:$PORT`` (``PORT``
  default 8000): loopback unless told otherwise, behind a reverse proxy;
- ``WEB_CONCURRENCY`` workers, else 2 * cores + 1 (sync workers: a PUT is CPU and
  database work, one at a time per process);
- ``FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-*`` headers gunicorn trusts
  (default ``127.0.0.1``);
- ``LOG_FORMAT``: the access log on standard output, plain or JSON like the app's lines,
  with the request's duration and its ``X-Request-ID``;
- ``METRICS_ENABLED``: the workers' Prometheus values go to ``PROMETHEUS_MULTIPROC_DIR``
  (a fresh temporary folder per start unless given; a given one is emptied of old value
  files at start), so ``/metrics`` adds up every worker's counts.

``gc.freeze()`` stays in ``comms_project/wsgi.py`` rather than in a ``post_worker_init``
hook here: the worker imports wsgi.py right after forking, so the freeze already runs in
each worker once the app is loaded (the moment a hook would pick), and it also holds under
``--preload`` (frozen in the master before the fork, inherited by the workers), under
``gunicorn comms_project.wsgi`` started from elsewhere, and under any other WSGI server.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import environ
from gunicorn import glogging

BASE_DIR = Path(__file__).resolve().parent
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
_env = environ.Env()
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from messages_app.logcontext import JsonFormatter  # noqa: E402 (needs BASE_DIR on the path)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


bind = [_env.str("BIND", default="") or f"127.0.0.1:{_env.int('PORT', default=8000)}"]
workers = _env.int("WEB_CONCURRENCY", default=2 * _cores() + 1)
# A 32 MiB PUT of 1,000 fully populated messages takes seconds, not minutes: 120 s leaves
# room for a slow client upload and a busy database; a restart lets requests finish for 30 s.
timeout = 120
graceful_timeout = 30
# Recycle workers now and then (memory a long-lived process fragments), not all at once.
max_requests = 1000
max_requests_jitter = 100
forwarded_allow_ips = _env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1")

LOG_FORMAT = _env.str("LOG_FORMAT", default="plain")
accesslog = "-"
if LOG_FORMAT == "json":
    access_log_format = "%(m)s %(U)s %(s)s"
else:
    access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access line as JSON: the request's atoms as fields."""

    def add_fields(self, log_data: dict[str, Any], record: Any, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        atoms = record.args if isinstance(record.args, Mapping) else None
        if atoms is None:
            return
        log_data.update(
            method=atoms["m"],
            path=atoms["U"],
            query=atoms["q"],
            status=int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            bytes=atoms["B"],
            duration_ms=atoms["M"],
            remote_addr=atoms["h"],
            user_agent=atoms["a"],
            request_id=atoms["{x-request-id}o"],
        )


class Logger(glogging.Logger):
    """gunicorn's own log lines in ``LOG_FORMAT``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if LOG_FORMAT != "json":
            return
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(AccessJsonFormatter())


logger_class = Logger

_created_metrics_dir: list[str] = []


def on_starting(server: Any) -> None:
    """Load the Django settings once, in the master, before any worker forks: a settings
    error (no SECRET_KEY with DEBUG off) is then one line and exit status 4, instead of one
    failure per worker and gunicorn's own traceback while it stops. Only the settings are
    loaded here, not the app, so the metrics set up in ``when_ready`` still apply to it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    from django.conf import settings

    from comms_project.startup import WSGI_EXIT_STATUS, settings_errors_reported

    with settings_errors_reported("gunicorn", WSGI_EXIT_STATUS):
        settings.SECRET_KEY  # noqa: B018 (loads the settings)


def when_ready(server: Any) -> None:
    """Prepare the folder of the workers' metric values: once per master start (not on a
    reload), after the sockets are bound and before the first worker is forked."""
    if not _env.bool("METRICS_ENABLED", default=False):
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return
    folder_name = tempfile.mkdtemp(prefix="comms-metrics-")
    _created_metrics_dir.append(folder_name)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder_name  # inherited by every worker forked from now


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges go with it (its counters stay in the totals)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    for folder_name in _created_metrics_dir:
        shutil.rmtree(folder_name, ignore_errors=True)
