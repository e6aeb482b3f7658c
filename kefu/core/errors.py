"""The one error family services raise. The API and the pages translate them, never a 500."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the business was broken by the request; the message says what to fix."""

    status = 400
    default_code = "invalid"

    def __init__(self, message: Any = None, *, code: str | None = None, detail: Any = None) -> None:
        self.code = code or self.default_code
        self.message = str(message) if message is not None else str(_("The request is not valid."))
        self.detail = detail
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class ValidationFailed(DomainError):
    """Field-level problems; detail maps field name → list of messages."""

    default_code = "validation_failed"


class PermissionDenied(DomainError):
    status = 403
    default_code = "permission_denied"

    def __init__(self, message: Any = None, **kwargs: Any) -> None:
        super().__init__(message or _("You do not have the right to do this."), **kwargs)


class NotFound(DomainError):
    status = 404
    default_code = "not_found"

    def __init__(self, message: Any = None, **kwargs: Any) -> None:
        super().__init__(message or _("The record does not exist or is not visible to you."), **kwargs)


class Conflict(DomainError):
    status = 409
    default_code = "conflict"

    def __init__(self, message: Any = None, **kwargs: Any) -> None:
        super().__init__(message or _("Someone else changed this record; reload and try again."), **kwargs)


def validation_error_from_django(exc: Any) -> ValidationFailed:
    """Turn a django ValidationError (or form errors) into the one error type."""
    if hasattr(exc, "message_dict"):
        detail = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    else:
        detail = {"__all__": [str(m) for m in getattr(exc, "messages", [exc])]}
    first = next(iter(detail.values()))[0] if detail else None
    return ValidationFailed(first, detail=detail)
