"""Inbound email over HTTP: for mail gateways that post messages instead of piping them.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from kefu.core.errors import DomainError, ValidationFailed
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS, ErrorOut
from kefu.tickets.mail import MAX_MESSAGE_BYTES
from kefu.tickets.mail_services import mail_receive

router = Router(tags=["mail"])

RAW_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "description": "One email exactly as received (RFC 822 / RFC 5322), headers and body.",
        "content": {
            "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"message": {"type": "string", "format": "binary"}},
                    "required": ["message"],
                }
            },
        },
    }
}


class MailInOut(Schema):
    ticket_id: int
    number: str
    created: bool
    duplicate: bool
    event_id: int | None = None


@router.post(
    "/mail/inbound",
    response={200: MailInOut, 201: MailInOut, 413: ErrorOut, **ERRORS},
    summary="File one inbound email as a ticket or on the ticket it answers",
    description=(
        "Send the raw message as the request body (Content-Type message/rfc822). A new ticket answers "
        "201; a message added to an existing ticket, or one already filed before (same Message-ID), 200. "
        "Needs the right to open tickets."
    ),
    openapi_extra=RAW_MESSAGE_BODY,
)
def mail_inbound(request: HttpRequest) -> Status[dict]:
    require_perm(request.user, "tickets.add_ticket")
    receipt = mail_receive(raw=_raw_message(request))
    out = {
        "ticket_id": receipt.ticket.pk,
        "number": receipt.ticket.number,
        "created": receipt.created,
        "duplicate": receipt.duplicate,
        "event_id": receipt.event.pk if receipt.event else None,
    }
    return Status(201 if receipt.created else 200, out)


def _raw_message(request: HttpRequest) -> bytes:
    """The body as sent; from a form upload (curl -F message=@mail.eml), the uploaded file."""
    try:
        if request.content_type == "multipart/form-data":
            upload = request.FILES.get("message")
            if upload is None:
                raise ValidationFailed(
                    _("Upload the message as the file field “message”, or send it as the request body."),
                    code="malformed_mail",
                    detail={"message": [_("This field is required.")]},
                )
            if (upload.size or 0) > MAX_MESSAGE_BYTES:
                raise PayloadTooLarge(MAX_MESSAGE_BYTES)
            return upload.read()
        return request.body
    except RequestDataTooBig as exc:
        raise PayloadTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) from exc
    except RawPostDataException as exc:
        # Form-encoded data was already read as fields: it cannot be an email.
        raise ValidationFailed(
            _("Send the message as the request body with Content-Type message/rfc822."),
            code="malformed_mail",
            detail={"message": [_("Not an email.")]},
        ) from exc


class PayloadTooLarge(DomainError):
    status = 413
    default_code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(_("The message is larger than %(mb)d MB.") % {"mb": max(1, limit // (1024 * 1024))})
