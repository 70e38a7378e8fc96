"""The dealers' routing step: local service goes to a dealer of the seller.

Plugged into settings.INQUIRY_ROUTING_STEPS between `step_seller` and `step_cco`. It runs in
the intake transaction, only on first routing (an escalation or an inquiry a dealer gave back
stays with the subsidiary's CCOs), and only when the seller has a `RoutingRule`:

- the delivery city or province is in an active dealer's territory, the dealer serves the
  product's category, and
- the quantity is under the seller's direct-sale threshold, or the buyer asked for local
  service (then also for a chemical we do not list, whatever its category).

Where territories overlap: the higher priority, then the better acceptance and conversion of
the last 90 days, then the least recently routed, then the oldest dealer. The candidates are
locked (pk order) while choosing, so two intakes at once see each other's `last_routed_at`.
"""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.calendar import add_working_time
from accounts.selectors import calendar_rules
from chemmall.db import Prepared
from inquiries.routing import Decision
from orders.outbox import notify_message, outbox_enqueue_many

from . import selectors
from .models import Assignment, Dealer, RoutingRule

MAIL_DIR = "dealers/email"
NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _order_key(dealer: Dealer, scores: dict) -> tuple:
    acceptance, conversion = scores.get(dealer.pk, (0, 0))
    return (-dealer.priority, -acceptance, -conversion, dealer.last_routed_at or NEVER,
            dealer.pk)


def dealer_choose(*, seller_id: int, region, category_id: int | None,
                  now: datetime.datetime) -> tuple[Dealer | None, str]:
    """The dealer for an inquiry of `seller_id` delivered to `region`, and why (locked)."""
    candidates = list(selectors.dealers_covering(seller_id=seller_id, region=region,
                                                 category_id=category_id)
                      .order_by("pk"))
    if not candidates:
        return None, ""
    candidates = list(Dealer.objects.select_for_update().filter(
        pk__in=[d.pk for d in candidates]).order_by("pk"))
    scores = selectors.recent_scores([d.pk for d in candidates], now=now)
    chosen = min(candidates, key=lambda d: _order_key(d, scores))
    if len(candidates) == 1:
        reason = _("%(region)s is in the territory of the dealer %(dealer)s.") % {
            "region": region.name, "dealer": chosen.name}
    else:
        acceptance, conversion = scores.get(chosen.pk, (0, 0))
        reason = _("%(region)s is in the territories of %(n)s dealers: %(dealer)s chosen by "
                   "priority %(priority)s, then acceptance %(acceptance)s%% and conversion "
                   "%(conversion)s%% over 90 days, then the least recently routed.") % {
            "region": region.name, "n": len(candidates), "dealer": chosen.name,
            "priority": chosen.priority, "acceptance": round(acceptance * 100),
            "conversion": round(conversion * 100)}
    return chosen, reason


# Asked on every intake with a delivery region: compiled once (chemmall.db.Prepared).
_routing_rule = Prepared(lambda organization_id: RoutingRule.objects.filter(
    organization_id=organization_id, is_enabled=True).order_by("pk")[:1])


def step_dealer(decision: Decision) -> None:
    if decision.rerouting or decision.seller is None:
        return
    inquiry = decision.inquiry
    region = inquiry.delivery_region
    if region is None:
        return
    rule = _routing_rule.first(organization_id=decision.seller.pk)
    if rule is None:
        return
    small = inquiry.product_id is not None and inquiry.quantity < rule.direct_sale_threshold
    if not (small or inquiry.wants_local_service):
        return
    category_id = inquiry.product.category_id if inquiry.product_id else None
    now = timezone.now()
    dealer, reason = dealer_choose(seller_id=decision.seller.pk, region=region,
                                   category_id=category_id, now=now)
    if dealer is None:
        if inquiry.wants_local_service:
            decision.say(_("Local service was asked for, but no dealer of %(seller)s covers "
                           "%(region)s.") % {"seller": decision.seller.name,
                                             "region": region.name})
        return
    why = (_("The buyer asked for local service.") if inquiry.wants_local_service
           else _("%(quantity)s %(unit)s is under the direct-sale threshold of %(threshold)s.")
           % {"quantity": format(inquiry.quantity.normalize(), "f"), "unit": inquiry.unit,
              "threshold": format(rule.direct_sale_threshold.normalize(), "f")})
    seller = decision.seller
    due = add_working_time(calendar_rules(seller.calendar), start=now,
                           duration=datetime.timedelta(hours=seller.dealer_window_hours))
    decision.say(f"{reason} {why}")
    decision.owner = None
    decision.done = decision.delegated = True
    assignment = Assignment.objects.create(inquiry=inquiry, dealer=dealer, routed_at=now,
                                           due_at=due, reason=" ".join(decision.reasons))
    Dealer.objects.filter(pk=dealer.pk).update(last_routed_at=now)
    outbox_enqueue_many([
        notify_message(user=user, kind="inquiry_routed", template_dir=MAIL_DIR,
                       context={"inquiry": inquiry, "assignment": assignment, "dealer": dealer},
                       dedup_key=f"dealer-assignment:{assignment.pk}:{user.pk}")
        for user in dealer.users.filter(is_active=True).order_by("pk") if user.email])


step_dealer.first_routing_only = True  # escalations and give-backs stay with the CCOs
