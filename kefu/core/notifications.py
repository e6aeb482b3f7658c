"""Messages in the app for staff: escalations, major complaints, assignments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from kefu.core.models import Notification


def notify(recipients: Iterable[Any], message: str, *, url: str = "") -> int:
    """One notification per distinct active recipient; returns how many were written."""
    return notify_each([(recipients, message, url)])


def notify_each(messages: Iterable[tuple[Iterable[Any], str, str]]) -> int:
    """notify() for many (recipients, message, url) at once, in one insert (the SLA job's batches)."""
    rows = []
    for recipients, message, url in messages:
        seen: set[int] = set()
        for user in recipients:
            if user is None or not user.is_active or user.pk in seen:
                continue
            seen.add(user.pk)
            rows.append(Notification(recipient=user, message=message[:300], url=url[:300]))
    Notification.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def notifications_mark_read(*, actor: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notifications read (all of them when no ids are given)."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
