"""Pages of member care messaging. Each view parses input, calls a service or selector, renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import Department
from kefu.core.access import log_sensitive_access, log_sensitive_bulk
from kefu.core.errors import DomainError
from kefu.core.excel import xlsx_response
from kefu.core.masking import can_view_sensitive, masked
from kefu.core.pages import flash_domain_error, form_error_from_domain, int_or_none, paginate
from kefu.customers.models import Customer, CustomerKind, Lifecycle
from kefu.messaging import selectors, services
from kefu.messaging.forms import (
    CampaignForm,
    CarePolicyForm,
    HolidayGreetingForm,
    MessagingPolicyForm,
    OptOutForm,
    TemplateForm,
    parse_params,
)
from kefu.messaging.models import (
    CampaignState,
    CarePolicy,
    Channel,
    HolidayGreeting,
    MessageStatus,
    MessageTemplate,
    MessagingPolicy,
    Purpose,
)

FILTER_NAMES = ("q", "kind", "tier", "lifecycle", "department", "is_vip", "province")


def _customer_filters(data: Any) -> dict[str, Any]:
    return services.clean_filters({name: data.get(name) for name in FILTER_NAMES})


def _filter_choices() -> dict[str, Any]:
    return {
        "kinds": CustomerKind.choices,
        "tiers": [("A", "A"), ("B", "B"), ("C", "C"), ("none", _("Not a VIP"))],
        "lifecycles": Lifecycle.choices,
        "departments": Department.objects.filter(is_active=True),
    }


# --- campaigns ----------------------------------------------------------------------------------


@login_required
@permission_required("messaging.view_campaign", raise_exception=True)
def campaign_list_page(request: HttpRequest) -> HttpResponse:
    filters = {
        "state": request.GET.get("state", "") if request.GET.get("state") in CampaignState.values else "",
        "purpose": request.GET.get("purpose", "") if request.GET.get("purpose") in Purpose.values else "",
        "q": request.GET.get("q", "").strip()[:100],
    }
    page = paginate(request, selectors.campaign_list(user=request.user, filters=filters))
    context = {
        "page_obj": page,
        "filters": filters,
        "states": CampaignState.choices,
        "purposes": Purpose.choices,
    }
    return render(request, "messaging/campaign_list.html", context)


@login_required
@permission_required("messaging.add_campaign", raise_exception=True)
def campaign_create_page(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    form = CampaignForm(request.POST or None, initial={"template": int_or_none(request.GET.get("template"))})
    filters = _customer_filters(data)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                template=form.cleaned_data["template"],
                filters=filters,
                params=parse_params(form.cleaned_data["params"]),
            )
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(
                request, _("Campaign %(number)s was saved as a draft.") % {"number": campaign.number}
            )
            return redirect("messaging:campaign_detail", pk=campaign.pk)
    context = {"form": form, "filters": filters, **_filter_choices()}
    return render(request, "messaging/campaign_form.html", context)


@login_required
@permission_required("messaging.add_campaign", raise_exception=True)
def campaign_preview_partial(request: HttpRequest) -> HttpResponse:
    template = MessageTemplate.objects.filter(
        pk=int_or_none(request.GET.get("template")), active=True
    ).first()
    context: dict[str, Any] = {"template": template}
    if template is not None:
        context["preview"] = services.campaign_preview(
            actor=request.user,
            template=template,
            filters=_customer_filters(request.GET),
            params=parse_params(request.GET.get("params", "")),
        )
    return render(request, "messaging/partials/preview.html", context)


def _campaign(request: HttpRequest, pk: int) -> Any:
    campaign = selectors.campaign_get(user=request.user, pk=pk)
    if campaign is None:
        raise Http404
    return campaign


@login_required
@permission_required("messaging.view_campaign", raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    status = request.GET.get("status", "") if request.GET.get("status") in MessageStatus.values else ""
    page = paginate(
        request,
        selectors.message_list(user=request.user, filters={"campaign": campaign.pk, "status": status}),
    )
    log_sensitive_access(
        actor=request.user,
        objects=list(page.object_list),
        fields=["address"],
        channel="page",
        request=request,
        detail="campaign recipients",
    )
    context = {
        "campaign": campaign,
        "page_obj": page,
        "status": status,
        "statuses": MessageStatus.choices,
        "actions": services.available_actions(request.user, campaign),
        "events": list(campaign.events.select_related("actor")),
    }
    return render(request, "messaging/campaign_detail.html", context)


@login_required
@permission_required("messaging.view_campaign", raise_exception=True)
def campaign_progress(request: HttpRequest, pk: int) -> HttpResponse:
    # The partial polls itself while the campaign sends and stops once it is no longer sending.
    return render(request, "messaging/partials/progress.html", {"campaign": _campaign(request, pk)})


ACTION_MESSAGES = {
    "submit": _("The campaign was submitted."),
    "approve": _("The campaign was approved."),
    "reject": _("The campaign was rejected."),
    "start": _("Sending has started."),
    "pause": _("Sending is paused."),
    "resume": _("Sending goes on."),
    "cancel": _("The campaign was cancelled."),
}


@login_required
@permission_required("messaging.view_campaign", raise_exception=True)
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = _campaign(request, pk)
    if action not in services.ACTIONS:
        raise Http404
    try:
        services.campaign_transition(
            actor=request.user,
            campaign=campaign,
            action=action,
            note=request.POST.get("note", "")[:300],
            version=int_or_none(request.POST.get("version")),
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, str(ACTION_MESSAGES[action]))
    return redirect("messaging:campaign_detail", pk=campaign.pk)


# --- templates ----------------------------------------------------------------------------------


@login_required
@permission_required("messaging.view_messagetemplate", raise_exception=True)
def template_list_page(request: HttpRequest) -> HttpResponse:
    rows = selectors.templates(user=request.user)
    return render(request, "messaging/template_list.html", {"templates": rows})


def _template_form_page(request: HttpRequest, template: MessageTemplate | None) -> HttpResponse:
    initial = (
        {f: getattr(template, f) for f in TemplateForm.base_fields}
        if template
        else {"active": True, "channel": "sms"}
    )
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.template_save(actor=request.user, data=form.cleaned_data, template=template)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Template “%(name)s” was saved.") % {"name": saved.name})
            return redirect("messaging:templates")
    title = _("Edit template") if template else _("New template")
    return render(
        request, "messaging/form_page.html", {"form": form, "title": title, "back": "messaging:templates"}
    )


@login_required
@permission_required("messaging.add_messagetemplate", raise_exception=True)
def template_create(request: HttpRequest) -> HttpResponse:
    return _template_form_page(request, None)


@login_required
@permission_required("messaging.change_messagetemplate", raise_exception=True)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = MessageTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise Http404
    return _template_form_page(request, template)


# --- opt-outs -----------------------------------------------------------------------------------


@login_required
@permission_required("messaging.view_optout", raise_exception=True)
def opt_out_list_page(request: HttpRequest) -> HttpResponse:
    form = OptOutForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("messaging.add_optout"):
            raise DjangoPermissionDenied
        if form.is_valid():
            number = form.cleaned_data["customer"].strip().upper()
            customer = Customer.objects.visible_to(request.user).filter(archive_number=number).first()
            if customer is None:
                form.add_error("customer", _("No customer with this archive number is visible to you."))
            else:
                try:
                    services.opt_out_create(
                        actor=request.user,
                        customer=customer,
                        channel=form.cleaned_data["channel"],
                        note=form.cleaned_data["note"],
                    )
                except DomainError as exc:
                    form_error_from_domain(form, exc)
                else:
                    messages.success(
                        request, _("%(name)s will receive no more messages there.") % {"name": customer.name}
                    )
                    return redirect("messaging:opt_outs")
    active = {"1": True, "0": False}.get(request.GET.get("active", "1"))
    filters = {
        "channel": request.GET.get("channel", "") if request.GET.get("channel") in Channel.values else "",
        "active": active,
        "q": request.GET.get("q", "").strip()[:100],
    }
    page = paginate(request, selectors.opt_out_list(user=request.user, filters=filters))
    context = {"page_obj": page, "form": form, "filters": filters, "channels": Channel.choices}
    return render(request, "messaging/opt_outs.html", context)


@login_required
@permission_required("messaging.change_optout", raise_exception=True)
@require_POST
def opt_out_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    opt_out = selectors.opt_out_list(user=request.user).filter(pk=pk).first()
    if opt_out is None:
        raise Http404
    try:
        services.opt_out_withdraw(
            actor=request.user, opt_out=opt_out, note=request.POST.get("note", "")[:300]
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The opt-out was withdrawn."))
    return redirect("messaging:opt_outs")


# --- send log -----------------------------------------------------------------------------------


def _log_filters(request: HttpRequest) -> dict[str, Any]:
    params = request.GET
    return {
        "status": params.get("status", "") if params.get("status") in MessageStatus.values else "",
        "channel": params.get("channel", "") if params.get("channel") in Channel.values else "",
        "purpose": params.get("purpose", "") if params.get("purpose") in Purpose.values else "",
        "q": params.get("q", "").strip()[:100],
        "created_from": parse_date(params.get("created_from", "") or "")
        if _is_date(params.get("created_from"))
        else None,
        "created_to": parse_date(params.get("created_to", "") or "")
        if _is_date(params.get("created_to"))
        else None,
    }


def _is_date(value: str | None) -> bool:
    try:
        return bool(value) and parse_date(value or "") is not None
    except ValueError:
        return False


@login_required
@permission_required("messaging.view_message", raise_exception=True)
def message_log_page(request: HttpRequest) -> HttpResponse:
    filters = _log_filters(request)
    page = paginate(request, selectors.message_list(user=request.user, filters=filters))
    log_sensitive_access(
        actor=request.user,
        objects=list(page.object_list),
        fields=["address"],
        channel="page",
        request=request,
        detail="send log",
    )
    context = {
        "page_obj": page,
        "filters": filters,
        "statuses": MessageStatus.choices,
        "channels": Channel.choices,
        "purposes": Purpose.choices,
    }
    return render(request, "messaging/message_log.html", context)


@login_required
@permission_required("messaging.export_message", raise_exception=True)
def message_log_export(request: HttpRequest) -> HttpResponseBase:
    queryset = selectors.message_list(user=request.user, filters=_log_filters(request))[:100_000]
    reveal = can_view_sensitive(request.user)
    rows = (
        (
            m.created_at,
            m.get_channel_display(),
            m.get_purpose_display(),
            m.customer.name,
            masked(m.address, "email" if m.channel == Channel.EMAIL else "phone", reveal=reveal),
            m.campaign.number if m.campaign_id else m.source,
            m.body,
            m.get_status_display(),
            m.get_skip_reason_display() if m.skip_reason else "",
            m.error,
            m.sent_at,
        )
        for m in queryset.iterator(chunk_size=2000)
    )
    log_sensitive_bulk(
        actor=request.user,
        object_type="message",
        count=queryset.count(),
        fields=["address"],
        channel="export",
        request=request,
    )
    headers = [
        _("Created"), _("Channel"), _("Purpose"), _("Customer"), _("Mobile / email"), _("Campaign / source"),
        _("Text"), _("Status"), _("Skipped because"), _("Error"), _("Sent at"),
    ]  # fmt: skip
    return xlsx_response(filename=_("send-log"), sheet=_("Send log"), headers=headers, rows=rows)


# --- policies -----------------------------------------------------------------------------------


@login_required
@permission_required("messaging.view_messagingpolicy", raise_exception=True)
def policies_page(request: HttpRequest) -> HttpResponse:
    messaging_now = MessagingPolicy.in_force()
    care_now = CarePolicy.in_force()
    messaging_form = MessagingPolicyForm(
        prefix="messaging",
        initial={
            f: getattr(messaging_now, f) for f in MessagingPolicyForm.base_fields if f != "effective_from"
        },
    )
    care_form = CarePolicyForm(
        prefix="care",
        initial={f: getattr(care_now, f) for f in CarePolicyForm.base_fields if f != "effective_from"},
    )
    greeting_form = HolidayGreetingForm(prefix="greeting")
    if request.method == "POST":
        which = request.POST.get("policy")
        forms_by_kind: dict[str, Any] = {
            "messaging": lambda: MessagingPolicyForm(request.POST, prefix="messaging"),
            "care": lambda: CarePolicyForm(request.POST, prefix="care"),
            "greeting": lambda: HolidayGreetingForm(request.POST, prefix="greeting"),
        }
        if which not in forms_by_kind:
            raise Http404
        form = forms_by_kind[which]()
        if form.is_valid():
            try:
                if which == "messaging":
                    services.messaging_policy_create(actor=request.user, data=form.cleaned_data)
                elif which == "care":
                    services.care_policy_create(actor=request.user, data=form.cleaned_data)
                else:
                    services.holiday_greeting_save(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("messaging:policies")
        messaging_form = form if which == "messaging" else messaging_form
        care_form = form if which == "care" else care_form
        greeting_form = form if which == "greeting" else greeting_form
    context = {
        "messaging_now": messaging_now,
        "care_now": care_now,
        "messaging_form": messaging_form,
        "care_form": care_form,
        "messaging_versions": list(MessagingPolicy.objects.select_related("created_by")[:20]),
        "care_versions": list(CarePolicy.objects.select_related("created_by", "birthday_template")[:20]),
        "greetings": list(HolidayGreeting.objects.select_related("template")),
        "greeting_form": greeting_form,
    }
    return render(request, "messaging/policies.html", context)
