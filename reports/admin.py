"""Reports admin: the monthly sales targets and the channel spend that managers enter.

Scoped as the dealers admin is: the changelists start from `reports.selectors` (HQ sees the
group, a subsidiary manager the subsidiary's subtree), an id outside the scope answers 404,
and the organisation and CCO choices are narrowed to the same scope. The snapshots and
rollups are not here: they are computed, never edited by hand.
"""

from django.contrib import admin
from django.http import Http404

from accounts.admin import ScopedAdminMixin
from accounts.models import Role, User
from accounts.selectors import organizations_visible_to

from . import selectors
from .models import ChannelSpend, SalesTarget


class _Scoped(ScopedAdminMixin):
    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # outside the user's scope: as if it did not exist


def _report_organizations(user):
    sellers = selectors.report_sellers(user)
    return organizations_visible_to(user) if sellers is None else sellers


def ccos_choosable(user):
    """CCOs of the organisations `user` manages."""
    return (User.objects.filter(groups__name=Role.CCO, is_active=True,
                                organization__in=_report_organizations(user))
            .order_by("full_name", "email"))


@admin.register(SalesTarget)
class SalesTargetAdmin(_Scoped, admin.ModelAdmin):
    scope = staticmethod(selectors.sales_targets_visible_to)
    scoped_foreign_keys = {"organization": _report_organizations, "cco": ccos_choosable}
    list_display = ["month", "organization", "cco", "amount"]
    list_filter = ["month", "organization"]
    list_select_related = ["organization", "cco"]
    search_fields = ["organization__code", "organization__name_zh", "cco__full_name",
                     "cco__email"]
    date_hierarchy = "month"
    fields = ["month", "organization", "cco", "amount"]


@admin.register(ChannelSpend)
class ChannelSpendAdmin(_Scoped, admin.ModelAdmin):
    scope = staticmethod(selectors.channel_spend_visible_to)
    scoped_foreign_keys = {"organization": _report_organizations}
    list_display = ["month", "organization", "channel", "amount"]
    list_filter = ["month", "channel", "organization"]
    list_select_related = ["organization"]
    date_hierarchy = "month"
    fields = ["month", "organization", "channel", "amount"]
