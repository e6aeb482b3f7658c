"""Events other parts of Kefu listen to, so tickets never import them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the transaction that closed a complaint commits, with `ticket_id` and `closed_at`.
# Return visits plan the evaluation visit (now) and the follow-up (a month later) from it.
complaint_closed = Signal()

# Sent after the transaction that closed any ticket commits, with `ticket_id` and `closed_at`.
# Satisfaction surveys send their evaluation form from it when a survey template asks for it.
ticket_closed = Signal()
