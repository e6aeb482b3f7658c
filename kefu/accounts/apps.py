from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kefu.accounts"
    label = "accounts"
    verbose_name = _("Staff and permissions")

    def ready(self) -> None:
        from kefu.accounts import roles, signals  # noqa: F401 - connects receivers

        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="kefu.accounts.sync_roles")

        from kefu.accounts.access import connect_receivers

        connect_receivers()

        from auditlog.registry import auditlog

        from kefu.accounts import models

        auditlog.register(
            models.User, exclude_fields=["password", "last_login", "date_joined"], m2m_fields={"groups"}
        )
        auditlog.register(models.Department)
        auditlog.register(models.Role, exclude_fields=["granted_defaults"], m2m_fields={"scope_departments"})
        auditlog.register(models.StaffGrade)
