from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kefu.core import calendar
from kefu.core.masking import can_view_sensitive
from kefu.core.navigation import menu_for
from kefu.core.notifications import unread_count


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context: dict[str, Any] = {
        "nav_sections": menu_for(user, request.path),
        "can_view_sensitive": can_view_sensitive(user),
        "unread_notifications": unread_count(user),
    }
    if user.has_perm("core.change_calendaryear"):
        # Administrators are told on every page when time limits run on the Monday–Friday fallback.
        context["calendar_missing_years"] = calendar.years_without_schedule()
    return context
