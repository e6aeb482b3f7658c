from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kefu.customers"
    label = "customers"
    verbose_name = _("Customer archive")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from kefu.customers import models

        auditlog.register(
            models.Customer,
            exclude_fields=[
                "name_pinyin",
                "name_initials",
                "birthday_mmdd",
                "version",
                "updated_at",
                "last_trade_at",
                "last_contact_at",
            ],
        )
        auditlog.register(
            models.Contact,
            exclude_fields=["name_pinyin", "name_initials", "birthday_mmdd", "version", "updated_at"],
        )
        auditlog.register(models.CustomerDocument, exclude_fields=["updated_at", "sha256"])
        auditlog.register(models.TradeRecord, exclude_fields=["updated_at"])
        auditlog.register(models.ContactRecord, exclude_fields=["updated_at"])
        auditlog.register(models.BorrowRequest, exclude_fields=["updated_at"])
        auditlog.register(models.TierPolicy)
        auditlog.register(models.ChurnPolicy)
