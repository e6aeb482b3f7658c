"""The access log for sensitive data shown unmasked (SPEC §2 confidentiality).

Its lines are written by a statement built once (core.rows.insert_row): a manager's phone lookup
writes one on every call, and the ORM's compiling cost more than the lookup's own queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from kefu.core.masking import can_view_sensitive
from kefu.core.models import SensitiveAccess
from kefu.core.requests import client_ip
from kefu.core.rows import insert_row


def log_sensitive_access(
    *,
    actor: Any,
    objects: Sequence[Any],
    fields: Sequence[str],
    channel: str,
    request: Any = None,
    detail: str = "",
) -> None:
    """Record that `actor` saw `fields` of `objects` unmasked; nothing is logged for masked views."""
    if not objects or not can_view_sensitive(actor):
        return
    first = objects[0]
    single = len(objects) == 1
    insert_row(
        SensitiveAccess,
        {
            "at": timezone.now(),
            "actor_id": actor.pk,
            "object_type": first._meta.model_name,
            "object_id": first.pk if single else None,
            "object_label": str(first)[:200] if single else "",
            "fields": ",".join(fields)[:200],
            "channel": channel,
            "ip": client_ip(request) if request is not None else None,
            "count": len(objects),
            "detail": detail[:300],
        },
    )


def log_sensitive_bulk(
    *,
    actor: Any,
    object_type: str,
    count: int,
    fields: Sequence[str],
    channel: str,
    request: Any = None,
    detail: str = "",
) -> None:
    """One line for an export or list of `count` records shown unmasked."""
    if count <= 0 or not can_view_sensitive(actor):
        return
    insert_row(
        SensitiveAccess,
        {
            "at": timezone.now(),
            "actor_id": actor.pk,
            "object_type": object_type,
            "object_id": None,
            "object_label": "",
            "fields": ",".join(fields)[:200],
            "channel": channel,
            "ip": client_ip(request) if request is not None else None,
            "count": count,
            "detail": detail[:300],
        },
    )
