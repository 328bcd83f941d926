#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    """Run administrative tasks; settings that cannot load are one line on stderr, exit 78."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    from comms_project.startup import settings_errors_reported

    with settings_errors_reported("manage.py"):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
