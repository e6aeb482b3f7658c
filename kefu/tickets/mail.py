"""Reading inbound email: one RFC 822 message in, the parts a ticket needs out.

Chinese mail arrives in every charset there is. Mail labelled GB2312 very often holds GBK or
GB18030 characters (the label is what old clients always write), so the GB family is decoded
as GB18030, its superset; text with a wrong or missing label is tried as UTF-8, then GB18030.
Headers written raw in 8 bits instead of RFC 2047 encoded words get the same treatment.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed

MAX_MESSAGE_BYTES = 30 * 1024 * 1024
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# Files that run when opened are never kept from mail: the customer can still send them another way.
REFUSED_EXTENSIONS = frozenset(
    [
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".scr",
        ".pif",
        ".msi",
        ".msp",
        ".dll",
        ".vbs",
        ".vbe",
        ".js",
        ".jse",
        ".wsf",
        ".wsh",
        ".ps1",
        ".jar",
        ".lnk",
        ".hta",
        ".cpl",
        ".reg",
    ]
)
REFUSED_TYPES = frozenset(
    {"application/x-msdownload", "application/x-msdos-program", "application/x-ms-installer"}
)

GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn", "csgb2312", "x-euc-cn", "hz-gb-2312"}
TICKET_NUMBER_IN_SUBJECT = re.compile(r"\[\s*(GD\d{4}-\d{1,9})\s*\]", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
# "Re:", "回复：", "答复:", "Fwd:", "转发：" … in front of a subject.
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


class MalformedMail(ValidationFailed):
    """The message cannot be read as an email; nothing was written."""

    default_code = "malformed_mail"


@dataclass
class MailAttachment:
    name: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ParsedMail:
    message_id: str
    sender_email: str
    sender_name: str
    subject: str
    body: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    attachments: list[MailAttachment] = field(default_factory=list)
    # Files not kept, with the reason, so the agent can ask for them another way.
    refused: list[dict[str, str]] = field(default_factory=list)
    sent_at: Any = None
    auto_submitted: bool = False

    @property
    def ticket_number(self) -> str:
        match = TICKET_NUMBER_IN_SUBJECT.search(self.subject)
        return match.group(1).upper() if match else ""

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, the direct parent first."""
        seen: list[str] = []
        for value in [*self.in_reply_to, *reversed(self.references)]:
            if value not in seen:
                seen.append(value)
        return seen

    @property
    def clean_subject(self) -> str:
        """The subject without Re:/回复: prefixes and without our ticket tag."""
        subject = TICKET_NUMBER_IN_SUBJECT.sub(" ", self.subject)
        return re.sub(r"\s+", " ", REPLY_PREFIX.sub("", subject)).strip()


# --- decoding ---------------------------------------------------------------------------------


def _codec(charset: str | None) -> str:
    name = (charset or "").strip().strip('"').lower()
    if name in GB_FAMILY:
        return "gb18030"
    return name


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text in the declared charset when it decodes cleanly, else UTF-8, else GB18030."""
    tried: list[str] = []
    for candidate in (_codec(charset), "utf-8", "gb18030"):
        if not candidate or candidate in tried:
            continue
        tried.append(candidate)
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode(_codec(charset) if _known(charset) else "utf-8", errors="replace")


def _known(charset: str | None) -> bool:
    import codecs

    try:
        codecs.lookup(_codec(charset))
    except LookupError:
        return False
    return True


def decode_header_value(raw: str | None) -> str:
    """An RFC 2047 header (or a raw 8-bit one) as text, whatever charset it was written in."""
    if not raw:
        return ""
    # The parser keeps undecodable 8-bit header bytes as surrogate escapes: take the bytes back.
    raw_bytes = str(raw).encode("ascii", "surrogateescape") if _has_surrogates(raw) else None
    if raw_bytes is not None:
        raw = decode_bytes(raw_bytes)
    parts: list[str] = []
    try:
        chunks = decode_header(str(raw))
    except (ValueError, LookupError, UnicodeError):  # a broken encoded word: keep what was written
        chunks = [(str(raw), None)]
    previous_encoded = False
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            text = decode_bytes(chunk, charset) if charset else decode_bytes(chunk)
            encoded = charset is not None
        else:
            text, encoded = chunk, False
        if parts and not (encoded and previous_encoded) and not text.startswith(" "):
            # decode_header drops the space between an encoded word and plain text beside it.
            parts.append(" ")
        parts.append(text)
        previous_encoded = encoded
    value = "".join(parts)
    return re.sub(r"[\r\n\t]+", " ", re.sub(r" {2,}", " ", value)).strip()


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


class _TextFromHtml(HTMLParser):
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextFromHtml()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.out)).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- parsing ----------------------------------------------------------------------------------


def _ids(value: str | None) -> list[str]:
    return [f"<{m}>" for m in MESSAGE_ID.findall(value or "")]


def _filename(part: Message) -> str:
    raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
    name = ""
    if raw is not None:
        from email.utils import collapse_rfc2231_value

        value = collapse_rfc2231_value(raw) if isinstance(raw, tuple) else str(raw)
        name = decode_header_value(value)
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    name = re.sub(r"[\x00-\x1f]", "", name)[:200]
    if not name:
        extension = mimetypes.guess_extension(part.get_content_type()) or ".bin"
        name = "attachment" + extension
    return name


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    has_name = part.get_param("filename", header="content-disposition") or part.get_param("name")
    return bool(has_name) and part.get_content_maintype() != "text"


def _collect(message: Message, parsed: ParsedMail) -> None:
    plain: list[str] = []
    markup: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if _is_attachment(part):
            _keep_attachment(part, parsed)
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain":
            plain.append(_part_text(part))
        elif content_type == "text/html":
            markup.append(_part_text(part))
        elif content_type == "message/rfc822" or part.get_content_maintype() in ("image", "application"):
            _keep_attachment(part, parsed)
    if any(text.strip() for text in plain):
        body = "\n\n".join(text.strip() for text in plain if text.strip())
    else:
        body = "\n\n".join(html_to_text(text) for text in markup if text.strip())
    parsed.body = body.replace("\r\n", "\n").replace("\x00", "").strip()


def _keep_attachment(part: Message, parsed: ParsedMail) -> None:
    name = _filename(part)
    content_type = part.get_content_type()
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = part.as_bytes() if content_type == "message/rfc822" else b""
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    reason = ""
    if not payload:
        reason = _("empty file")
    elif extension in REFUSED_EXTENSIONS or content_type in REFUSED_TYPES:
        reason = _("program files are not accepted")
    elif len(payload) > MAX_ATTACHMENT_BYTES:
        reason = _("larger than %(mb)d MB") % {"mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)}
    elif len(parsed.attachments) >= MAX_ATTACHMENTS:
        reason = _("more than %(count)d files") % {"count": MAX_ATTACHMENTS}
    if reason:
        parsed.refused.append({"name": name, "reason": str(reason)})
        return
    parsed.attachments.append(MailAttachment(name=name, content_type=content_type, content=payload))


def parse_mail(raw: bytes | str) -> ParsedMail:
    """Read one message; MalformedMail when it is empty, too large, or has no usable sender."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if not raw or not raw.strip():
        raise MalformedMail(_("The message is empty."), detail={"message": [_("Empty.")]})
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedMail(
            _("The message is larger than %(mb)d MB.") % {"mb": MAX_MESSAGE_BYTES // (1024 * 1024)},
            detail={"message": [_("Too large.")]},
        )
    if b"\x00" in raw:
        raise MalformedMail(
            _("The message contains NUL bytes: it is not an email."), detail={"message": [_("Not an email.")]}
        )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    raw_from = _raw_header(message, "From")
    if not raw_from:
        raise MalformedMail(
            _("The message has no sender (From header): it cannot be filed."),
            detail={"from": [_("Missing.")]},
        )
    sender_name, sender_email = _sender(raw_from)
    parsed = ParsedMail(
        message_id=(_ids(_raw_header(message, "Message-ID")) or [""])[0],
        sender_email=sender_email,
        sender_name=sender_name,
        subject=decode_header_value(_raw_header(message, "Subject"))[:500],
        body="",
        in_reply_to=_ids(_raw_header(message, "In-Reply-To")),
        references=_ids(_raw_header(message, "References")),
    )
    if not parsed.message_id:
        # Without one, the same bytes delivered twice must still be recognised.
        parsed.message_id = f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.kefu>"
    auto = (_raw_header(message, "Auto-Submitted") or "").strip().lower()
    parsed.auto_submitted = bool(auto and auto != "no")
    try:
        parsed.sent_at = parsedate_to_datetime(_raw_header(message, "Date") or "")
    except (TypeError, ValueError, IndexError):
        parsed.sent_at = None
    try:
        _collect(message, parsed)
    except (LookupError, ValueError, AssertionError) as exc:
        raise MalformedMail(
            _("The message body cannot be read: %(error)s") % {"error": str(exc)[:100]},
            detail={"message": [_("Unreadable body.")]},
        ) from exc
    if not (parsed.subject or parsed.body or parsed.attachments):
        raise MalformedMail(
            _("The message has no subject, no text and no attachment."), detail={"message": [_("Empty.")]}
        )
    return parsed


def _sender(raw_from: str) -> tuple[str, str]:
    decoded = decode_header_value(raw_from)
    addresses = [(name, address) for name, address in getaddresses([decoded]) if address]
    if not addresses:
        raise MalformedMail(
            _("The sender (From header) is not an email address."), detail={"from": [_("Invalid.")]}
        )
    name, address = addresses[0]
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise MalformedMail(
            _("The sender (From header) is not an email address."), detail={"from": [_("Invalid.")]}
        ) from exc
    return name.strip()[:50], address
