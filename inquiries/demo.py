"""Demo data of the inquiries app: canned replies of the Jiangsu and Shandong subsidiaries
(Chinese and English), and a dozen inquiries in different states — new from guests (one
for a chemical nobody lists, by CAS number), assigned, answered, quoted, revised, won into
an order, lost with a reason, one overdue for the sweep to escalate — sent, routed,
answered and quoted through the services like real ones.

Idempotent: canned replies are keyed on (subsidiary, title), each demo inquiry on its
message, which no other inquiry shares; a scenario whose inquiry exists is skipped whole.
"""

import datetime
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from accounts.models import Company, Depot, Organization, User
from catalog.models import Product

from . import selectors, services
from .admin_forms import fill_placeholders, placeholder_values
from .models import CannedReply, Channel, Inquiry, InquiryEvent, LostReason

SUBSIDIARIES = ("js-fine", "sd-petro")
# (title, text): the same standard answers for both subsidiaries, in Chinese and English.
CANNED_REPLIES = [
    ("现货确认",
     "{buyer}您好：\n\n感谢您询价{product}（询价单 {number}）。我们确认{quantity}有现货，"
     "下单后 3 个工作日内可发货，正式报价稍后发出。\n\n{cco}"),
    ("Availability confirmed",
     "Dear {buyer},\n\nthank you for your inquiry {number} for {product}. We confirm that "
     "{quantity} are available from stock and can ship within 3 working days of your order; "
     "our quote follows shortly.\n\nBest regards,\n{cco}"),
    ("COA和SDS已发送",
     "{buyer}您好：\n\n{product}的最新批次检验报告（COA）和安全技术说明书（SDS）已附在本消息中，"
     "请查收。如需其他资料，请随时告知（询价单 {number}）。\n\n{cco}"),
    ("COA and SDS sent",
     "Dear {buyer},\n\nplease find attached the certificate of analysis (COA) of the latest "
     "batch and the safety data sheet (SDS) of {product}. Let us know if you need anything "
     "else for inquiry {number}.\n\nBest regards,\n{cco}"),
    ("报价10个工作日有效",
     "{buyer}您好：\n\n附件为{product}（{quantity}）的报价。本报价自今日起 10 个工作日内有效，"
     "之后以新一期价格表为准。\n\n{cco}"),
    ("Price valid for 10 working days",
     "Dear {buyer},\n\nhere is our quote for {quantity} of {product}. The price is valid for "
     "10 working days from today; after that the next price list applies.\n\nBest regards,"
     "\n{cco}"),
    ("请补充需求信息",
     "{buyer}您好：\n\n为了给您准确报价（询价单 {number}），请告知：所需纯度/规格、包装方式、"
     "交货地点，以及是否需要 COA 或第三方检测。\n\n{cco}"),
    ("More details, please",
     "Dear {buyer},\n\nto quote you precisely for inquiry {number}, please tell us the purity "
     "or specification you need, the packaging, the delivery address and whether you need a "
     "COA or third-party testing.\n\nBest regards,\n{cco}"),
]

# The messages that key the demo inquiries.
M_GUEST_NEW = "请报价 500 公斤，含税送到苏州工业园区，月底前需要。"
M_GUEST_UNLISTED = ("Battery grade LiTFSI, purity >= 99.9 %, moisture <= 100 ppm, 200 kg a "
                    "month from March. Do you supply it?")
M_GUEST_BY_CAS = "我们在青岛，需要 2 吨，请问山东有货吗？"
M_BUYER_COA = "请问这一批的 COA 能先发我们看一下吗？"
M_BUYER_QUOTED = "季度用量，每月 100 公斤，请报年度价格。"
M_BUYER_REVISED = "Please quote 250 kg delivered to Fengxian; we compare three suppliers."
M_BUYER_WON = "急用 50 公斤，我们自提。"
M_BUYER_LOST = "请报 10 吨的价格，工厂 Q2 检修后用。"
M_BUYER_OVERDUE = "请尽快报价，这周要下单。"
M_PHONE = "电话询价：客户需要 5 吨，送货到上海奉贤，要求危化品运输资质。"
M_EXHIBITION = "展会上留的询价：样品 1 公斤，如合格后续每月 200 公斤。"
M_GUEST_CUSTOM = "需要定制一种含氟表面活性剂，结构式可以提供，年用量约 3 吨。"


def seed(stdout=None) -> None:
    orgs = {o.code: o for o in Organization.objects.filter(code__in=SUBSIDIARIES)}
    for org in orgs.values():
        for title, body in CANNED_REPLIES:
            CannedReply.objects.get_or_create(organization=org, title=title,
                                              defaults={"body": body})
    users = {u.email: u for u in User.objects.filter(email__in=[
        "cco@js-fine.example", "cco2@js-fine.example", "cco@sd-petro.example",
        "hq.manager@chemmall.example", "buyer@kshy.example", "buyer2@kshy.example",
        "buyer@pjtl.example"])}
    js = _products("js-fine", count=4)
    sd = _products("sd-petro", count=3)
    if len(users) < 7 or len(js) < 4 or len(sd) < 3:
        return  # the accounts or catalog demo is not loaded
    _seed_inquiries(users, js, sd)


def _products(seller_code: str, *, count: int) -> list[Product]:
    """Plain products of the seller (not controlled, not hazardous) with stock and a public
    price, smallest SKU first: the same ones on every run."""
    qs = (Product.objects.filter(seller__code=seller_code, is_active=True, is_service=False,
                                 chemical__controlled=False, chemical__un_number="",
                                 stocks__on_hand__gte=F("min_order_quantity") * 4)
          .select_related("chemical", "seller").distinct().order_by("sku"))
    today = timezone.localdate()
    return [p for p in qs if selectors.quote_price_floor(
        product=p, quantity=p.min_order_quantity, on_date=today)][:count]


def _new(message: str, **kwargs) -> Inquiry | None:
    """The inquiry, sent through the service — unless a run before sent it."""
    if Inquiry.objects.filter(message=message).exists():
        return None
    return services.inquiry_submit(message=message, **kwargs)


def _guest(name: str, company: str, email: str, phone: str = "") -> dict:
    return {"contact_name": name, "contact_company": company, "contact_email": email,
            "contact_phone": phone}


def _reply(inquiry: Inquiry, title: str) -> None:
    """The owner answers with the subsidiary's canned reply, placeholders filled."""
    reply = CannedReply.objects.filter(organization=inquiry.seller, title=title).first()
    if reply is None or inquiry.owner is None:
        return
    body = fill_placeholders(reply.body, placeholder_values(inquiry, inquiry.owner))
    services.inquiry_message_post(inquiry_id=inquiry.pk, actor=inquiry.owner, body=body)


def _quote(inquiry: Inquiry, *, discount: str, expected_version=None, lead_time_days=5,
           incoterm="DAP", payment_terms="款到发货 / prepayment", note=""):
    """A quote a little under the public list price, valid 10 days or to the list's end."""
    product = inquiry.product
    floor = selectors.quote_price_floor(product=product, quantity=inquiry.quantity)
    valid_until = timezone.localdate() + datetime.timedelta(days=10)
    if floor.valid_until is not None:
        valid_until = min(valid_until, floor.valid_until)
    return services.quote_send(
        inquiry_id=inquiry.pk, actor=inquiry.owner, product_id=product.pk,
        quantity=inquiry.quantity, unit_price=(floor.unit_price * Decimal(discount)).quantize(
            Decimal("0.01")), valid_until=valid_until, lead_time_days=lead_time_days,
        incoterm=incoterm, payment_terms=payment_terms, note=note,
        expected_version=expected_version)


def _seed_inquiries(users: dict, js: list[Product], sd: list[Product]) -> None:
    kshy, kshy2 = users["buyer@kshy.example"], users["buyer2@kshy.example"]
    pjtl = users["buyer@pjtl.example"]
    today = timezone.localdate()

    # 1. A guest asks for a listed product: routed to a CCO of Jiangsu at once, not answered.
    _new(M_GUEST_NEW, product_id=js[0].pk, quantity=js[0].min_order_quantity * 20,
         delivery_region_code="320500", needed_by=today + datetime.timedelta(days=25),
         **_guest("王芳", "苏州新锐材料科技有限公司", "wang.fang@xinrui.example", "13951110001"))

    # 2. A guest asks for a chemical nobody lists, by CAS: unlisted demand, the HQ pool (no
    #    CCO at HQ in the demo: it waits for one).
    _new(M_GUEST_UNLISTED, requested_name="Lithium bis(trifluoromethanesulfonyl)imide",
         requested_cas="90076-65-6", quantity="200", unit="kg", delivery_region_code="440300",
         **_guest("David Chen", "Pacific Battery Materials Ltd.", "david.chen@pbm.example"))

    # 3. A guest gives only the CAS of a chemical Shandong sells: routed there; the CCO asks
    #    for details with a canned reply.
    inquiry = _new(M_GUEST_BY_CAS, requested_cas=sd[0].chemical.cas, quantity="2", unit="t",
                   delivery_region_code="370200",
                   **_guest("刘强", "青岛蓝海化工有限公司", "liu.qiang@lanhai.example"))
    if inquiry is not None:
        _reply(inquiry, "请补充需求信息")

    # 4. A buyer asks for the COA; the CCO sends it (answered, not yet quoted).
    inquiry = _new(M_BUYER_COA, buyer=kshy, product_id=js[1].pk,
                   quantity=js[1].min_order_quantity * 10, delivery_region_code="320500")
    if inquiry is not None:
        _reply(inquiry, "COA和SDS已发送")

    # 5. Quoted once.
    inquiry = _new(M_BUYER_QUOTED, buyer=kshy, product_id=js[2].pk,
                   quantity=js[2].min_order_quantity * 4, delivery_region_code="320500")
    if inquiry is not None:
        _quote(inquiry, discount="0.97", note="年度合同价可再议。")

    # 6. Quoted, then revised: two versions, the buyer sees what changed.
    inquiry = _new(M_BUYER_REVISED, buyer=pjtl, product_id=js[3].pk,
                   quantity=js[3].min_order_quantity * 10, delivery_region_code="310000")
    if inquiry is not None:
        _reply(inquiry, "Price valid for 10 working days")
        _quote(inquiry, discount="0.98", lead_time_days=7, payment_terms="30 days net")
        _quote(inquiry, discount="0.95", lead_time_days=5, payment_terms="30 days net",
               expected_version=1, note="Revised after your call: 3 % less, 2 days sooner.")

    # 7. Quoted and accepted: an order at the quoted price, picked up in Suzhou.
    inquiry = _new(M_BUYER_WON, buyer=kshy, product_id=js[1].pk,
                   quantity=js[1].min_order_quantity * 2, delivery_region_code="320500")
    depot = Depot.objects.filter(code="SZ-01").first()
    if inquiry is not None and depot is not None:
        quote = _quote(inquiry, discount="0.96", lead_time_days=1)
        services.quote_accept(quote_id=quote.pk, buyer=kshy, fulfilment="pickup",
                              depot_id=depot.pk, payment_method="prepayment",
                              po_number="KSHY-PO-2026-130")

    # 8. Quoted and lost on price.
    inquiry = _new(M_BUYER_LOST, buyer=pjtl, product_id=sd[1].pk,
                   quantity=sd[1].min_order_quantity * 40, delivery_region_code="310000")
    if inquiry is not None:
        _quote(inquiry, discount="0.99", lead_time_days=10)
        services.inquiry_close_lost(inquiry_id=inquiry.pk, actor=inquiry.owner,
                                    reason=LostReason.PRICE, note="竞争对手报价低约 8%。")

    # 9. Overdue: nobody answered in time; the next sweep escalates it.
    inquiry = _new(M_BUYER_OVERDUE, buyer=kshy2, product_id=js[2].pk,
                   quantity=js[2].min_order_quantity * 8, delivery_region_code="320500")
    if inquiry is not None:
        _make_overdue(inquiry)

    # 10. A phone call logged by the Shandong CCO for a customer company.
    cco_sd = users["cco@sd-petro.example"]
    company = Company.objects.filter(memberships__user=pjtl).first()
    _new(M_PHONE, logged_by=cco_sd, channel=Channel.PHONE, product_id=sd[2].pk,
         quantity=sd[2].min_order_quantity * 5, company_id=company.pk if company else None,
         delivery_region_code="310000", **_guest("徐明", "上海浦江涂料有限公司", "",
                                                 "13912340003"))

    # 11. A contact from the trade fair, logged by the second Jiangsu CCO.
    _new(M_EXHIBITION, logged_by=users["cco2@js-fine.example"], channel=Channel.EXHIBITION,
         product_id=js[0].pk, quantity=js[0].min_order_quantity,
         **_guest("Anna Müller", "Rheinchem GmbH", "a.mueller@rheinchem.example"))

    # 12. A customisation nobody offers: closed as lost by HQ, counted as unmet demand.
    inquiry = _new(M_GUEST_CUSTOM, requested_name="含氟表面活性剂（定制）", quantity="3",
                   unit="t",
                   **_guest("赵雷", "杭州清源新材料有限公司", "zhao.lei@qingyuan.example"))
    if inquiry is not None:
        services.inquiry_close_lost(inquiry_id=inquiry.pk,
                                    actor=users["hq.manager@chemmall.example"],
                                    reason=LostReason.CUSTOMISATION,
                                    note="需要定制合成，集团内暂无产线。")


def _make_overdue(inquiry: Inquiry) -> None:
    """As if it came yesterday and its deadline passed an hour ago, the reminder long
    sent: what a sweep finds after a CCO let it slip."""
    now = timezone.now()
    came = now - datetime.timedelta(days=1)
    Inquiry.objects.filter(pk=inquiry.pk).update(
        received_at=came, assigned_at=came, remind_at=now - datetime.timedelta(hours=3),
        reminded_at=now - datetime.timedelta(hours=3),
        response_due_at=now - datetime.timedelta(hours=1))
    InquiryEvent.objects.filter(inquiry=inquiry).update(created_at=came)
