"""Change history (django-auditlog) with the service's actor, whatever called the service.

Who made a change and from where is kept in a context variable: the request sets the address and
the request (whose user, signed in by session or token, is read only when an entry is written),
and a service names its actor with `acting`. One receiver, connected once, copies it onto each
history entry. (django-auditlog's own middleware and `set_actor` connect and disconnect a receiver
per request and per block, which empties Django's receiver cache of every model's pre_save each
time.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from auditlog.cid import set_cid
from django.http import HttpRequest, HttpResponse

from kefu.core.requests import client_ip

_context: ContextVar[dict[str, Any] | None] = ContextVar("kefu_history", default=None)


@contextmanager
def acting(actor: Any) -> Iterator[None]:
    """Attribute the history written inside the block to `actor` (nobody, when it has no pk),
    keeping the request's address; the outer attribution is back afterwards."""
    outer = _context.get() or {}
    token = _context.set({**outer, "actor": actor if getattr(actor, "pk", None) else None})
    try:
        yield
    finally:
        _context.reset(token)


class HistoryMiddleware:
    """Each request's changes carry its address, and its user unless a service names the actor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        set_cid(request)
        token = _context.set({"request": request, "remote_addr": client_ip(request)})
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


def _actor(context: dict[str, Any]) -> Any:
    if "actor" in context:
        return context["actor"]
    user = getattr(context.get("request"), "user", None)
    return user if user is not None and user.is_authenticated else None


def fill_history_entry(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save of auditlog's LogEntry: who and from where, from the context."""
    context = _context.get()
    if not context:
        return
    actor = _actor(context)
    if instance.actor_id is None and actor is not None:
        instance.actor = actor
        instance.actor_email = getattr(actor, "email", None)
    if context.get("remote_addr"):
        instance.remote_addr = context["remote_addr"]
