"""``field__any_of=[...]``: membership in a list bound as one array on PostgreSQL.

``field__in=[...]`` binds one parameter per value; with psycopg's client-side binding a
500-value list costs tens of milliseconds just to splice into the SQL. ``= ANY(%s)``
binds the whole list as one array. SQLite has no arrays and gets the usual ``IN``.
"""

from typing import Any

from django.db.models import CharField, Lookup


@CharField.register_lookup
class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql, params = any_of_sql(lhs, list(self.rhs), connection.vendor)
        return sql, [*lhs_params, *params]


def any_of_sql(column: str, values: list[str], vendor: str) -> tuple[str, list[Any]]:
    """``column`` is one of ``values``, as SQL and its parameters (for raw SQL too)."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s::text[])", [values]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
