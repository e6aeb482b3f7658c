"""Writes of the monthly complaint cause analysis: written, submitted, approved or sent back.

Transitions (state × action → state, who): draft —submit→ submitted (the writer's right),
submitted —approve→ approved and submitted —return→ draft (the manager's right). Every change
is in the audit log; a stale version is a Conflict.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, User
from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.core.history import acting
from kefu.core.notifications import notify
from kefu.core.permissions import require_perm
from kefu.core.scoping import scope_of
from kefu.tickets.models import CauseAnalysisState, ComplaintCauseAnalysis

CAUSE_TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    (CauseAnalysisState.DRAFT, "submit"): (
        CauseAnalysisState.SUBMITTED,
        "tickets.change_complaintcauseanalysis",
    ),
    (CauseAnalysisState.SUBMITTED, "approve"): (
        CauseAnalysisState.APPROVED,
        "tickets.approve_complaintcauseanalysis",
    ),
    (CauseAnalysisState.SUBMITTED, "return"): (
        CauseAnalysisState.DRAFT,
        "tickets.approve_complaintcauseanalysis",
    ),
}


def analysis_url(analysis: ComplaintCauseAnalysis) -> str:
    query = f"?period=month&month={analysis.month:%Y-%m}"
    if analysis.department_id:
        query += f"&department={analysis.department_id}"
    return f"/tickets/reports/complaints/{query}"


def _check_department(actor: User, department: Department | None) -> None:
    """One writes for a department of one's data scope; the all-department analysis needs all."""
    scope = scope_of(actor)
    if scope.everything:
        return
    if department is None:
        raise PermissionDenied(_("Only those who see every department write the analysis for all of them."))
    if department.pk not in scope.department_ids:
        raise PermissionDenied(_("This department is outside your data scope."))


def _lock(analysis: ComplaintCauseAnalysis, version: int | None) -> ComplaintCauseAnalysis:
    locked = ComplaintCauseAnalysis.objects.select_for_update().get(pk=analysis.pk)
    if version is not None and locked.version != version:
        raise Conflict()
    return locked


def _save(analysis: ComplaintCauseAnalysis, actor: User) -> None:
    analysis.version += 1
    with acting(actor):
        analysis.save()


@transaction.atomic
def cause_analysis_save(
    *,
    actor: User,
    month: dt.date,
    department: Department | None,
    causes: str,
    proposals: str,
    follow_up_owner: User | None = None,
    analysis: ComplaintCauseAnalysis | None = None,
    version: int | None = None,
) -> ComplaintCauseAnalysis:
    """Write the month's analysis, or change a draft of it."""
    require_perm(
        actor,
        "tickets.change_complaintcauseanalysis" if analysis else "tickets.add_complaintcauseanalysis",
    )
    errors: dict[str, list[str]] = {}
    month = month.replace(day=1)
    if month > timezone.localdate().replace(day=1):
        errors["month"] = [_("A month that has not begun cannot be analysed.")]
    causes = str(causes or "").strip()[:20000]
    proposals = str(proposals or "").strip()[:20000]
    if not causes:
        errors["causes"] = [_("Describe the main causes of the month's complaints.")]
    if not proposals:
        errors["proposals"] = [_("Write at least one proposal for improvement.")]
    if follow_up_owner is not None and not follow_up_owner.is_active:
        errors["follow_up_owner"] = [_("This person is no longer active.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    if analysis is None:
        _check_department(actor, department)
        target = ComplaintCauseAnalysis(month=month, department=department, written_by=actor)
        target.version = 0
    else:
        _check_department(actor, analysis.department)
        target = _lock(analysis, version)
        if target.state != CauseAnalysisState.DRAFT:
            raise Conflict(
                _("Only a draft can be changed; this analysis is “%(state)s”.")
                % {"state": target.get_state_display()},
                code="not_draft",
            )
    target.causes, target.proposals, target.follow_up_owner = causes, proposals, follow_up_owner
    try:
        with transaction.atomic():
            _save(target, actor)
    except IntegrityError as exc:
        raise Conflict(
            _("The analysis of this month and department exists already; open it to change it."),
            code="exists",
        ) from exc
    return target


@transaction.atomic
def cause_analysis_transition(
    *, actor: User, analysis: ComplaintCauseAnalysis, action: str, note: str = "", version: int | None = None
) -> ComplaintCauseAnalysis:
    """Submit for approval, approve, or send back with the manager's note."""
    locked = _lock(analysis, version)
    step = CAUSE_TRANSITIONS.get((locked.state, action))
    if step is None:
        raise Conflict(
            _("An analysis that is “%(state)s” cannot do “%(action)s”.")
            % {"state": locked.get_state_display(), "action": action},
            code="invalid_transition",
        )
    target, permission = step
    require_perm(actor, permission)
    if action == "submit":
        _check_department(actor, locked.department)
    note = str(note or "").strip()[:5000]
    if action == "return" and not note:
        raise ValidationFailed(_("Say what to change."), detail={"note": [_("This field is required.")]})
    if action in ("approve", "return") and locked.written_by_id == actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("You cannot approve your own analysis."))
    now = timezone.now()
    locked.state = target
    if action == "submit":
        locked.submitted_at = now
    elif action == "approve":
        locked.approved_by, locked.approved_at, locked.decision_note = actor, now, note
    else:
        locked.decision_note = note
    _save(locked, actor)
    url = analysis_url(locked)
    if action == "submit":
        managers = [
            user
            for user in User.objects.filter(is_active=True, groups__role__code="manager").distinct()
            if user.has_perm("tickets.approve_complaintcauseanalysis")
        ]
        message = _("The complaint cause analysis of %(month)s awaits your approval.") % {
            "month": f"{locked.month:%Y-%m}"
        }
        transaction.on_commit(lambda: notify(managers, message, url=url))
    else:
        writer = locked.written_by
        message = (
            _("Your complaint cause analysis of %(month)s was approved.")
            if action == "approve"
            else _("Your complaint cause analysis of %(month)s was sent back: %(note)s")
        ) % {"month": f"{locked.month:%Y-%m}", "note": note}
        transaction.on_commit(lambda: notify([writer], message, url=url))
    return locked
