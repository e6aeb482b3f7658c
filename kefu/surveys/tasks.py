"""Huey jobs of the surveys: thin wrappers over services, idempotent, taking ids."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from kefu.surveys import services


@db_task(retries=3, retry_delay=60)
def deliver_invitation(invitation_id: int) -> str:
    return services.invitation_deliver(invitation_id)


@db_task()
def run_send(sending_id: int) -> int:
    sending = services.survey_send_run(sending_id)
    return sending.done if sending else 0


@db_task(retries=2, retry_delay=60)
def invite_after_ticket_closed(ticket_id: int) -> int:
    return len(services.surveys_after_ticket_closed(ticket_id))
