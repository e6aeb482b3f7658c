from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kefu.surveys"
    label = "surveys"
    verbose_name = _("Satisfaction surveys")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from kefu.surveys import models
        from kefu.surveys.signals import connect

        auditlog.register(models.SurveyTemplate, exclude_fields=["updated_at"])
        auditlog.register(models.SurveyPolicy)
        auditlog.register(
            models.SurveyInvitation, exclude_fields=["updated_at", "key", "delivery_text", "delivered_at"]
        )
        auditlog.register(models.SurveyResponse)
        connect()
