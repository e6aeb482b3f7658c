"""Small display helpers of the ticket pages: SLA badges, state and priority colours."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

STATE_COLOURS = {
    "open": "primary",
    "pending": "warning",
    "resolved": "success",
    "closed": "secondary",
    "archived": "dark",
}
PRIORITY_COLOURS = {"low": "light", "normal": "info", "high": "warning", "urgent": "danger"}
SLA_COLOURS = {"ok": "success", "at_risk": "warning", "breached": "danger"}


@register.filter
def working_duration(value: dt.timedelta | None) -> str:
    """3 h 20 min of working time (the sign is left to the caller)."""
    if value is None:
        return ""
    minutes = int(abs(value).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.simple_tag
def sla_badge(ticket: Any, remaining: dt.timedelta | None) -> str:
    """ "Due in 2 h 5 min" or "overdue by 40 min" in working time; nothing for a ticket not running."""
    if ticket.paused_at is not None and ticket.is_active:
        return format_html(
            '<span class="badge text-bg-secondary" data-testid="sla-badge">{}</span>', _("Paused")
        )
    if remaining is None:
        return ""
    if remaining < dt.timedelta(0):
        return format_html(
            '<span class="badge text-bg-danger" data-testid="sla-badge">{}</span>',
            _("overdue by %(time)s") % {"time": working_duration(remaining)},
        )
    colour = SLA_COLOURS.get(ticket.sla_status, "success")
    return format_html(
        '<span class="badge text-bg-{}" data-testid="sla-badge">{}</span>',
        colour,
        _("due in %(time)s") % {"time": working_duration(remaining)},
    )


@register.filter
def state_badge(ticket: Any) -> str:
    return format_html(
        '<span class="badge text-bg-{}" data-testid="ticket-state">{}</span>',
        STATE_COLOURS.get(ticket.state, "secondary"),
        ticket.get_state_display(),
    )


@register.filter
def priority_badge(ticket: Any) -> str:
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        PRIORITY_COLOURS.get(ticket.priority, "light"),
        ticket.get_priority_display(),
    )
