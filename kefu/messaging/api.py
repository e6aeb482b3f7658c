"""The member care messaging API. Every endpoint calls a selector or a service; none writes a model.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

import datetime as dt
import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from kefu.accounts.models import User
from kefu.core.access import log_sensitive_access
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS
from kefu.customers import selectors as customer_selectors
from kefu.customers.models import Contact, Customer
from kefu.messaging import selectors, services
from kefu.messaging.models import CarePolicy, Message, MessageTemplate, MessagingPolicy, OptOut
from kefu.messaging.schemas import (
    CampaignFilterIn,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignTransitionIn,
    CarePolicyIn,
    CarePolicyOut,
    InboundIn,
    InboundOut,
    MessageFilterIn,
    MessageIn,
    MessageOut,
    MessagePage,
    MessageTemplateIn,
    MessageTemplateOut,
    MessagingPolicyIn,
    MessagingPolicyOut,
    OptOutFilterIn,
    OptOutIn,
    OptOutOut,
    OptOutPage,
    PoliciesOut,
    PreviewIn,
    PreviewOut,
    TemplatePatch,
    WithdrawIn,
)

router = Router(tags=["messaging"])
ERR = ERRORS


class ApiRequest(HttpRequest):
    user: User


def _missing(field: str, pk: Any) -> ValidationFailed:
    message = _("There is no such record (%(field)s = %(id)s), or it is not visible to you.") % {
        "field": field,
        "id": pk,
    }
    return ValidationFailed(message, detail={field: [message]})


def _template(pk: int, field: str = "template_id") -> MessageTemplate:
    template = MessageTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise _missing(field, pk)
    return template


def _customer(request: ApiRequest, pk: int) -> Customer:
    customer = customer_selectors.customer_get(user=request.user, pk=pk)
    if customer is None:
        raise _missing("customer_id", pk)
    return customer


def _log_addresses(request: ApiRequest, messages: list[Message]) -> None:
    shown = [m for m in messages if m.address]
    log_sensitive_access(
        actor=request.user, objects=shown, fields=["address"], channel="api", request=request
    )


# --- templates ----------------------------------------------------------------------------------


@router.get(
    "/messaging/templates", response={200: list[MessageTemplateOut], **ERR}, summary="Message templates"
)
def list_templates(request: ApiRequest) -> Any:
    require_perm(request.user, "messaging.view_messagetemplate")
    return list(selectors.templates(user=request.user)[:500])


@router.post("/messaging/templates", response={201: MessageTemplateOut, **ERR}, summary="Add a template")
def create_template(request: ApiRequest, payload: MessageTemplateIn) -> Status[MessageTemplate]:
    template = services.template_save(actor=request.user, data=payload.dict())
    return Status(201, template)


@router.get(
    "/messaging/templates/{template_id}", response={200: MessageTemplateOut, **ERR}, summary="One template"
)
def get_template(request: ApiRequest, template_id: int) -> Any:
    require_perm(request.user, "messaging.view_messagetemplate")
    return services.template_or_404(template_id)


@router.patch(
    "/messaging/templates/{template_id}",
    response={200: MessageTemplateOut, **ERR},
    summary="Change a template",
)
def update_template(request: ApiRequest, template_id: int, payload: TemplatePatch) -> Any:
    require_perm(request.user, "messaging.view_messagetemplate")
    template = services.template_or_404(template_id)
    data = {key: value for key, value in payload.dict().items() if value is not None}
    return services.template_save(actor=request.user, template=template, data=data)


# --- campaigns ----------------------------------------------------------------------------------


@router.post(
    "/messaging/campaigns/preview",
    response={200: PreviewOut, **ERR},
    summary="How many customers a campaign would reach, and the text the first one gets",
)
def preview_campaign(request: ApiRequest, payload: PreviewIn) -> Any:
    require_perm(request.user, "messaging.add_campaign")
    preview = services.campaign_preview(
        actor=request.user,
        template=_template(payload.template_id),
        filters=payload.filters.dict(exclude_none=True),
        params=payload.params,
    )
    return preview.__dict__


@router.get("/messaging/campaigns", response={200: CampaignPage, **ERR}, summary="Campaigns")
def list_campaigns(request: ApiRequest, filters: Query[CampaignFilterIn]) -> Any:
    require_perm(request.user, "messaging.view_campaign")
    queryset = selectors.campaign_list(user=request.user, filters=filters.dict())
    return {
        "count": queryset.count(),
        "items": list(queryset[filters.offset : filters.offset + filters.limit]),
    }


@router.post("/messaging/campaigns", response={201: CampaignOut, **ERR}, summary="Draft a campaign")
def create_campaign(request: ApiRequest, payload: CampaignIn) -> Status[Any]:
    require_perm(request.user, "messaging.add_campaign")
    campaign = services.campaign_create(
        actor=request.user,
        name=payload.name,
        template=_template(payload.template_id),
        filters=payload.filters.dict(exclude_none=True),
        params=payload.params,
    )
    return Status(201, selectors.campaign_get(user=request.user, pk=campaign.pk))


def _campaign(request: ApiRequest, campaign_id: int) -> Any:
    require_perm(request.user, "messaging.view_campaign")
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    if campaign is None:
        raise NotFound()
    return campaign


@router.get("/messaging/campaigns/{campaign_id}", response={200: CampaignOut, **ERR}, summary="One campaign")
def get_campaign(request: ApiRequest, campaign_id: int) -> Any:
    return _campaign(request, campaign_id)


@router.post(
    "/messaging/campaigns/{campaign_id}/transitions",
    response={200: CampaignOut, **ERR},
    summary="Submit, approve, reject, start, pause, resume or cancel a campaign",
)
def transition_campaign(request: ApiRequest, campaign_id: int, payload: CampaignTransitionIn) -> Any:
    campaign = _campaign(request, campaign_id)
    services.campaign_transition(
        actor=request.user,
        campaign=campaign,
        action=payload.action,
        note=payload.note,
        version=payload.version,
    )
    return _campaign(request, campaign_id)


@router.get(
    "/messaging/campaigns/{campaign_id}/messages",
    response={200: MessagePage, **ERR},
    summary="The campaign's per-recipient send log",
)
def campaign_messages(request: ApiRequest, campaign_id: int, filters: Query[MessageFilterIn]) -> Any:
    campaign = _campaign(request, campaign_id)
    params = filters.dict(exclude={"limit", "offset"}) | {"campaign": campaign.pk}
    queryset = selectors.message_list(user=request.user, filters=params)
    items = list(queryset[filters.offset : filters.offset + filters.limit])
    _log_addresses(request, items)
    return {"count": queryset.count(), "items": items}


# --- send log and single sends --------------------------------------------------------------------


@router.get("/messaging/messages", response={200: MessagePage, **ERR}, summary="Search the send log")
def list_messages(request: ApiRequest, filters: Query[MessageFilterIn]) -> Any:
    require_perm(request.user, "messaging.view_message")
    queryset = selectors.message_list(user=request.user, filters=filters.dict(exclude={"limit", "offset"}))
    items = list(queryset[filters.offset : filters.offset + filters.limit])
    _log_addresses(request, items)
    return {"count": queryset.count(), "items": items}


@router.post(
    "/messaging/messages",
    response={201: MessageOut, **ERR},
    summary="Send one message to a customer (queued, delivered by a job)",
)
def send_message(request: ApiRequest, payload: MessageIn) -> Status[Message]:
    require_perm(request.user, "messaging.send_message")
    customer = _customer(request, payload.customer_id)
    contact = None
    if payload.contact_id is not None:
        contact = (
            Contact.objects.visible_to(request.user).filter(pk=payload.contact_id, customer=customer).first()
        )
        if contact is None:
            raise _missing("contact_id", payload.contact_id)
    message = services.message_send(
        actor=request.user,
        customer=customer,
        contact=contact,
        channel=payload.channel,
        template=_template(payload.template_id),
        params=payload.params,
        purpose=payload.purpose,
        source=payload.source or "api",
    )
    return Status(201, Message.objects.select_related("customer").get(pk=message.pk))


# --- opt-outs -----------------------------------------------------------------------------------


@router.get("/messaging/opt-outs", response={200: OptOutPage, **ERR}, summary="Customers who opted out")
def list_opt_outs(request: ApiRequest, filters: Query[OptOutFilterIn]) -> Any:
    require_perm(request.user, "messaging.view_optout")
    queryset = selectors.opt_out_list(user=request.user, filters=filters.dict(exclude={"limit", "offset"}))
    return {
        "count": queryset.count(),
        "items": list(queryset[filters.offset : filters.offset + filters.limit]),
    }


@router.post("/messaging/opt-outs", response={201: OptOutOut, **ERR}, summary="Record a customer's opt-out")
def create_opt_out(request: ApiRequest, payload: OptOutIn) -> Status[OptOut]:
    require_perm(request.user, "messaging.add_optout")
    customer = _customer(request, payload.customer_id)
    opt_out = services.opt_out_create(
        actor=request.user, customer=customer, channel=payload.channel, source="api", note=payload.note
    )
    return Status(201, selectors.opt_out_list(user=request.user).get(pk=opt_out.pk))


@router.post(
    "/messaging/opt-outs/{opt_out_id}/withdraw",
    response={200: OptOutOut, **ERR},
    summary="The customer wants messages again",
)
def withdraw_opt_out(request: ApiRequest, opt_out_id: int, payload: WithdrawIn) -> Any:
    require_perm(request.user, "messaging.view_optout")
    opt_out = selectors.opt_out_list(user=request.user).filter(pk=opt_out_id).first()
    if opt_out is None:
        raise NotFound()
    services.opt_out_withdraw(actor=request.user, opt_out=opt_out, note=payload.note)
    return selectors.opt_out_list(user=request.user).get(pk=opt_out_id)


@router.post(
    "/messaging/inbound",
    auth=None,
    response={200: InboundOut, **ERR},
    summary="A customer's SMS reply (provider callback); R / TD / 退订 opts the number out",
    description=(
        "For the SMS provider's reply callback (or a relay in front of it). Authenticated by the shared "
        "secret KEFU_SMS_INBOUND_SECRET in the X-Kefu-Secret header; answers 403 when it is wrong or unset."
    ),
)
def inbound_reply(request: HttpRequest, payload: InboundIn) -> Any:
    expected = settings.SMS_INBOUND_SECRET
    given = request.headers.get("X-Kefu-Secret", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied(_("The shared secret is missing or wrong."), code="bad_secret")
    return {"opted_out": services.opt_out_inbound_reply(phone=payload.phone, text=payload.text)}


# --- policies -----------------------------------------------------------------------------------


def _care_out(policy: CarePolicy) -> dict[str, Any]:
    fields = [
        "id", "effective_from", "send_time", "birthday_enabled", "birthday_template_id", "birthday_contacts",
        "gift_note", "holiday_enabled", "holiday_days_before", "tiers", "members_only", "note",
    ]  # fmt: skip
    out = {name: getattr(policy, name) for name in fields}
    out["send_time"] = policy.send_time.strftime("%H:%M")
    return out


@router.get(
    "/messaging/policies/current",
    response={200: PoliciesOut, **ERR},
    summary="The sending and member-care policies in force",
)
def current_policies(request: ApiRequest) -> Any:
    require_perm(request.user, "messaging.view_messagingpolicy")
    return {"messaging": MessagingPolicy.in_force(), "care": _care_out(CarePolicy.in_force())}


@router.post(
    "/messaging/policies",
    response={201: MessagingPolicyOut, **ERR},
    summary="A new version of the sending policy",
)
def create_messaging_policy(request: ApiRequest, payload: MessagingPolicyIn) -> Status[MessagingPolicy]:
    data = payload.dict()
    data["effective_from"] = data["effective_from"] or timezone.localdate()
    return Status(201, services.messaging_policy_create(actor=request.user, data=data))


@router.post(
    "/messaging/care-policies",
    response={201: CarePolicyOut, **ERR},
    summary="A new version of the member-care policy (birthdays, holidays)",
)
def create_care_policy(request: ApiRequest, payload: CarePolicyIn) -> Status[dict[str, Any]]:
    require_perm(request.user, "messaging.add_carepolicy")
    data = payload.dict()
    data["send_time"] = dt.time.fromisoformat(payload.send_time)
    template_id = data.pop("birthday_template_id")
    if template_id is not None:  # left out: the template in force stays
        data["birthday_template"] = _template(template_id, "birthday_template_id")
    data["effective_from"] = data["effective_from"] or timezone.localdate()
    return Status(201, _care_out(services.care_policy_create(actor=request.user, data=data)))
