"""Events other parts of Kefu listen to, so the archive never imports them.

Each is sent after the transaction that made the change commits (never for a rolled-back one).
"""

from __future__ import annotations

from django.dispatch import Signal

# `customer_id`, `old_tier`, `new_tier`: return visits keep the tier cadence in step.
tier_changed = Signal()
# `customer_id`, `trade_id`, `kind`: a purchase plans an after-purchase visit.
trade_recorded = Signal()
# `customer_id`: the lifecycle became "lost"; a visit tries to win the customer back.
customer_lost = Signal()
