"""Reads of member care messaging, always starting from `visible_to(user)`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from kefu.core.phones import phone_digits
from kefu.messaging.models import Campaign, Message, MessageTemplate, OptOut


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def templates(*, user: Any, channel: str = "", active: bool | None = None) -> QuerySet[MessageTemplate]:
    qs = MessageTemplate.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("channel", "purpose", "name")


def campaign_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Campaign]:
    filters = filters or {}
    qs = Campaign.objects.visible_to(user).select_related("template", "created_by", "approved_by")
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("purpose"):
        qs = qs.filter(purpose=filters["purpose"])
    q = str(filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(name__icontains=q))
    return qs.order_by("-created_at", "-id")


def campaign_get(*, user: Any, pk: int) -> Campaign | None:
    return campaign_list(user=user).filter(pk=pk).first()


def message_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Message]:
    """The send log: by status, channel, purpose, campaign, customer, date and mobile / name."""
    filters = filters or {}
    qs = Message.objects.visible_to(user).select_related("customer", "campaign")
    for name in ("status", "channel", "purpose"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("campaign"):
        qs = qs.filter(campaign_id=filters["campaign"])
    if filters.get("customer"):
        qs = qs.filter(customer_id=filters["customer"])
    if filters.get("created_from"):
        qs = qs.filter(created_at__gte=_day_start(filters["created_from"]))
    if filters.get("created_to"):
        qs = qs.filter(created_at__lt=_day_start(filters["created_to"] + dt.timedelta(days=1)))
    q = str(filters.get("q") or "").strip()
    if q:
        digits = phone_digits(q)
        if len(digits) >= 4 and digits == q.replace(" ", "").replace("-", "").lstrip("+"):
            qs = qs.filter(address__startswith=digits)
        elif "@" in q:
            qs = qs.filter(address__iexact=q)
        else:
            qs = qs.filter(customer__name__icontains=q)
    return qs.order_by("-id")


def opt_out_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[OptOut]:
    filters = filters or {}
    qs = OptOut.objects.visible_to(user).select_related("customer", "created_by", "withdrawn_by")
    if filters.get("channel"):
        qs = qs.filter(channel=filters["channel"])
    if filters.get("active") is not None:
        qs = qs.filter(active=filters["active"])
    if filters.get("customer"):
        qs = qs.filter(customer_id=filters["customer"])
    q = str(filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__archive_number=q.upper()))
    return qs.order_by("-created_at", "-id")
