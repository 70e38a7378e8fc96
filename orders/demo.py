"""Demo data of the orders app: carriers, address books, licences and a few orders in
different states, placed and moved through the services like real ones.

Idempotent: carriers and addresses are keyed on natural keys, and each demo order comes
from a checkout with a fixed idempotency key that is skipped once it exists.
"""

import datetime

from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone

from accounts.models import Company, Depot, User
from catalog.models import LicenceKind, Product

from . import services
from .models import Address, Carrier, Checkout, CompanyLicence, Order

CARRIERS = [
    ("江苏安达危险品运输有限公司", True),
    ("山东齐鲁危化物流有限公司", True),
    ("顺丰速运", False),
    ("中通快运", False),
]
# (company name, label, recipient, phone, city code, line)
ADDRESSES = [
    ("昆山华研电子材料有限公司", "昆山工厂", "张伟", "13812340001", "320500",
     "江苏省昆山市开发区前进东路 168 号"),
    ("昆山华研电子材料有限公司", "苏州仓库", "黄静", "13812340002", "320500",
     "苏州工业园区金鸡湖大道 99 号 3 号库"),
    ("上海浦江涂料有限公司", "奉贤工厂", "徐明", "13912340003", "310000",
     "上海市奉贤区化学工业区 88 号"),
]
# A tiny, valid PDF standing in for a scanned licence.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def seed(stdout=None) -> None:
    for name, hazmat in CARRIERS:
        Carrier.objects.get_or_create(name=name, defaults={"hazmat_qualified": hazmat})
    companies = {c.name: c for c in Company.objects.filter(
        name__in={row[0] for row in ADDRESSES})}
    for company_name, label, recipient, phone, city, line in ADDRESSES:
        company = companies.get(company_name)
        if company is None or Address.objects.filter(company=company, label=label).exists():
            continue
        Address.objects.create(
            company=company, label=label, recipient=recipient, phone=phone, region_id=city,
            line=line,
            is_default=not Address.objects.filter(company=company, is_default=True).exists())
    _seed_licences(companies)
    _seed_orders()


def _seed_licences(companies) -> None:
    today = timezone.localdate()
    kshy = companies.get("昆山华研电子材料有限公司")
    pjtl = companies.get("上海浦江涂料有限公司")
    finance = User.objects.filter(email="finance@js-fine.example").first()
    if kshy and not CompanyLicence.objects.filter(company=kshy).exists():
        licence = CompanyLicence(company=kshy, kind=LicenceKind.PRECURSOR,
                                 number="苏公(易)购备字〔2026〕0158号",
                                 valid_until=today + datetime.timedelta(days=300))
        licence.document.save("licence-demo-kshy.pdf", ContentFile(DEMO_PDF), save=False)
        licence.save()
        if finance:
            services.licence_review(licence_id=licence.pk, actor=finance, approve=True)
    if pjtl and not CompanyLicence.objects.filter(company=pjtl).exists():
        licence = CompanyLicence(company=pjtl, kind=LicenceKind.EXPLOSIVE_PRECURSOR,
                                 number="沪公(爆)备字〔2026〕0042号",
                                 valid_until=today + datetime.timedelta(days=200))
        licence.document.save("licence-demo-pjtl.pdf", ContentFile(DEMO_PDF), save=False)
        licence.save()  # left pending: finance has one to review


def _orderable(*, seller_code: str, depot_code: str, count: int, hazardous: bool | None):
    """Plain demo products of a seller with stock at the depot, smallest first."""
    qs = (Product.objects.filter(seller__code=seller_code, is_active=True, is_service=False,
                                 chemical__controlled=False,
                                 stocks__depot__code=depot_code,
                                 stocks__on_hand__gte=F("min_order_quantity") * 4)
          .select_related("chemical").order_by("sku"))
    if hazardous is not None:
        qs = qs.exclude(chemical__un_number="") if hazardous else qs.filter(
            chemical__un_number="")
    return list(qs[:count])


def _place(key: str, buyer: User, items, **checkout) -> list[Order] | None:
    """Place one demo checkout unless a run before already did."""
    if Checkout.objects.filter(user=buyer, idempotency_key=key).exists():
        return None
    for product, quantity in items:
        services.cart_line_set(user=buyer, product_id=product.pk, quantity=quantity)
    return services.checkout_place(user=buyer, idempotency_key=key, **checkout)


def _seed_orders() -> None:
    users = {u.email: u for u in User.objects.filter(email__in=[
        "buyer@kshy.example", "buyer@pjtl.example", "cco@js-fine.example",
        "finance@js-fine.example", "depot@js-fine.example"])}
    buyer, cco = users.get("buyer@kshy.example"), users.get("cco@js-fine.example")
    finance, operator = users.get("finance@js-fine.example"), users.get("depot@js-fine.example")
    depot = Depot.objects.filter(code="SZ-01").first()
    if not (buyer and cco and finance and operator and depot):
        return
    address = Address.objects.filter(company__memberships__user=buyer, is_default=True).first()
    plain = _orderable(seller_code="js-fine", depot_code="SZ-01", count=3, hazardous=False)
    if len(plain) < 3 or address is None:
        return

    # 1. Pickup at Suzhou, paid, ready, one partial pickup done: a balance to collect.
    orders = _place("demo-pickup-1", buyer,
                    [(p, p.min_order_quantity * 2) for p in plain[:2]],
                    fulfilment=Order.Fulfilment.PICKUP, depot_id=depot.pk,
                    payment_method=Order.PaymentMethod.PREPAYMENT, po_number="KSHY-PO-2026-118")
    if orders:
        order = orders[0]
        services.order_confirm(order_id=order.pk, actor=cco)
        services.order_payment_confirm(order_id=order.pk, actor=finance)
        services.order_mark_ready(order_id=order.pk, actor=cco)
        first = order.lines.order_by("pk").first()
        services.pickup_record(actor=operator, order_id=order.pk,
                               quantities={first.pk: first.quantity / 2},
                               collected_by="王师傅", vehicle_plate="苏E·8K312")

    # 2. Delivery on credit terms, confirmed and shipped with a carrier.
    carrier = Carrier.objects.filter(hazmat_qualified=True).order_by("name").first()
    orders = _place("demo-delivery-1", buyer, [(plain[2], plain[2].min_order_quantity)],
                    fulfilment=Order.Fulfilment.DELIVERY, address_id=address.pk,
                    carrier_id=carrier.pk if carrier else None,
                    payment_method=Order.PaymentMethod.CREDIT, po_number="KSHY-PO-2026-121")
    if orders:
        order = orders[0]
        services.order_confirm(order_id=order.pk, actor=cco)
        services.order_mark_ready(order_id=order.pk, actor=cco)
        services.order_ship(order_id=order.pk, actor=cco, tracking_number="AD20261130001")

    # 3. Just placed, prepayment: the CCO has one to confirm, finance one to match.
    _place("demo-placed-1", buyer, [(plain[0], plain[0].min_order_quantity)],
           fulfilment=Order.Fulfilment.DELIVERY, address_id=address.pk,
           payment_method=Order.PaymentMethod.PREPAYMENT,
           requested_date=timezone.localdate() + datetime.timedelta(days=10),
           notes="请提前一天电话联系收货人。")
