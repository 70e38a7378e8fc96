from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealersConfig(AppConfig):
    name = "dealers"
    verbose_name = _("Dealers")

    def ready(self):
        # Audit log: who changed a dealer's commission rates or marked a statement paid.
        from auditlog.registry import auditlog

        auditlog.register(self.get_model("Dealer"),
                          include_fields=["base_rate", "won_rate", "priority", "is_active"])
        auditlog.register(self.get_model("CategoryRate"))
        auditlog.register(self.get_model("Statement"),
                          include_fields=["status", "paid_at", "paid_by"])
