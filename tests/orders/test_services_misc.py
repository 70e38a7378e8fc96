"""Address book, licence uploads, reorder and the credit limit's edges."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Stock
from chemmall.errors import DomainError
from orders import services
from orders.models import Address, CartLine, CompanyLicence, Order
from orders.selectors import addresses_of
from tests.factories import BuyerFactory
from tests.orders.factories import AddressFactory, sellable

D = Decimal
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def _new_address(user, **kwargs):
    values = {"recipient": "王五", "phone": "13900000000", "city_code": "320500",
              "line": "苏州市吴中区 8 号"}
    return services.address_create(user=user, **{**values, **kwargs})


# --- Address book -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_address_becomes_the_default(buyer, company):
    first = _new_address(buyer, label=" Plant 1 ")
    assert first.is_default and first.company == company and first.label == "Plant 1"
    second = _new_address(buyer, label="Plant 2")
    assert not second.is_default
    assert Address.objects.get(pk=first.pk).is_default


@pytest.mark.django_db
def test_a_new_default_unsets_the_old_one(buyer, company):
    first = _new_address(buyer)
    second = _new_address(buyer, is_default=True)
    assert second.is_default
    assert list(Address.objects.filter(company=company, is_default=True)) == [second]
    services.address_set_default(user=buyer, address_id=first.pk)
    assert list(Address.objects.filter(company=company, is_default=True)) == [first]


@pytest.mark.django_db
@pytest.mark.parametrize("city_code", ["999999", "320000", "", "x"])
def test_an_unknown_or_province_level_city_is_refused(buyer, city_code):
    with pytest.raises(DomainError) as exc:
        _new_address(buyer, city_code=city_code)
    assert exc.value.field == "city"
    assert not Address.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field_name", ["recipient", "phone", "line"])
def test_address_fields_are_required(buyer, field_name):
    with pytest.raises(DomainError) as exc:
        _new_address(buyer, **{field_name: "  "})
    assert exc.value.field == field_name
    assert not Address.objects.exists()


@pytest.mark.django_db
def test_only_members_have_an_address_book(cco):
    with pytest.raises(DomainError) as exc:
        _new_address(cco)
    assert exc.value.code == "no_company"


@pytest.mark.django_db
def test_another_companys_address_cannot_be_touched(buyer, outsider_buyer):
    theirs = _new_address(outsider_buyer)
    with pytest.raises(Address.DoesNotExist):
        services.address_set_default(user=buyer, address_id=theirs.pk)
    with pytest.raises(Address.DoesNotExist):
        services.address_archive(user=buyer, address_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.is_active and theirs.is_default


@pytest.mark.django_db
def test_archiving_keeps_orders_and_takes_the_address_out_of_checkout(buyer, company,
                                                                      subsidiary):
    product = sellable(seller=subsidiary)
    address = _new_address(buyer)
    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    (order,) = services.checkout_place(user=buyer, idempotency_key="a1", fulfilment="delivery",
                                       address_id=address.pk, payment_method="prepayment")
    services.address_archive(user=buyer, address_id=address.pk)
    order.refresh_from_db()
    assert order.address == address  # the order still says where it went
    address.refresh_from_db()
    assert not address.is_active and not address.is_default
    assert list(addresses_of(buyer)) == []
    with pytest.raises(Address.DoesNotExist):  # already archived
        services.address_archive(user=buyer, address_id=address.pk)

    services.cart_line_set(user=buyer, product_id=product.pk, quantity=2)
    with pytest.raises(DomainError) as exc:
        services.checkout_place(user=buyer, idempotency_key="a2", fulfilment="delivery",
                                address_id=address.pk, payment_method="prepayment")
    assert exc.value.field == "address_id"
    assert Order.objects.count() == 1 and Stock.objects.get(product=product).reserved == 2
    assert _new_address(buyer).is_default  # the book has no default now: the next one is


@pytest.mark.django_db
def test_checkout_refuses_another_companys_address(place, buyer, subsidiary, outsider_buyer):
    theirs = AddressFactory(company=outsider_buyer.membership.company)
    product = sellable(seller=subsidiary)
    with pytest.raises(DomainError) as exc:
        place(buyer, [(product, 1)], address_id=theirs.pk)
    assert exc.value.field == "address_id"
    assert not Order.objects.exists() and Stock.objects.get(product=product).reserved == 0


# --- Licences ---------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def _submit(user, document, **kwargs):
    values = {"kind": CompanyLicence.Kind.PRECURSOR, "number": " 苏危化经字[2026]0042 ",
              "valid_until": timezone.localdate() + datetime.timedelta(days=365)}
    return services.licence_submit(user=user, document=document, **{**values, **kwargs})


@pytest.mark.django_db
def test_a_pdf_licence_is_stored_under_a_name_of_our_own(buyer, company, media):
    licence = _submit(buyer, SimpleUploadedFile("../../etc/passwd.pdf", PDF,
                                                content_type="application/pdf"))
    assert licence.company == company and licence.status == CompanyLicence.Status.PENDING
    assert licence.number == "苏危化经字[2026]0042"
    assert licence.document.name.startswith(f"licences/{company.pk}/")
    assert licence.document.name.endswith(".pdf") and "passwd" not in licence.document.name
    with licence.document.open("rb") as stored:
        assert stored.read() == PDF


@pytest.mark.django_db
def test_a_png_scan_is_accepted(buyer, media):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    licence = _submit(buyer, SimpleUploadedFile("scan.png", png, content_type="image/png"))
    assert licence.document.name.endswith(".png")


@pytest.mark.django_db
@pytest.mark.parametrize(("document", "field_name"), [
    (SimpleUploadedFile("licence.pdf", b"MZ\x90\x00 this is an .exe", "application/pdf"),
     "document"),
    (SimpleUploadedFile("licence.pdf", b"", "application/pdf"), "document"),
    (None, "document"),
])
def test_a_file_that_is_not_a_pdf_or_scan_is_refused(buyer, media, document, field_name):
    with pytest.raises(DomainError) as exc:
        _submit(buyer, document)
    assert exc.value.field == field_name
    assert not CompanyLicence.objects.exists()
    assert not any(media.rglob("*.*"))


@pytest.mark.django_db
def test_a_file_over_10_mb_is_refused(buyer, media):
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (services.LICENCE_MAX_BYTES - len(PDF) + 1))
    with pytest.raises(DomainError, match="larger than 10 MB"):
        _submit(buyer, big)
    exactly = SimpleUploadedFile("max.pdf", PDF + b"0" * (services.LICENCE_MAX_BYTES - len(PDF)))
    assert _submit(buyer, exactly).document.size == services.LICENCE_MAX_BYTES
    assert CompanyLicence.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("kwargs", "field_name"), [
    ({"valid_until": datetime.date(2020, 1, 1)}, "valid_until"),
    ({"valid_until": None}, "valid_until"),
    ({"kind": "whatever"}, "kind"),
    ({"number": "  "}, "number"),
])
def test_bad_licence_data_is_refused(buyer, media, kwargs, field_name):
    with pytest.raises(DomainError) as exc:
        _submit(buyer, SimpleUploadedFile("l.pdf", PDF), **kwargs)
    assert exc.value.field == field_name
    assert not CompanyLicence.objects.exists()


@pytest.mark.django_db
def test_a_licence_valid_today_is_accepted(buyer, media):
    licence = _submit(buyer, SimpleUploadedFile("l.pdf", PDF), valid_until=timezone.localdate())
    assert licence.valid_until == timezone.localdate()


@pytest.mark.django_db
def test_non_members_cannot_submit_licences(cco, media):
    with pytest.raises(DomainError) as exc:
        _submit(cco, SimpleUploadedFile("l.pdf", PDF))
    assert exc.value.code == "no_company"
    assert not CompanyLicence.objects.exists()


# --- Reorder ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reorder_puts_the_lines_back_and_reports_what_is_no_longer_sold(place, buyer,
                                                                        subsidiary):
    kept = sellable(seller=subsidiary, price="10.00")
    gone = sellable(seller=subsidiary, price="20.00")
    (order,) = place(buyer, [(kept, 3), (gone, 2)])
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    added, problems = services.order_reorder(user=buyer, order_id=order.pk)
    assert added == 1
    assert len(problems) == 1 and gone.display_name in problems[0]
    assert list(CartLine.objects.filter(cart__user=buyer).values_list("product_id", "quantity")
                ) == [(kept.pk, D("3"))]
    colleague = BuyerFactory(company=buyer.membership.company)  # a colleague may reorder too
    assert services.order_reorder(user=colleague, order_id=order.pk)[0] == 1


@pytest.mark.django_db
def test_reorder_of_another_companys_order_does_not_exist(place, buyer, subsidiary,
                                                          outsider_buyer, cco):
    (order,) = place(buyer, [(sellable(seller=subsidiary), 1)])
    for stranger in (outsider_buyer, cco):  # the seller's CCO sees it, but has no cart
        with pytest.raises(Order.DoesNotExist):
            services.order_reorder(user=stranger, order_id=order.pk)
    assert not CartLine.objects.exists()


# --- Credit limit -----------------------------------------------------------------------------


@pytest.fixture
def on_credit(company):
    company.credit_limit, company.payment_terms_days = D("1000.00"), 30
    company.save()
    return company


@pytest.mark.django_db
def test_outstanding_plus_order_equal_to_the_limit_passes(place, buyer, subsidiary, on_credit):
    place(buyer, [(sellable(seller=subsidiary, price="100.00"), 6)], payment_method="credit")
    (order,) = place(buyer, [(sellable(seller=subsidiary, price="400.00"), 1)],
                     payment_method="credit")
    assert order.total == D("400.00") and order.status == Order.Status.PLACED
    assert not order.events.filter(to_status=Order.Status.AWAITING_CREDIT).exists()


@pytest.mark.django_db
def test_one_cent_over_the_limit_waits_for_finance(place, buyer, subsidiary, on_credit):
    place(buyer, [(sellable(seller=subsidiary, price="100.00"), 6)], payment_method="credit")
    (order,) = place(buyer, [(sellable(seller=subsidiary, price="400.01"), 1)],
                     payment_method="credit")
    assert order.status == Order.Status.AWAITING_CREDIT
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_CREDIT
    note = order.events.get(to_status=Order.Status.AWAITING_CREDIT).note
    assert "600.00" in note and "400.01" in note and "1000.00" in note


@pytest.mark.django_db
def test_a_first_order_of_exactly_the_limit_passes(place, buyer, subsidiary, on_credit):
    (order,) = place(buyer, [(sellable(seller=subsidiary, price="1000.00"), 1)],
                     payment_method="credit")
    assert order.status == Order.Status.PLACED
    (over,) = place(buyer, [(sellable(seller=subsidiary, price="0.01"), 1)],
                    payment_method="credit")
    assert over.status == Order.Status.AWAITING_CREDIT


@pytest.mark.django_db
def test_closed_and_prepaid_orders_do_not_count(place, buyer, subsidiary, on_credit, cco):
    product = sellable(seller=subsidiary, price="100.00")
    (cancelled,) = place(buyer, [(product, 6)], payment_method="credit")
    services.order_cancel(order_id=cancelled.pk, actor=buyer)
    place(buyer, [(product, 9)])  # prepayment
    (order,) = place(buyer, [(sellable(seller=subsidiary, price="1000.00"), 1)],
                     payment_method="credit")
    assert order.status == Order.Status.PLACED


@pytest.mark.django_db
def test_the_second_seller_of_one_checkout_counts_the_first(place, buyer, subsidiary,
                                                            other_subsidiary, on_credit):
    a = sellable(seller=subsidiary, price="600.00")
    b = sellable(seller=other_subsidiary, price="400.01")
    first, second = place(buyer, [(a, 1), (b, 1)], payment_method="credit")
    assert first.seller == subsidiary and first.status == Order.Status.PLACED
    assert second.seller == other_subsidiary and second.status == Order.Status.AWAITING_CREDIT
