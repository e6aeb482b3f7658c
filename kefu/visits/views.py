"""Pages of return visits. Each view parses input, calls a service or selector, renders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.core.access import log_sensitive_access
from kefu.core.errors import DomainError, ValidationFailed
from kefu.core.excel import xlsx_response
from kefu.core.masking import can_view_sensitive
from kefu.core.pages import flash_domain_error, form_error_from_domain, ids_from, int_or_none, paginate
from kefu.customers import selectors as customer_selectors
from kefu.customers.models import ContactChannel, Customer, Tier
from kefu.tickets.models import TicketKind
from kefu.visits import selectors, services
from kefu.visits.forms import (
    ActivityForm,
    AssignForm,
    AttemptForm,
    BulkCreateForm,
    CadencePolicyForm,
    RetryPolicyForm,
    ScriptForm,
    VisitCreateForm,
    visitors,
)
from kefu.visits.models import (
    CadencePolicy,
    Outcome,
    RetryPolicy,
    Satisfaction,
    Visit,
    VisitPurpose,
    VisitRole,
    VisitScript,
    VisitSource,
    VisitState,
)
from kefu.visits.workflow import TRANSITIONS

FILTER_CHOICES = {"purpose": VisitPurpose, "source": VisitSource, "state": VisitState, "role": VisitRole}


def _queue_labels() -> list[tuple[str, str]]:
    return [
        ("due", _("Due today")),
        ("overdue", _("Overdue")),
        ("callbacks", _("Call-backs")),
        ("mine", _("Mine")),
        ("unassigned", _("Unassigned")),
        ("done", _("Done")),
        ("all", _("All")),
    ]


def _sort_labels() -> list[tuple[str, str]]:
    return [
        ("due", _("Due date")),
        ("deadline", _("Deadline")),
        ("newest", _("Newest first")),
        ("customer", _("Customer")),
        ("tier", _("Tier")),
    ]


def _date(value: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None


def list_params(request: HttpRequest) -> dict[str, Any]:
    """The list's filters from the query string; unknown values are dropped, never a 500."""
    get = request.GET
    queue = get.get("queue", "due")
    params: dict[str, Any] = {"queue": queue if queue in selectors.QUEUES else "due"}
    for name, choices in FILTER_CHOICES.items():
        value = get.get(name, "")
        params[name] = value if value in choices.values else ""
    tier = get.get("tier", "")
    params["tier"] = tier if tier in (Tier.A, Tier.B, Tier.C) else ""
    for name in ("assignee", "customer"):
        number = int_or_none(get.get(name))
        params[name] = number if number and number > 0 else ""
    params["q"] = get.get("q", "").strip()[:100]
    params["due_from"] = _date(get.get("due_from"))
    params["due_to"] = _date(get.get("due_to"))
    sort = get.get("sort", "due")
    params["sort"] = sort if sort in selectors.SORTS else "due"
    return params


def _visible_visit(request: HttpRequest, pk: int) -> Visit:
    visit = selectors.visit_get(request.user, pk)
    if visit is None:
        raise Http404
    return visit


def _to_visit(visit: Visit) -> HttpResponse:
    return redirect("visits:detail", pk=visit.pk)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


# --- lists -----------------------------------------------------------------------------------------


@login_required
@permission_required("visits.view_visit", raise_exception=True)
def visit_list_page(request: HttpRequest) -> HttpResponse:
    params = list_params(request)
    page = paginate(request, selectors.visit_filter(request.user, params))
    context = {
        "page_obj": page,
        "visits": page.object_list,
        "params": params,
        "queues": _queue_labels(),
        "sorts": _sort_labels(),
        "purposes": VisitPurpose.choices,
        "sources": VisitSource.choices,
        "states": VisitState.choices,
        "roles": VisitRole.choices,
        "tiers": [Tier.A, Tier.B, Tier.C],
        "assignees": visitors(),
        "query": request.GET.urlencode(),
        "today": timezone.localdate(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "visits/partials/visit_table.html", context)
    context["counts"] = selectors.queue_counts(request.user)
    return render(request, "visits/visit_list.html", context)


@login_required
@permission_required("visits.export_visit", raise_exception=True)
def visit_export(request: HttpRequest) -> HttpResponseBase:
    queryset = selectors.visit_filter(request.user, list_params(request))
    ids = ids_from(request.GET.getlist("ids"))
    if ids:
        queryset = queryset.filter(pk__in=ids)
    headers = [
        _("Customer"),
        _("Archive number"),
        _("Tier"),
        _("Purpose"),
        _("Source"),
        _("Reference"),
        _("State"),
        _("Visitor"),
        _("Department"),
        _("Due from"),
        _("To be done by"),
        _("Unanswered attempts"),
        _("Satisfaction"),
        _("Summary"),
        _("Done at"),
        _("Reason cancelled"),
    ]
    rows = (
        [
            v.customer.name,
            v.customer.archive_number,
            v.tier,
            v.get_purpose_display(),
            v.get_source_display(),
            v.reference,
            v.get_state_display(),
            str(v.assignee) if v.assignee else "",
            v.department.name if v.department else "",
            v.due_on,
            v.deadline,
            v.attempts,
            v.get_satisfaction_display() if v.satisfaction else "",
            v.summary,
            v.completed_at,
            v.cancel_reason,
        ]
        for v in queryset.iterator(chunk_size=1000)
    )
    return xlsx_response(filename=_("visits"), sheet=_("Return visits"), headers=headers, rows=rows)


@login_required
@permission_required("visits.bulk_visit", raise_exception=True)
@require_POST
def visit_bulk(request: HttpRequest) -> HttpResponse:
    """Give the ticked visits to one person; each one that fails says why."""
    back = _safe_next(request, reverse("visits:list"))
    ids = ids_from(request.POST.getlist("ids"))
    if not ids:
        messages.warning(request, _("Tick at least one visit first."))
        return redirect(back)
    assignee = visitors().filter(pk=int_or_none(request.POST.get("assignee"))).first()
    if assignee is None:
        messages.error(request, _("Choose the person to give them to."))
        return redirect(back)
    try:
        result = services.visits_bulk_assign(
            actor=request.user, visit_ids=ids, assignee=assignee, note=request.POST.get("note", "")[:300]
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
        return redirect(back)
    if result.done:
        messages.success(request, _("%(count)d visits were reassigned.") % {"count": len(result.done)})
    for pk, reason in sorted(result.failed.items()):
        messages.warning(request, f"#{pk}: {reason}")
    return redirect(back)


@login_required
@permission_required("visits.view_visit", raise_exception=True)
def calendar_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    year = int_or_none(request.GET.get("year")) or today.year
    month = int_or_none(request.GET.get("month")) or today.month
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        year, month = today.year, today.month
    mine = request.GET.get("mine") == "1"
    first = dt.date(year, month, 1)
    previous = first - dt.timedelta(days=1)
    following = first + dt.timedelta(days=32)
    context = {
        "weeks": selectors.calendar_month(request.user, year, month, mine=mine),
        "first": first,
        "previous": previous,
        "following": following,
        "mine": mine,
        "today": today,
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
    }
    return render(request, "visits/calendar.html", context)


def _stats_period(request: HttpRequest) -> tuple[int, int]:
    today = timezone.localdate()
    year = int_or_none(request.GET.get("year")) or today.year
    month = int_or_none(request.GET.get("month")) or today.month
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        return today.year, today.month
    return year, month


@login_required
@permission_required("visits.view_visit_stats", raise_exception=True)
def stats_page(request: HttpRequest) -> HttpResponseBase:
    year, month = _stats_period(request)
    stats = selectors.completion_stats(request.user, year, month)
    if request.GET.get("export") == "xlsx":
        rows = [[_("Person"), r.label, r.due, r.done, r.rate] for r in stats["people"]] + [
            [_("Tier"), r.label, r.due, r.done, r.rate] for r in stats["tiers"]
        ]
        return xlsx_response(
            filename=_("visit-completion"),
            sheet=f"{year}-{month:02d}",
            headers=[_("By"), _("Name"), _("Due"), _("Done"), _("Completion rate (%)")],
            rows=rows,
        )
    people_chart = {
        "title": _("Completion rate per person (%)"),
        "labels": [r.label for r in stats["people"]],
        "values": [r.rate for r in stats["people"]],
    }
    tier_chart = {
        "title": _("Completion rate per tier (%)"),
        "labels": [r.label for r in stats["tiers"]],
        "values": [r.rate for r in stats["tiers"]],
    }
    context = {
        "stats": stats,
        "year": year,
        "month": month,
        "months": range(1, 13),
        "people_chart": people_chart,
        "tier_chart": tier_chart,
    }
    return render(request, "visits/stats.html", context)


# --- one visit -------------------------------------------------------------------------------------


def _customer_panel(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer's file beside the script: tier, contacts (masked), open tickets, last visits."""
    from kefu.tickets.models import Ticket

    contacts = list(customer.contacts.all()[:10])
    reveal = can_view_sensitive(request.user)
    if reveal:
        log_sensitive_access(
            actor=request.user,
            objects=[customer],
            fields=["phone", "contacts"],
            channel="page",
            request=request,
            detail="return visit",
        )
    tickets: list[Any] = []
    if request.user.has_perm("tickets.view_ticket"):
        tickets = list(
            Ticket.objects.visible_to(request.user).active().filter(customer=customer).order_by("-id")[:10]
        )
    return {
        "contacts": contacts,
        "open_tickets": tickets,
        "last_visits": [v for v in selectors.customer_visits(request.user, customer, limit=6)],
    }


@login_required
@permission_required("visits.view_visit", raise_exception=True)
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visible_visit(request, pk)
    return _render_detail(request, visit)


def _render_detail(
    request: HttpRequest, visit: Visit, form: AttemptForm | None = None, status: int = 200
) -> HttpResponse:
    script = selectors.script_for(visit.purpose)
    phrases = {}
    if script is not None:
        for name in ("greeting", "ask_time", "closing", "silent_line", "second_call"):
            phrases[name] = selectors.render_phrase(
                getattr(script, name), customer=visit.customer, agent=request.user
            )
    if form is None:
        questions = script.questions if script else []
        form = AttemptForm(initial={"version": visit.version})
    else:
        questions = script.questions if script else []
    context = {
        "visit": visit,
        "script": script,
        "phrases": phrases,
        "questions": questions,
        "form": form,
        "outcomes": Outcome.choices,
        "satisfaction_levels": Satisfaction.choices,
        "timeline": selectors.visit_timeline(visit),
        "assign_form": AssignForm(initial={"assignee": visit.assignee_id}),
        "can_cancel": (visit.state, "cancel") in TRANSITIONS and request.user.has_perm("visits.assign_visit"),
        "can_reopen": (visit.state, "reopen") in TRANSITIONS and request.user.has_perm("visits.assign_visit"),
        "can_work": visit.is_open and request.user.has_perm("visits.change_visit"),
        **_customer_panel(request, visit.customer),
    }
    return render(request, "visits/visit_detail.html", context, status=status)


@login_required
@permission_required("visits.view_visit", raise_exception=True)
def evaluation_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer evaluation form (客户评价单) a done complaint-evaluation visit produces, to print
    and file with the complaint (seed 000 客诉专员: 对客户投诉进行回访,形成客户评价单并存档)."""
    visit = _visible_visit(request, pk)
    if visit.purpose != VisitPurpose.EVALUATION or visit.state != VisitState.DONE:
        raise Http404
    return render(request, "visits/evaluation_form.html", {"visit": visit})


@login_required
@permission_required("visits.view_visit", raise_exception=True)
@require_POST
def visit_attempt(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visible_visit(request, pk)
    form = AttemptForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, visit, form, status=400)
    data = form.cleaned_data
    answers = [
        {"question": question, "answer": request.POST.get(f"answer_{n}", "")[:2000]}
        for n, question in enumerate(request.POST.getlist("question")[:50])
    ]
    issue = None
    if data["issue_subject"]:
        issue = services.Issue(
            subject=data["issue_subject"],
            description=data["issue_description"],
            kind=data["issue_kind"] or TicketKind.INQUIRY,
        )
    attempt = services.AttemptInput(
        outcome=data["outcome"],
        note=data["note"],
        booked_at=data["booked_at"],
        answers=answers,
        satisfaction=data["satisfaction"],
        summary=data["summary"],
        issue=issue,
        channel=data["channel"] or ContactChannel.PHONE,
    )
    try:
        visit = services.visit_record_attempt(
            actor=request.user, visit=visit, data=attempt, version=data["version"]
        )
    except ValidationFailed as exc:
        form_error_from_domain(form, exc)
        return _render_detail(request, visit, form, status=400)
    except DomainError as exc:
        flash_domain_error(request, exc)
        return _render_detail(request, _visible_visit(request, pk), status=exc.status)
    messages.success(
        request,
        _("Recorded: %(outcome)s. The visit is now “%(state)s”.")
        % {"outcome": Outcome(data["outcome"]).label, "state": visit.get_state_display()},
    )
    return _to_visit(visit)


@login_required
@permission_required("visits.assign_visit", raise_exception=True)
@require_POST
def visit_assign(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visible_visit(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the person to give the visit to."))
        return _to_visit(visit)
    try:
        services.visit_assign(
            actor=request.user,
            visit=visit,
            assignee=form.cleaned_data["assignee"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(
            request, _("The visit was given to %(name)s.") % {"name": form.cleaned_data["assignee"]}
        )
    return _to_visit(visit)


@login_required
@permission_required("visits.assign_visit", raise_exception=True)
@require_POST
def visit_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    visit = _visible_visit(request, pk)
    if action not in ("cancel", "reopen"):
        raise Http404
    try:
        services.visit_transition(
            actor=request.user, visit=visit, action=action, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(
            request, _("The visit was cancelled.") if action == "cancel" else _("The visit was reopened.")
        )
    return _to_visit(visit)


@login_required
@permission_required("visits.add_visit", raise_exception=True)
def visit_create_page(request: HttpRequest) -> HttpResponse:
    customer = customer_selectors.customer_get(
        user=request.user, pk=int_or_none(request.GET.get("customer") or request.POST.get("customer")) or 0
    )
    if customer is None:
        raise Http404
    if request.method == "POST":
        form = VisitCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit = services.visit_create(
                    actor=request.user,
                    data=services.VisitInput(
                        customer=customer,
                        purpose=data["purpose"],
                        source=data["source"],
                        reference=data["reference"],
                        due_on=data["due_on"],
                        deadline=data["deadline"],
                        assignee=data["assignee"],
                        role=data["role"],
                        note=data["note"],
                    ),
                )
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("The visit was planned."))
                return _to_visit(visit)
    else:
        form = VisitCreateForm(initial={"due_on": timezone.localdate()})
    return render(
        request, "visits/simple_form.html", {"form": form, "customer": customer, "title": _("Plan a visit")}
    )


@login_required
@permission_required("visits.change_visit", raise_exception=True)
def activity_create_page(request: HttpRequest) -> HttpResponse:
    customer = customer_selectors.customer_get(
        user=request.user, pk=int_or_none(request.GET.get("customer") or request.POST.get("customer")) or 0
    )
    if customer is None:
        raise Http404
    if request.method == "POST":
        form = ActivityForm(request.POST)
        if form.is_valid():
            try:
                services.visit_record_activity(actor=request.user, customer=customer, **form.cleaned_data)
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("The activity was recorded on the customer's file."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "?tab=visits")
    else:
        form = ActivityForm()
    return render(
        request,
        "visits/simple_form.html",
        {"form": form, "customer": customer, "title": _("Record an activity")},
    )


# --- bulk planning from the customer list ---------------------------------------------------------------


@login_required
@permission_required("visits.bulk_visit", raise_exception=True)
def bulk_create_page(request: HttpRequest) -> HttpResponse:
    """The customers list's filters (in the query string) → a count preview → one visit each."""
    from kefu.customers.views import _filters_from

    filters = _filters_from(request)
    customers = customer_selectors.customer_list(user=request.user, filters=filters)
    ids = ids_from(request.POST.getlist("ids") if request.method == "POST" else request.GET.getlist("ids"))
    if ids:
        customers = customers.filter(pk__in=ids)
    count = customers.count()
    if request.method == "POST":
        form = BulkCreateForm(request.POST)
        if form.is_valid():
            try:
                created = services.visits_bulk_create(
                    actor=request.user, customers=customers, **form.cleaned_data
                )
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("%(count)d visits were planned.") % {"count": created})
                return redirect(reverse("visits:list") + "?queue=all&source=bulk")
    else:
        form = BulkCreateForm(initial={"due_on": timezone.localdate()})
    return render(
        request,
        "visits/bulk_create.html",
        {"form": form, "count": count, "query": request.GET.urlencode(), "ids": ids},
    )


# --- policies and scripts -----------------------------------------------------------------------------


def _rules_text(policy: CadencePolicy) -> str:
    return "\n".join(f"{r.code}, {r.role}, {r.tiers}, {r.every_months}" for r in policy.rule_list())


@login_required
@permission_required("visits.view_cadencepolicy", raise_exception=True)
def policies_page(request: HttpRequest) -> HttpResponse:
    cadence, retry = CadencePolicy.in_force(), RetryPolicy.in_force()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    cadence_form = CadencePolicyForm(
        initial={
            "effective_from": tomorrow,
            "rules": _rules_text(cadence),
            "follow_up_months": cadence.follow_up_months,
            "purchase_delay_days": cadence.purchase_delay_days,
            "win_back_delay_days": cadence.win_back_delay_days,
            "open_days": cadence.open_days,
        }
    )
    retry_form = RetryPolicyForm(
        initial={
            "effective_from": tomorrow,
            "attempts_before_callback": retry.attempts_before_callback,
            "retry_delay_minutes": retry.retry_delay_minutes,
            "callback_within_hours": retry.callback_within_hours,
        }
    )
    if request.method == "POST":
        which = request.POST.get("policy")
        if which == "cadence":
            cadence_form = CadencePolicyForm(request.POST)
            if cadence_form.is_valid():
                try:
                    services.cadence_policy_create(actor=request.user, **cadence_form.cleaned_data)
                except DomainError as exc:
                    form_error_from_domain(cadence_form, exc)
                else:
                    messages.success(request, _("The new cadence version was saved."))
                    return redirect("visits:policies")
        elif which == "retry":
            retry_form = RetryPolicyForm(request.POST)
            if retry_form.is_valid():
                try:
                    services.retry_policy_create(actor=request.user, **retry_form.cleaned_data)
                except DomainError as exc:
                    form_error_from_domain(retry_form, exc)
                else:
                    messages.success(request, _("The new retry rule was saved."))
                    return redirect("visits:policies")
    context = {
        "cadence": cadence,
        "retry": retry,
        "cadence_versions": CadencePolicy.objects.prefetch_related("rules")[:20],
        "retry_versions": RetryPolicy.objects.all()[:20],
        "cadence_form": cadence_form,
        "retry_form": retry_form,
        "can_edit_cadence": request.user.has_perm("visits.add_cadencepolicy"),
        "can_edit_retry": request.user.has_perm("visits.add_retrypolicy"),
    }
    return render(request, "visits/policies.html", context)


@login_required
@permission_required("visits.view_visitscript", raise_exception=True)
def scripts_page(request: HttpRequest) -> HttpResponse:
    return render(request, "visits/scripts.html", {"scripts": VisitScript.objects.all()})


@login_required
@permission_required("visits.change_visitscript", raise_exception=True)
def script_edit(request: HttpRequest, pk: int) -> HttpResponse:
    script = VisitScript.objects.filter(pk=pk).first()
    if script is None:
        raise Http404
    if request.method == "POST":
        form = ScriptForm(request.POST)
        if form.is_valid():
            try:
                services.visit_script_save(actor=request.user, purpose=script.purpose, data=form.cleaned_data)
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("The script was saved."))
                return redirect("visits:scripts")
    else:
        form = ScriptForm(
            initial={
                "greeting": script.greeting,
                "ask_time": script.ask_time,
                "questions": "\n".join(script.questions),
                "closing": script.closing,
                "silent_line": script.silent_line,
                "second_call": script.second_call,
            }
        )
    return render(
        request,
        "visits/simple_form.html",
        {"form": form, "title": _("Script: %(purpose)s") % {"purpose": script.get_purpose_display()}},
    )
