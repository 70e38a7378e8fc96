from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        # Audit log: who approved or rejected a licence, and what it said before.
        from auditlog.registry import auditlog

        auditlog.register(self.get_model("CompanyLicence"),
                          include_fields=["kind", "number", "valid_until", "status",
                                          "reviewed_by"])
