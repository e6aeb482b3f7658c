"""Huey jobs of the tickets: thin wrappers over services, idempotent, taking ids."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kefu.tickets import outbound, services


@db_periodic_task(crontab(minute="*/5"))
def check_sla() -> services.SlaCheck:
    return services.tickets_check_sla()


@db_periodic_task(crontab(minute="20", hour="2"))
def measure_resolution() -> int:
    return services.tickets_measure_resolution()


@db_task(retries=3, retry_delay=60)
def deliver_reply(event_id: int) -> bool:
    return outbound.deliver_reply(event_id)
