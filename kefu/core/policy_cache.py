"""The policy versions read on every request, kept per process (working hours, time limits).

Policy versions are only ever added (an edit is a new version from a date on), so the version in
force for a day changes only when a version is added or removed. Each process keeps what it read
per (policy, day) and trusts it for REFRESH_SECONDS before checking the table's stamp (count and
newest id, one cheap query); a change made in this process is seen at once. Several app servers
see another's change within REFRESH_SECONDS, as with the holiday calendar (core.calendar).

A kept version is shared by every thread of the process: callers read it and never change it.
A transaction that adds or removes a version (or a part of one, such as a time-limit row) reads
past the kept copies until it ends, so it never keeps, nor sees, a version that may roll back.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import transaction
from django.db.models import Count, Max

if TYPE_CHECKING:
    from kefu.core.models import EffectiveDatedPolicy

    P = TypeVar("P", bound=EffectiveDatedPolicy)

REFRESH_SECONDS = 60
# Entries are per day; a process running for months keeps at most this many before starting over.
MAX_ENTRIES = 64


@dataclass
class _Entry:
    policy: Any
    stamp: tuple[int, int]
    checked: float


_lock = threading.Lock()
_kept: dict[tuple[str, dt.date], _Entry] = {}
# Per thread (Django's connections are per thread): the on-commit callback of this thread's
# transaction that changed a policy, while that transaction may still commit or roll back.
_changing = threading.local()


def _stamp(model: type[EffectiveDatedPolicy]) -> tuple[int, int]:
    """Changes whenever a version is added or removed."""
    row = model._default_manager.aggregate(count=Count("id"), newest=Max("id"))
    return row["count"], row["newest"] or 0


def in_force(model: type[P], on: dt.date) -> P:
    if _changing_now():
        return model.read_in_force(on)
    key = (model._meta.label, on)
    entry = _kept.get(key)
    now = time.monotonic()
    if entry is not None and now - entry.checked < REFRESH_SECONDS:
        return entry.policy
    stamp = _stamp(model)
    if entry is not None and entry.stamp == stamp:
        entry.checked = now
        return entry.policy
    policy = model.read_in_force(on)
    with _lock:
        if len(_kept) >= MAX_ENTRIES:
            _kept.clear()
        _kept[key] = _Entry(policy=policy, stamp=stamp, checked=now)
    return policy


def forget(*args: Any, **kwargs: Any) -> None:
    """Drop every kept version (a version was added or removed here; tests)."""
    with _lock:
        _kept.clear()


def _changing_now() -> bool:
    """Is this thread inside a transaction that changed a policy? Its callback still waits then."""
    marker = getattr(_changing, "marker", None)
    if marker is None:
        return False
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(item[1] is marker for item in connection.run_on_commit):
        return True
    # Committed (the callback ran) or rolled back (the callback was dropped): over.
    _changing.marker = None
    forget()
    return False


def policy_changed(*args: Any, **kwargs: Any) -> None:
    """Receiver for saves and deletes of kept policies and their parts (see core.apps)."""
    forget()
    if not transaction.get_connection().in_atomic_block:
        return

    def committed() -> None:
        _changing.marker = None
        forget()

    _changing.marker = committed
    transaction.on_commit(committed)


def reset() -> None:
    """Tests: start from nothing, with no transaction marked as changing a policy."""
    _changing.marker = None
    forget()
