"""Starting the project: settings that cannot load are one line on standard error.

Without this, a missing ``SECRET_KEY`` surfaces from ``manage.py`` as a 40-line traceback
that opens with Django's ``KeyError`` for the command name (it looks the command up
without the project's apps when the settings fail), and from gunicorn as a traceback per
worker. Only errors raised while the settings load are shortened: once they are loaded,
an ``ImproperlyConfigured`` is a programming error and keeps its traceback.

Under gunicorn the line comes from the process that loads the app. With several workers
and no ``preload_app``, they all fail at once and gunicorn 23 may add a traceback of its
own ``HaltServer`` while it stops (a race in its master); preloading loads the settings
once, in the master, before any worker forks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# EX_CONFIG (sysexits.h): distinct from a command's own statuses (1: some item failed), so
# a service manager can refuse to restart on it (RestartPreventExitStatus=78).
COMMAND_EXIT_STATUS = 78
# gunicorn's "app failed to load" status: its master stops instead of respawning workers.
WSGI_EXIT_STATUS = 4


@contextmanager
def settings_errors_reported(program: str, exit_status: int = COMMAND_EXIT_STATUS) -> Iterator[None]:
    """Turn a settings error inside the block into one line on stderr and ``SystemExit``."""
    try:
        yield
    except ImproperlyConfigured as exc:
        if settings.configured:
            raise
        message = " ".join(str(exc).split())
        print(f"{program}: configuration error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(exit_status) from None
