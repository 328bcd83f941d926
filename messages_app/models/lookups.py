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
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::text[])", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
