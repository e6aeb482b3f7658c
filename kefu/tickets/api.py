"""The tickets' JSON API. Every endpoint calls a selector or a service; none writes a model.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from kefu.accounts.models import Department, User
from kefu.core.access import log_sensitive_access
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.models import Notification
from kefu.core.notifications import notifications_mark_read, unread_count
from kefu.core.oplog import operation_commits_as
from kefu.core.permissions import require_perm
from kefu.core.rows import one_row
from kefu.core.schemas import ERRORS
from kefu.core.scoping import scope_of
from kefu.customers.models import Contact, Customer
from kefu.tickets import mail_services, selectors, services, sla
from kefu.tickets.models import (
    AfterSalesCase,
    CannedReply,
    ComplaintCategory,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketMail,
)
from kefu.tickets.schemas import (
    AfterSalesOut,
    AfterSalesPatch,
    ApprovalRequestIn,
    BulkAssignIn,
    BulkCloseIn,
    BulkOut,
    CannedCategoryValue,
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatch,
    ComplaintCategoryOut,
    ComplaintStepIn,
    DecisionIn,
    EventOut,
    EventPage,
    MailOut,
    MarkedOut,
    NoteIn,
    NotificationPage,
    NotificationsReadIn,
    PageIn,
    QueueCountsOut,
    RemarkIn,
    RenderedOut,
    ReplyIn,
    SlaPolicyIn,
    SlaPolicyOut,
    TicketAssignIn,
    TicketFilterIn,
    TicketGroupIn,
    TicketGroupOut,
    TicketGroupPatch,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
    TransitionIn,
)

router = Router(tags=["tickets"])


class ApiRequest(HttpRequest):
    """The API's auth (token or session) guarantees a signed-in, active staff member."""

    user: User


ERR = ERRORS

# PATCH bodies: null means "leave as is", except where null is a value of its own.
NULLABLE_TICKET_FIELDS = {"callback_due_at", "occurred_at"}
NULLABLE_AFTER_SALES_FIELDS = {"quality_problem", "product_intact"}


def _need(request: ApiRequest, perm: str) -> None:
    require_perm(request.user, perm)


def _ticket(request: ApiRequest, ticket_id: int) -> Ticket:
    """The ticket if the caller may read tickets and it lies in their data scope; else 403 / 404."""
    _need(request, "tickets.view_ticket")
    ticket = selectors.ticket_get(request.user, ticket_id)
    if ticket is None:
        raise NotFound()
    return ticket


def _missing(field: str, pk: Any) -> ValidationFailed:
    message = _("There is no such record (%(field)s = %(id)s), or it is not visible to you.") % {
        "field": field,
        "id": pk,
    }
    return ValidationFailed(message, detail={field: [message]})


def _user(pk: int | None, field: str) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise _missing(field, pk)
    return user


def _group(pk: int | None, field: str = "group_id") -> TicketGroup | None:
    if pk is None:
        return None
    group = TicketGroup.objects.select_related("department").filter(pk=pk).first()
    if group is None:
        raise _missing(field, pk)
    return group


def _not_null(data: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None or key in keep}


def _log_phone(request: ApiRequest, tickets: list[Ticket]) -> None:
    shown = [ticket for ticket in tickets if ticket.contact_phone]
    log_sensitive_access(
        actor=request.user, objects=shown, fields=["contact_phone"], channel="api", request=request
    )


# --- tickets ------------------------------------------------------------------------------------


@router.get("/tickets", response={200: TicketPage, **ERR}, summary="Search, filter and page through tickets")
def list_tickets(request: ApiRequest, filters: Query[TicketFilterIn]) -> dict[str, Any]:
    _need(request, "tickets.view_ticket")
    params = filters.dict(exclude={"limit", "offset"})
    queryset = selectors.ticket_filter(request.user, params)
    items = list(queryset[filters.offset : filters.offset + filters.limit])
    _log_phone(request, items)
    return {"count": queryset.count(), "items": items}


@router.post("/tickets", response={201: TicketOut, **ERR}, summary="Open a ticket (or answer it at once)")
def create_ticket(request: ApiRequest, payload: TicketIn) -> Status[Ticket]:
    _need(request, "tickets.add_ticket")
    customer = None
    if payload.customer_id is not None:
        # Only what a ticket and its answer read of the customer, in a statement built once:
        # intake is the hot write path. The data scope is decided on the row (Customer.scope_covers).
        customer = one_row(
            Customer,
            by="id",
            value=payload.customer_id,
            fields=("archive_number", "name", "tier", "department", "owner"),
        )
        if customer is None or not Customer.scope_covers(scope_of(request.user), customer):
            raise _missing("customer_id", payload.customer_id)
    contact = None
    if payload.contact_id is not None:
        contact = Contact.objects.visible_to(request.user).filter(pk=payload.contact_id).first()
        if contact is None:
            raise _missing("contact_id", payload.contact_id)
    if payload.after_sales is not None and payload.kind != "after_sales":
        message = _("After-sales details belong to after-sales tickets only.")
        raise ValidationFailed(message, detail={"after_sales": [message]})
    data = services.TicketInput(
        kind=payload.kind,
        channel=payload.channel,
        subject=payload.subject,
        description=payload.description,
        priority=payload.priority,
        severity=payload.severity,
        customer=customer,
        contact=contact,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        contact_qq=payload.contact_qq,
        contact_email=payload.contact_email,
        occurred_at=payload.occurred_at,
        place=payload.place,
        group=_group(payload.group_id),
        assignee=_user(payload.assignee_id, "assignee_id"),
        callback_due_at=payload.callback_due_at,
        answer=payload.answer,
        apologised=payload.apologised,
        after_sales=payload.after_sales.dict(exclude_none=True) if payload.after_sales else {},
    )
    # Intake is the hot write path: its operation-log row rides in the ticket's own transaction.
    operation_commits_as(request, 201)
    ticket = services.ticket_create(actor=request.user, data=data)
    # The ticket as written, not read back: the caller just typed it, whatever their data scope.
    return Status(201, ticket)


@router.get("/tickets/queues", response={200: QueueCountsOut, **ERR}, summary="Open work per queue for me")
def ticket_queue_counts(request: ApiRequest) -> dict[str, Any]:
    _need(request, "tickets.view_ticket")
    counts, capped = selectors.queue_counts(request.user)
    return {**counts, "capped": capped, "cap": settings.LIST_COUNT_CAP}


@router.post(
    "/tickets/bulk/assign",
    response={200: BulkOut, **ERR},
    summary="Hand many tickets to one person; each id is done or failed",
)
def bulk_assign(request: ApiRequest, payload: BulkAssignIn) -> dict[str, Any]:
    _need(request, "tickets.bulk_ticket")
    assignee = _user(payload.assignee_id, "assignee_id")
    if assignee is None:
        raise _missing("assignee_id", payload.assignee_id)
    ids = list(dict.fromkeys(payload.ids))
    result = services.tickets_bulk_assign(
        actor=request.user, ticket_ids=ids, assignee=assignee, reason=payload.reason
    )
    return _bulk_out(ids, result)


@router.post(
    "/tickets/bulk/close",
    response={200: BulkOut, **ERR},
    summary="Close many tickets; each id is done or failed",
)
def bulk_close(request: ApiRequest, payload: BulkCloseIn) -> dict[str, Any]:
    _need(request, "tickets.bulk_ticket")
    ids = list(dict.fromkeys(payload.ids))
    result = services.tickets_bulk_close(actor=request.user, ticket_ids=ids, note=payload.note)
    return _bulk_out(ids, result)


def _bulk_out(ids: list[int], result: services.BulkResult) -> dict[str, Any]:
    """Ids outside the caller's scope are reported like ids that do not exist: as not found."""
    not_found = str(_("The record does not exist or is not visible to you."))
    failed = []
    for pk in ids:
        if pk in result.failed:
            failed.append({"id": pk, "message": result.failed[pk]})
        elif pk not in result.done:
            failed.append({"id": pk, "message": not_found})
    return {"done": result.done, "failed": failed}


@router.get("/tickets/{ticket_id}", response={200: TicketOut, **ERR}, summary="One ticket with its deadlines")
def get_ticket(request: ApiRequest, ticket_id: int) -> Ticket:
    ticket = _ticket(request, ticket_id)
    _log_phone(request, [ticket])
    return ticket


@router.patch("/tickets/{ticket_id}", response={200: TicketOut, **ERR}, summary="Change a ticket's details")
def update_ticket(request: ApiRequest, ticket_id: int, payload: TicketPatch) -> Ticket:
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    if data.get("category_id") is not None:
        category = ComplaintCategory.objects.filter(pk=data["category_id"]).first()
        if category is None:
            raise _missing("category_id", data["category_id"])
        data["category"] = category
    data.pop("category_id", None)
    services.ticket_update(
        actor=request.user,
        ticket=_ticket(request, ticket_id),
        data=_not_null(data, NULLABLE_TICKET_FIELDS),
        version=version,
    )
    return _ticket(request, ticket_id)


@router.get(
    "/tickets/{ticket_id}/events",
    response={200: EventPage, **ERR},
    summary="The ticket's timeline, oldest first",
)
def ticket_events(request: ApiRequest, ticket_id: int, page: Query[PageIn]) -> dict[str, Any]:
    events = selectors.ticket_timeline(_ticket(request, ticket_id))
    return {"count": events.count(), "items": list(events[page.offset : page.offset + page.limit])}


@router.post(
    "/tickets/{ticket_id}/replies",
    response={201: EventOut, **ERR},
    summary="Reply to the customer, add an internal note or log a call",
)
def add_reply(request: ApiRequest, ticket_id: int, payload: ReplyIn) -> Status[TicketEvent]:
    event = services.ticket_reply(
        actor=request.user, ticket=_ticket(request, ticket_id), body=payload.body, kind=payload.kind
    )
    return Status(201, event)


@router.post(
    "/tickets/{ticket_id}/attachments",
    response={201: EventOut, **ERR},
    summary="Attach a file (a photo as evidence …), with an optional text",
)
def add_attachment(
    request: ApiRequest,
    ticket_id: int,
    file: File[UploadedFile],
    body: Form[str] = "",
    kind: Form[str] = "note",
) -> Status[TicketEvent]:
    if kind not in ("reply", "note", "call"):
        message = _("Choose reply, note or call.")
        raise ValidationFailed(message, detail={"kind": [message]})
    event = services.ticket_reply(
        actor=request.user, ticket=_ticket(request, ticket_id), body=body, kind=kind, attachment=file
    )
    return Status(201, event)


@router.get(
    "/tickets/{ticket_id}/events/{event_id}/attachment",
    response={200: None, **ERR},
    summary="Download the file of a timeline entry",
)
def download_attachment(request: ApiRequest, ticket_id: int, event_id: int) -> FileResponse:
    ticket = _ticket(request, ticket_id)
    event = selectors.ticket_timeline(ticket).filter(pk=event_id).exclude(attachment="").first()
    if event is None:
        raise NotFound()
    try:
        handle = event.attachment.open("rb")
    except FileNotFoundError as exc:
        raise NotFound() from exc
    return FileResponse(handle, as_attachment=True, filename=event.attachment_name)


@router.get(
    "/tickets/{ticket_id}/mails",
    response={200: list[MailOut], **ERR},
    summary="The ticket's email thread: received mail and replies with their delivery status",
)
def ticket_mails(request: ApiRequest, ticket_id: int) -> list[TicketMail]:
    return list(selectors.ticket_mails(_ticket(request, ticket_id)))


@router.post(
    "/tickets/{ticket_id}/mails/{mail_id}/retry",
    response={200: MailOut, **ERR},
    summary="Send a reply whose delivery failed once more",
)
def retry_mail(request: ApiRequest, ticket_id: int, mail_id: int) -> TicketMail:
    ticket = _ticket(request, ticket_id)
    mail = selectors.ticket_mails(ticket).filter(pk=mail_id).first()
    if mail is None:
        raise NotFound()
    mail_services.ticket_mail_retry(actor=request.user, mail=mail)
    return TicketMail.objects.get(pk=mail.pk)


@router.post(
    "/tickets/{ticket_id}/claim", response={200: TicketOut, **ERR}, summary="Take an unassigned ticket"
)
def claim_ticket(request: ApiRequest, ticket_id: int) -> Ticket:
    services.ticket_claim(actor=request.user, ticket=_ticket(request, ticket_id))
    return _ticket(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/assign",
    response={200: TicketOut, **ERR},
    summary="Assign or transfer, with a reason",
)
def assign_ticket(request: ApiRequest, ticket_id: int, payload: TicketAssignIn) -> Ticket:
    ticket = _ticket(request, ticket_id)
    _need(request, "tickets.assign_ticket")
    services.ticket_assign(
        actor=request.user,
        ticket=ticket,
        assignee=_user(payload.assignee_id, "assignee_id"),
        group=_group(payload.group_id),
        reason=payload.reason,
        version=payload.version,
    )
    return _ticket(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/transitions",
    response={200: TicketOut, **ERR},
    summary="wait / resume / resolve / reopen / close",
)
def transition_ticket(request: ApiRequest, ticket_id: int, payload: TransitionIn) -> Ticket:
    services.ticket_transition(
        actor=request.user,
        ticket=_ticket(request, ticket_id),
        action=payload.action,
        note=payload.note,
        version=payload.version,
    )
    return _ticket(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/callback",
    response={200: TicketOut, **ERR},
    summary="The promised call back was made",
)
def callback_done(request: ApiRequest, ticket_id: int, payload: NoteIn) -> Ticket:
    services.ticket_callback_done(actor=request.user, ticket=_ticket(request, ticket_id), note=payload.note)
    return _ticket(request, ticket_id)


# --- complaints ---------------------------------------------------------------------------------


@router.post(
    "/tickets/{ticket_id}/complaint/steps",
    response={200: TicketOut, **ERR},
    summary="Record the complaint's current step (7 needs the category)",
)
def complaint_step(request: ApiRequest, ticket_id: int, payload: ComplaintStepIn) -> Ticket:
    ticket = _ticket(request, ticket_id)
    category = None
    if payload.category_id is not None:
        category = selectors.complaint_categories().filter(pk=payload.category_id).first()
        if category is None:
            raise _missing("category_id", payload.category_id)
    services.complaint_step_complete(
        actor=request.user, ticket=ticket, step=payload.step, note=payload.note, category=category
    )
    return _ticket(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/complaint/approval-request",
    response={200: TicketOut, **ERR},
    summary="Step 4: ask a supervisor to approve the proposed solution",
)
def complaint_approval_request(request: ApiRequest, ticket_id: int, payload: ApprovalRequestIn) -> Ticket:
    services.complaint_request_approval(
        actor=request.user, ticket=_ticket(request, ticket_id), proposal=payload.proposal
    )
    return _ticket(request, ticket_id)


@router.post(
    "/tickets/{ticket_id}/complaint/decision",
    response={200: TicketOut, **ERR},
    summary="The supervisor approves or rejects the solution",
)
def complaint_decision(request: ApiRequest, ticket_id: int, payload: DecisionIn) -> Ticket:
    services.complaint_decide(
        actor=request.user, ticket=_ticket(request, ticket_id), approve=payload.approve, note=payload.note
    )
    return _ticket(request, ticket_id)


# --- after-sales --------------------------------------------------------------------------------


@router.patch(
    "/tickets/{ticket_id}/after-sales",
    response={200: AfterSalesOut, **ERR},
    summary="Change the return / exchange / refund details",
)
def update_after_sales(request: ApiRequest, ticket_id: int, payload: AfterSalesPatch) -> AfterSalesCase:
    data = _not_null(payload.dict(exclude_unset=True), NULLABLE_AFTER_SALES_FIELDS)
    return services.after_sales_update(actor=request.user, ticket=_ticket(request, ticket_id), data=data)


@router.post(
    "/tickets/{ticket_id}/after-sales/remarks",
    response={201: AfterSalesOut, **ERR},
    summary="Add an order remark: 客户要求修改成…, 已修改妥当 — date name",
)
def add_order_remark(request: ApiRequest, ticket_id: int, payload: RemarkIn) -> Status[AfterSalesCase]:
    case = services.after_sales_add_remark(
        actor=request.user, ticket=_ticket(request, ticket_id), change=payload.change
    )
    return Status(201, case)


# --- canned replies -----------------------------------------------------------------------------


def _canned(request: ApiRequest, reply_id: int) -> CannedReply:
    _need(request, "tickets.view_cannedreply")
    reply = selectors.canned_replies(active_only=False).filter(pk=reply_id).first()
    if reply is None:
        raise NotFound()
    return reply


@router.get("/canned-replies", response={200: list[CannedReplyOut], **ERR}, tags=["canned replies"])
def list_canned_replies(
    request: ApiRequest, category: CannedCategoryValue | None = None, include_inactive: bool = False
) -> list[CannedReply]:
    _need(request, "tickets.view_cannedreply")
    replies = selectors.canned_replies(active_only=not include_inactive)
    if category is not None:
        replies = replies.filter(category=category)
    return list(replies[:500])


@router.post("/canned-replies", response={201: CannedReplyOut, **ERR}, tags=["canned replies"])
def create_canned_reply(request: ApiRequest, payload: CannedReplyIn) -> Status[CannedReply]:
    return Status(201, services.canned_reply_save(actor=request.user, data=payload.dict()))


@router.patch("/canned-replies/{reply_id}", response={200: CannedReplyOut, **ERR}, tags=["canned replies"])
def update_canned_reply(request: ApiRequest, reply_id: int, payload: CannedReplyPatch) -> CannedReply:
    reply = _canned(request, reply_id)
    data = _not_null(payload.dict(exclude_unset=True), set())
    return services.canned_reply_save(actor=request.user, data=data, reply=reply)


@router.delete("/canned-replies/{reply_id}", response={204: None, **ERR}, tags=["canned replies"])
def delete_canned_reply(request: ApiRequest, reply_id: int) -> Status[None]:
    services.canned_reply_delete(actor=request.user, reply=_canned(request, reply_id))
    return Status(204, None)


@router.get(
    "/canned-replies/{reply_id}/render",
    response={200: RenderedOut, **ERR},
    tags=["canned replies"],
    summary="The phrase with {customer_name}, {agent_name} and {ticket_number} filled in",
)
def render_canned_reply(request: ApiRequest, reply_id: int, ticket: int | None = None) -> dict[str, str]:
    reply = _canned(request, reply_id)
    target = _ticket(request, ticket) if ticket is not None else None
    return {"text": services.canned_reply_render(reply, ticket=target, agent=request.user)}


# --- categories, groups, time limits -----------------------------------------------------------------


@router.get("/complaint-categories", response={200: list[ComplaintCategoryOut], **ERR}, tags=["tickets"])
def list_complaint_categories(request: ApiRequest) -> list[ComplaintCategory]:
    _need(request, "tickets.view_ticket")
    return list(selectors.complaint_categories()[:500])


def _group_data(payload: Any, *, partial: bool) -> dict[str, Any]:
    raw = _not_null(payload.dict(exclude_unset=partial), set())
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "department_id":
            department = Department.objects.filter(pk=value).first()
            if department is None:
                raise _missing("department_id", value)
            data["department"] = department
        elif key == "member_ids":
            wanted = set(value)
            members = list(User.objects.filter(pk__in=wanted, is_active=True))
            unknown = sorted(wanted - {member.pk for member in members})
            if unknown:
                raise _missing("member_ids", ", ".join(str(pk) for pk in unknown))
            data["members"] = members
        else:
            data[key] = value
    return data


def _group_out(group_id: int) -> TicketGroup:
    return selectors.ticket_groups(active_only=False).get(pk=group_id)


@router.get("/ticket-groups", response={200: list[TicketGroupOut], **ERR}, tags=["tickets"])
def list_ticket_groups(request: ApiRequest, include_inactive: bool = False) -> list[TicketGroup]:
    _need(request, "tickets.view_ticketgroup")
    return list(selectors.ticket_groups(active_only=not include_inactive)[:500])


@router.post("/ticket-groups", response={201: TicketGroupOut, **ERR}, tags=["tickets"])
def create_ticket_group(request: ApiRequest, payload: TicketGroupIn) -> Status[TicketGroup]:
    _need(request, "tickets.add_ticketgroup")
    group = services.ticket_group_save(actor=request.user, data=_group_data(payload, partial=False))
    return Status(201, _group_out(group.pk))


@router.patch("/ticket-groups/{group_id}", response={200: TicketGroupOut, **ERR}, tags=["tickets"])
def update_ticket_group(request: ApiRequest, group_id: int, payload: TicketGroupPatch) -> TicketGroup:
    _need(request, "tickets.view_ticketgroup")
    group = TicketGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound()
    _need(request, "tickets.change_ticketgroup")
    services.ticket_group_save(actor=request.user, data=_group_data(payload, partial=True), group=group)
    return _group_out(group.pk)


@router.get("/sla-policies", response={200: list[SlaPolicyOut], **ERR}, tags=["policies"])
def list_sla_policies(request: ApiRequest) -> list[SlaPolicy]:
    _need(request, "tickets.view_slapolicy")
    return list(SlaPolicy.objects.prefetch_related("targets").order_by("-effective_from", "-id")[:100])


@router.get(
    "/sla-policies/current",
    response={200: SlaPolicyOut, **ERR},
    tags=["policies"],
    summary="The time limits in force today",
)
def current_sla_policy(request: ApiRequest) -> SlaPolicy:
    _need(request, "tickets.view_slapolicy")
    policy = sla.policy_in_force()
    if policy is None:
        raise NotFound(_("No time limits are in force."))
    return policy


@router.post(
    "/sla-policies",
    response={201: SlaPolicyOut, **ERR},
    tags=["policies"],
    summary="A new version of the time limits from a date on",
)
def create_sla_policy(request: ApiRequest, payload: SlaPolicyIn) -> Status[SlaPolicy]:
    policy = services.sla_policy_create(
        actor=request.user,
        effective_from=payload.effective_from,
        at_risk_percent=payload.at_risk_percent,
        manager_after_minutes=payload.manager_after_minutes,
        targets=[target.dict() for target in payload.targets],
        note=payload.note,
    )
    return Status(201, policy)


# --- notifications ------------------------------------------------------------------------------


@router.get("/notifications", response={200: NotificationPage, **ERR}, tags=["notifications"])
def list_notifications(request: ApiRequest, page: Query[PageIn], unread: bool = False) -> dict[str, Any]:
    """My own notifications, newest first."""
    mine = Notification.objects.filter(recipient=request.user)
    if unread:
        mine = mine.filter(read_at__isnull=True)
    return {
        "count": mine.count(),
        "unread": unread_count(request.user),
        "items": list(mine.order_by("-created_at", "-id")[page.offset : page.offset + page.limit]),
    }


@router.post("/notifications/read", response={200: MarkedOut, **ERR}, tags=["notifications"])
def mark_notifications_read(request: ApiRequest, payload: NotificationsReadIn) -> dict[str, int]:
    return {"marked": notifications_mark_read(actor=request.user, ids=payload.ids)}
