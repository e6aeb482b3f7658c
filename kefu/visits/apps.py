from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kefu.visits"
    label = "visits"
    verbose_name = _("Return visits")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from kefu.customers.signals import customer_lost, tier_changed, trade_recorded
        from kefu.tickets.signals import complaint_closed
        from kefu.visits import models, receivers

        auditlog.register(
            models.Visit, exclude_fields=["updated_at", "version", "next_attempt_at", "answers", "dedupe_key"]
        )
        auditlog.register(models.CadencePolicy)
        auditlog.register(models.RetryPolicy)
        auditlog.register(models.VisitScript, exclude_fields=["updated_at"])
        complaint_closed.connect(receivers.on_complaint_closed, dispatch_uid="visits.complaint_closed")
        tier_changed.connect(receivers.on_tier_changed, dispatch_uid="visits.tier_changed")
        trade_recorded.connect(receivers.on_trade_recorded, dispatch_uid="visits.trade_recorded")
        customer_lost.connect(receivers.on_customer_lost, dispatch_uid="visits.customer_lost")
