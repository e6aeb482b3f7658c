"""The survey link's token: the invitation's random key, signed with Django's signing.

Why a signature over a stored random key rather than a random token stored only as a hash: the
link must be shown again after sending (the printed letter, the web link staff copy, the SMS the
messaging app sends later), which a hash cannot give back. The key is random (not the row id), so
links cannot be enumerated even if the secret key leaked; the signature makes any edited link
fail before the database is asked; expiry and single use are the invitation's own state
(`expires_at`, `state`), so a policy change or a cancelled invitation takes effect at once.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.errors import DomainError

SALT = "kefu.surveys.invitation"


class LinkProblem(DomainError):
    """Why a survey link cannot be answered; the public page shows the message and stores nothing."""

    status = 410

    MESSAGES = {
        "link_invalid": _("This survey link is not valid. Please check that it was copied in full."),
        "link_expired": _("This survey link has expired. Thank you all the same."),
        "link_used": _("This survey has already been answered. Thank you!"),
        "link_cancelled": _("This survey was withdrawn. Thank you all the same."),
    }

    def __init__(self, code: str) -> None:
        super().__init__(self.MESSAGES[code], code=code)


def new_key() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def make_token(invitation: Any) -> str:
    return signing.Signer(salt=SALT).sign(invitation.key)


def key_from_token(token: str) -> str:
    try:
        return signing.Signer(salt=SALT).unsign(str(token or "")[:200])
    except signing.BadSignature as exc:
        raise LinkProblem("link_invalid") from exc


def check_answerable(invitation: Any) -> None:
    """Raise the LinkProblem that stops this invitation from being answered, if any."""
    if invitation.state == "answered":
        raise LinkProblem("link_used")
    if invitation.state == "cancelled":
        raise LinkProblem("link_cancelled")
    if invitation.expires_at <= timezone.now():
        raise LinkProblem("link_expired")
