from __future__ import annotations

from typing import Any

from django import template

from kefu.core.masking import masked

register = template.Library()


@register.simple_tag(takes_context=True)
def address(context: dict[str, Any], message: Any) -> str:
    """A recipient's mobile or email, masked for those who may not see it."""
    kind = "email" if message.channel == "email" else "phone"
    return masked(message.address, kind, reveal=bool(context.get("can_view_sensitive")))


STATUS_CLASSES = {
    "queued": "secondary",
    "sending": "info",
    "sent": "success",
    "failed": "danger",
    "skipped": "warning",
    "draft": "secondary",
    "awaiting_approval": "warning",
    "approved": "primary",
    "rejected": "danger",
    "paused": "warning",
    "done": "success",
    "cancelled": "dark",
}


@register.filter
def status_class(value: str) -> str:
    return STATUS_CLASSES.get(value, "secondary")
