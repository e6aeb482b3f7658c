"""Sign-ins and sign-in failures go to the operation log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from kefu.core.models import OperationLog
from kefu.core.requests import client_ip


def _log(
    request: Any, *, action: str, username: str, user: Any = None, result: str = OperationLog.Result.OK
) -> None:
    OperationLog.objects.create(
        actor=user if user is not None and getattr(user, "pk", None) else None,
        username=username[:150],
        action=action,
        method=getattr(request, "method", "") or "",
        path=(getattr(request, "path", "") or "")[:300],
        ip=client_ip(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
        result=result,
    )


@receiver(user_logged_in, dispatch_uid="kefu.login")
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    _log(request, action="login", username=user.get_username(), user=user)


@receiver(user_logged_out, dispatch_uid="kefu.logout")
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        _log(request, action="logout", username=user.get_username(), user=user)


@receiver(user_login_failed, dispatch_uid="kefu.login_failed")
def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    _log(
        request,
        action="login",
        username=str(credentials.get("username", "")),
        result=OperationLog.Result.DENIED,
    )
