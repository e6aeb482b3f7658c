"""Pages of the tickets. Each view parses input, calls a service or selector, renders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.access import log_sensitive_access, log_sensitive_bulk
from kefu.core.errors import Conflict, DomainError, ValidationFailed
from kefu.core.excel import xlsx_response
from kefu.core.masking import can_view_sensitive, masked
from kefu.core.models import WorkingHours
from kefu.core.oplog import note_operation_target
from kefu.core.pages import flash_domain_error, form_error_from_domain, ids_from, int_or_none, paginate
from kefu.core.phones import format_phone, normalize_phone
from kefu.core.saved_filters import saved_filter_delete, saved_filter_save, saved_filters
from kefu.customers import selectors as customer_selectors
from kefu.customers import services as customer_services
from kefu.customers.models import Customer
from kefu.tickets import mail_services, selectors, services, sla
from kefu.tickets.forms import (
    AfterSalesForm,
    ApprovalRequestForm,
    AssignForm,
    BulkForm,
    CannedReplyForm,
    ComplaintCategoryForm,
    DecisionForm,
    IntakeForm,
    NoteForm,
    QuickCustomerForm,
    RemarkForm,
    ReplyForm,
    SavedFilterForm,
    SlaPolicyForm,
    SlaTargetFormSet,
    StepForm,
    TicketEditForm,
    TicketGroupForm,
    handlers,
)
from kefu.tickets.models import (
    AfterSalesCase,
    ApprovalState,
    CannedReply,
    CannedReplyCategory,
    Channel,
    ComplaintCategory,
    ComplaintStep,
    EventKind,
    MailDirection,
    Priority,
    Severity,
    SlaPolicy,
    SlaStatus,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketKind,
    TicketMail,
    TicketState,
)
from kefu.tickets.workflow import after_sales_blockers, available_actions, complaint_blockers

LIST_PAGE = "tickets"
FILTER_CHOICES = {
    "kind": TicketKind,
    "channel": Channel,
    "priority": Priority,
    "severity": Severity,
    "state": TicketState,
    "sla_status": SlaStatus,
}


def _queue_labels() -> list[tuple[str, str]]:
    # Labels are translated per request, not once at import time in the default language.
    labels = {
        "mine": _("Mine"),
        "group": _("My groups"),
        "unassigned": _("Unassigned"),
        "due_today": _("Due today"),
        "breached": _("Breached"),
        "approval": _("Awaiting approval"),
        "callbacks": _("Call-backs due"),
        "all": _("All"),
    }
    return list(labels.items())


def _sort_labels() -> list[tuple[str, str]]:
    return [
        ("newest", _("Newest first")),
        ("oldest", _("Oldest first")),
        ("due", _("Deadline first")),
        ("priority", _("Priority")),
        ("updated", _("Last changed")),
    ]


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def list_params(request: HttpRequest) -> dict[str, Any]:
    """The list's filters from the query string; unknown values are dropped, never a 500."""
    get = request.GET
    # Those who handle tickets start on their own worklist; readers (leaders) on everything.
    default = "mine" if request.user.has_perm("tickets.change_ticket") else "all"
    queue = get.get("queue", default)
    params: dict[str, Any] = {"queue": queue if queue in selectors.QUEUES else default}
    for name, choices in FILTER_CHOICES.items():
        value = get.get(name, "")
        params[name] = value if value in choices.values else ""
    for name in ("assignee", "group"):
        number = int_or_none(get.get(name))
        params[name] = number if number and number > 0 else ""
    params["q"] = get.get("q", "").strip()[:100]
    params["created_from"] = _date(get.get("created_from"))
    params["created_to"] = _date(get.get("created_to"))
    sort = get.get("sort", "newest")
    params["sort"] = sort if sort in selectors.SORTS else "newest"
    return params


def _form_error(form: Any, exc: DomainError) -> None:
    """A field error lands on its field; a refusal (no right, a conflict) is said on top of the form."""
    if isinstance(exc, ValidationFailed):
        form_error_from_domain(form, exc)
    else:
        form.add_error(None, exc.message)


def _visible_ticket(request: HttpRequest, pk: int) -> Ticket:
    ticket = selectors.ticket_get(request.user, pk)
    if ticket is None:
        raise Http404
    return ticket


def _to_ticket(ticket: Ticket, anchor: str = "") -> HttpResponse:
    return redirect(reverse("tickets:detail", args=[ticket.pk]) + (f"#{anchor}" if anchor else ""))


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


# --- the queues ----------------------------------------------------------------------------------


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_list_page(request: HttpRequest) -> HttpResponse:
    params = list_params(request)
    page = paginate(request, selectors.ticket_filter(request.user, params))
    hours = WorkingHours.in_force()
    rows = [(ticket, sla.remaining(ticket, hours=hours)) for ticket in page.object_list]
    context = {
        "page_obj": page,
        "rows": rows,
        "params": params,
        "queues": _queue_labels(),
        "sorts": _sort_labels(),
        "kinds": TicketKind.choices,
        "channels": Channel.choices,
        "priorities": Priority.choices,
        "severities": Severity.choices,
        "states": TicketState.choices,
        "sla_statuses": SlaStatus.choices,
        "assignees": handlers(),
        "groups": TicketGroup.objects.filter(active=True),
        "saved": saved_filters(request.user, LIST_PAGE),
        "query": request.GET.urlencode(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "tickets/partials/ticket_table.html", context)
    return render(request, "tickets/ticket_list.html", context)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_queue_counts_fragment(request: HttpRequest) -> HttpResponse:
    """The tab badges, fetched once the list is on screen.

    Seven counts under the user's data scope cost more than the list itself at two million tickets;
    the agent starts working the list meanwhile.
    """
    counts, capped = selectors.queue_counts(request.user)
    return render(
        request,
        "tickets/partials/queue_counts.html",
        {"counts": counts, "capped": capped, "queues": _queue_labels()},
    )


@login_required
@permission_required("tickets.export_ticket", raise_exception=True)
def ticket_export(request: HttpRequest) -> HttpResponseBase:
    queryset = selectors.ticket_filter(request.user, list_params(request))
    ids = ids_from(request.GET.getlist("ids"))
    if ids:
        queryset = queryset.filter(pk__in=ids)
    reveal = can_view_sensitive(request.user)
    headers = [
        _("Number"),
        _("Kind"),
        _("Channel"),
        _("Priority"),
        _("Severity"),
        _("State"),
        _("SLA"),
        _("Subject"),
        _("Customer"),
        _("Contact person"),
        _("Contact phone"),
        _("Responsible person"),
        _("Group"),
        _("Complaint category"),
        _("Opened at"),
        _("First response due"),
        _("Resolution due"),
        _("Closed at"),
    ]
    count = queryset.count()
    rows = (
        [
            t.number,
            t.get_kind_display(),
            t.get_channel_display(),
            t.get_priority_display(),
            t.get_severity_display() if t.severity else "",
            t.get_state_display(),
            t.get_sla_status_display(),
            t.subject,
            t.customer.name if t.customer else "",
            t.contact_name,
            (format_phone(t.contact_phone) or t.contact_phone)
            if reveal
            else masked(t.contact_phone, "phone", reveal=False),
            str(t.assignee) if t.assignee else "",
            t.group.name if t.group else "",
            t.category.name if t.category else "",
            t.created_at,
            t.first_response_due_at,
            t.resolution_due_at,
            t.closed_at,
        ]
        for t in queryset.iterator(chunk_size=1000)
    )
    log_sensitive_bulk(
        actor=request.user,
        object_type="ticket",
        count=count,
        fields=["contact_phone"],
        channel="export",
        request=request,
        detail="ticket list",
    )
    return xlsx_response(filename=_("tickets"), sheet=_("Tickets"), headers=headers, rows=rows)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """Assign or close the ticked tickets; each one that fails says why."""
    back = _safe_next(request, reverse("tickets:list"))
    ids = ids_from(request.POST.getlist("ids"))
    form = BulkForm(request.POST)
    if not ids:
        messages.warning(request, _("Tick at least one ticket first."))
        return redirect(back)
    if not form.is_valid():
        messages.error(request, _("Choose what to do with the ticked tickets."))
        return redirect(back)
    action = form.cleaned_data["action"]
    try:
        if action == "assign":
            assignee = form.cleaned_data.get("assignee")
            if assignee is None:
                raise ValidationFailed(_("Choose the person to assign them to."))
            result = services.tickets_bulk_assign(
                actor=request.user, ticket_ids=ids, assignee=assignee, reason=form.cleaned_data["note"]
            )
        else:
            result = services.tickets_bulk_close(
                actor=request.user, ticket_ids=ids, note=form.cleaned_data["note"]
            )
    except DomainError as exc:
        flash_domain_error(request, exc)
        return redirect(back)
    if result.done:
        messages.success(
            request,
            (
                _("%(count)d tickets were assigned.")
                if action == "assign"
                else _("%(count)d tickets were closed.")
            )
            % {"count": len(result.done)},
        )
    numbers = dict(Ticket.objects.filter(pk__in=list(result.failed)).values_list("pk", "number"))
    for pk, reason in sorted(result.failed.items()):
        messages.warning(request, f"{numbers.get(pk, pk)}: {reason}")
    missing = len(set(ids) - set(result.done) - set(result.failed))
    if missing:
        messages.warning(request, _("%(count)d ticked tickets are not visible to you.") % {"count": missing})
    return redirect(back)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def saved_filter_create(request: HttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    query = request.POST.get("query", "")
    if form.is_valid():
        try:
            saved = saved_filter_save(
                actor=request.user, page=LIST_PAGE, name=form.cleaned_data["name"], query=query
            )
        except DomainError as exc:
            flash_domain_error(request, exc)
        else:
            messages.success(request, _("The filter “%(name)s” was saved.") % {"name": saved.name})
            return redirect(reverse("tickets:list") + (f"?{saved.query}" if saved.query else ""))
    else:
        messages.error(request, _("Give the filter a name."))
    return redirect(reverse("tickets:list") + (f"?{query}" if query else ""))


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def saved_filter_remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        saved_filter_delete(actor=request.user, pk=pk)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The saved filter was deleted."))
    return redirect("tickets:list")


# --- the ticket page ------------------------------------------------------------------------------

STEP_FORM_STEPS = {
    ComplaintStep.INVESTIGATE,
    ComplaintStep.ANALYSE,
    ComplaintStep.CARRY_OUT,
    ComplaintStep.EVALUATE,
    ComplaintStep.CLASSIFY,
    ComplaintStep.IMPROVE,
    ComplaintStep.ARCHIVE,
}


def _actions(user: Any, ticket: Ticket) -> list[dict[str, Any]]:
    """The state changes the user may try, each with why it would be refused now (if it would)."""
    result = []
    for action, transition in available_actions(ticket):
        if not user.has_perm(transition.permission):
            continue
        blocker = complaint_blockers(ticket, action) or after_sales_blockers(ticket, action)
        result.append(
            {
                "action": action,
                "label": transition.label,
                "needs_note": transition.needs_note,
                "blocker": blocker,
            }
        )
    return result


def _canned_groups() -> list[tuple[str, list[CannedReply]]]:
    labels = dict(CannedReplyCategory.choices)
    groups: dict[str, list[CannedReply]] = {}
    for reply in selectors.canned_replies():
        groups.setdefault(reply.category, []).append(reply)
    return [(str(labels.get(category, category)), replies) for category, replies in groups.items()]


def _detail_context(request: HttpRequest, ticket: Ticket, **forms: Any) -> dict[str, Any]:
    user = request.user
    case = AfterSalesCase.objects.filter(ticket=ticket).first()
    steps = {record.step: record for record in ticket.steps.select_related("done_by")}
    approval_request = None
    if ticket.is_complaint and ticket.approval_state == ApprovalState.REQUESTED:
        approval_request = (
            ticket.events.filter(kind="approval", data__action="request")
            .select_related("actor")
            .order_by("-created_at", "-id")
            .first()
        )
    hours = WorkingHours.in_force()
    context: dict[str, Any] = {
        "ticket": ticket,
        **_timeline(ticket),
        "remaining": sla.remaining(ticket, hours=hours),
        "actions": _actions(user, ticket) if user.has_perm("tickets.change_ticket") else [],
        "can_work": user.has_perm("tickets.change_ticket"),
        "can_claim": ticket.is_active
        and ticket.assignee_id is None
        and user.has_perm("tickets.change_ticket"),
        "can_assign": ticket.is_active and user.has_perm("tickets.assign_ticket"),
        "can_approve": user.has_perm("tickets.approve_complaint"),
        "callback_open": bool(ticket.callback_due_at and not ticket.callback_done_at),
        "steps": [
            {"number": value, "label": label, "record": steps.get(value)}
            for value, label in ComplaintStep.choices
        ],
        "step_form_open": ticket.is_complaint
        and ticket.complaint_step in STEP_FORM_STEPS
        and ticket.state != TicketState.ARCHIVED,
        "approval_request": approval_request,
        "case": case,
        "canned_groups": _canned_groups() if user.has_perm("tickets.view_cannedreply") else [],
        "history": selectors.ticket_history(ticket),
        "state_labels": dict(TicketState.choices),
        "step_labels": dict(ComplaintStep.choices),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "assign_form": forms.get("assign_form")
        or AssignForm(
            initial={"assignee": ticket.assignee_id, "group": ticket.group_id, "version": ticket.version}
        ),
        "callback_form": forms.get("callback_form") or NoteForm(),
        "step_form": forms.get("step_form") or StepForm(initial={"step": ticket.complaint_step}),
        "approval_form": forms.get("approval_form") or ApprovalRequestForm(),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "remark_form": forms.get("remark_form") or RemarkForm(),
        "transition_errors": forms.get("transition_errors") or {},
        "can_edit": _can_edit(user, ticket),
        # The edit form is built only when it comes back with errors; otherwise the page fetches
        # it when the editor opens it (GET tickets:edit) — most views of a ticket never edit it.
        "edit_form": forms.get("edit_form"),
        "edit_open": "edit_form" in forms,
        "field_labels": _field_labels(),
    }
    if case is not None:
        context["after_sales_form"] = forms.get("after_sales_form") or AfterSalesForm(
            initial={
                **{name: getattr(case, name) for name in services.AFTER_SALES_FIELDS},
                "quality_problem": {True: "1", False: "0"}.get(case.quality_problem, ""),
                "product_intact": {True: "1", False: "0"}.get(case.product_intact, ""),
            }
        )
    if ticket.contact_phone:
        log_sensitive_access(
            actor=user,
            objects=[ticket],
            fields=["contact_phone"],
            channel="page",
            request=request,
            detail="ticket",
        )
    return context


def _timeline(ticket: Ticket) -> dict[str, Any]:
    """The timeline as the page shows it: each row with its icon, a mail's attachments under the
    mail they came with (`files`), and a reply with its outgoing mail (`outgoing_mail`)."""
    events = list(selectors.ticket_timeline(ticket).prefetch_related("mails"))
    by_message = {
        event.data["message_id"]: event.pk
        for event in events
        if event.kind in (EventKind.CUSTOMER, EventKind.CREATED) and event.data.get("message_id")
    }
    files: dict[int, list[TicketEvent]] = {}
    outgoing: dict[int, TicketMail] = {}
    shown = []
    for event in events:
        parent = (
            by_message.get(event.data.get("message_id", "")) if event.kind == EventKind.ATTACHMENT else None
        )
        if parent is not None:
            files.setdefault(parent, []).append(event)
            continue
        mail = next((m for m in event.mails.all() if m.direction == MailDirection.OUT), None)
        if mail is not None:
            outgoing[event.pk] = mail
        shown.append(event)
    # What each row needs, worked out here once rather than by a chain of template conditions
    # per event: a ticket with 50 events spent most of its page time in them.
    for event in shown:
        event.icon = TIMELINE_ICONS.get(event.kind, "bi-dot")
        event.files = files.get(event.pk, ())
        event.outgoing_mail = outgoing.get(event.pk)
    return {"events": shown}


TIMELINE_ICONS = {
    EventKind.REPLY: "bi-reply text-primary",
    EventKind.NOTE: "bi-sticky text-warning",
    EventKind.CALL: "bi-telephone text-success",
    EventKind.STATE: "bi-arrow-left-right",
    EventKind.ASSIGNMENT: "bi-person-check",
    EventKind.ESCALATION: "bi-arrow-up-circle text-danger",
    EventKind.STEP: "bi-list-ol",
    EventKind.APPROVAL: "bi-patch-check",
    EventKind.CUSTOMER: "bi-chat-left-text",
    EventKind.CHANGE: "bi-pencil-square",
}


def _field_labels() -> dict[str, str]:
    """What the timeline calls each changed field."""
    return {name: str(Ticket._meta.get_field(name).verbose_name) for name in services.EDITABLE_FIELDS}


def _render_detail(request: HttpRequest, ticket: Ticket, status: int = 200, **forms: Any) -> HttpResponse:
    return render(
        request, "tickets/ticket_detail.html", _detail_context(request, ticket, **forms), status=status
    )


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _visible_ticket(request, pk))


def _form_action(
    request: HttpRequest,
    pk: int,
    form_class: Any,
    form_name: str,
    call: Callable[[Ticket, dict[str, Any]], Any],
    success: str,
    *,
    anchor: str = "",
    files: bool = False,
) -> HttpResponse:
    """One POST of the ticket page: on a field error the page comes back with the form marked,
    on any other refusal (a conflict, a missing right) back to the page with the reason."""
    ticket = _visible_ticket(request, pk)
    form = form_class(request.POST, request.FILES) if files else form_class(request.POST)
    if not form.is_valid():
        return _render_detail(request, ticket, **{form_name: form})
    try:
        call(ticket, form.cleaned_data)
    except ValidationFailed as exc:
        if isinstance(exc.detail, dict):
            # Services name nested fields "after_sales.refund_amount"; the form knows "refund_amount".
            exc.detail = {
                (key if key in form.fields else key.rsplit(".", 1)[-1]): problems
                for key, problems in exc.detail.items()
            }
        if isinstance(exc.detail, dict) and set(exc.detail) & set(form.fields):
            form_error_from_domain(form, exc)
            return _render_detail(request, ticket, **{form_name: form})
        flash_domain_error(request, exc)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        note_operation_target(request, ticket.number)
        messages.success(request, success)
    return _to_ticket(ticket, anchor)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        return services.ticket_reply(
            actor=request.user,
            ticket=ticket,
            body=data["body"],
            kind=data["kind"],
            attachment=data.get("attachment"),
        )

    return _form_action(
        request, pk, ReplyForm, "reply_form", call, _("Added to the timeline."), anchor="timeline", files=True
    )


def _can_edit(user: Any, ticket: Ticket) -> bool:
    return bool(user.has_perm("tickets.change_ticket")) and ticket.state != TicketState.ARCHIVED


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_http_methods(["GET", "POST"])
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the edit form, fetched when the editor opens it. POST: save the edited details. A form
    read before someone else's change comes back with the editor's values kept, the reason said,
    and the current version to save over it knowingly."""
    ticket = _visible_ticket(request, pk)
    reveal = can_view_sensitive(request.user)
    if request.method == "GET":
        if not _can_edit(request.user, ticket):
            raise PermissionDenied
        form = TicketEditForm(ticket=ticket, reveal_phone=reveal)
        return render(request, "tickets/partials/edit_form.html", {"ticket": ticket, "edit_form": form})
    form = TicketEditForm(request.POST, ticket=ticket, reveal_phone=reveal)
    if not form.is_valid():
        return _render_detail(request, ticket, edit_form=form)
    changes = form.changed_values()
    if not changes:
        messages.info(request, _("Nothing was changed."))
        return _to_ticket(ticket)
    try:
        services.ticket_update(
            actor=request.user, ticket=ticket, data=changes, version=form.cleaned_data["version"]
        )
    except ValidationFailed as exc:
        form_error_from_domain(form, exc)
        return _render_detail(request, ticket, edit_form=form)
    except Conflict as exc:
        if exc.code != "conflict":
            flash_domain_error(request, exc)
            return _to_ticket(ticket)
        current = _visible_ticket(request, pk)
        data = request.POST.copy()
        data["version"] = str(current.version)
        form = TicketEditForm(data, ticket=current, reveal_phone=reveal)
        form.is_valid()
        form.add_error(
            None,
            _(
                "Someone else changed this ticket while you were editing it. Your entries are kept "
                "below; compare them with the ticket as it is now and save again."
            ),
        )
        return _render_detail(request, current, status=409, edit_form=form)
    except DomainError as exc:
        flash_domain_error(request, exc)
        return _to_ticket(ticket)
    note_operation_target(request, ticket.number)
    messages.success(request, _("The ticket details were saved."))
    return _to_ticket(ticket)


@login_required
@permission_required("tickets.change_ticket", raise_exception=True)
@require_POST
def ticket_edit_validate(request: HttpRequest, pk: int) -> HttpResponse:
    """Inline validation of the edit form: the field that changed comes back with its errors."""
    ticket = _visible_ticket(request, pk)
    form = TicketEditForm(request.POST, ticket=ticket, reveal_phone=can_view_sensitive(request.user))
    name = request.POST.get("validate_field", "")
    if name not in form.fields:
        raise Http404
    form.is_valid()
    problems = [str(e) for e in form.errors.get(name, [])]
    if not problems and hasattr(form, "cleaned_data") and name in form.cleaned_data:
        value = form.cleaned_data[name]
        if name in form.changed_values():
            try:
                found = services.ticket_update_problems(actor=request.user, ticket=ticket, data={name: value})
            except DomainError as exc:
                found = {name: [exc.message]}
            problems = [str(p) for p in found.get(name, [])]
    bound = form[name]
    form.errors.pop(name, None)
    for problem in problems:
        form.add_error(name, problem)
    return render(request, "includes/field.html", {"field": bound, "inline_validate": True})


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_claim(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    try:
        services.ticket_claim(actor=request.user, ticket=ticket)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The ticket is yours now."))
    return _to_ticket(ticket)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        if data.get("assignee") is None and data.get("group") is None:
            raise ValidationFailed(
                _("Choose a person or a group."), detail={"assignee": [_("Choose a person or a group.")]}
            )
        return services.ticket_assign(
            actor=request.user,
            ticket=ticket,
            assignee=data.get("assignee"),
            group=data.get("group"),
            reason=data.get("reason") or "",
            version=data.get("version"),
        )

    return _form_action(request, pk, AssignForm, "assign_form", call, _("The ticket was assigned."))


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        services.ticket_transition(
            actor=request.user,
            ticket=ticket,
            action=action,
            note=form.cleaned_data.get("note") or "",
            version=form.cleaned_data.get("version"),
        )
    except ValidationFailed as exc:
        return _render_detail(request, ticket, transition_errors={action: exc.message})
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        note_operation_target(request, ticket.number)
        messages.success(request, _("Ticket %(number)s: done.") % {"number": ticket.number})
    return _to_ticket(ticket)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_callback(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        return services.ticket_callback_done(actor=request.user, ticket=ticket, note=data.get("note") or "")

    return _form_action(request, pk, NoteForm, "callback_form", call, _("The call-back was recorded."))


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def complaint_step(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        return services.complaint_step_complete(
            actor=request.user,
            ticket=ticket,
            step=data["step"],
            note=data.get("note") or "",
            category=data.get("category"),
        )

    return _form_action(
        request, pk, StepForm, "step_form", call, _("The step was recorded."), anchor="complaint"
    )


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def complaint_approval(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        return services.complaint_request_approval(
            actor=request.user, ticket=ticket, proposal=data.get("proposal") or ""
        )

    return _form_action(
        request,
        pk,
        ApprovalRequestForm,
        "approval_form",
        call,
        _("The solution was sent for approval."),
        anchor="complaint",
    )


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def complaint_decision(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        return services.complaint_decide(
            actor=request.user,
            ticket=ticket,
            approve=data["decision"] == "approve",
            note=data.get("note") or "",
        )

    return _form_action(
        request, pk, DecisionForm, "decision_form", call, _("The decision was recorded."), anchor="complaint"
    )


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def after_sales_edit(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        form = AfterSalesForm(request.POST)
        form.is_valid()
        return services.after_sales_update(actor=request.user, ticket=ticket, data=form.service_data())

    return _form_action(
        request,
        pk,
        AfterSalesForm,
        "after_sales_form",
        call,
        _("The after-sales details were saved."),
        anchor="after-sales",
    )


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def after_sales_remark(request: HttpRequest, pk: int) -> HttpResponse:
    def call(ticket: Ticket, data: dict[str, Any]) -> Any:
        return services.after_sales_add_remark(
            actor=request.user, ticket=ticket, change=data.get("change") or ""
        )

    return _form_action(
        request, pk, RemarkForm, "remark_form", call, _("The order remark was added."), anchor="after-sales"
    )


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def mail_retry(request: HttpRequest, pk: int, mail_pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    mail = get_object_or_404(TicketMail.objects.select_related("ticket"), pk=mail_pk, ticket=ticket)
    try:
        mail_services.ticket_mail_retry(actor=request.user, mail=mail)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        note_operation_target(request, ticket.number)
        messages.success(
            request, _("The reply will be sent again to %(address)s.") % {"address": ticket.contact_email}
        )
    return _to_ticket(ticket, "timeline")


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def attachment_download(request: HttpRequest, pk: int, event_pk: int) -> FileResponse:
    ticket = _visible_ticket(request, pk)
    event = get_object_or_404(TicketEvent, pk=event_pk, ticket=ticket)
    if not event.attachment:
        raise Http404
    try:
        handle = event.attachment.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=event.attachment_name or "attachment")


@login_required
@permission_required("tickets.view_cannedreply", raise_exception=True)
def canned_insert(request: HttpRequest, pk: int) -> HttpResponse:
    """The picker: the chosen phrase, placeholders filled for this ticket, appended to the reply text."""
    ticket = _visible_ticket(request, pk)
    body = request.GET.get("body", "")[:20000]
    reply = CannedReply.objects.filter(pk=int_or_none(request.GET.get("canned")), active=True).first()
    if reply is not None:
        text = services.canned_reply_render(reply, ticket=ticket, agent=request.user)
        body = f"{body.rstrip()}\n{text}".strip() if body.strip() else text
    return render(request, "tickets/partials/reply_body.html", {"body": body})


# --- intake --------------------------------------------------------------------------------------


def _caller_context(request: HttpRequest, number: str) -> dict[str, Any]:
    """What the agent sees of the caller: the file summary, or an offer to create one."""
    context: dict[str, Any] = {"number": number, "normalized": normalize_phone(number) if number else None}
    if context["normalized"] and request.user.has_perm("customers.view_customer"):
        matches = list(customer_selectors.customer_lookup_by_phone(user=request.user, phone=number)[:10])
        context["matches"] = matches
        if matches:
            _caller_summary(request, matches[0], context)
    context["quick_form"] = QuickCustomerForm(initial={"phone": number})
    return context


def _caller_summary(request: HttpRequest, customer: Customer, context: dict[str, Any]) -> None:
    context["caller"] = customer
    context["open_tickets"] = list(selectors.customer_open_tickets(request.user, customer.pk)[:5])
    context["last_contacts"] = list(customer.contact_records.order_by("-happened_at", "-id")[:5])
    context["last_tickets"] = list(
        selectors.ticket_list(request.user).filter(customer=customer).order_by("-id")[:5]
    )


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
def intake_lookup(request: HttpRequest) -> HttpResponse:
    number = (request.GET.get("contact_phone") or request.GET.get("phone") or "").strip()[:40]
    return render(request, "tickets/partials/caller.html", _caller_context(request, number))


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
@require_POST
def intake_customer(request: HttpRequest) -> HttpResponse:
    """Quick-create the caller's customer during the call (the rest of the file is filled later)."""
    form = QuickCustomerForm(request.POST)
    number = request.POST.get("phone", "").strip()[:40]
    context = _caller_context(request, number)
    if form.is_valid():
        try:
            customer = customer_services.customer_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            note_operation_target(request, customer.archive_number)
            context["matches"] = [customer]
            context["created"] = True
            _caller_summary(request, customer, context)
    context["quick_form"] = form
    return render(request, "tickets/partials/caller.html", context)


def _intake_page(request: HttpRequest, *, phone_intake: bool) -> HttpResponse:
    can_assign = request.user.has_perm("tickets.assign_ticket")
    template = "tickets/intake.html"
    if request.method == "POST":
        form = IntakeForm(request.POST, can_assign=can_assign)
        if not phone_intake:
            form.data = form.data.copy()
            form.data["mode"] = "open"
        if form.is_valid():
            customer = None
            if form.cleaned_data.get("customer"):
                customer = (
                    Customer.objects.visible_to(request.user).filter(pk=form.cleaned_data["customer"]).first()
                )
            answer = form.cleaned_data.get("answer") or "" if form.cleaned_data["mode"] == "answer" else ""
            data = services.TicketInput(customer=customer, answer=answer, **form.input_values())
            try:
                ticket = services.ticket_create(actor=request.user, data=data)
            except DomainError as exc:
                _form_error(form, exc)
            else:
                note_operation_target(request, ticket.number)
                if ticket.answered_on_first_contact:
                    messages.success(
                        request,
                        _("%(number)s was recorded as answered on the call.") % {"number": ticket.number},
                    )
                    return redirect("tickets:intake")
                messages.success(request, _("Ticket %(number)s was opened.") % {"number": ticket.number})
                return redirect("tickets:detail", pk=ticket.pk)
        number = request.POST.get("contact_phone", "")
    else:
        number = request.GET.get("phone", "")[:40]
        initial: dict[str, Any] = {"contact_phone": number, "mode": "open"}
        if not phone_intake:
            initial["channel"] = (
                request.GET.get("channel") if request.GET.get("channel") in Channel.values else Channel.EMAIL
            )
        customer_pk = int_or_none(request.GET.get("customer"))
        if customer_pk:
            initial["customer"] = customer_pk
        form = IntakeForm(initial=initial, can_assign=can_assign)
    context = _caller_context(request, number.strip()[:40])
    chosen = form["customer"].value()
    if chosen and not context.get("caller"):
        customer = Customer.objects.visible_to(request.user).filter(pk=int_or_none(chosen)).first()
        if customer is not None:
            context["matches"] = [customer]
            _caller_summary(request, customer, context)
    context.update(form=form, phone_intake=phone_intake)
    return render(request, template, context)


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
def intake_page(request: HttpRequest) -> HttpResponse:
    return _intake_page(request, phone_intake=True)


@login_required
@permission_required("tickets.add_ticket", raise_exception=True)
def ticket_create_page(request: HttpRequest) -> HttpResponse:
    return _intake_page(request, phone_intake=False)


# --- settings ------------------------------------------------------------------------------------


def _sla_errors(form: Any, exc: DomainError) -> None:
    """Policy fields get their errors; a target row's error names the row ("row 2: …")."""
    detail = exc.detail if isinstance(exc, ValidationFailed) and isinstance(exc.detail, dict) else {}
    if not detail:
        form.add_error(None, exc.message)
    for key, problems in detail.items():
        parts = key.split(".")
        for problem in problems:
            if key in form.fields:
                form.add_error(key, str(problem))
            elif parts[0] == "targets" and len(parts) >= 2 and parts[1].isdigit():
                form.add_error(
                    None, _("Row %(row)d: %(problem)s") % {"row": int(parts[1]) + 1, "problem": problem}
                )
            else:
                form.add_error(None, str(problem))


@login_required
@permission_required("tickets.view_slapolicy", raise_exception=True)
def sla_policy_page(request: HttpRequest) -> HttpResponse:
    current = sla.policy_in_force()
    targets = list(current.targets.all()) if current else []
    if request.method == "POST":
        form = SlaPolicyForm(request.POST)
        formset = SlaTargetFormSet(request.POST, prefix="targets")
        if form.is_valid() and formset.is_valid():
            rows = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.is_blank()]
            try:
                policy = services.sla_policy_create(actor=request.user, targets=rows, **form.cleaned_data)
            except DomainError as exc:
                _sla_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("The new time limits take effect on %(date)s.") % {"date": policy.effective_from},
                )
                return redirect("tickets:sla")
    else:
        form = SlaPolicyForm(
            initial={
                "at_risk_percent": current.at_risk_percent if current else 80,
                "manager_after_minutes": current.manager_after_minutes if current else 120,
            }
        )
        formset = SlaTargetFormSet(
            prefix="targets",
            initial=[
                {
                    "kind": t.kind,
                    "priority": t.priority,
                    "tier": t.tier,
                    "first_response_minutes": t.first_response_minutes,
                    "resolution_minutes": t.resolution_minutes,
                }
                for t in targets
            ],
        )
    return render(
        request,
        "tickets/settings_sla.html",
        {
            "current": current,
            "targets": targets,
            "form": form,
            "formset": formset,
            "policies": SlaPolicy.objects.select_related("created_by").order_by("-effective_from", "-id")[
                :20
            ],
            "can_edit": request.user.has_perm("tickets.add_slapolicy"),
        },
    )


@login_required
@permission_required("tickets.change_cannedreply", raise_exception=True)
def canned_replies_page(request: HttpRequest) -> HttpResponse:
    labels = dict(CannedReplyCategory.choices)
    groups: dict[str, list[CannedReply]] = {}
    for reply in selectors.canned_replies(active_only=False):
        groups.setdefault(reply.category, []).append(reply)
    return render(
        request,
        "tickets/settings_canned.html",
        {"groups": [(labels.get(category, category), replies) for category, replies in groups.items()]},
    )


def _settings_form(
    request: HttpRequest,
    *,
    form: Any,
    save: Callable[[dict[str, Any]], Any],
    title: str,
    back: str,
    done: str,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, done)
            return redirect(back)
    return render(request, "tickets/settings_form.html", {"form": form, "title": title, "back": back})


@login_required
@permission_required("tickets.add_cannedreply", raise_exception=True)
def canned_reply_create(request: HttpRequest) -> HttpResponse:
    return _settings_form(
        request,
        form=CannedReplyForm(request.POST or None),
        save=lambda data: services.canned_reply_save(actor=request.user, data=data),
        title=_("New canned reply"),
        back=reverse("tickets:canned"),
        done=_("The canned reply was saved."),
    )


@login_required
@permission_required("tickets.change_cannedreply", raise_exception=True)
def canned_reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(CannedReply, pk=pk)
    initial = {name: getattr(reply, name) for name in ("category", "title", "body", "sort_order", "active")}
    return _settings_form(
        request,
        form=CannedReplyForm(request.POST or None, initial=initial),
        save=lambda data: services.canned_reply_save(actor=request.user, data=data, reply=reply),
        title=_("Edit canned reply"),
        back=reverse("tickets:canned"),
        done=_("The canned reply was saved."),
    )


@login_required
@permission_required("tickets.change_cannedreply", raise_exception=True)
@require_POST
def canned_reply_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(CannedReply, pk=pk)
    try:
        services.canned_reply_save(actor=request.user, data={"active": not reply.active}, reply=reply)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The canned reply was updated."))
    return redirect("tickets:canned")


@login_required
@permission_required("tickets.change_cannedreply", raise_exception=True)
@require_POST
def canned_reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(CannedReply, pk=pk)
    try:
        services.canned_reply_delete(actor=request.user, reply=reply)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The canned reply was deleted."))
    return redirect("tickets:canned")


@login_required
@permission_required("tickets.change_ticketgroup", raise_exception=True)
def groups_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "tickets/settings_groups.html", {"groups": selectors.ticket_groups(active_only=False)}
    )


@login_required
@permission_required("tickets.add_ticketgroup", raise_exception=True)
def group_create(request: HttpRequest) -> HttpResponse:
    return _settings_form(
        request,
        form=TicketGroupForm(request.POST or None),
        save=lambda data: services.ticket_group_save(actor=request.user, data=data),
        title=_("New ticket group"),
        back=reverse("tickets:groups"),
        done=_("The group was saved."),
    )


@login_required
@permission_required("tickets.change_ticketgroup", raise_exception=True)
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(TicketGroup, pk=pk)
    initial = {
        "name": group.name,
        "department": group.department_id,
        "assign_mode": group.assign_mode,
        "members": list(group.members.values_list("pk", flat=True)),
        "active": group.active,
    }
    return _settings_form(
        request,
        form=TicketGroupForm(request.POST or None, initial=initial),
        save=lambda data: services.ticket_group_save(actor=request.user, data=data, group=group),
        title=_("Edit group %(name)s") % {"name": group.name},
        back=reverse("tickets:groups"),
        done=_("The group was saved."),
    )


@login_required
@permission_required("tickets.change_complaintcategory", raise_exception=True)
def categories_page(request: HttpRequest) -> HttpResponse:
    form = ComplaintCategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.complaint_category_save(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("The category was added."))
            return redirect("tickets:categories")
    return render(
        request,
        "tickets/settings_categories.html",
        {
            "form": form,
            "categories": ComplaintCategory.objects.order_by("sort_order", "id"),
            "can_add": request.user.has_perm("tickets.add_complaintcategory"),
        },
    )


@login_required
@permission_required("tickets.change_complaintcategory", raise_exception=True)
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(ComplaintCategory, pk=pk)
    initial = {"name": category.name, "sort_order": category.sort_order, "active": category.active}
    return _settings_form(
        request,
        form=ComplaintCategoryForm(request.POST or None, initial=initial),
        save=lambda data: services.complaint_category_save(actor=request.user, data=data, category=category),
        title=_("Edit category %(name)s") % {"name": category.name},
        back=reverse("tickets:categories"),
        done=_("The category was saved."),
    )
