"""How long one API credential check takes.

    DEBUG=1 .venv/bin/python benchmarks/auth_check.py

Builds a throwaway test database (Django's test-database machinery, on SQLite or on
whatever DATABASE_URL names; destroyed at the end), registers one client and prints the
mean cost of ``ApiClient.check_secret`` and of a full ``ApiClientBasicAuthentication``
check (lockout lookup in the cache, client query, keyed hash, constant-time compare).
"""

import base64
import os
import sys
import time
from pathlib import Path

CALLS = 10_000
NAME, SECRET = "bench-client", "bench-secret-0123456789abcdefghij"


def mean_microseconds(function, calls: int = CALLS) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework.request import Request

    from messages_app.api.authentication import ApiClientBasicAuthentication
    from messages_app.clients import register_client

    settings.DEBUG = False  # DEBUG=1 only provides a SECRET_KEY; query logging would distort the figures
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        client, _ = register_client(NAME, ["bench-department"], secret=SECRET)
        header = "Basic " + base64.b64encode(f"{NAME}:{SECRET}".encode()).decode()
        request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=header, REMOTE_ADDR="192.0.2.1"))
        authenticator = ApiClientBasicAuthentication()
        assert client.check_secret(SECRET) and authenticator.authenticate(request)[0] == client

        check = mean_microseconds(lambda: client.check_secret(SECRET))
        full = mean_microseconds(lambda: authenticator.authenticate(request))
        print(f"database: {connection.vendor}, {CALLS:,} calls each")
        print(f"ApiClient.check_secret:                       {check:8.1f} µs mean")
        print(f"ApiClientBasicAuthentication.authenticate:    {full:8.1f} µs mean")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
