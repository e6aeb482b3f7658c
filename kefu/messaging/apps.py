from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kefu.messaging"
    verbose_name = _("Member care messaging")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from kefu.messaging import models

        auditlog.register(models.MessageTemplate, exclude_fields=["updated_at"])
        auditlog.register(
            models.Campaign, exclude_fields=["updated_at", "version", "sent_count", "failed_count"]
        )
        auditlog.register(models.OptOut, exclude_fields=["updated_at"])
        auditlog.register(models.MessagingPolicy)
        auditlog.register(models.CarePolicy)
        auditlog.register(models.HolidayGreeting, exclude_fields=["updated_at"])
