"""
ASGI config for comms_project project.

It exposes the ASGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/asgi/
"""

import os

from django.core.asgi import get_asgi_application

from comms_project.startup import WSGI_EXIT_STATUS, settings_errors_reported

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")

with settings_errors_reported("comms_project.asgi", WSGI_EXIT_STATUS):
    application = get_asgi_application()
