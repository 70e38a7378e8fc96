"""Demo data of the dealers app: the Suzhou dealer of the Jiangsu subsidiary (territory
Suzhou and Wuxi, the subsidiary's categories, 2 % base and 5 % won-deal rate), the
subsidiary's rule (under 1,000 units local service goes to the dealer), and three stories
told through the services: an inquiry waiting for the dealer's answer, one the dealer
accepted and quoted, and a completed, paid order into the territory with its commission.

Idempotent: the dealer is keyed on its name, each demo inquiry on its message, the order on
its checkout key.
"""

import datetime
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from accounts.models import Organization, Region, User
from catalog.models import Category, Product
from catalog.pricing import price_table
from inquiries import services as inquiry_services
from inquiries.models import Inquiry
from orders import services as order_services
from orders.models import Address, Checkout

from . import services
from .models import Dealer, RoutingRule, Territory

DEALER_NAME = "苏州苏信化工贸易有限公司"
M_WAITING = "苏州本地配送，希望经销商上门服务，200 公斤，两周内。"
M_ACCEPTED = "Local delivery to our Suzhou warehouse, 50 kg, with COA please."
ORDER_KEY = "demo-dealer-territory-1"


def seed(stdout=None) -> None:
    seller = Organization.objects.filter(code="js-fine").first()
    dealer_user = User.objects.filter(email="dealer@suxin.example").first()
    if seller is None or dealer_user is None:
        return
    RoutingRule.objects.get_or_create(organization=seller,
                                      defaults={"direct_sale_threshold": Decimal("1000")})
    dealer, created = Dealer.objects.get_or_create(
        organization=seller, name=DEALER_NAME,
        defaults={"contact_name": dealer_user.full_name, "phone": "0512-6688 0001",
                  "email": dealer_user.email, "address": "苏州工业园区星湖街 328 号",
                  "priority": 10, "base_rate": Decimal("2.00"), "won_rate": Decimal("5.00")})
    if created:
        for code in ("320500", "320200"):
            Territory.objects.create(dealer=dealer, region=Region.objects.get(code=code))
        dealer.users.add(dealer_user)
        dealer.categories.set(Category.objects.filter(
            products__seller=seller, products__is_active=True).distinct())
    _seed_inquiries(seller, dealer_user)
    _seed_order(seller)


def _product(seller):
    return (Product.objects.filter(seller=seller, is_active=True, is_service=False,
                                   chemical__controlled=False, chemical__un_number="",
                                   stocks__on_hand__gte=F("min_order_quantity") * 4,
                                   category__dealers__name=DEALER_NAME)
            .order_by("sku").first())


def _seed_inquiries(seller, dealer_user) -> None:
    buyer = User.objects.filter(email="buyer2@kshy.example").first()
    product = _product(seller)
    if buyer is None or product is None:
        return
    if not Inquiry.objects.filter(message=M_WAITING).exists():
        inquiry_services.inquiry_submit(
            buyer=buyer, product_id=product.pk, quantity=max(product.min_order_quantity, 200),
            delivery_region_code="320500", message=M_WAITING, wants_local_service=True)
    if not Inquiry.objects.filter(message=M_ACCEPTED).exists():
        inquiry = inquiry_services.inquiry_submit(
            buyer=buyer, product_id=product.pk, quantity=max(product.min_order_quantity, 50),
            delivery_region_code="320500", message=M_ACCEPTED)
        assignment = getattr(inquiry, "dealer_assignment", None)
        if assignment is None:
            return
        services.assignment_accept(assignment_id=assignment.pk, user=dealer_user)
        tiers = price_table(product_id=product.pk, company_id=None,
                            on_date=timezone.localdate())
        price = tiers[0].unit_price if tiers else Decimal("100.00")
        valid_until = timezone.localdate() + datetime.timedelta(days=7)
        limit = tiers[0].price_list.valid_until if tiers else None
        if limit is not None and limit < valid_until:
            valid_until = limit  # a quote may not outlive the price list
        services.dealer_quote_send(
            assignment_id=assignment.pk, user=dealer_user, product_id=product.pk,
            quantity=inquiry.quantity, unit_price=price, valid_until=valid_until,
            lead_time_days=3, incoterm="DAP", payment_terms="款到发货 / prepayment",
            note="含 COA，苏州本地送货上门。")


def _seed_order(seller) -> None:
    """A completed, paid delivery into Suzhou: the base-rate commission."""
    users = {u.email: u for u in User.objects.filter(email__in=[
        "buyer@kshy.example", "cco@js-fine.example", "finance@js-fine.example"])}
    buyer, cco = users.get("buyer@kshy.example"), users.get("cco@js-fine.example")
    finance = users.get("finance@js-fine.example")
    product = _product(seller)
    address = Address.objects.filter(company__memberships__user=buyer,
                                     region_id="320500").order_by("pk").first()
    if not (buyer and cco and finance and product and address):
        return
    if Checkout.objects.filter(user=buyer, idempotency_key=ORDER_KEY).exists():
        return
    order_services.cart_line_set(user=buyer, product_id=product.pk,
                                 quantity=product.min_order_quantity * 2)
    [order] = order_services.checkout_place(
        user=buyer, idempotency_key=ORDER_KEY, fulfilment="delivery", address_id=address.pk,
        payment_method="prepayment", po_number="KSHY-PO-2026-130")
    order_services.order_confirm(order_id=order.pk, actor=cco)
    order_services.order_payment_confirm(order_id=order.pk, actor=finance)
    order_services.order_mark_ready(order_id=order.pk, actor=cco)
    order_services.order_ship(order_id=order.pk, actor=cco, tracking_number="SF20261201888")
    order_services.order_complete(order_id=order.pk, actor=cco)
    services.commissions_sweep()
