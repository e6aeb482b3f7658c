"""The surveys' JSON API. Every endpoint calls a selector or a service; none writes a model.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from kefu.accounts.models import User
from kefu.core.access import log_sensitive_access
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS
from kefu.customers import selectors as customer_selectors
from kefu.surveys import selectors, services
from kefu.surveys.models import (
    InvitationState,
    SurveyInvitation,
    SurveyPolicy,
    SurveyResponse,
    SurveyTemplate,
)
from kefu.surveys.schemas import (
    FiguresOut,
    InvitationFilterIn,
    InvitationIn,
    InvitationOut,
    InvitationPage,
    MonthIn,
    NominationsOut,
    PolicyIn,
    PolicyOut,
    RecipientFilterIn,
    ResponseIn,
    ResponseOut,
    SendIn,
    SendOut,
    StatisticsIn,
    SurveyCountOut,
    TemplateIn,
    TemplateOut,
    TemplatePage,
)
from kefu.surveys.services import QuestionInput, TemplateInput

router = Router(tags=["surveys"])
ERR = ERRORS


class ApiRequest(HttpRequest):
    user: User


def _missing(field: str, pk: Any) -> ValidationFailed:
    message = _("There is no such record (%(field)s = %(id)s), or it is not visible to you.") % {
        "field": field,
        "id": pk,
    }
    return ValidationFailed(message, detail={field: [message]})


def _template(pk: int, field: str = "template_id") -> SurveyTemplate:
    template = SurveyTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise _missing(field, pk)
    return template


def _invitation(request: ApiRequest, invitation_id: int) -> SurveyInvitation:
    require_perm(request.user, "surveys.view_surveyinvitation")
    invitation = selectors.invitation_get(request.user, invitation_id)
    if invitation is None:
        raise NotFound()
    return invitation


def _template_input(payload: TemplateIn) -> TemplateInput:
    return TemplateInput(
        name=payload.name,
        family=payload.family,
        intro=payload.intro,
        active=payload.active,
        send_after_ticket_close=payload.send_after_ticket_close,
        ticket_kinds=list(payload.ticket_kinds),
        auto_channel=payload.auto_channel,
        questions=[
            QuestionInput(kind=q.kind, text=q.text, choices=list(q.choices), required=q.required)
            for q in payload.questions
        ],
    )


# --- templates -----------------------------------------------------------------------------------


@router.get(
    "/surveys/templates",
    response={200: TemplatePage, **ERR},
    summary="Survey templates, newest versions first",
)
def list_templates(request: ApiRequest, active: bool | None = None) -> dict[str, Any]:
    require_perm(request.user, "surveys.view_surveytemplate")
    queryset = SurveyTemplate.objects.prefetch_related("questions").order_by("family", "-version")
    if active is not None:
        queryset = queryset.filter(active=active)
    items = list(queryset[:500])
    return {"count": len(items), "items": items}


@router.post("/surveys/templates", response={201: TemplateOut, **ERR}, summary="Create a survey template")
def create_template(request: ApiRequest, payload: TemplateIn) -> Status[SurveyTemplate]:
    require_perm(request.user, "surveys.add_surveytemplate")
    return Status(201, services.survey_template_save(actor=request.user, data=_template_input(payload)))


@router.get(
    "/surveys/templates/{template_id}", response={200: TemplateOut, **ERR}, summary="One survey template"
)
def get_template(request: ApiRequest, template_id: int) -> SurveyTemplate:
    require_perm(request.user, "surveys.view_surveytemplate")
    template = SurveyTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound()
    return template


@router.put(
    "/surveys/templates/{template_id}",
    response={200: TemplateOut, **ERR},
    summary="Change a template; one with answers gets a new version (returned) instead",
)
def update_template(request: ApiRequest, template_id: int, payload: TemplateIn) -> SurveyTemplate:
    require_perm(request.user, "surveys.view_surveytemplate", "surveys.change_surveytemplate")
    template = SurveyTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound()
    return services.survey_template_save(actor=request.user, data=_template_input(payload), template=template)


# --- invitations ---------------------------------------------------------------------------------


@router.get(
    "/surveys/invitations",
    response={200: InvitationPage, **ERR},
    summary="Search and page through surveys sent",
)
def list_invitations(request: ApiRequest, filters: Query[InvitationFilterIn]) -> dict[str, Any]:
    require_perm(request.user, "surveys.view_surveyinvitation")
    params = filters.dict(exclude={"limit", "offset"})
    queryset = selectors.invitation_filter(request.user, params).select_related("subject_type")
    items = list(queryset[filters.offset : filters.offset + filters.limit])
    _log_phone(request, items)
    return {"count": queryset.count(), "items": items}


def _log_phone(request: ApiRequest, invitations: list[SurveyInvitation]) -> None:
    shown = [invitation for invitation in invitations if invitation.contact_phone]
    log_sensitive_access(
        actor=request.user, objects=shown, fields=["contact_phone"], channel="api", request=request
    )


def _subject(request: ApiRequest, payload: InvitationIn) -> Any:
    if payload.subject is None:
        return None
    app_label, _dot, model = payload.subject.type.lower().partition(".")
    content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
    model_class = content_type.model_class() if content_type else None
    manager = getattr(model_class, "_default_manager", None)
    found = None
    if manager is not None and hasattr(manager, "visible_to"):
        found = manager.visible_to(request.user).filter(pk=payload.subject.id).first()
    if found is None:
        raise _missing("subject", f"{payload.subject.type}:{payload.subject.id}")
    return found


@router.post(
    "/surveys/invitations", response={201: InvitationOut, **ERR}, summary="Send a survey to one customer"
)
def create_invitation(request: ApiRequest, payload: InvitationIn) -> Status[SurveyInvitation]:
    require_perm(request.user, "surveys.add_surveyinvitation")
    customer = customer_selectors.customer_get(user=request.user, pk=payload.customer_id)
    if customer is None:
        raise _missing("customer_id", payload.customer_id)
    served_by = None
    if payload.served_by_id is not None:
        served_by = User.objects.filter(pk=payload.served_by_id, is_active=True).first()
        if served_by is None:
            raise _missing("served_by_id", payload.served_by_id)
    data = services.InviteInput(
        template=_template(payload.template_id),
        customer=customer,
        channel=payload.channel,
        subject=_subject(request, payload),
        served_by=served_by,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        contact_email=payload.contact_email,
    )
    invitation = services.survey_invite(actor=request.user, data=data)
    return Status(201, _invitation(request, invitation.pk))


@router.get(
    "/surveys/invitations/{invitation_id}", response={200: InvitationOut, **ERR}, summary="One survey sent"
)
def get_invitation(request: ApiRequest, invitation_id: int) -> SurveyInvitation:
    invitation = _invitation(request, invitation_id)
    _log_phone(request, [invitation])
    return invitation


@router.post(
    "/surveys/invitations/{invitation_id}/cancel",
    response={200: InvitationOut, **ERR},
    summary="Withdraw a survey not answered yet",
)
def cancel_invitation(request: ApiRequest, invitation_id: int) -> SurveyInvitation:
    invitation = _invitation(request, invitation_id)
    services.survey_invitation_cancel(actor=request.user, invitation=invitation)
    return _invitation(request, invitation_id)


@router.post(
    "/surveys/invitations/{invitation_id}/response",
    response={201: ResponseOut, **ERR},
    summary="Enter the answers given by phone, at a visit or on a returned letter",
)
def submit_response(request: ApiRequest, invitation_id: int, payload: ResponseIn) -> Status[SurveyResponse]:
    require_perm(request.user, "surveys.add_surveyresponse")
    invitation = _invitation(request, invitation_id)
    response = services.survey_response_submit(
        invitation=invitation, answers=payload.answers, actor=request.user
    )
    return Status(201, response)


@router.get(
    "/surveys/invitations/{invitation_id}/response",
    response={200: ResponseOut, **ERR},
    summary="A survey's answers",
)
def get_response(request: ApiRequest, invitation_id: int) -> SurveyResponse:
    require_perm(request.user, "surveys.view_surveyresponse")
    invitation = _invitation(request, invitation_id)
    response = SurveyResponse.objects.filter(invitation=invitation).first()
    if invitation.state != InvitationState.ANSWERED or response is None:
        raise NotFound(_("This survey has no answers yet."))
    return response


# --- sending to a list ---------------------------------------------------------------------------


@router.post(
    "/surveys/sends/preview",
    response={200: SurveyCountOut, **ERR},
    summary="How many customers a sending would reach",
)
def preview_send(request: ApiRequest, payload: RecipientFilterIn) -> dict[str, int]:
    require_perm(request.user, "surveys.bulk_send_survey")
    return {"count": selectors.send_recipients(request.user, payload.dict()).count()}


@router.post(
    "/surveys/sends", response={201: SendOut, **ERR}, summary="Send a survey to a filtered customer list"
)
def create_send(request: ApiRequest, payload: SendIn) -> Status[Any]:
    require_perm(request.user, "surveys.bulk_send_survey")
    sending = services.survey_send_start(
        actor=request.user,
        template=_template(payload.template_id),
        channel=payload.channel,
        filters=payload.filters.dict(),
    )
    sending.refresh_from_db()
    return Status(201, sending)


@router.get(
    "/surveys/sends/{sending_id}", response={200: SendOut, **ERR}, summary="A sending and its progress"
)
def get_send(request: ApiRequest, sending_id: int) -> Any:
    require_perm(request.user, "surveys.view_surveysend")
    sending = selectors.sendings(request.user).filter(pk=sending_id).first()
    if sending is None:
        raise NotFound()
    return sending


# --- statistics and policy -----------------------------------------------------------------------


@router.get(
    "/surveys/statistics",
    response={200: list[FiguresOut], **ERR},
    summary="Monthly figures per department, staff member or customer tier",
)
def statistics(request: ApiRequest, params: Query[StatisticsIn]) -> list[Any]:
    require_perm(request.user, "surveys.view_survey_statistics")
    last = params.last_month or selectors.this_month()
    first = params.first_month or selectors.add_months(selectors.month_start(last), -11)
    if first > last:
        message = _("The first month comes after the last.")
        raise ValidationFailed(message, detail={"first_month": [message]})
    if (last.year - first.year) * 12 + last.month - first.month > 35:
        message = _("At most 36 months at once.")
        raise ValidationFailed(message, detail={"first_month": [message]})
    return selectors.survey_statistics(request.user, dimension=params.by, first_month=first, last_month=last)


@router.get(
    "/surveys/nominations", response={200: NominationsOut, **ERR}, summary="Excellent staff nominations"
)
def nominations(request: ApiRequest, params: Query[MonthIn]) -> Any:
    require_perm(request.user, "surveys.view_survey_statistics")
    month = params.month or selectors.add_months(selectors.this_month(), -1)
    return selectors.excellent_staff_nominations(request.user, month=month)


@router.get("/surveys/policies", response={200: list[PolicyOut], **ERR}, summary="Survey policy versions")
def list_policies(request: ApiRequest) -> list[SurveyPolicy]:
    require_perm(request.user, "surveys.view_surveypolicy")
    return list(SurveyPolicy.objects.order_by("-effective_from", "-id")[:100])


@router.post("/surveys/policies", response={201: PolicyOut, **ERR}, summary="A new survey policy version")
def create_policy(request: ApiRequest, payload: PolicyIn) -> Status[SurveyPolicy]:
    require_perm(request.user, "surveys.add_surveypolicy")
    return Status(201, services.survey_policy_create(actor=request.user, data=payload.dict()))
