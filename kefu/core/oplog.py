"""The operation log's row of a write request: who, what, when, from where, with what result.

Every write request (POST/PUT/PATCH/DELETE, pages and API alike) gets one row, written by
`OperationLogMiddleware` once the response is known. A view on a hot path may instead declare the
status its request answers with once its write transaction commits
(`operation_commits_as(request, 201)`): the row is then written inside that transaction, just
before its COMMIT (the database backends call `write_before_commit`), so the request costs one
write transaction instead of two — on SQLite one turn of the single write lock instead of two.
If the request then answers with another status (or another target), the middleware corrects
the row; if nothing commits, it writes the row as for any other request. A declared row's
duration is the time up to the commit.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest
from django.utils import timezone

from kefu.core.requests import client_ip

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sign-in and sign-out are logged by the auth signals with the user name that was tried.
SKIP_URL_NAMES = frozenset({"login", "logout", "set_language"})


@dataclass
class _Written:
    row_id: int
    status: int
    target: str


@dataclass
class Operation:
    request: HttpRequest
    started: float
    # The status the view expects once its transaction commits (None: the row waits for the response).
    commits_as: int | None = None
    written: _Written | None = None


_current: ContextVar[Operation | None] = ContextVar("kefu_operation", default=None)


def result_for(status: int) -> str:
    from kefu.core.models import OperationLog

    if status >= 500:
        return OperationLog.Result.ERROR
    if status in (401, 403):
        return OperationLog.Result.DENIED
    if status >= 400:
        return OperationLog.Result.INVALID
    return OperationLog.Result.OK


def note_operation_target(request: Any, target: str) -> None:
    """Let a view name the record it changed, for the operation log line."""
    request.kefu_oplog_target = target


def note_operation_action(request: Any, action: str) -> None:
    """Name the request's action in the operation log line (its URL name unless named here)."""
    request.kefu_oplog_action = action


def operation_commits_as(request: HttpRequest, status: int) -> None:
    """This request answers `status` once its write transaction commits: write its operation-log
    row in that transaction (see the module's docstring)."""
    operation = _current.get()
    if operation is not None and operation.request is request:
        operation.commits_as = status


def operation_begin(request: HttpRequest) -> Any:
    return _current.set(Operation(request=request, started=time.monotonic()))


def operation_end(token: Any) -> None:
    _current.reset(token)


def write_before_commit(connection: Any) -> _Written | None:
    """Called by the database backends just before a COMMIT: the declared row, in that transaction.

    Returns what was written (the backend hands it to `committed` once the COMMIT succeeded), or
    None when nothing is to be written on this connection now.
    """
    operation = _current.get()
    if (
        operation is None
        or operation.commits_as is None
        or operation.written is not None
        or connection.alias != DEFAULT_DB_ALIAS
        or connection.connection is None
    ):
        return None
    values = _row_values(operation.request, operation.commits_as, operation.started)
    if values is None:
        return None
    from kefu.core.models import OperationLog
    from kefu.core.rows import insert_row

    row_id = insert_row(OperationLog, values)
    return _Written(row_id=row_id, status=operation.commits_as, target=values["target"])


def committed(written: _Written | None) -> None:
    operation = _current.get()
    if written is not None and operation is not None:
        operation.written = written


def operation_record(request: HttpRequest, status: int) -> None:
    """The middleware's last word: write the row, or correct the one a commit carried."""
    operation = _current.get()
    started = operation.started if operation is not None else time.monotonic()
    values = _row_values(request, status, started)
    if values is None:
        return
    from kefu.core.models import OperationLog
    from kefu.core.rows import insert_row

    written = operation.written if operation is not None and operation.request is request else None
    if written is None:
        insert_row(OperationLog, values)
    elif (written.status, written.target) != (status, values["target"]):
        OperationLog.objects.filter(pk=written.row_id).update(
            status_code=status,
            result=values["result"],
            target=values["target"],
            duration_ms=values["duration_ms"],
        )


def _row_values(request: HttpRequest, status: int, started: float) -> dict[str, Any] | None:
    match = getattr(request, "resolver_match", None)
    if match and match.url_name in SKIP_URL_NAMES:
        return None
    if getattr(request, "kefu_skip_oplog", False):
        return None
    user: Any = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    # An API call names its own operation (kefu/api.py); a page its URL.
    url_name = getattr(request, "kefu_oplog_action", None) or (match.view_name if match else "")
    return {
        "at": timezone.now(),
        "actor_id": user.pk if authenticated else None,
        "username": user.get_username() if authenticated else "",
        "action": (url_name or "unresolved")[:100],
        "method": request.method or "",
        "path": request.get_full_path()[:300],
        "target": str(getattr(request, "kefu_oplog_target", ""))[:200],
        "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "status_code": status,
        "result": result_for(status),
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
