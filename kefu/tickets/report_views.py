"""The complaint classification report page, its Excel export and the monthly cause analysis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.core.errors import DomainError, ValidationFailed
from kefu.core.excel import xlsx_response
from kefu.core.pages import flash_domain_error, form_error_from_domain, int_or_none
from kefu.tickets import report_services, reports
from kefu.tickets.forms import CauseAnalysisForm
from kefu.tickets.models import CauseAnalysisState, ComplaintCauseAnalysis


def _params(request: HttpRequest) -> tuple[reports.Period, Any]:
    kind = "week" if request.GET.get("period") == "week" else "month"
    period = reports.parse_period(kind, request.GET.get(kind))
    department = reports.department_for(request.user, int_or_none(request.GET.get("department")))
    return period, department


def _query(period: reports.Period, department: Any) -> str:
    query = f"?period={period.kind}&{period.kind}={period.key}"
    return query + (f"&department={department.pk}" if department is not None else "")


def _charts(report: reports.ComplaintReport) -> dict[str, Any]:
    def bars(title: str, rows: list[dict[str, Any]], kind: str = "bar") -> dict[str, Any]:
        return {
            "title": title,
            "type": kind,
            "labels": [str(row["label"]) for row in rows],
            "values": [row["count"] for row in rows],
        }

    return {
        "category_chart": {
            "title": _("By category"),
            "data": [{"name": str(row["label"]), "value": row["count"]} for row in report.by_category],
        },
        "severity_chart": bars(_("By severity"), report.by_severity),
        "channel_chart": bars(_("By channel"), report.by_channel),
        "department_chart": bars(_("By department"), report.by_department),
        "day_chart": {
            "title": _("Received per day"),
            "type": "line",
            "labels": [f"{row['day']:%m-%d}" for row in report.by_day],
            "values": [row["count"] for row in report.by_day],
        },
    }


def _analysis_context(
    request: HttpRequest, period: reports.Period, department: Any, form: CauseAnalysisForm | None = None
) -> dict[str, Any]:
    user = request.user
    if period.kind != "month":
        return {"analysis_month": reports.month_period(period.start)}
    analysis = reports.cause_analysis_for(user, period.start, department)
    context: dict[str, Any] = {"analysis": analysis}
    editable = (
        user.has_perm("tickets.change_complaintcauseanalysis")
        if analysis is not None
        else user.has_perm("tickets.add_complaintcauseanalysis")
    )
    if analysis is not None and analysis.state != CauseAnalysisState.DRAFT:
        editable = False
    if editable:
        context["analysis_form"] = form or CauseAnalysisForm(
            initial={
                "month": period.key,
                "department": department.pk if department else None,
                "causes": analysis.causes if analysis else "",
                "proposals": analysis.proposals if analysis else "",
                "follow_up_owner": analysis.follow_up_owner_id if analysis else None,
                "version": analysis.version if analysis else None,
            }
        )
    if analysis is not None:
        context["analysis_history"] = reports.cause_analysis_history(analysis)
        context["can_submit"] = analysis.state == CauseAnalysisState.DRAFT and user.has_perm(
            "tickets.change_complaintcauseanalysis"
        )
        context["can_decide"] = analysis.state == CauseAnalysisState.SUBMITTED and user.has_perm(
            "tickets.approve_complaintcauseanalysis"
        )
    return context


def _render(
    request: HttpRequest, period: reports.Period, department: Any, *, form: Any = None, status: int = 200
) -> HttpResponse:
    report = reports.complaint_report(request.user, period, department)
    context = {
        "report": report,
        "period": period,
        "department": department,
        "departments": reports.report_departments(request.user),
        "query": _query(period, department),
        "previous_query": _query(period.previous(), department),
        "next_query": _query(period.next(), department),
        **_charts(report),
        **_analysis_context(request, period, department, form),
    }
    return render(request, "tickets/complaint_report.html", context, status=status)


@login_required
@permission_required("tickets.view_complaint_report", raise_exception=True)
def complaint_report_page(request: HttpRequest) -> HttpResponse:
    period, department = _params(request)
    return _render(request, period, department)


def _export_rows(report: reports.ComplaintReport) -> Iterator[list[Any]]:
    yield [_("Period"), report.period.label]
    yield [_("Department"), str(report.department) if report.department else _("All departments")]
    yield [_("Complaints received"), report.received]
    yield [_("Complaints closed"), report.closed]
    yield [_("Still open (of those received)"), report.still_open]
    yield [_("Past the time limit"), report.breached]
    yield [_("Average resolution (working hours)"), report.average_hours]
    # xgettext:no-python-format
    yield [_("90 % resolved within (working hours)"), report.p90_hours]
    sections = [
        (_("By category"), report.by_category),
        (_("By severity"), report.by_severity),
        (_("By channel"), report.by_channel),
        (_("By department"), report.by_department),
    ]
    for title, rows in sections:
        yield ["", ""]
        yield [title, _("Complaints")]
        for row in rows:
            yield [str(row["label"]), row["count"]]
    yield ["", ""]
    yield [_("Top causes (step 3)"), _("Complaints")]
    for row in report.top_causes:
        yield [row["cause"], row["count"]]


@login_required
@permission_required("tickets.view_complaint_report", raise_exception=True)
def complaint_report_export(request: HttpRequest) -> HttpResponseBase:
    period, department = _params(request)
    report = reports.complaint_report(request.user, period, department)
    return xlsx_response(
        filename=_("complaint-report-%(period)s") % {"period": period.key},
        sheet=_("Complaint report"),
        headers=[_("Item"), _("Value")],
        rows=_export_rows(report),
    )


def _back(period: reports.Period, department: Any) -> HttpResponse:
    return redirect(reverse("tickets:complaint_report") + _query(period, department) + "#analysis")


@login_required
@permission_required("tickets.view_complaint_report", raise_exception=True)
@require_POST
def cause_analysis_save(request: HttpRequest) -> HttpResponse:
    """Write the month's analysis, or change its draft (the form carries the version read)."""
    form = CauseAnalysisForm(request.POST)
    if not form.is_valid():
        period = reports.parse_period("month", request.POST.get("month"))
        return _render(request, period, None, form=form)
    period = reports.month_period(form.cleaned_data["month"])
    department = reports.department_for(request.user, form.cleaned_data.get("department"))
    if form.cleaned_data.get("department") and department is None:
        raise Http404
    existing = reports.cause_analysis_for(request.user, period.start, department)
    try:
        report_services.cause_analysis_save(
            actor=request.user,
            month=period.start,
            department=department,
            causes=form.cleaned_data.get("causes") or "",
            proposals=form.cleaned_data.get("proposals") or "",
            follow_up_owner=form.cleaned_data.get("follow_up_owner"),
            analysis=existing,
            version=form.cleaned_data.get("version") if existing else None,
        )
    except ValidationFailed as exc:
        form_error_from_domain(form, exc)
        return _render(request, period, department, form=form)
    except DomainError as exc:
        if exc.status == 409 and exc.code == "conflict" and existing is not None:
            # Someone saved in between: keep what this writer typed, offer the current version.
            data = request.POST.copy()
            data["version"] = str(ComplaintCauseAnalysis.objects.get(pk=existing.pk).version)
            form = CauseAnalysisForm(data)
            form.is_valid()
            form.add_error(
                None,
                _(
                    "Someone else changed this analysis while you were writing. Your text is kept "
                    "below; compare it with the saved one and save again."
                ),
            )
            return _render(request, period, department, form=form, status=409)
        flash_domain_error(request, exc)
        return _back(period, department)
    messages.success(request, _("The cause analysis was saved."))
    return _back(period, department)


@login_required
@permission_required("tickets.view_complaint_report", raise_exception=True)
@require_POST
def cause_analysis_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    analysis = reports.cause_analyses(request.user).filter(pk=pk).first()
    if analysis is None:
        raise Http404
    period = reports.month_period(analysis.month)
    try:
        report_services.cause_analysis_transition(
            actor=request.user,
            analysis=analysis,
            action=action,
            note=request.POST.get("note", ""),
            version=int_or_none(request.POST.get("version")),
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The cause analysis is now “%(state)s”.") % {"state": _state_label(pk)})
    return _back(period, analysis.department)


def _state_label(pk: int) -> str:
    return str(ComplaintCauseAnalysis.objects.get(pk=pk).get_state_display())
