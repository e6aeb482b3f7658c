from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kefu.tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from kefu.tickets import models

        auditlog.register(
            models.Ticket,
            exclude_fields=[
                "updated_at",
                "version",
                "sla_at_risk_at",
                "sla_breach_at",
                "sla_manager_at",
                "first_response_due_at",
                "resolution_due_at",
                # The reverse side of the after-sales case, which keeps its own history: diffing it
                # cost every new ticket a query.
                "after_sales",
                "resolution_minutes",
            ],
        )
        auditlog.register(models.AfterSalesCase, exclude_fields=["updated_at"])
        auditlog.register(models.SlaPolicy)
        auditlog.register(models.CannedReply, exclude_fields=["updated_at"])
        auditlog.register(
            models.TicketGroup, exclude_fields=["updated_at", "last_assignee"], m2m_fields={"members"}
        )
        auditlog.register(models.ComplaintCategory)
        auditlog.register(models.ComplaintCauseAnalysis, exclude_fields=["updated_at", "version"])
