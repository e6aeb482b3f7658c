"""The ticket's one transition table (DESIGN rule 7): state × action → new state, and the right it needs.

Complaints add their own conditions on top (approval before carrying out, classification before
closing), checked in `complaint_blockers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import (
    AfterSalesCase,
    AfterSalesType,
    ApprovalState,
    ComplaintStep,
    Ticket,
    TicketKind,
    TicketState,
)


@dataclass(frozen=True)
class Transition:
    target: str
    permission: str
    label: Any
    needs_note: bool = False


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (TicketState.OPEN, "wait"): Transition(
        TicketState.PENDING, "tickets.change_ticket", _("Wait for the customer")
    ),
    (TicketState.PENDING, "resume"): Transition(TicketState.OPEN, "tickets.change_ticket", _("Resume")),
    (TicketState.OPEN, "resolve"): Transition(
        TicketState.RESOLVED, "tickets.change_ticket", _("Resolve"), True
    ),
    (TicketState.PENDING, "resolve"): Transition(
        TicketState.RESOLVED, "tickets.change_ticket", _("Resolve"), True
    ),
    (TicketState.RESOLVED, "reopen"): Transition(
        TicketState.OPEN, "tickets.change_ticket", _("Reopen"), True
    ),
    (TicketState.OPEN, "close"): Transition(TicketState.CLOSED, "tickets.change_ticket", _("Close")),
    (TicketState.PENDING, "close"): Transition(TicketState.CLOSED, "tickets.change_ticket", _("Close")),
    (TicketState.RESOLVED, "close"): Transition(TicketState.CLOSED, "tickets.change_ticket", _("Close")),
    (TicketState.CLOSED, "reopen"): Transition(TicketState.OPEN, "tickets.reopen_ticket", _("Reopen"), True),
}

ACTIONS = sorted({action for _state, action in TRANSITIONS})


def available_actions(ticket: Ticket) -> list[tuple[str, Transition]]:
    return [(action, t) for (state, action), t in TRANSITIONS.items() if state == ticket.state]


def complaint_blockers(ticket: Ticket, action: str) -> str | None:
    """Why a complaint may not take this action yet, or None."""
    if not ticket.is_complaint:
        return None
    if action == "resolve" and ticket.complaint_step <= ComplaintStep.CARRY_OUT:
        if ticket.approval_state != ApprovalState.APPROVED:
            return str(_("The solution has not been approved by a supervisor yet (step 4)."))
        return str(_("Carry out the approved solution first (step 5)."))
    if action == "close" and ticket.complaint_step <= ComplaintStep.CLASSIFY:
        if ticket.approval_state != ApprovalState.APPROVED:
            return str(_("A complaint cannot be closed before a supervisor approves its solution (step 4)."))
        if ticket.category_id is None:
            return str(_("A complaint cannot be closed before it is classified (step 7)."))
        return str(_("Finish the complaint steps up to the classification (step 7) first."))
    return None


def after_sales_blockers(ticket: Ticket, action: str) -> str | None:
    """A return or exchange is resolved only with the checks of seed 002 recorded."""
    if ticket.kind != TicketKind.AFTER_SALES or action != "resolve":
        return None
    case = AfterSalesCase.objects.filter(ticket=ticket).first()
    if case is None:
        return str(_("Record the after-sales details first."))
    if case.case_type == AfterSalesType.NEGATIVE_REVIEW:
        return None
    if case.quality_problem is None:
        return str(_("Decide whether it is a quality problem: it decides who pays the shipping."))
    if case.quality_problem and not ticket.events.exclude(attachment="").exists():
        return str(_("A quality problem needs photos on the timeline as evidence."))
    if case.case_type in (AfterSalesType.RETURN, AfterSalesType.EXCHANGE) and case.product_intact is not True:
        return str(_("A return or exchange needs the product checked intact and re-sellable."))
    if case.case_type in (AfterSalesType.RETURN, AfterSalesType.EXCHANGE) and not case.return_tracking_number:
        return str(_("Record the return tracking number."))
    if case.case_type == AfterSalesType.EXCHANGE and not case.exchange_item:
        return str(_("Record the item the customer wants in exchange."))
    return None
