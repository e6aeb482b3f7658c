"""Time limits (SLA) in working time: which target applies, and the deadlines it gives a ticket.

A ticket's deadlines are always `opened + limit + time waited for the customer`, all in working
time (core.calendar), so pausing, resuming and a change of priority recompute them the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from kefu.core import calendar
from kefu.core.models import WorkingHours
from kefu.tickets.models import SlaPolicy, SlaTarget, Ticket

# When no target row matches at all (a manager deleted them all): a working day to answer, five
# to resolve, rather than a ticket without limits.
FALLBACK_FIRST_RESPONSE = 8 * 60
FALLBACK_RESOLUTION = 5 * 8 * 60


@dataclass(frozen=True)
class Limits:
    first_response_minutes: int
    resolution_minutes: int


def policy_in_force(on: dt.date | None = None) -> SlaPolicy | None:
    policy = SlaPolicy.in_force(on)
    return policy if policy.pk else None


def limits_for(policy: SlaPolicy | None, *, kind: str, priority: str, tier: str) -> Limits:
    """The rows matching the most of kind, priority and tier; among equals, the strictest limits.

    So an urgent suggestion gets the urgent limit, a tier-A inquiry the faster of the tier-A and
    inquiry limits, and the all-empty default row applies only when nothing else matches.
    """
    if policy is None:
        return Limits(FALLBACK_FIRST_RESPONSE, FALLBACK_RESOLUTION)
    matching: list[SlaTarget] = [
        target
        for target in policy.targets.all()
        if (not target.kind or target.kind == kind)
        and (not target.priority or target.priority == priority)
        and (not target.tier or target.tier == tier)
    ]
    if not matching:
        return Limits(FALLBACK_FIRST_RESPONSE, FALLBACK_RESOLUTION)
    best = max(target.specificity() for target in matching)
    chosen = [target for target in matching if target.specificity() == best]
    return Limits(
        min(target.first_response_minutes for target in chosen),
        min(target.resolution_minutes for target in chosen),
    )


def ticket_limits(ticket: Ticket) -> Limits:
    tier = ticket.customer.tier if ticket.customer_id and ticket.customer else ""
    return limits_for(ticket.sla_policy, kind=ticket.kind, priority=ticket.priority, tier=tier or "")


def schedule(ticket: Ticket) -> None:
    """Set the ticket's deadlines and the moments the periodic check acts on (not saved here)."""
    limits = ticket_limits(ticket)
    policy = ticket.sla_policy
    at_risk_share = (policy.at_risk_percent if policy else 80) / 100
    manager_after = dt.timedelta(minutes=policy.manager_after_minutes if policy else 120)
    start = ticket.created_at
    waited = dt.timedelta(minutes=ticket.paused_minutes)
    hours = WorkingHours.in_force()  # once, not once per deadline

    def after(minutes: float) -> dt.datetime:
        return calendar.add_working_time(start, dt.timedelta(minutes=minutes) + waited, hours=hours)

    ticket.first_response_due_at = after(limits.first_response_minutes)
    ticket.resolution_due_at = after(limits.resolution_minutes)
    if ticket.first_responded_at is None:
        ticket.sla_breach_at = min(ticket.first_response_due_at, ticket.resolution_due_at)
        ticket.sla_at_risk_at = after(limits.first_response_minutes * at_risk_share)
    else:
        ticket.sla_breach_at = ticket.resolution_due_at
        ticket.sla_at_risk_at = after(limits.resolution_minutes * at_risk_share)
    ticket.sla_manager_at = calendar.add_working_time(ticket.sla_breach_at, manager_after, hours=hours)


def pause(ticket: Ticket, *, now: dt.datetime | None = None) -> None:
    ticket.paused_at = now or timezone.now()


def resume(ticket: Ticket, *, now: dt.datetime | None = None) -> None:
    """Add the working time spent waiting for the customer and move the deadlines on by it."""
    if ticket.paused_at is None:
        return
    waited = calendar.working_time_between(ticket.paused_at, now or timezone.now())
    ticket.paused_minutes += int(waited.total_seconds() // 60)
    ticket.paused_at = None
    schedule(ticket)


def remaining(
    ticket: Ticket, *, now: dt.datetime | None = None, hours: WorkingHours | None = None
) -> dt.timedelta | None:
    """Working time left before the next deadline (negative once breached); None when not running.

    A list passes the working hours it read once, so its rows cost no query each.
    """
    if not ticket.is_active or ticket.sla_breach_at is None:
        return None
    now = ticket.paused_at or now or timezone.now()
    if now <= ticket.sla_breach_at:
        return calendar.working_time_between(now, ticket.sla_breach_at, hours=hours)
    return -calendar.working_time_between(ticket.sla_breach_at, now, hours=hours)


def resolution_minutes(ticket: Ticket, *, hours: WorkingHours | None = None) -> int | None:
    """Working minutes from opening to resolution, less the working time waited for the customer."""
    if ticket.resolved_at is None:
        return None
    worked = calendar.working_time_between(ticket.created_at, ticket.resolved_at, hours=hours)
    return max(0, int(worked.total_seconds() // 60) - ticket.paused_minutes)
