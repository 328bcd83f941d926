"""SQLite backend that knows the real bound-parameter limit of the linked library.

Django assumes SQLite's historical limit of 999 variables per statement and splits
bulk inserts into many small statements. SQLite 3.32+ allows 32,766, so a batch of
messages is written in a constant number of statements on SQLite as on PostgreSQL.
Half the real limit is declared because ``bulk_update`` binds two values per field and
row while sizing its batches by one.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    @property
    def max_query_params(self) -> int:
        return self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 2


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
