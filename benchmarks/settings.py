"""The project's settings plus the peer-baseline endpoint (benchmarks/peer_urls.py).

Used by benchmarks/ingest_speed.py for the benchmark's gunicorn and its in-process
requests: ``DJANGO_SETTINGS_MODULE=benchmarks.settings``. Everything else, the
environment included, is exactly comms_project.settings.
"""

from comms_project.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.peer_urls"
