"""Huey jobs of member care messaging: thin wrappers over the services, taking ids, idempotent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kefu.messaging import care, services


@db_task(retries=3, retry_delay=60)
def deliver_message(message_id: int) -> str:
    """One message; a failure that may pass (timeout, flow control) is retried by Huey."""
    return services.message_deliver(message_id)


@db_task()
def send_campaign_chunk(campaign_id: int, first_id: int, last_id: int) -> int:
    return services.campaign_send_chunk(campaign_id, first_id, last_id).sent


@db_periodic_task(crontab(minute="*/15"))
def member_care_daily() -> bool:
    """Runs every quarter hour; greets once the policy's send time has come, and only once a day."""
    return care.care_run_daily().ran


@db_periodic_task(crontab(minute="*/10"))
def resume_stalled_campaigns() -> int:
    return services.campaigns_resume_stalled()
