"""Huey jobs of the archive: thin wrappers that take ids and call services."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kefu.customers import services


@db_task()
def recompute_tiers(policy_id: int) -> int:
    return services.customers_recompute_tiers(policy_id=policy_id)


@db_task()
def run_customer_import(import_id: int) -> None:
    from kefu.customers.importing import customer_import_run

    customer_import_run(import_id=import_id)


@db_periodic_task(crontab(hour="0", minute="10"))
def apply_tier_policy_in_force() -> int:
    """A policy version saved with a future date takes effect on that date."""
    return services.customers_recompute_tiers()
