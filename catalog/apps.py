from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self):
        # Audit log of staff changes to prices (the price history keeps every tier too).
        from auditlog.registry import auditlog

        auditlog.register(self.get_model("PriceList"))
        auditlog.register(self.get_model("PriceTier"))
