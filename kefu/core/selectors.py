"""Reads of the records every app shares: the operation log and the sensitive-data access log."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from kefu.core.models import OperationLog, SensitiveAccess
from kefu.core.scoping import scope_of


def _text(value: str) -> str:
    """A filter's text without NUL characters, which PostgreSQL refuses in a query."""
    return (value or "").replace("\x00", "").strip()


def _day_start(day: dt.date) -> dt.datetime | None:
    """Midnight of a local (Asia/Shanghai) day in UTC; None at the ends of the calendar (year 1 or
    9999), where the shift to UTC leaves the datetime range and no record can lie anyway."""
    try:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min)).astimezone(dt.UTC)
    except OverflowError:
        return None


def _in_days(queryset: QuerySet, date_from: dt.date | None, date_to: dt.date | None) -> QuerySet:
    start = _day_start(date_from) if date_from else None
    if start is not None:
        queryset = queryset.filter(at__gte=start)
    if date_to and date_to < dt.date.max:
        end = _day_start(date_to + dt.timedelta(days=1))
        if end is not None:
            queryset = queryset.filter(at__lt=end)
    return queryset


def _ip_q(text: str) -> Q:
    """A whole address matches exactly; a fragment (192.168.) as a prefix. PostgreSQL's inet column
    rejects a malformed address in an equality test, so a fragment never goes there."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return Q(ip__startswith=text)
    if getattr(address, "scope_id", None):  # fe80::1%eth0: Python accepts it, PostgreSQL does not
        return Q(ip__startswith=text)
    return Q(ip=str(address))


def operation_log_visible_to(user: Any) -> QuerySet[OperationLog]:
    """The whole log with `view_all_operationlog`; otherwise what staff of one's data scope did.

    Anonymous lines (failed sign-ins with an unknown name) belong to the whole log only.
    """
    if not (user and user.is_authenticated and user.is_active and user.has_perm("core.view_operationlog")):
        return OperationLog.objects.none()
    if user.has_perm("core.view_all_operationlog"):
        return OperationLog.objects.all()
    scope = scope_of(user)
    if scope.everything:
        return OperationLog.objects.filter(actor__isnull=False)
    return OperationLog.objects.filter(
        Q(actor__department_id__in=sorted(scope.department_ids)) | Q(actor_id=scope.user_id)
    )


@dataclass
class OperationLogFilters:
    user: str = ""
    action: str = ""
    result: str = ""
    ip: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def operation_log_list(*, actor: Any, filters: OperationLogFilters | None = None) -> QuerySet[OperationLog]:
    filters = filters or OperationLogFilters()
    entries = operation_log_visible_to(actor)
    if _text(filters.user):
        text = _text(filters.user)
        entries = entries.filter(Q(username__icontains=text) | Q(actor__full_name__icontains=text))
    if _text(filters.action):
        entries = entries.filter(action__icontains=_text(filters.action))
    if filters.result:
        entries = entries.filter(result=_text(filters.result))
    if _text(filters.ip):
        entries = entries.filter(_ip_q(_text(filters.ip)))
    entries = _in_days(entries, filters.date_from, filters.date_to)
    return entries.select_related("actor").order_by("-at", "-id")


def sensitive_access_visible_to(user: Any) -> QuerySet[SensitiveAccess]:
    if not (user and user.is_authenticated and user.is_active and user.has_perm("core.view_sensitiveaccess")):
        return SensitiveAccess.objects.none()
    return SensitiveAccess.objects.all()


@dataclass
class SensitiveAccessFilters:
    viewer: str = ""
    object_type: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def sensitive_access_list(
    *, actor: Any, filters: SensitiveAccessFilters | None = None
) -> QuerySet[SensitiveAccess]:
    filters = filters or SensitiveAccessFilters()
    entries = sensitive_access_visible_to(actor)
    if _text(filters.viewer):
        text = _text(filters.viewer)
        entries = entries.filter(Q(actor__username__icontains=text) | Q(actor__full_name__icontains=text))
    if _text(filters.object_type):
        entries = entries.filter(object_type=_text(filters.object_type))
    entries = _in_days(entries, filters.date_from, filters.date_to)
    return entries.select_related("actor").order_by("-at", "-id")


def sensitive_record_types() -> list[str]:
    return list(
        SensitiveAccess.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
