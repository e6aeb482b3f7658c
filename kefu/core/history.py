"""Change history (django-auditlog) with the service's actor, whatever called the service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from auditlog.context import auditlog_value, set_actor


@contextmanager
def acting(actor: Any) -> Iterator[None]:
    """Attribute the history written inside the block to `actor`.

    The request middleware knows the caller's address but not a token-authenticated API user;
    services know the actor. This keeps the address and restores the outer context afterwards, so
    the middleware still disconnects its own receiver.
    """
    try:
        outer = auditlog_value.get()
    except LookupError:
        outer = None
    remote = (outer or {}).get("remote_addr")
    port = (outer or {}).get("remote_port")
    with set_actor(actor if getattr(actor, "pk", None) else None, remote_addr=remote, remote_port=port):
        yield
    if outer is not None:
        auditlog_value.set(outer)
