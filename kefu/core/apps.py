from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kefu.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from auditlog import get_logentry_model
        from django.apps import apps
        from django.db.models.signals import post_delete, post_save, pre_save

        from kefu.core import history, policy_cache
        from kefu.core.models import EffectiveDatedPolicy

        # Who made each change and from where (see core.history): one receiver for the process.
        pre_save.connect(history.fill_history_entry, sender=get_logentry_model(), dispatch_uid="kefu-history")

        # Policies kept per process, and the rows that are part of a version, drop the kept copies
        # when one is saved or deleted.
        for model in apps.get_models():
            if issubclass(model, EffectiveDatedPolicy) and model.kept_in_process:
                watched = [model, *(model._meta.get_field(name).related_model for name in model.kept_parts)]
                for sender in watched:
                    post_save.connect(
                        policy_cache.policy_changed, sender=sender, dispatch_uid=f"kept-{sender._meta.label}"
                    )
                    post_delete.connect(
                        policy_cache.policy_changed,
                        sender=sender,
                        dispatch_uid=f"kept-del-{sender._meta.label}",
                    )
