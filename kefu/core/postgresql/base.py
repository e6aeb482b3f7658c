"""Django's PostgreSQL backend, with the statements whose plan never depends on their values
prepared once per connection.

PostgreSQL plans every statement it is sent. For a one-row INSERT, or a lookup by a unique key,
the plan is the same whatever the values, so planning it again on every call is waste: for a
ticket's intake it was a third of the database's CPU. Those statements are prepared on the
server the first time a connection runs them (parameters bound on the server, psycopg's explicit
`prepare=True`). Everything else is planned afresh with its values, as before: a search or a list
whose best plan depends on the value (a rare name piece or a common one) is never held to one
generic plan (measured: preparing every repeated statement made the customer searches' p99 up to
five times slower).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from kefu.core import oplog
from kefu.core.postgresql import worth_preparing

# psycopg prepares a statement after this many runs on its own: never, here; only when asked.
NEVER_BY_COUNT = 2**31 - 1


class StatementPreparingCursor(base.ServerBindingCursor):
    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        if prepare is None and isinstance(query, str) and worth_preparing(query):
            prepare = True
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params["cursor_factory"] = StatementPreparingCursor
        params["prepare_threshold"] = NEVER_BY_COUNT
        return params

    def _commit(self) -> Any:
        # A declared operation-log row goes into this transaction (kefu.core.oplog).
        written = oplog.write_before_commit(self)
        result = super()._commit()
        oplog.committed(written)
        return result
