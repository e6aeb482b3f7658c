"""The return visits' JSON API. Every endpoint calls a selector or a service; none writes a model.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from kefu.accounts.models import User
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS
from kefu.customers import selectors as customer_selectors
from kefu.visits import selectors, services
from kefu.visits.models import CadencePolicy, RetryPolicy, Visit, VisitEvent, VisitScript
from kefu.visits.schemas import (
    ActivityIn,
    AttemptIn,
    BulkCreateIn,
    BulkCreateOut,
    CadencePolicyIn,
    CadencePolicyOut,
    RetryPolicyIn,
    RetryPolicyOut,
    ScriptOut,
    ScriptPatch,
    StatsIn,
    StatsOut,
    VisitAssignIn,
    VisitBulkAssignIn,
    VisitBulkOut,
    VisitEventOut,
    VisitEventPage,
    VisitFilterIn,
    VisitIn,
    VisitNoteIn,
    VisitOut,
    VisitPage,
    VisitPageIn,
    VisitQueueCountsOut,
)

router = Router(tags=["visits"])
ERR = ERRORS


class ApiRequest(HttpRequest):
    user: User


def _need(request: ApiRequest, perm: str) -> None:
    require_perm(request.user, perm)


def _visit(request: ApiRequest, visit_id: int) -> Visit:
    _need(request, "visits.view_visit")
    visit = selectors.visit_get(request.user, visit_id)
    if visit is None:
        raise NotFound()
    return visit


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


def _customer(request: ApiRequest, pk: int) -> Any:
    customer = customer_selectors.customer_get(user=request.user, pk=pk)
    if customer is None:
        raise _missing("customer_id", pk)
    return customer


@router.get("/visits", response={200: VisitPage, **ERR}, summary="Search, filter and page through visits")
def list_visits(request: ApiRequest, filters: Query[VisitFilterIn]) -> dict[str, Any]:
    _need(request, "visits.view_visit")
    params = filters.dict(exclude={"limit", "offset"})
    queryset = selectors.visit_filter(request.user, params)
    items = list(queryset[filters.offset : filters.offset + filters.limit])
    return {"count": queryset.count(), "items": items}


@router.post(
    "/visits", response={201: VisitOut, **ERR}, summary="Plan a visit by hand or after a field service"
)
def create_visit(request: ApiRequest, payload: VisitIn) -> Status[Visit]:
    _need(request, "visits.add_visit")
    data = services.VisitInput(
        customer=_customer(request, payload.customer_id),
        purpose=payload.purpose,
        source=payload.source,
        reference=payload.reference,
        due_on=payload.due_on,
        deadline=payload.deadline,
        assignee=_user(payload.assignee_id, "assignee_id"),
        role=payload.role,
        note=payload.note,
    )
    visit = services.visit_create(actor=request.user, data=data)
    return Status(201, _visit(request, visit.pk))


@router.get(
    "/visits/queues", response={200: VisitQueueCountsOut, **ERR}, summary="Open visits per list for me"
)
def visit_queue_counts(request: ApiRequest) -> dict[str, int]:
    _need(request, "visits.view_visit")
    return selectors.queue_counts(request.user)


@router.get("/visits/stats", response={200: StatsOut, **ERR}, summary="Completion rate per person and tier")
def visit_stats(request: ApiRequest, period: Query[StatsIn]) -> dict[str, Any]:
    _need(request, "visits.view_visit_stats")
    stats = selectors.completion_stats(request.user, period.year, period.month)

    def rows(items: list[selectors.RateRow]) -> list[dict[str, Any]]:
        return [
            {"key": str(r.key or ""), "label": r.label, "due": r.due, "done": r.done, "rate": r.rate}
            for r in items
        ]

    return {
        "year": period.year,
        "month": period.month,
        "people": rows(stats["people"]),
        "tiers": rows(stats["tiers"]),
    }


@router.post(
    "/visits/activities",
    response={201: VisitOut, **ERR},
    summary="Record a briefing, invitation, company news or newsletter given to a customer",
)
def record_activity(request: ApiRequest, payload: ActivityIn) -> Status[Visit]:
    _need(request, "visits.change_visit")
    visit = services.visit_record_activity(
        actor=request.user,
        customer=_customer(request, payload.customer_id),
        purpose=payload.purpose,
        summary=payload.summary,
        channel=payload.channel,
        happened_at=payload.happened_at,
    )
    return Status(201, _visit(request, visit.pk))


@router.post(
    "/visits/bulk/assign",
    response={200: VisitBulkOut, **ERR},
    summary="Give many visits to one person; each id is done or failed",
)
def bulk_assign(request: ApiRequest, payload: VisitBulkAssignIn) -> dict[str, Any]:
    _need(request, "visits.bulk_visit")
    assignee = _user(payload.assignee_id, "assignee_id")
    assert assignee is not None
    ids = list(dict.fromkeys(payload.ids))
    result = services.visits_bulk_assign(
        actor=request.user, visit_ids=ids, assignee=assignee, note=payload.note
    )
    not_found = str(_("The record does not exist or is not visible to you."))
    failed = [{"id": pk, "message": result.failed.get(pk, not_found)} for pk in ids if pk not in result.done]
    return {"done": result.done, "failed": failed}


@router.post(
    "/visits/bulk/create",
    response={200: BulkCreateOut, **ERR},
    summary="Plan one visit per customer of a filtered customer list (preview: count only)",
)
def bulk_create(request: ApiRequest, payload: BulkCreateIn) -> dict[str, int]:
    _need(request, "visits.bulk_visit")
    customers = customer_selectors.customer_list(
        user=request.user,
        filters=customer_selectors.CustomerFilters(
            q=payload.q,
            tier=payload.tier,
            lifecycle=payload.lifecycle,
            department=payload.department,
            owner=payload.owner,
            is_vip=payload.is_vip,
            province=payload.province,
        ),
    )
    if payload.preview:
        return {"count": customers.count(), "created": 0}
    created = services.visits_bulk_create(
        actor=request.user,
        customers=customers,
        purpose=payload.purpose,
        due_on=payload.due_on,
        deadline=payload.deadline,
        assignee=_user(payload.assignee_id, "assignee_id"),
        note=payload.note,
    )
    return {"count": created, "created": created}


@router.get("/visits/{visit_id}", response={200: VisitOut, **ERR}, summary="One visit with its answers")
def get_visit(request: ApiRequest, visit_id: int) -> Visit:
    return _visit(request, visit_id)


@router.get(
    "/visits/{visit_id}/events", response={200: VisitEventPage, **ERR}, summary="The visit's timeline"
)
def visit_events(request: ApiRequest, visit_id: int, page: Query[VisitPageIn]) -> dict[str, Any]:
    events = selectors.visit_timeline(_visit(request, visit_id))
    return {"count": events.count(), "items": list(events[page.offset : page.offset + page.limit])}


@router.post(
    "/visits/{visit_id}/attempts",
    response={201: VisitEventOut, **ERR},
    summary="Record a call and its outcome (a stale version answers 409)",
)
def record_attempt(request: ApiRequest, visit_id: int, payload: AttemptIn) -> Status[VisitEvent]:
    visit = _visit(request, visit_id)
    issue = services.Issue(**payload.issue.dict()) if payload.issue is not None else None
    data = services.AttemptInput(
        outcome=payload.outcome,
        note=payload.note,
        booked_at=payload.booked_at,
        answers=[item.dict() for item in payload.answers],
        satisfaction=payload.satisfaction,
        summary=payload.summary,
        issue=issue,
        channel=payload.channel,
    )
    visit = services.visit_record_attempt(actor=request.user, visit=visit, data=data, version=payload.version)
    return Status(201, visit.events.filter(kind="attempt").order_by("-at", "-id").first())


@router.post(
    "/visits/{visit_id}/assign", response={200: VisitOut, **ERR}, summary="Give the visit to someone"
)
def assign_visit(request: ApiRequest, visit_id: int, payload: VisitAssignIn) -> Visit:
    assignee = _user(payload.assignee_id, "assignee_id")
    assert assignee is not None
    services.visit_assign(
        actor=request.user,
        visit=_visit(request, visit_id),
        assignee=assignee,
        note=payload.note,
        version=payload.version,
    )
    return _visit(request, visit_id)


@router.post("/visits/{visit_id}/cancel", response={200: VisitOut, **ERR}, summary="Cancel an open visit")
def cancel_visit(request: ApiRequest, visit_id: int, payload: VisitNoteIn) -> Visit:
    services.visit_transition(
        actor=request.user,
        visit=_visit(request, visit_id),
        action="cancel",
        note=payload.note,
        version=payload.version,
    )
    return _visit(request, visit_id)


@router.post("/visits/{visit_id}/reopen", response={200: VisitOut, **ERR}, summary="Reopen a cancelled visit")
def reopen_visit(request: ApiRequest, visit_id: int, payload: VisitNoteIn) -> Visit:
    services.visit_transition(
        actor=request.user,
        visit=_visit(request, visit_id),
        action="reopen",
        note=payload.note,
        version=payload.version,
    )
    return _visit(request, visit_id)


# --- policies and scripts ------------------------------------------------------------------------


def _cadence_out(policy: CadencePolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "effective_from": policy.effective_from,
        "rules": [
            {"code": r.code, "role": r.role, "tiers": r.tiers, "every_months": r.every_months}
            for r in policy.rule_list()
        ],
        "follow_up_months": policy.follow_up_months,
        "purchase_delay_days": policy.purchase_delay_days,
        "win_back_delay_days": policy.win_back_delay_days,
        "open_days": policy.open_days,
        "note": policy.note,
    }


@router.get(
    "/visit-policies/cadence",
    response={200: list[CadencePolicyOut], **ERR},
    summary="Cadence policy versions",
)
def cadence_policies(request: ApiRequest, page: Query[VisitPageIn]) -> list[dict[str, Any]]:
    _need(request, "visits.view_cadencepolicy")
    versions = CadencePolicy.objects.prefetch_related("rules")[page.offset : page.offset + page.limit]
    return [_cadence_out(policy) for policy in versions]


@router.get(
    "/visit-policies/cadence/current", response={200: CadencePolicyOut, **ERR}, summary="The cadence in force"
)
def cadence_current(request: ApiRequest) -> dict[str, Any]:
    _need(request, "visits.view_cadencepolicy")
    return _cadence_out(CadencePolicy.in_force())


@router.post(
    "/visit-policies/cadence", response={201: CadencePolicyOut, **ERR}, summary="A new cadence policy version"
)
def create_cadence(request: ApiRequest, payload: CadencePolicyIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    policy = services.cadence_policy_create(actor=request.user, **data)
    return Status(201, _cadence_out(policy))


def _retry_out(policy: RetryPolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "effective_from": policy.effective_from,
        "attempts_before_callback": policy.attempts_before_callback,
        "retry_delay_minutes": policy.retry_delay_minutes,
        "callback_within_hours": policy.callback_within_hours,
        "note": policy.note,
    }


@router.get(
    "/visit-policies/retry/current", response={200: RetryPolicyOut, **ERR}, summary="The retry rule in force"
)
def retry_current(request: ApiRequest) -> dict[str, Any]:
    _need(request, "visits.view_retrypolicy")
    return _retry_out(RetryPolicy.in_force())


@router.post(
    "/visit-policies/retry", response={201: RetryPolicyOut, **ERR}, summary="A new retry policy version"
)
def create_retry(request: ApiRequest, payload: RetryPolicyIn) -> Status[dict[str, Any]]:
    policy = services.retry_policy_create(actor=request.user, **payload.dict())
    return Status(201, _retry_out(policy))


@router.get(
    "/visit-scripts", response={200: list[ScriptOut], **ERR}, summary="The visit scripts, one per purpose"
)
def list_scripts(request: ApiRequest) -> list[VisitScript]:
    _need(request, "visits.view_visitscript")
    return list(VisitScript.objects.all())


@router.patch("/visit-scripts/{script_id}", response={200: ScriptOut, **ERR}, summary="Edit a visit script")
def update_script(request: ApiRequest, script_id: int, payload: ScriptPatch) -> VisitScript:
    _need(request, "visits.view_visitscript")
    script = VisitScript.objects.filter(pk=script_id).first() if 0 < script_id < 2**63 else None
    if script is None:
        raise NotFound()
    data = {key: value for key, value in payload.dict(exclude_unset=True).items() if value is not None}
    return services.visit_script_save(actor=request.user, purpose=script.purpose, data=data)
