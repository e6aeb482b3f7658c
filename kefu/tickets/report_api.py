"""The complaint classification reports and the monthly cause analyses in the JSON API.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

from typing import Any

from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from kefu.accounts.models import User
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS
from kefu.tickets import report_services, reports
from kefu.tickets.api import ApiRequest
from kefu.tickets.models import ComplaintCauseAnalysis
from kefu.tickets.schemas import (
    CauseAnalysisFilterIn,
    CauseAnalysisIn,
    CauseAnalysisOut,
    CauseAnalysisPatch,
    CauseTransitionIn,
    ComplaintReportOut,
    ReportFilterIn,
)

router = Router(tags=["complaint reports"])
REPORT = "tickets.view_complaint_report"


def _department(request: ApiRequest, pk: int | None) -> Any:
    if pk is None:
        return None
    department = reports.department_for(request.user, pk)
    if department is None:
        message = _("There is no such department in your data scope (department_id = %(id)s).") % {"id": pk}
        raise ValidationFailed(message, detail={"department_id": [message]})
    return department


def _owner(pk: int | None) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        message = _("There is no such active person (follow_up_owner_id = %(id)s).") % {"id": pk}
        raise ValidationFailed(message, detail={"follow_up_owner_id": [message]})
    return user


def _analysis(request: ApiRequest, analysis_id: int) -> ComplaintCauseAnalysis:
    require_perm(request.user, REPORT)
    analysis = reports.cause_analyses(request.user).filter(pk=analysis_id).first()
    if analysis is None:
        raise NotFound()
    return analysis


@router.get(
    "/complaint-reports",
    response={200: ComplaintReportOut, **ERRORS},
    summary="Complaints of a week or month by category, severity, channel and department",
)
def complaint_report(request: ApiRequest, filters: Query[ReportFilterIn]) -> dict[str, Any]:
    require_perm(request.user, REPORT)
    period = reports.parse_period(filters.period, filters.week if filters.period == "week" else filters.month)
    department = _department(request, filters.department_id)
    return reports.complaint_report(request.user, period, department).as_dict()


@router.get(
    "/complaint-cause-analyses",
    response={200: list[CauseAnalysisOut], **ERRORS},
    summary="Monthly cause analyses you may see, newest first",
)
def list_cause_analyses(request: ApiRequest, filters: Query[CauseAnalysisFilterIn]) -> Any:
    require_perm(request.user, REPORT)
    analyses = reports.cause_analyses(request.user)
    if filters.month:
        analyses = analyses.filter(month=reports.parse_period("month", filters.month).start)
    if filters.department_id is not None:
        analyses = analyses.filter(department_id=filters.department_id)
    return list(analyses[:100])


@router.post(
    "/complaint-cause-analyses",
    response={201: CauseAnalysisOut, **ERRORS},
    summary="Write the cause analysis of a month (and department)",
)
def create_cause_analysis(request: ApiRequest, payload: CauseAnalysisIn) -> Status[ComplaintCauseAnalysis]:
    require_perm(request.user, REPORT)
    analysis = report_services.cause_analysis_save(
        actor=request.user,
        month=payload.month,
        department=_department(request, payload.department_id),
        causes=payload.causes,
        proposals=payload.proposals,
        follow_up_owner=_owner(payload.follow_up_owner_id),
    )
    return Status(201, _analysis(request, analysis.pk))


@router.patch(
    "/complaint-cause-analyses/{analysis_id}",
    response={200: CauseAnalysisOut, **ERRORS},
    summary="Change a draft analysis",
)
def update_cause_analysis(
    request: ApiRequest, analysis_id: int, payload: CauseAnalysisPatch
) -> ComplaintCauseAnalysis:
    analysis = _analysis(request, analysis_id)
    data = payload.dict(exclude_unset=True)
    owner = _owner(data["follow_up_owner_id"]) if "follow_up_owner_id" in data else analysis.follow_up_owner
    report_services.cause_analysis_save(
        actor=request.user,
        month=analysis.month,
        department=analysis.department,
        causes=data.get("causes") if data.get("causes") is not None else analysis.causes,
        proposals=data.get("proposals") if data.get("proposals") is not None else analysis.proposals,
        follow_up_owner=owner,
        analysis=analysis,
        version=data.get("version"),
    )
    return _analysis(request, analysis_id)


@router.post(
    "/complaint-cause-analyses/{analysis_id}/transitions",
    response={200: CauseAnalysisOut, **ERRORS},
    summary="Submit an analysis to the manager, approve it or send it back",
)
def transition_cause_analysis(
    request: ApiRequest, analysis_id: int, payload: CauseTransitionIn
) -> ComplaintCauseAnalysis:
    analysis = _analysis(request, analysis_id)
    report_services.cause_analysis_transition(
        actor=request.user,
        analysis=analysis,
        action=payload.action,
        note=payload.note,
        version=payload.version,
    )
    return _analysis(request, analysis_id)
