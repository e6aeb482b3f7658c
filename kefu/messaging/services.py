"""Writes of member care messaging. Pages, the API, other apps and the jobs all come through here.

Other apps send a message to a customer with one call::

    from kefu.messaging.services import message_send

    message_send(
        actor=request.user,            # needs messaging.send_message (skip_permission=True for jobs)
        customer=customer,
        channel="sms",                 # or "email"
        template=template,             # a MessageTemplate (SMS: provider code + signature)
        params={"link": survey_url},   # the template's ${param} values; ${name} is filled in
        purpose="notice",              # care / notice / marketing; defaults to the template's
        source="surveys:42",           # where it came from, shown in the send log
    )

It writes one send-log row (queued, or skipped when the customer opted out or has no mobile /
email) and delivers it through a Huey job once the caller's transaction commits.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from kefu.core.history import acting
from kefu.core.numbering import next_number
from kefu.core.permissions import require_perm, require_visible
from kefu.core.phones import normalize_phone
from kefu.customers.models import Contact, Customer, CustomerPhone
from kefu.customers.selectors import CustomerFilters, customer_list
from kefu.messaging import backends
from kefu.messaging.models import (
    Campaign,
    CampaignEvent,
    CampaignKind,
    CampaignState,
    CarePolicy,
    Channel,
    HolidayGreeting,
    Message,
    MessageStatus,
    MessageTemplate,
    MessagingPolicy,
    OptOut,
    OptOutSource,
    Purpose,
    SkipReason,
    render_text,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
CHUNK_SIZE = 500  # recipients per send job
MOBILE = re.compile(r"^1[3-9]\d{9}$")
NOT_DIGIT = re.compile(r"\D+")
OPT_OUT_REPLIES = {"R", "TD", "T", "N", "退订", "拒收", "取消", "UNSUBSCRIBE", "STOP"}
FILTER_FIELDS = ("q", "kind", "tier", "lifecycle", "department", "owner", "is_vip", "province")


def _require(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def campaign_url(campaign: Campaign) -> str:
    return f"/messaging/campaigns/{campaign.pk}/"


# --- templates ----------------------------------------------------------------------------------


@transaction.atomic
def template_save(
    *, actor: User, data: Mapping[str, Any], template: MessageTemplate | None = None
) -> MessageTemplate:
    """Create or change a template; a promotion must carry the opt-out words of the policy in force."""
    require_perm(actor, "messaging.change_messagetemplate" if template else "messaging.add_messagetemplate")
    errors: dict[str, list[str]] = {}
    target = template or MessageTemplate(created_by=actor)
    target.name = _text(data.get("name", target.name), 100)
    target.channel = str(data.get("channel", target.channel) or "")
    target.purpose = str(data.get("purpose", target.purpose) or "")
    target.provider_code = _text(data.get("provider_code", target.provider_code), 50)
    target.signature = _text(data.get("signature", target.signature), 30).strip("【】[] ")
    target.subject = _text(data.get("subject", target.subject), 200)
    target.body = str(data.get("body", target.body) or "").strip()[:2000]
    if "active" in data:
        target.active = bool(data["active"])
    if target.channel not in Channel.values:
        errors["channel"] = [_("Choose one of the listed values.")]
    if target.purpose not in Purpose.values:
        errors["purpose"] = [_("Choose one of the listed values.")]
    if not target.name:
        errors["name"] = [_("This field is required.")]
    elif MessageTemplate.objects.filter(name=target.name).exclude(pk=target.pk).exists():
        errors["name"] = [_("Another template has this name.")]
    if not target.body:
        errors["body"] = [_("This field is required.")]
    if target.channel == Channel.SMS:
        if not target.provider_code:
            errors["provider_code"] = [_("Give the template code the SMS provider approved.")]
        if not (target.signature or settings.SMS_SIGNATURE):
            errors["signature"] = [_("Give the signature (签名) the SMS provider approved.")]
    elif target.channel == Channel.EMAIL and not target.subject:
        errors["subject"] = [_("An email needs a subject.")]
    if target.purpose == Purpose.MARKETING:
        policy = MessagingPolicy.in_force()
        if not policy.carries_opt_out(target.body):
            errors["body"] = [
                _("A promotion must tell the customer how to refuse further messages, e.g. “%(words)s”.")
                % {"words": (policy.opt_out_choices or ["拒收请回复R"])[0]}
            ]
    _require(errors)
    with acting(actor):
        target.save()
    return target


# --- opt-outs -----------------------------------------------------------------------------------


def _opt_out_write(
    *, actor: User | None, customer: Customer, channel: str, source: str, note: str = "", address: str = ""
) -> OptOut:
    existing = OptOut.objects.select_for_update().filter(customer=customer, channel=channel).first()
    target = existing or OptOut(customer=customer, channel=channel)
    if existing is not None and existing.active:
        return existing
    target.active = True
    target.source = source
    target.note = _text(note, 300)
    target.address = _text(address, 200)
    target.created_by = actor if getattr(actor, "pk", None) else None
    target.created_at = timezone.now()
    target.withdrawn_at = None
    target.withdrawn_by = None
    with acting(actor):
        target.save()
    return target


@transaction.atomic
def opt_out_create(
    *, actor: User, customer: Customer, channel: str, source: str = OptOutSource.PAGE, note: str = ""
) -> OptOut:
    """The customer receives nothing more on this channel; who recorded it and when are kept."""
    require_perm(actor, "messaging.add_optout")
    require_visible(actor, customer)
    if channel not in Channel.values:
        raise ValidationFailed(
            _("Choose SMS or email."), detail={"channel": [_("Choose one of the listed values.")]}
        )
    if source not in (OptOutSource.PAGE, OptOutSource.API):
        source = OptOutSource.PAGE
    return _opt_out_write(actor=actor, customer=customer, channel=channel, source=source, note=note)


@transaction.atomic
def opt_out_withdraw(*, actor: User, opt_out: OptOut, note: str = "") -> OptOut:
    """The customer asked to receive messages again."""
    require_perm(actor, "messaging.change_optout")
    require_visible(actor, opt_out)
    locked = OptOut.objects.select_for_update().get(pk=opt_out.pk)
    if not locked.active:
        raise Conflict(_("This opt-out was already withdrawn."), code="already_withdrawn")
    locked.active = False
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = actor
    if note:
        locked.note = _text(note, 300)
    with acting(actor):
        locked.save()
    return locked


def is_opt_out_reply(text: str) -> bool:
    words = re.sub(r"[\s\.。!！,，]+", "", str(text or "")).upper()
    return words in OPT_OUT_REPLIES


@transaction.atomic
def opt_out_inbound_reply(*, phone: str, text: str) -> int:
    """A customer's SMS reply reached us (provider callback); "R", "TD", "退订" opt every customer
    with that number out of SMS. Returns how many customers were opted out."""
    if not is_opt_out_reply(text):
        return 0
    number = normalize_phone(phone)
    if not number:
        return 0
    count = 0
    ids = CustomerPhone.objects.filter(number=number).values("customer_id")
    for customer in Customer.objects.filter(pk__in=ids).order_by("id"):
        _opt_out_write(
            actor=None,
            customer=customer,
            channel=Channel.SMS,
            source=OptOutSource.REPLY,
            note=str(text)[:50],
            address=number,
        )
        count += 1
    return count


def opted_out_ids(channel: str, customer_ids: Iterable[int] | None = None) -> set[int]:
    rows = OptOut.objects.filter(channel=channel, active=True)
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    return set(rows.values_list("customer_id", flat=True))


# --- addresses ----------------------------------------------------------------------------------


def mobile_of(raw: str | None) -> str:
    """The 11-digit mainland mobile in `raw` (any spacing, +86 / 0086), or "" for a landline or
    anything else. Digits only: phonenumbers' full parse cost 0.2 ms a number, most of the time
    of writing a big campaign's recipients."""
    digits = NOT_DIGIT.sub("", raw or "")
    if len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if MOBILE.match(digits) else ""


def _address(channel: str, customer_value: str, contacts: Sequence[tuple[str, str]]) -> str:
    """The customer's own mobile / email, else the first primary contact's that has one."""
    if channel == Channel.SMS:
        found = mobile_of(customer_value)
        for mobile, _email in contacts:
            if found:
                break
            found = mobile_of(mobile)
        return found
    if customer_value:
        return customer_value
    return next((email for _mobile, email in contacts if email), "")


def _contacts_of(customer_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(customer_ids), 5000):
        rows = (
            Contact.objects.filter(customer_id__in=customer_ids[start : start + 5000])
            .order_by("customer_id", "-is_primary", "id")
            .values_list("customer_id", "mobile", "email")
        )
        for customer_id, mobile, email in rows:
            found.setdefault(customer_id, []).append((mobile, email))
    return found


def _template_params(template: MessageTemplate, params: Mapping[str, Any], name: str) -> dict[str, str]:
    values = {str(key): str(value) for key, value in (params or {}).items()}
    values.setdefault("name", name)
    wanted = template.params
    return {key: value for key, value in values.items() if key in wanted or key == "name"}


def _check_params(template: MessageTemplate, params: Mapping[str, Any]) -> None:
    missing = [
        name for name in template.params if name != "name" and not str((params or {}).get(name, "")).strip()
    ]
    if missing:
        message = _("Give a value for every parameter of the template: %(names)s.") % {
            "names": ", ".join(missing)
        }
        raise ValidationFailed(message, detail={"params": [message]})


# --- one message --------------------------------------------------------------------------------


@transaction.atomic
def message_send(
    *,
    actor: User | None,
    customer: Customer,
    channel: str,
    template: MessageTemplate,
    params: Mapping[str, Any] | None = None,
    purpose: str | None = None,
    source: str = "",
    contact: Contact | None = None,
    dedupe_key: str | None = None,
    skip_permission: bool = False,
) -> Message:
    """Send one message to a customer (or one of its contacts); see the module's docstring.

    With `dedupe_key`, a second call with the same key returns the first message and sends nothing.
    """
    if not skip_permission:
        require_perm(actor, "messaging.send_message")
        require_visible(actor, customer)
    if channel not in Channel.values or template.channel != channel:
        message = _("The template is not for this channel.")
        raise ValidationFailed(message, detail={"template": [message]})
    if not template.active:
        raise ValidationFailed(_("The template is switched off."), detail={"template": [_("Inactive.")]})
    purpose = purpose or template.purpose
    if purpose not in Purpose.values:
        raise ValidationFailed(
            _("Choose care, notice or marketing."), detail={"purpose": [_("Not allowed.")]}
        )
    if dedupe_key:
        existing = Message.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    params = dict(params or {})
    _check_params(template, params)
    if contact is not None:
        name = contact.name
        own = contact.mobile if channel == Channel.SMS else contact.email
        address = _address(channel, own, [])
    else:
        name = customer.name
        own = customer.phone if channel == Channel.SMS else customer.email
        address = _address(channel, own, _contacts_of([customer.pk]).get(customer.pk, []))
    values = _template_params(template, params, name)
    row = Message(
        channel=channel,
        purpose=purpose,
        customer=customer,
        contact=contact,
        template=template,
        source=_text(source, 60),
        dedupe_key=dedupe_key or None,
        address=address,
        subject=render_text(template.subject, values) if channel == Channel.EMAIL else "",
        body=render_text(template.body, values),
        params=values,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if customer.pk in opted_out_ids(channel, [customer.pk]) or (
        channel == Channel.SMS and purpose == Purpose.MARKETING and customer.sms_opt_out
    ):
        row.status, row.skip_reason = MessageStatus.SKIPPED, SkipReason.OPTED_OUT
    elif not address:
        row.status, row.skip_reason = MessageStatus.SKIPPED, SkipReason.NO_ADDRESS
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # the same dedupe key written at the same moment by another process
        existing = Message.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:
            raise
        return existing
    if row.status == MessageStatus.QUEUED:
        transaction.on_commit(lambda: _enqueue_delivery(row.pk))
    return row


def _enqueue_delivery(message_id: int) -> None:
    from kefu.messaging.tasks import deliver_message

    deliver_message(message_id)


class RetryLater(Exception):
    """Delivery failed for a reason that may pass; the job tries again later."""


def message_deliver(message_id: int) -> str:
    """Deliver one queued message (the job's body). Idempotent: a message is sent at most once."""
    claimed = _claim(Message.objects.filter(pk=message_id))
    if not claimed:
        return Message.objects.filter(pk=message_id).values_list("status", flat=True).first() or "missing"
    outcome = _deliver(claimed)
    if outcome.retry:
        raise RetryLater(claimed[0].error)
    return claimed[0].status


# --- delivering ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retry: int = 0


def _claim(queryset: Any, limit: int | None = None) -> list[Message]:
    """Mark queued rows as being sent; only rows this call moved from queued are returned, so two
    workers never send the same row."""
    with transaction.atomic():
        candidates = queryset.filter(status=MessageStatus.QUEUED).order_by("id")
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(
            candidates.values_list("id", flat=True)[:limit]
            if limit
            else candidates.values_list("id", flat=True)
        )
        if not ids:
            return []
        Message.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, attempts=F("attempts") + 1
        )
        return list(
            Message.objects.filter(pk__in=ids, status=MessageStatus.SENDING)
            .select_related("template")
            .order_by("id")
        )


def _sms_of(message: Message) -> backends.Sms:
    template = message.template
    return backends.Sms(
        phone=message.address,
        signature=(template.signature if template else "") or settings.SMS_SIGNATURE,
        template_code=template.provider_code if template else "",
        params={k: str(v) for k, v in (message.params or {}).items() if not template or k in template.params},
        param_order=tuple(template.params) if template else (),
        text=message.body,
    )


def _deliver(messages: list[Message]) -> Outcome:
    """Send claimed rows and record each result. A backend that raises leaves its rows queued
    (nothing was sent) before the error goes on."""
    outcome = Outcome()
    if not messages:
        return outcome
    refused = opted_out_ids(messages[0].channel, {m.customer_id for m in messages})
    sendable = []
    for message in messages:
        if message.customer_id in refused:
            message.status, message.skip_reason = MessageStatus.SKIPPED, SkipReason.OPTED_OUT
            outcome.skipped += 1
        else:
            sendable.append(message)
    try:
        if sendable and sendable[0].channel == Channel.SMS:
            backend = backends.sms_backend()
            results = backend.send([_sms_of(m) for m in sendable])
            provider = backend.name
        else:
            results = [
                backends.send_email(backends.Email(address=m.address, subject=m.subject, body=m.body))
                for m in sendable
            ]
            provider = "email"
    except BaseException:
        Message.objects.filter(pk__in=[m.pk for m in sendable], status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED, attempts=F("attempts") - 1
        )
        _save_results([m for m in messages if m.status == MessageStatus.SKIPPED])
        raise
    now = timezone.now()
    for message, result in zip(sendable, results, strict=True):
        message.provider = provider
        if result.ok:
            message.status, message.sent_at, message.error = MessageStatus.SENT, now, ""
            message.provider_message_id = result.provider_id[:100]
            outcome.sent += 1
        elif result.transient and message.attempts < MAX_ATTEMPTS:
            message.status, message.error = MessageStatus.QUEUED, result.error[:300]
            outcome.retry += 1
        else:
            message.status, message.error = MessageStatus.FAILED, result.error[:300]
            outcome.failed += 1
    _save_results(messages)
    return outcome


def _save_results(messages: list[Message]) -> None:
    if messages:
        Message.objects.bulk_update(
            messages, ["status", "skip_reason", "sent_at", "error", "provider", "provider_message_id"]
        )


# --- rate limit ---------------------------------------------------------------------------------


class RateLimiter:
    """Messages per second and per minute, counted in the shared cache (Redis when configured), so
    every worker sending a campaign keeps to the same limits. `clock` and `sleep` are swappable
    for the tests."""

    def __init__(
        self,
        *,
        per_second: int,
        per_minute: int,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        key: str = "sms",
    ) -> None:
        self.per_second = max(1, per_second)
        self.per_minute = max(1, per_minute)
        self.clock = clock
        self.sleep = sleep
        self.key = key

    def _take(self, window: int, limit: int, count: int, now: float) -> bool:
        bucket = int(now // window)
        key = f"kefu:messaging:rate:{self.key}:{window}:{bucket}"
        cache.add(key, 0, timeout=window + 5)
        try:
            total = cache.incr(key, count)
        except ValueError:
            cache.add(key, count, timeout=window + 5)
            total = count
        if total > limit:
            cache.decr(key, count)
            return False
        return True

    def acquire(self, wanted: int) -> int:
        """Wait until up to `wanted` messages may go out now; returns how many may."""
        wanted = max(1, min(wanted, self.per_second, self.per_minute))
        while True:
            now = self.clock()
            if self._take(60, self.per_minute, wanted, now):
                if self._take(1, self.per_second, wanted, now):
                    return wanted
                cache.decr(f"kefu:messaging:rate:{self.key}:60:{int(now // 60)}", wanted)
                self.sleep(1 - (now % 1) + 0.001)
            else:
                self.sleep(60 - (now % 60) + 0.001)


# --- campaigns ----------------------------------------------------------------------------------

TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    # (state, action): (new state, the right needed)
    (CampaignState.DRAFT, "submit"): (CampaignState.AWAITING_APPROVAL, "messaging.add_campaign"),
    (CampaignState.REJECTED, "submit"): (CampaignState.AWAITING_APPROVAL, "messaging.add_campaign"),
    (CampaignState.AWAITING_APPROVAL, "approve"): (CampaignState.APPROVED, "messaging.approve_campaign"),
    (CampaignState.AWAITING_APPROVAL, "reject"): (CampaignState.REJECTED, "messaging.approve_campaign"),
    (CampaignState.APPROVED, "start"): (CampaignState.SENDING, "messaging.change_campaign"),
    (CampaignState.SENDING, "pause"): (CampaignState.PAUSED, "messaging.change_campaign"),
    (CampaignState.PAUSED, "resume"): (CampaignState.SENDING, "messaging.change_campaign"),
    # A sending campaign whose jobs were lost (a crash) is picked up again by resuming it.
    (CampaignState.SENDING, "resume"): (CampaignState.SENDING, "messaging.change_campaign"),
    (CampaignState.DRAFT, "cancel"): (CampaignState.CANCELLED, "messaging.change_campaign"),
    (CampaignState.AWAITING_APPROVAL, "cancel"): (CampaignState.CANCELLED, "messaging.change_campaign"),
    (CampaignState.APPROVED, "cancel"): (CampaignState.CANCELLED, "messaging.change_campaign"),
    (CampaignState.REJECTED, "cancel"): (CampaignState.CANCELLED, "messaging.change_campaign"),
    (CampaignState.PAUSED, "cancel"): (CampaignState.CANCELLED, "messaging.change_campaign"),
}
ACTIONS = sorted({action for _state, action in TRANSITIONS})


def available_actions(user: Any, campaign: Campaign) -> list[str]:
    return [
        action
        for (state, action), (_to, perm) in TRANSITIONS.items()
        if state == campaign.state and user.has_perm(perm)
    ]


def clean_filters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The customer list's filters a campaign keeps (the same names as the customer list's)."""
    raw = raw or {}
    clean: dict[str, Any] = {}
    for name in FILTER_FIELDS:
        value = raw.get(name)
        if value in (None, ""):
            continue
        if name in ("department", "owner"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                continue
            if not 0 < value < 2**63:
                continue
        elif name == "is_vip":
            value = value in (True, "1", "true", "True", 1)
        else:
            value = str(value).strip()[:100]
        clean[name] = value
    return clean


def recipients_query(*, user: Any, filters: Mapping[str, Any]) -> Any:
    return customer_list(user=user, filters=CustomerFilters(**clean_filters(filters))).order_by()


@dataclass
class Preview:
    count: int
    text: str
    subject: str
    characters: int
    segments: int
    needs_approval: bool


def sms_segments(text: str) -> int:
    """Chinese providers bill 70 characters as one SMS; longer texts go in parts of 67."""
    length = len(text)
    return 1 if length <= 70 else -(-length // 67)


def campaign_preview(
    *,
    actor: User,
    template: MessageTemplate,
    filters: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
) -> Preview:
    """How many customers the filters find and the text the first of them would get."""
    require_perm(actor, "messaging.add_campaign")
    queryset = recipients_query(user=actor, filters=filters)
    count = queryset.count()
    first = queryset.order_by("id").values_list("name", flat=True).first()
    values = _template_params(template, params or {}, first or _("(customer name)"))
    text = render_text(template.body, values)
    signature = template.signature or settings.SMS_SIGNATURE
    shown = f"【{signature}】{text}" if template.channel == Channel.SMS and signature else text
    return Preview(
        count=count,
        text=shown,
        subject=render_text(template.subject, values),
        characters=len(shown),
        segments=sms_segments(shown) if template.channel == Channel.SMS else 1,
        needs_approval=_needs_approval(actor, template.purpose, count, MessagingPolicy.in_force()),
    )


def _needs_approval(actor: Any, purpose: str, count: int, policy: MessagingPolicy) -> bool:
    if actor is not None and actor.has_perm("messaging.approve_campaign"):
        return False
    return (purpose == Purpose.MARKETING and policy.marketing_needs_approval) or count >= (
        policy.approval_from_recipients or 1
    )


def _event(campaign: Campaign, actor: User | None, action: str, before: str, note: str = "") -> None:
    CampaignEvent.objects.create(
        campaign=campaign,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        from_state=before,
        to_state=campaign.state,
        note=_text(note, 300),
    )


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    name: str,
    template: MessageTemplate,
    filters: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    kind: str = CampaignKind.MANUAL,
    source_key: str | None = None,
    skip_permission: bool = False,
) -> Campaign:
    """A draft campaign to the customers the filters find (the customer list's filters)."""
    if not skip_permission:
        require_perm(actor, "messaging.add_campaign")
    errors: dict[str, list[str]] = {}
    name = _text(name, 100)
    if not name:
        errors["name"] = [_("This field is required.")]
    if not template.active:
        errors["template"] = [_("The template is switched off.")]
    _require(errors)
    params = {str(k)[:50]: _text(v, 200) for k, v in (params or {}).items()}
    _check_params(template, params)
    campaign = Campaign(
        number=next_number("DX", year=timezone.localdate().year),
        name=name,
        kind=kind,
        source_key=source_key,
        template=template,
        channel=template.channel,
        purpose=template.purpose,
        filters=clean_filters(filters),
        params=params,
        created_by=actor,
        department=actor.department,
        estimated_count=recipients_query(user=actor, filters=filters or {}).count(),
    )
    with acting(actor):
        campaign.save()
    _event(campaign, actor, "create", "")
    return campaign


def _lock(campaign: Campaign, version: int | None = None) -> Campaign:
    locked = Campaign.objects.select_for_update(of=("self",)).select_related("template").get(pk=campaign.pk)
    if version is not None and locked.version != version:
        raise Conflict()
    return locked


@transaction.atomic
def campaign_transition(
    *, actor: User, campaign: Campaign, action: str, note: str = "", version: int | None = None
) -> Campaign:
    """Submit, approve, reject, start, pause, resume or cancel (see TRANSITIONS)."""
    require_perm(actor, "messaging.view_campaign")
    require_visible(actor, campaign)
    locked = _lock(campaign, version)
    step = TRANSITIONS.get((locked.state, action))
    if step is None:
        raise Conflict(
            _("A campaign that is “%(state)s” cannot be %(action)s.")
            % {"state": locked.get_state_display(), "action": action},
            code="invalid_transition",
        )
    target, perm = step
    require_perm(actor, perm)
    before = locked.state
    if action == "submit":
        policy = MessagingPolicy.in_force()
        locked.estimated_count = recipients_query(user=locked.created_by, filters=locked.filters).count()
        if not locked.estimated_count:
            raise DomainError(_("The filters find no customer."), code="no_recipients")
        if not _needs_approval(actor, locked.purpose, locked.estimated_count, policy):
            target = CampaignState.APPROVED
    if action == "approve":
        locked.approved_by, locked.approved_at = actor, timezone.now()
    if action == "submit" and target == CampaignState.APPROVED:
        locked.approved_by, locked.approved_at = actor, timezone.now()
    locked.state = target
    locked.version += 1
    if action == "start":
        locked.started_at = timezone.now()
        locked.policy = MessagingPolicy.in_force() if MessagingPolicy.objects.exists() else None
        with acting(actor):
            locked.save()
        _write_recipients(locked)
    else:
        if action == "cancel":
            cancelled = Message.objects.filter(campaign=locked, status=MessageStatus.QUEUED).update(
                status=MessageStatus.SKIPPED, skip_reason=SkipReason.CANCELLED
            )
            locked.skipped_count += cancelled
            locked.finished_at = timezone.now()
        if action == "resume":
            _recover_interrupted(locked)
        with acting(actor):
            locked.save()
    _event(locked, actor, action, before, note)
    if target == CampaignState.SENDING:
        campaign_id = locked.pk
        transaction.on_commit(lambda: enqueue_campaign(campaign_id))
    if target == CampaignState.AWAITING_APPROVAL:
        from kefu.core.notifications import notify

        approvers = User.objects.filter(
            is_active=True, groups__permissions__codename="approve_campaign"
        ).distinct()
        message = _("Campaign %(number)s awaits your approval: %(name)s") % {
            "number": locked.number,
            "name": locked.name,
        }
        url = campaign_url(locked)
        transaction.on_commit(lambda: notify(list(approvers), message, url=url))
    return locked


INSERT_COLUMNS = [
    "channel", "purpose", "customer_id", "contact_id", "campaign_id", "template_id", "source", "dedupe_key",
    "address", "subject", "body", "params", "status", "skip_reason", "provider", "provider_message_id",
    "error", "attempts", "created_at", "sent_at", "created_by_id",
]  # fmt: skip


def _insert_rows(rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, plain executemany on SQLite. The ORM's bulk_create spent two thirds of
    a 100,000-recipient start preparing field values one by one, and executemany on PostgreSQL
    is a round trip per row (see bench/README.md, "Member care messaging")."""
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    columns = ", ".join(quote(c) for c in INSERT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor, so its errors are turned into Django's (IntegrityError) here.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(INSERT_COLUMNS))})"
        for start in range(0, len(rows), 2000):
            cursor.executemany(sql, rows[start : start + 2000])


def _write_recipients(campaign: Campaign) -> int:
    """Every recipient's row is written before anything is sent, under the unique (campaign,
    customer) key: a crash at any point can neither send a customer the campaign twice nor
    lose track of who still needs it."""
    channel = campaign.channel
    template = campaign.template
    sms = channel == Channel.SMS
    rows = list(
        recipients_query(user=campaign.created_by, filters=campaign.filters)
        .order_by("id")
        .values_list("id", "name", "phone" if sms else "email", "sms_opt_out")
    )
    refused = opted_out_ids(channel)
    marketing_sms = sms and campaign.purpose == Purpose.MARKETING
    own = {pk: (mobile_of(value) if sms else (value or "")) for pk, _name, value, _o in rows}
    contacts = _contacts_of([pk for pk, found in own.items() if not found])
    seen: set[str] = set()
    params = {key: str(val) for key, val in (campaign.params or {}).items()}
    wanted = template.params
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    out: list[tuple[Any, ...]] = []
    skipped = 0
    for pk, name, _value, sms_opt_out in rows:
        address = own[pk] or _address(channel, "", contacts.get(pk, []))
        values = {key: val for key, val in {"name": name, **params}.items() if key in wanted or key == "name"}
        status, reason = MessageStatus.QUEUED, ""
        if pk in refused or (marketing_sms and sms_opt_out):
            status, reason = MessageStatus.SKIPPED, SkipReason.OPTED_OUT
        elif not address:
            status, reason = MessageStatus.SKIPPED, SkipReason.NO_ADDRESS
        elif address in seen:
            status, reason = MessageStatus.SKIPPED, SkipReason.DUPLICATE
        else:
            seen.add(address)
        skipped += status == MessageStatus.SKIPPED
        out.append(
            (
                channel,
                campaign.purpose,
                pk,
                None,
                campaign.pk,
                template.pk,
                campaign.number,
                None,
                address,
                "" if sms else render_text(template.subject, values),
                render_text(template.body, values),
                json.dumps(values, ensure_ascii=False),
                str(status),
                str(reason),
                "",
                "",
                "",
                0,
                now,
                None,
                campaign.created_by_id,
            )
        )
    _insert_rows(out)
    Campaign.objects.filter(pk=campaign.pk).update(total_count=len(rows), skipped_count=skipped)
    campaign.total_count, campaign.skipped_count = len(rows), skipped
    return len(rows)


def _recover_interrupted(campaign: Campaign) -> int:
    """Rows left "sending" by a process that died mid-call may have reached the provider: they are
    marked failed, never sent again (a customer gets a campaign at most once)."""
    count = Message.objects.filter(campaign=campaign, status=MessageStatus.SENDING).update(
        status=MessageStatus.FAILED,
        error=_("Interrupted while sending; not sent again to avoid a duplicate."),
    )
    if count:
        campaign.failed_count += count
    return count


def enqueue_campaign(campaign_id: int) -> int:
    """One send job per chunk of still-queued recipients; returns how many jobs were enqueued."""
    from kefu.messaging.tasks import send_campaign_chunk

    ids = list(
        Message.objects.filter(campaign_id=campaign_id, status=MessageStatus.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    jobs = 0
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        send_campaign_chunk(campaign_id, chunk[0], chunk[-1])
        jobs += 1
    if not ids:
        campaign_finish_if_done(campaign_id)
    return jobs


# Test hook: a callable run after each batch is recorded (the crash test raises from it).
after_batch: Callable[[Outcome], None] | None = None


def campaign_send_chunk(
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    limiter: RateLimiter | None = None,
) -> Outcome:
    """Send the queued recipients of one chunk, batch by batch, within the rate limits; stops as
    soon as the campaign is paused or cancelled. Safe to run twice or side by side."""
    total = Outcome()
    campaign = Campaign.objects.filter(pk=campaign_id).select_related("policy").first()
    if campaign is None:
        return total
    policy = campaign.policy or MessagingPolicy.in_force()
    limiter = limiter or RateLimiter(per_second=policy.per_second, per_minute=policy.per_minute)
    backend_batch = backends.sms_backend().batch_size if campaign.channel == Channel.SMS else 20
    rows = Message.objects.filter(campaign_id=campaign_id, id__gte=first_id, id__lte=last_id)
    while True:
        state = Campaign.objects.filter(pk=campaign_id).values_list("state", flat=True).first()
        if state != CampaignState.SENDING:
            break
        allowed = limiter.acquire(backend_batch)
        claimed = _claim(rows, limit=allowed)
        if not claimed:
            break
        outcome = _deliver(claimed)
        Campaign.objects.filter(pk=campaign_id).update(
            sent_count=F("sent_count") + outcome.sent,
            failed_count=F("failed_count") + outcome.failed,
            skipped_count=F("skipped_count") + outcome.skipped,
            updated_at=timezone.now(),
        )
        total.sent += outcome.sent
        total.failed += outcome.failed
        total.skipped += outcome.skipped
        total.retry += outcome.retry
        if after_batch is not None:
            after_batch(total)
        if outcome.retry and not outcome.sent:
            break  # the provider is struggling: leave the rest queued for the retry job
    if total.retry:
        from kefu.messaging.tasks import send_campaign_chunk

        send_campaign_chunk.schedule((campaign_id, first_id, last_id), delay=60)
    campaign_finish_if_done(campaign_id)
    return total


@transaction.atomic
def campaign_finish_if_done(campaign_id: int) -> bool:
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None or campaign.state != CampaignState.SENDING:
        return False
    if Message.objects.filter(
        campaign_id=campaign_id, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
    ).exists():
        return False
    counts = dict(
        Message.objects.filter(campaign_id=campaign_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    campaign.sent_count = counts.get(MessageStatus.SENT, 0)
    campaign.failed_count = counts.get(MessageStatus.FAILED, 0)
    campaign.skipped_count = counts.get(MessageStatus.SKIPPED, 0)
    campaign.state = CampaignState.DONE
    campaign.finished_at = timezone.now()
    campaign.save()
    _event(campaign, None, "finish", CampaignState.SENDING)
    return True


def campaigns_resume_stalled(*, minutes: int = 15) -> int:
    """Sending campaigns with no progress for a while get their jobs again (a lost queue, a crash)."""
    cutoff = timezone.now() - dt.timedelta(minutes=minutes)
    stalled = list(
        Campaign.objects.filter(state=CampaignState.SENDING, updated_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for pk in stalled:
        Campaign.objects.filter(pk=pk).update(updated_at=timezone.now())
        enqueue_campaign(pk)
    return len(stalled)


# --- policies -----------------------------------------------------------------------------------


@transaction.atomic
def messaging_policy_create(*, actor: User, data: Mapping[str, Any]) -> MessagingPolicy:
    require_perm(actor, "messaging.add_messagingpolicy")
    errors: dict[str, list[str]] = {}
    policy = MessagingPolicy(created_by=actor, note=_text(data.get("note"), 200))
    for name in ("per_second", "per_minute", "approval_from_recipients"):
        try:
            value = int(data.get(name, getattr(policy, name)))
        except (TypeError, ValueError):
            errors[name] = [_("Enter a whole number.")]
            continue
        if not 1 <= value <= 1_000_000:
            errors[name] = [_("Enter a number between 1 and 1,000,000.")]
        setattr(policy, name, value)
    policy.marketing_needs_approval = bool(
        data.get("marketing_needs_approval", policy.marketing_needs_approval)
    )
    words = _text(data.get("opt_out_words", policy.opt_out_words), 200)
    if not [w for w in words.split("|") if w.strip()]:
        errors["opt_out_words"] = [_("Give at least one opt-out phrase.")]
    policy.opt_out_words = words
    effective = data.get("effective_from") or timezone.localdate()
    if effective < timezone.localdate():
        errors["effective_from"] = [_("A policy cannot take effect in the past.")]
    policy.effective_from = effective
    if not errors and policy.per_minute < policy.per_second:
        errors["per_minute"] = [_("The per-minute limit cannot be below the per-second limit.")]
    _require(errors)
    with acting(actor):
        policy.save()
    return policy


@transaction.atomic
def care_policy_create(*, actor: User, data: Mapping[str, Any]) -> CarePolicy:
    require_perm(actor, "messaging.add_carepolicy")
    errors: dict[str, list[str]] = {}
    current = CarePolicy.in_force()
    policy = CarePolicy(created_by=actor, note=_text(data.get("note"), 200))
    for name in (
        "send_time",
        "birthday_enabled",
        "birthday_template",
        "birthday_contacts",
        "gift_note",
        "holiday_enabled",
        "holiday_days_before",
        "tiers",
        "members_only",
    ):
        setattr(policy, name, data.get(name, getattr(current, name)))
    if policy.birthday_template is not None and policy.birthday_template.channel != Channel.SMS:
        errors["birthday_template"] = [_("Choose an SMS template.")]
    try:
        policy.holiday_days_before = int(policy.holiday_days_before)
        if not 0 <= policy.holiday_days_before <= 7:
            raise ValueError
    except (TypeError, ValueError):
        errors["holiday_days_before"] = [_("Enter 0 to 7 days.")]
    tiers = [t.strip() for t in str(policy.tiers or "").split(",") if t.strip()]
    if any(t not in ("A", "B", "C", "none") for t in tiers):
        errors["tiers"] = [_("List tiers as A, B, C or none, separated by commas.")]
    policy.tiers = ",".join(tiers)
    policy.gift_note = _text(policy.gift_note, 200)
    effective = data.get("effective_from") or timezone.localdate()
    if effective < timezone.localdate():
        errors["effective_from"] = [_("A policy cannot take effect in the past.")]
    policy.effective_from = effective
    _require(errors)
    with acting(actor):
        policy.save()
    return policy


@transaction.atomic
def holiday_greeting_save(
    *, actor: User, holiday_name: str, template: MessageTemplate, active: bool = True
) -> HolidayGreeting:
    require_perm(actor, "messaging.change_holidaygreeting")
    name = _text(holiday_name, 50)
    if not name:
        raise ValidationFailed(
            _("Name the holiday."), detail={"holiday_name": [_("This field is required.")]}
        )
    if template.channel != Channel.SMS:
        raise ValidationFailed(
            _("Choose an SMS template."), detail={"template": [_("Choose an SMS template.")]}
        )
    greeting = HolidayGreeting.objects.filter(holiday_name=name).first() or HolidayGreeting(holiday_name=name)
    greeting.template = template
    greeting.active = active
    with acting(actor):
        greeting.save()
    return greeting


def template_or_404(pk: int) -> MessageTemplate:
    template = MessageTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise NotFound()
    return template
