"""PostgreSQL backend whose test databases can be dropped behind pgbouncer.

pgbouncer keeps its server connections to a database open after the client has gone, so
a plain ``DROP DATABASE`` of a test database through it fails ("is being accessed by
other users"); ``WITH (FORCE)`` (PostgreSQL 13+) ends those idle connections first. Only
the test database teardown differs from Django's backend.
"""

from typing import Any

from django.db.backends.postgresql import base, creation


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name: str, verbosity: Any) -> None:
        self.connection.close_pool()
        with self._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE {self.connection.ops.quote_name(test_database_name)} WITH (FORCE)")


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
