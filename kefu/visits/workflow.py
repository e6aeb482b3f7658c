"""The visit's one transition table (DESIGN rule 7): state × action → new state, and the right it needs.

An unanswered attempt (no answer, busy) keeps the visit open for a retry; the service turns it
into a call-back task once the retry policy's limit is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from kefu.visits.models import OPEN_STATES, Outcome, VisitState

WORK = "visits.change_visit"
PLAN = "visits.assign_visit"


@dataclass(frozen=True)
class Transition:
    target: str
    permission: str
    label: Any
    needs_note: bool = False


TRANSITIONS: dict[tuple[str, str], Transition] = {}
for _state in OPEN_STATES:
    TRANSITIONS[(_state, Outcome.REACHED)] = Transition(VisitState.DONE, WORK, _("Reached"))
    TRANSITIONS[(_state, Outcome.NO_ANSWER)] = Transition(VisitState.PLANNED, WORK, _("No answer"))
    TRANSITIONS[(_state, Outcome.BUSY)] = Transition(VisitState.PLANNED, WORK, _("Busy"))
    TRANSITIONS[(_state, Outcome.WRONG_NUMBER)] = Transition(VisitState.FAILED, WORK, _("Wrong number"))
    TRANSITIONS[(_state, Outcome.CALL_LATER)] = Transition(VisitState.SCHEDULED, WORK, _("Call me at…"))
    TRANSITIONS[(_state, "cancel")] = Transition(VisitState.CANCELLED, PLAN, _("Cancel"), True)
for _state in (VisitState.FAILED, VisitState.CANCELLED):
    TRANSITIONS[(_state, "reopen")] = Transition(VisitState.PLANNED, PLAN, _("Reopen"), True)

UNANSWERED = (Outcome.NO_ANSWER, Outcome.BUSY)
OUTCOMES = [choice.value for choice in Outcome]
