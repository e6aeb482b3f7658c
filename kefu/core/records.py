"""Pages of the shared records: the operation log and the sensitive-data access log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_htmx.middleware import HtmxDetails

from kefu.core.excel import xlsx_response
from kefu.core.models import OperationLog
from kefu.core.pages import paginate
from kefu.core.selectors import (
    OperationLogFilters,
    SensitiveAccessFilters,
    operation_log_list,
    sensitive_access_list,
    sensitive_record_types,
)


class SignedInRequest(HttpRequest):
    """login_required guarantees the user; django-htmx adds `htmx`."""

    user: Any
    htmx: HtmxDetails


def _date_param(request: HttpRequest, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.GET.get(name, "").strip())
    except ValueError:
        return None


def operation_log_filters(request: HttpRequest) -> OperationLogFilters:
    params = request.GET
    result = params.get("result", "")
    return OperationLogFilters(
        user=params.get("user", "").strip()[:150],
        action=params.get("action", "").strip()[:100],
        result=result if result in OperationLog.Result.values else "",
        ip=params.get("ip", "").strip()[:45],
        date_from=_date_param(request, "date_from"),
        date_to=_date_param(request, "date_to"),
    )


@login_required
@permission_required("core.view_operationlog", raise_exception=True)
def operation_log_page(request: SignedInRequest) -> HttpResponseBase:
    filters = operation_log_filters(request)
    entries = operation_log_list(actor=request.user, filters=filters)
    if request.GET.get("export") == "xlsx":
        rows = (
            [
                entry.at,
                entry.username,
                entry.actor.full_name if entry.actor else "",
                entry.action,
                entry.method,
                entry.path,
                entry.target,
                entry.ip,
                entry.get_result_display(),
                entry.status_code,
                entry.duration_ms,
            ]
            for entry in entries.iterator(chunk_size=1000)
        )
        headers = [
            _("Time"),
            _("User name"),
            _("Full name"),
            _("Action"),
            _("Method"),
            _("Path"),
            _("Target"),
            _("IP address"),
            _("Result"),
            _("Status"),
            _("Duration (ms)"),
        ]
        return xlsx_response(
            filename=_("operation-log"), sheet=_("Operation log"), headers=headers, rows=rows
        )
    context = {
        "page_obj": paginate(request, entries, per_page=50),
        "filters": filters,
        "results": OperationLog.Result.choices,
        "sees_everything": request.user.has_perm("core.view_all_operationlog"),
    }
    template = "core/partials/operation_log_table.html" if request.htmx else "core/operation_log.html"
    return render(request, template, context)


def sensitive_access_filters(request: HttpRequest) -> SensitiveAccessFilters:
    return SensitiveAccessFilters(
        viewer=request.GET.get("viewer", "").strip()[:150],
        object_type=request.GET.get("object_type", "").strip()[:50],
        date_from=_date_param(request, "date_from"),
        date_to=_date_param(request, "date_to"),
    )


@login_required
@permission_required("core.view_sensitiveaccess", raise_exception=True)
def sensitive_access_page(request: SignedInRequest) -> HttpResponseBase:
    filters = sensitive_access_filters(request)
    entries = sensitive_access_list(actor=request.user, filters=filters)
    if request.GET.get("export") == "xlsx":
        rows = (
            [
                entry.at,
                entry.actor.username if entry.actor else "",
                entry.actor.full_name if entry.actor else "",
                entry.object_type,
                entry.object_id,
                entry.object_label,
                entry.fields,
                entry.channel,
                entry.count,
                entry.ip,
                entry.detail,
            ]
            for entry in entries.iterator(chunk_size=1000)
        )
        headers = [
            _("Time"),
            _("User name"),
            _("Full name"),
            _("Record type"),
            _("Record id"),
            _("Record"),
            _("Fields shown"),
            _("Where"),
            _("Records"),
            _("IP address"),
            _("Detail"),
        ]
        return xlsx_response(
            filename=_("sensitive-access"), sheet=_("Sensitive data access"), headers=headers, rows=rows
        )
    context = {
        "page_obj": paginate(request, entries, per_page=50),
        "filters": filters,
        "record_types": sensitive_record_types(),
    }
    template = "core/partials/sensitive_access_table.html" if request.htmx else "core/sensitive_access.html"
    return render(request, template, context)
