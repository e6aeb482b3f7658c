"""Staff pages of the satisfaction surveys. Each view parses input, calls a service or selector, renders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.core.access import log_sensitive_access, log_sensitive_bulk
from kefu.core.errors import DomainError, ValidationFailed
from kefu.core.excel import xlsx_response
from kefu.core.masking import can_view_sensitive, masked
from kefu.core.pages import flash_domain_error, form_error_from_domain, int_or_none, paginate
from kefu.customers import selectors as customer_selectors
from kefu.surveys import selectors, services
from kefu.surveys.forms import (
    BulkSendForm,
    InviteForm,
    PolicyForm,
    QuestionFormSet,
    RecipientFilterForm,
    TemplateForm,
    answers_from_post,
    question_rows,
    template_input,
)
from kefu.surveys.models import (
    InvitationState,
    SurveyChannel,
    SurveyPolicy,
    SurveySendState,
    SurveyTemplate,
)


def _month(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(f"{(value or '').strip()}-01") if value else None
    except ValueError:
        return None


def _dimensions() -> list[tuple[str, str]]:
    return [("department", _("Department")), ("staff", _("Staff member")), ("tier", _("Customer tier"))]


def list_params(request: HttpRequest) -> dict[str, Any]:
    get = request.GET
    params: dict[str, Any] = {
        "state": get.get("state", "") if get.get("state", "") in InvitationState.values else "",
        "channel": get.get("channel", "") if get.get("channel", "") in SurveyChannel.values else "",
        "q": get.get("q", "").strip()[:100],
        "month": _month(get.get("month")),
        "dissatisfied": get.get("dissatisfied") == "1",
        "sort": "oldest" if get.get("sort") == "oldest" else "newest",
    }
    for name in ("template", "served_by"):
        number = int_or_none(get.get(name))
        params[name] = number if number and number > 0 else ""
    return params


def _visible_invitation(request: HttpRequest, pk: int) -> Any:
    invitation = selectors.invitation_get(request.user, pk)
    if invitation is None:
        raise Http404
    return invitation


# --- invitations ---------------------------------------------------------------------------------


@login_required
@permission_required("surveys.view_surveyinvitation", raise_exception=True)
def invitation_list(request: HttpRequest) -> HttpResponse:
    params = list_params(request)
    page = paginate(request, selectors.invitation_filter(request.user, params))
    reveal = can_view_sensitive(request.user)
    rows = [(i, masked(i.contact_phone, "phone", reveal=reveal)) for i in page.object_list]
    log_sensitive_access(
        actor=request.user,
        objects=[i for i in page.object_list if i.contact_phone],
        fields=["phone"],
        channel="page",
        request=request,
        detail="survey list",
    )
    return render(
        request,
        "surveys/invitation_list.html",
        {
            "page_obj": page,
            "rows": rows,
            "params": params,
            "states": InvitationState.choices,
            "channels": SurveyChannel.choices,
            "templates": SurveyTemplate.objects.order_by("name", "-version"),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@permission_required("surveys.view_surveyinvitation", raise_exception=True)
def invitation_export(request: HttpRequest) -> HttpResponseBase:
    queryset = selectors.invitation_filter(request.user, list_params(request))
    reveal = can_view_sensitive(request.user)
    headers = [
        _("Number"),
        _("Survey"),
        _("Channel"),
        _("Customer"),
        _("Customer tier"),
        _("Contact person"),
        _("Phone"),
        _("About"),
        _("Served by"),
        _("State"),
        _("Sent at"),
        _("Answered at"),
        _("Average rating"),
        _("Follow-up ticket"),
    ]
    count = queryset.count()

    def rows() -> Any:
        for i in queryset.select_related("response__follow_up_ticket").iterator(chunk_size=1000):
            response = getattr(i, "response", None) if i.state == InvitationState.ANSWERED else None
            yield [
                i.number,
                str(i.template),
                i.get_channel_display(),
                i.customer.name,
                i.tier,
                i.contact_name,
                masked(i.contact_phone, "phone", reveal=reveal),
                i.subject_label,
                str(i.served_by) if i.served_by else "",
                i.get_state_display(),
                i.created_at,
                i.answered_at,
                response.average_score if response else "",
                response.follow_up_ticket.number if response and response.follow_up_ticket else "",
            ]

    log_sensitive_bulk(
        actor=request.user,
        object_type="surveyinvitation",
        count=count,
        fields=["contact_phone"],
        channel="export",
        request=request,
        detail="survey list",
    )
    return xlsx_response(filename=_("surveys"), sheet=_("Surveys"), headers=headers, rows=rows())


def _subject_from(request: HttpRequest) -> Any:
    """The record a survey is about, named as ?subject=app_label.model:id and visible to the user."""
    raw = (request.GET.get("subject") or request.POST.get("subject") or "").strip()
    if not raw:
        return None
    label, _sep, pk = raw.partition(":")
    app_label, _dot, model = label.partition(".")
    number = int_or_none(pk)
    content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
    model_class = content_type.model_class() if content_type else None
    if model_class is None or number is None:
        return None
    manager = model_class._default_manager
    rows = manager.visible_to(request.user) if hasattr(manager, "visible_to") else manager.none()
    return rows.filter(pk=number).first()


@login_required
@permission_required("surveys.add_surveyinvitation", raise_exception=True)
def invite_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_selectors.customer_get(user=request.user, pk=customer_id)
    if customer is None:
        raise Http404
    subject = _subject_from(request)
    initial = {"served_by": getattr(subject, "assignee", None) or request.user}
    form = InviteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = services.InviteInput(customer=customer, subject=subject, **form.cleaned_data)
        try:
            invitation = services.survey_invite(actor=request.user, data=data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Survey %(number)s was created.") % {"number": invitation.number})
            return redirect("surveys:detail", invitation.pk)
    return render(
        request,
        "surveys/invite.html",
        {
            "form": form,
            "customer": customer,
            "subject": subject,
            "subject_param": request.GET.get("subject", ""),
        },
    )


@login_required
@permission_required("surveys.view_surveyinvitation", raise_exception=True)
def invitation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _visible_invitation(request, pk)
    response = getattr(invitation, "response", None) if invitation.state == InvitationState.ANSWERED else None
    may_enter = invitation.state == InvitationState.PENDING and request.user.has_perm(
        "surveys.add_surveyresponse"
    )
    context: dict[str, Any] = {
        "invitation": invitation,
        "response": response,
        "answers": selectors.response_answers(response) if response else [],
        "may_enter": may_enter,
        "rows": question_rows(invitation.template, {}, {}) if may_enter else [],
        "link": services.survey_link(invitation) if invitation.channel != SurveyChannel.PHONE else "",
        "phone": masked(invitation.contact_phone, "phone", reveal=can_view_sensitive(request.user)),
    }
    return render(request, "surveys/invitation_detail.html", context)


@login_required
@permission_required("surveys.add_surveyresponse", raise_exception=True)
@require_POST
def invitation_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff enter the answers given on the phone, at a visit or on a returned letter."""
    invitation = _visible_invitation(request, pk)
    given = answers_from_post(request.POST, invitation.template)
    try:
        response = services.survey_response_submit(invitation=invitation, answers=given, actor=request.user)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        context = {
            "invitation": invitation,
            "response": None,
            "answers": [],
            "may_enter": True,
            "rows": question_rows(invitation.template, given, exc.detail or {}),
            "link": "",
            "phone": masked(invitation.contact_phone, "phone", reveal=can_view_sensitive(request.user)),
        }
        return render(request, "surveys/invitation_detail.html", context, status=400)
    except DomainError as exc:
        flash_domain_error(request, exc)
        return redirect("surveys:detail", invitation.pk)
    if response.follow_up_ticket_id:
        messages.warning(
            request,
            _("The customer is dissatisfied: complaint %(number)s was opened.")
            % {"number": response.follow_up_ticket.number},
        )
    else:
        messages.success(request, _("The answers were saved."))
    return redirect("surveys:detail", invitation.pk)


@login_required
@permission_required("surveys.add_surveyinvitation", raise_exception=True)
@require_POST
def invitation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _visible_invitation(request, pk)
    try:
        services.survey_invitation_cancel(actor=request.user, invitation=invitation)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The survey was cancelled."))
    return redirect("surveys:detail", invitation.pk)


@login_required
@permission_required("surveys.view_surveyinvitation", raise_exception=True)
def invitation_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The letter: the questionnaire on paper, with the link for those who prefer to answer online."""
    invitation = _visible_invitation(request, pk)
    return render(
        request,
        "surveys/invitation_print.html",
        {
            "invitation": invitation,
            "questions": invitation.template.questions.all(),
            "link": services.survey_link(invitation),
        },
    )


# --- sending to a list ---------------------------------------------------------------------------


@login_required
@permission_required("surveys.bulk_send_survey", raise_exception=True)
def bulk_send(request: HttpRequest) -> HttpResponse:
    """Choose customers by the list's filters, see how many they are, then send."""
    source = request.POST if request.method == "POST" else request.GET
    filter_form = RecipientFilterForm(source or None)
    send_form = BulkSendForm(request.POST or None)
    filters = filter_form.filters()
    count = selectors.send_recipients(request.user, filters).count() if source else None
    if request.method == "POST" and send_form.is_valid():
        try:
            sending = services.survey_send_start(
                actor=request.user,
                template=send_form.cleaned_data["template"],
                channel=send_form.cleaned_data["channel"],
                filters=filters,
            )
        except DomainError as exc:
            form_error_from_domain(send_form, exc)
        else:
            return redirect("surveys:sending", sending.pk)
    return render(
        request,
        "surveys/bulk_send.html",
        {
            "filter_form": filter_form,
            "send_form": send_form,
            "count": count,
            "sendings": selectors.sendings(request.user)[:10],
        },
    )


@login_required
@permission_required("surveys.view_surveysend", raise_exception=True)
def sending_progress(request: HttpRequest, pk: int) -> HttpResponse:
    sending = selectors.sendings(request.user).filter(pk=pk).first()
    if sending is None:
        raise Http404
    running = sending.state in (SurveySendState.QUEUED, SurveySendState.RUNNING)
    template = "surveys/partials/progress.html" if request.htmx else "surveys/sending.html"
    return render(request, template, {"sending": sending, "running": running})


# --- templates and policy ------------------------------------------------------------------------


@login_required
@permission_required("surveys.view_surveytemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    return render(request, "surveys/template_list.html", {"templates": selectors.templates()})


@login_required
@permission_required("surveys.view_surveytemplate", raise_exception=True)
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(SurveyTemplate, pk=pk)
    return render(
        request,
        "surveys/template_detail.html",
        {"template": template, "rows": question_rows(template, {}, {}), "frozen": template.frozen},
    )


def _template_form_page(request: HttpRequest, template: SurveyTemplate | None) -> HttpResponse:
    if template is None:
        initial: dict[str, Any] = {"active": True, "auto_channel": SurveyChannel.SMS}
        questions: list[dict[str, Any]] = []
    else:
        initial = {
            name: getattr(template, name)
            for name in (
                "name",
                "family",
                "intro",
                "active",
                "send_after_ticket_close",
                "ticket_kinds",
                "auto_channel",
            )
        }
        questions = [
            {"kind": q.kind, "text": q.text, "choices": "\n".join(q.choices), "required": q.required}
            for q in template.questions.all()
        ]
    form = TemplateForm(request.POST or None, initial=initial)
    formset = QuestionFormSet(request.POST or None, prefix="questions", initial=questions)
    if template is not None:
        form.fields["family"].disabled = True
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            saved = services.survey_template_save(
                actor=request.user, data=template_input(form, formset), template=template
            )
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            if template is not None and saved.pk != template.pk:
                messages.success(
                    request,
                    _("The survey has answers, so the change was saved as version %(version)d.")
                    % {"version": saved.version},
                )
            else:
                messages.success(request, _("The survey was saved."))
            return redirect("surveys:template", saved.pk)
    return render(
        request,
        "surveys/template_form.html",
        {
            "form": form,
            "formset": formset,
            "template": template,
            "frozen": bool(template and template.frozen),
        },
    )


@login_required
@permission_required("surveys.add_surveytemplate", raise_exception=True)
def template_create(request: HttpRequest) -> HttpResponse:
    return _template_form_page(request, None)


@login_required
@permission_required("surveys.change_surveytemplate", raise_exception=True)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_form_page(request, get_object_or_404(SurveyTemplate, pk=pk))


@login_required
@permission_required("surveys.view_surveypolicy", raise_exception=True)
def policy_page(request: HttpRequest) -> HttpResponse:
    current = SurveyPolicy.in_force()
    may_edit = request.user.has_perm("surveys.add_surveypolicy")
    initial = {
        name: getattr(current, name)
        for name in (
            "link_valid_days",
            "dissatisfied_at_or_below",
            "nomination_min_responses",
            "nomination_min_very_satisfied_percent",
            "nomination_top",
        )
    }
    initial["effective_from"] = dt.date.today()
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not may_edit:
            raise DjangoPermissionDenied
        if form.is_valid():
            try:
                policy = services.survey_policy_create(actor=request.user, data=form.cleaned_data)
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(
                    request,
                    _("The new survey policy takes effect on %(date)s.") % {"date": policy.effective_from},
                )
                return redirect("surveys:policy")
    return render(
        request,
        "surveys/policy.html",
        {
            "current": current,
            "form": form,
            "may_edit": may_edit,
            "policies": SurveyPolicy.objects.select_related("created_by").order_by("-effective_from", "-id")[
                :20
            ],
        },
    )


# --- statistics ----------------------------------------------------------------------------------


def _statistics_params(request: HttpRequest) -> tuple[str, dt.date]:
    dimension = request.GET.get("by", "department")
    if dimension not in ("department", "staff", "tier"):
        dimension = "department"
    month = _month(request.GET.get("month")) or selectors.this_month()
    return dimension, month


@login_required
@permission_required("surveys.view_survey_statistics", raise_exception=True)
def statistics_page(request: HttpRequest) -> HttpResponse:
    dimension, month = _statistics_params(request)
    rows = selectors.statistics_for_month(request.user, dimension=dimension, month=month)
    trend = selectors.statistics_trend(request.user, last_month=month)
    labels = [f"{f.month:%Y-%m}" for f in trend]
    context = {
        "dimension": dimension,
        "dimensions": _dimensions(),
        "month": month,
        "rows": rows,
        "trend": trend,
        "share_chart": {
            "title": _("Share of “very satisfied” (%)"),
            "labels": labels,
            "values": [
                float(f.very_satisfied_share) if f.very_satisfied_share is not None else None for f in trend
            ],
            "type": "line",
        },
        "score_chart": {
            "title": _("Average rating (5 = very satisfied)"),
            "labels": labels,
            "values": [float(f.average_score) if f.average_score is not None else None for f in trend],
            "type": "line",
        },
        "group_chart": {
            "title": _("Share of “very satisfied” by group (%)"),
            "labels": [f.label for f in rows[:20]],
            "values": [float(f.very_satisfied_share or 0) for f in rows[:20]],
            "type": "bar",
        },
    }
    return render(request, "surveys/statistics.html", context)


@login_required
@permission_required("surveys.view_survey_statistics", raise_exception=True)
def statistics_export(request: HttpRequest) -> HttpResponseBase:
    dimension, month = _statistics_params(request)
    first = selectors.add_months(month, -11)
    rows = selectors.survey_statistics(request.user, dimension=dimension, first_month=first, last_month=month)
    headers = [
        _("Month"),
        dict(_dimensions())[dimension],
        _("Invitations"),
        _("Responses"),
        _("Response rate (%)"),
        _("Ratings"),
        _("Very satisfied"),
        _("Share of “very satisfied” (%)"),
        _("Average rating"),
    ]
    data = (
        [
            f"{f.month:%Y-%m}",
            f.label,
            f.invitations,
            f.responses,
            f.response_rate,
            f.ratings,
            f.very_satisfied,
            f.very_satisfied_share,
            f.average_score,
        ]
        for f in rows
    )
    return xlsx_response(filename=_("satisfaction"), sheet=_("Satisfaction"), headers=headers, rows=data)


@login_required
@permission_required("surveys.view_survey_statistics", raise_exception=True)
def nominations_page(request: HttpRequest) -> HttpResponse:
    month = _month(request.GET.get("month")) or selectors.add_months(selectors.this_month(), -1)
    nominations = selectors.excellent_staff_nominations(request.user, month=month)
    return render(request, "surveys/nominations.html", {"nominations": nominations, "month": month})
