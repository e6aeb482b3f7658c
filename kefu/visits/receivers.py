"""Signal receivers: other apps' events become visits through Huey jobs (ids only, idempotent).

The signals are sent after the sender's transaction committed; a job that fails is retried by
Huey and never undoes (or breaks the page of) the ticket close or trade that sent it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def on_complaint_closed(sender: Any, ticket_id: int, closed_at: dt.datetime, **kwargs: Any) -> None:
    from kefu.visits.tasks import plan_complaint_visits

    plan_complaint_visits(ticket_id, closed_at.isoformat())


def on_tier_changed(sender: Any, customer_id: int, **kwargs: Any) -> None:
    from kefu.visits.tasks import sync_customer_visits

    sync_customer_visits(customer_id)


def on_trade_recorded(sender: Any, customer_id: int, trade_id: int, kind: str, **kwargs: Any) -> None:
    from kefu.customers.models import TradeKind
    from kefu.visits.tasks import plan_purchase_visit

    if kind == TradeKind.PURCHASE:
        plan_purchase_visit(customer_id, trade_id)


def on_customer_lost(sender: Any, customer_id: int, **kwargs: Any) -> None:
    from kefu.visits.tasks import plan_win_back_visit, sync_customer_visits

    plan_win_back_visit(customer_id)
    sync_customer_visits(customer_id)  # the routine visits of a lost customer are no longer due
