"""WSGI entry point: ``gunicorn comms_project.wsgi``.

After loading the project (URLconf and views included, which Django would otherwise
import on the first request), the objects that live as long as the process are frozen
out of the cyclic garbage collector (``gc.freeze()``). A PUT builds hundreds of thousands
of short-lived objects, which triggers full collections; without the freeze each of them
walks every module, class and function of Django as well, and parsing a 1.5 MB body took
three times as long.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from comms_project.startup import WSGI_EXIT_STATUS, settings_errors_reported

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")

# A settings error (no SECRET_KEY with DEBUG off) is one line on stderr and exit status 4.
with settings_errors_reported("comms_project.wsgi", WSGI_EXIT_STATUS):
    application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 (imports every view now)
gc.freeze()
