from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    # Permissions exist only after post_migrate; role groups are set up from them here.
    from .services import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        # No sender: it must run after the last app's migrations, when every app's
        # permissions exist (it is idempotent, so running after each app is harmless).
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.roles_sync")
        # Audit log: who changed a customer's credit terms or a subsidiary's service level.
        from auditlog.registry import auditlog

        auditlog.register(self.get_model("Company"),
                          include_fields=["credit_limit", "payment_terms_days", "is_active"])
        auditlog.register(self.get_model("Organization"),
                          include_fields=["service_level_hours", "dealer_window_hours",
                                          "is_active"])
