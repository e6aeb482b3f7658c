"""Huey jobs of return visits: thin wrappers over services, idempotent, taking ids."""

from __future__ import annotations

import datetime as dt

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kefu.visits import services


@db_periodic_task(crontab(hour="0", minute="30"))
def plan_due_visits() -> services.PlanResult:
    """Daily, after the tier policy job (00:10): the cadence's visits for the current periods."""
    return services.visits_plan_due()


@db_task(retries=3, retry_delay=60)
def plan_complaint_visits(ticket_id: int, closed_at: str) -> int:
    return len(
        services.visits_for_closed_complaint(
            ticket_id=ticket_id, closed_at=dt.datetime.fromisoformat(closed_at)
        )
    )


@db_task(retries=3, retry_delay=60)
def sync_customer_visits(customer_id: int) -> services.PlanResult:
    return services.visits_sync_customer(customer_id=customer_id)


@db_task(retries=3, retry_delay=60)
def plan_purchase_visit(customer_id: int, trade_id: int) -> bool:
    return services.visit_for_purchase(customer_id=customer_id, trade_id=trade_id) is not None


@db_task(retries=3, retry_delay=60)
def plan_win_back_visit(customer_id: int) -> bool:
    return services.visit_for_lost_customer(customer_id=customer_id) is not None
