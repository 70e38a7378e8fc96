"""Factories of the reports tests: the raw rows a day is made of, with explicit times.

    inquiry = InquiryFactory(seller=sub, owner=cco, received_at=at(2026, 3, 10, 9))
    QuoteFactory(inquiry=inquiry, version=2, created_by=cco, created_at=...)
    OrderFactory(seller=sub, total=Decimal("1130.00"), placed_at=...)

Every timestamp defaults to a fixed moment, never "now", so a test says what it relies on."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from accounts.models import CalendarDay, Role
from inquiries.models import CcoProfile, Inquiry, InquiryEvent, Quote, ResponseMiss
from orders.models import Order, OrderLine
from reports.models import CcoDailyReport
from tests.catalog.factories import ProductFactory
from tests.factories import (
    BuyerFactory,
    CompanyFactory,
    DepotFactory,
    StaffFactory,
    SubsidiaryFactory,
)
from tests.orders.factories import AddressFactory

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime.datetime(2026, 3, 10, 12, tzinfo=SH)


def at(*args) -> datetime.datetime:
    """A moment in Asia/Shanghai."""
    return datetime.datetime(*args, tzinfo=SH)


class CcoProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CcoProfile

    user = factory.SubFactory(StaffFactory, organization=factory.SelfAttribute("..organization"),
                              roles=[Role.CCO])
    organization = factory.SubFactory(SubsidiaryFactory)
    started_on = datetime.date(2025, 1, 1)


def cco(organization, **kwargs):
    """A CCO user of `organization` with a routing profile (CCO since 2025)."""
    return CcoProfileFactory(organization=organization, **kwargs).user


class OrderFactory(factory.django.DjangoModelFactory):
    """A confirmed delivery order; its total is what a test gives."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO-T{n:06d}")
    company = factory.SubFactory(CompanyFactory)
    placed_by = factory.SubFactory(BuyerFactory, company=factory.SelfAttribute("..company"))
    seller = factory.SubFactory(SubsidiaryFactory)
    status = Order.Status.CONFIRMED
    fulfilment = Order.Fulfilment.DELIVERY
    address = factory.SubFactory(AddressFactory, company=factory.SelfAttribute("..company"))
    payment_method = Order.PaymentMethod.PREPAYMENT
    total = Decimal("100.00")
    placed_at = NOON


class InquiryFactory(factory.django.DjangoModelFactory):
    """An inquiry for an unlisted chemical, assigned to `owner`."""

    class Meta:
        model = Inquiry

    number = factory.Sequence(lambda n: f"RFQT{n:08d}")
    status = Inquiry.Status.ASSIGNED
    requested_name = "Test chemical"
    quantity = Decimal("10")
    contact_name = "Li Lei"
    contact_email = "li.lei@example.com"
    seller = factory.SubFactory(SubsidiaryFactory)
    owner = None
    received_at = NOON
    assigned_at = factory.SelfAttribute("received_at")


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    inquiry = factory.SubFactory(InquiryFactory)
    version = 1
    status = Quote.Status.SENT
    product = factory.SubFactory(ProductFactory, seller=factory.SelfAttribute("..inquiry.seller"),
                                 indexed=False)
    quantity = Decimal("100")
    unit = "kg"
    unit_price = Decimal("10.00")
    valid_until = datetime.date(2026, 4, 30)
    lead_time_days = 7
    payment_terms = "30 days net"
    created_by = factory.SelfAttribute("inquiry.owner")
    created_at = NOON


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InquiryEvent

    inquiry = factory.SubFactory(InquiryFactory)
    kind = InquiryEvent.Kind.MESSAGE_OUT
    actor = factory.SelfAttribute("inquiry.owner")
    body = "Hello"
    created_at = NOON


class MissFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseMiss

    inquiry = factory.SubFactory(InquiryFactory)
    owner = factory.SelfAttribute("inquiry.owner")
    due_at = NOON
    recorded_at = factory.LazyAttribute(lambda o: o.due_at + datetime.timedelta(minutes=1))


class ReportFactory(factory.django.DjangoModelFactory):
    """A snapshot row written directly: for the weights and the flags, which read them."""

    class Meta:
        model = CcoDailyReport

    day = datetime.date(2026, 3, 10)
    cco = factory.SubFactory(StaffFactory, roles=[Role.CCO])
    subsidiary = factory.SelfAttribute("cco.organization")
    score = Decimal("0")
    rank_in_subsidiary = 1
    rank_in_group = 1


def holiday(calendar, day: datetime.date) -> CalendarDay:
    return CalendarDay.objects.create(calendar=calendar, date=day, kind=CalendarDay.Kind.HOLIDAY,
                                      name="test")


class OrderLineFactory(factory.django.DjangoModelFactory):
    """A line of `order`; its line_total is what a test gives (priced incl. VAT unless
    `tax_inclusive=False`)."""

    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory, seller=factory.SelfAttribute("..order.seller"),
                                 indexed=False)
    quantity = Decimal("1")
    unit = "kg"
    unit_price = factory.SelfAttribute("line_total")
    line_total = Decimal("100.00")


def pickup_order(**kwargs) -> Order:
    """A pickup order at a depot of its seller (the depot's region: `depot__region`)."""
    kwargs.setdefault("seller", SubsidiaryFactory())
    depot_kwargs = {k.removeprefix("depot__"): kwargs.pop(k) for k in list(kwargs)
                    if k.startswith("depot__")}
    depot = DepotFactory(organization=kwargs["seller"], **depot_kwargs)
    return OrderFactory(fulfilment=Order.Fulfilment.PICKUP, address=None, pickup_depot=depot,
                        **kwargs)
