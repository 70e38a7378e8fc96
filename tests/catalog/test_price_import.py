"""Price list import (catalog/price_import.py and its admin page): all rows or none.

The sample files (catalog/data/sample_price_list.*) name placeholder SKUs DEMO-0001…0003 and a
placeholder customer USCC; the tests create exactly those with factories.
"""

import csv
import datetime
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from accounts.services import roles_sync
from catalog import price_import, services
from catalog.models import PriceChange, PriceList, PriceTier, Product
from catalog.price_import import RowError, price_list_import
from catalog.pricing import price_resolve
from chemmall.errors import DomainError
from tests.catalog.factories import ProductFactory, price_list_with_tiers
from tests.factories import CompanyFactory, StaffFactory

pytestmark = pytest.mark.django_db

DATA = Path(price_import.__file__).resolve().parent / "data"
SAMPLE_USCC = "91320500000999001T"
SAMPLE_START = datetime.date(2027, 1, 4)
HEADER = list(price_import.COLUMNS)
TODAY = timezone.localdate()
START = TODAY + datetime.timedelta(days=7)


@pytest.fixture
def products(subsidiary):
    return {sku: ProductFactory(seller=subsidiary, sku=sku)
            for sku in ("DEMO-0001", "DEMO-0002", "DEMO-0003")}


@pytest.fixture
def customer(subsidiary):
    company = CompanyFactory(uscc=SAMPLE_USCC)
    company.served_by.add(subsidiary)
    return company


@pytest.fixture
def other_product(other_subsidiary):
    return ProductFactory(seller=other_subsidiary, sku="OTHER-0001")


def row(sku="DEMO-0001", uscc="", quantity="1", price="100.00", start=None, end="",
        tax="yes"):
    return [sku, uscc, quantity, price, (start or START).isoformat(), end, tax]


def good_rows():
    return [
        row(quantity="1", price="100.00"),
        row(quantity="10", price="95.00"),
        row(quantity="50", price="90.00"),
        row(sku="DEMO-0002", quantity="25", price="36.80", tax="no"),
        row(uscc=SAMPLE_USCC, quantity="10", price="88.00",
            end=(START + datetime.timedelta(days=13)).isoformat()),
    ]


def csv_bytes(rows, header=HEADER, bom=True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def run(data, *, seller, user, filename="prices.csv"):
    return price_list_import(seller=seller, file=SimpleUploadedFile(filename, data),
                             filename=filename, user=user)


def nothing_written():
    return (PriceList.objects.count(), PriceTier.objects.count(),
            PriceChange.objects.count()) == (0, 0, 0)


# --- Good files -------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_the_sample_file_is_applied(monkeypatch, subsidiary, cco, products, customer, extension):
    monkeypatch.setattr(price_import, "_today", lambda: datetime.date(2027, 1, 1))
    data = (DATA / f"sample_price_list.{extension}").read_bytes()

    report = run(data, seller=subsidiary, user=cco, filename=f"sample.{extension}")

    assert report.errors == []
    assert report.tiers_count == 8
    assert len(report.price_lists) == 2  # the public list and the customer's
    public = PriceList.objects.get(company=None)
    special = PriceList.objects.get(company=customer)
    assert (public.valid_from, public.valid_until) == (SAMPLE_START, None)
    assert special.valid_until == datetime.date(2027, 3, 31)
    for price_list in (public, special):
        assert price_list.source == PriceList.Source.IMPORT
        assert price_list.created_by == cco
        assert price_list.seller == subsidiary
    assert PriceTier.objects.count() == 8
    assert PriceChange.objects.filter(effective_from=SAMPLE_START, changed_by=cco).count() == 8
    demo1, demo3 = products["DEMO-0001"], products["DEMO-0003"]

    def price(product, quantity, company=None):
        return price_resolve(product=product, company_id=company.pk if company else None,
                             quantity=Decimal(quantity), on_date=SAMPLE_START)

    assert price(demo1, "40").unit_price == Decimal("120.50")
    assert price(demo1, "10", customer).unit_price == Decimal("118.00")
    assert price(demo1, "100", customer).unit_price == Decimal("112.00")
    assert price(demo1, "5", customer).unit_price == Decimal("128.00")  # below its 1st tier
    assert price(demo3, "1").unit_price == Decimal("2450.00")
    assert price(demo3, "1").tax_inclusive is False


@pytest.mark.parametrize("build", [csv_bytes, xlsx_bytes], ids=["csv", "xlsx"])
def test_a_good_file_replaces_the_price_from_its_start(subsidiary, cco, products, customer, build):
    demo1 = products["DEMO-0001"]
    price_list_with_tiers(seller=subsidiary, valid_from=TODAY - datetime.timedelta(days=10),
                          tiers=[(demo1, 0, "120.00")])
    rows = [row(quantity="0", price="110.00", start=TODAY), row(quantity="10", price="105",
                                                               start=TODAY)]

    report = run(build(rows), seller=subsidiary, user=cco,
                 filename="p.xlsx" if build is xlsx_bytes else "p.csv")

    assert report.ok, report.errors
    resolved = price_resolve(product=demo1, company_id=None, quantity=Decimal("12"),
                             on_date=TODAY)
    assert resolved.unit_price == Decimal("105.00")
    assert resolved.price_list_id == report.price_lists[0].pk
    assert list(PriceChange.objects.filter(price_list=report.price_lists[0])
                .values_list("min_quantity", "unit_price")) == [
        (Decimal("0"), Decimal("110.00")), (Decimal("10"), Decimal("105.00"))]


def test_rows_with_the_same_customer_and_period_make_one_list(subsidiary, cco, products, customer):
    report = run(csv_bytes(good_rows()), seller=subsidiary, user=cco)

    assert report.ok, report.errors
    assert [(pl.company, pl.tiers.count()) for pl in report.price_lists] == [
        (None, 4), (customer, 1)]
    assert report.tiers_count == 5
    assert "prices.csv" in report.price_lists[0].name


@pytest.mark.parametrize(("cell", "expected"), [
    ("1,200.50", Decimal("1200.50")),
    ("¥1,200.50", Decimal("1200.50")),
    ("￥ 980", Decimal("980")),
    ("12.5", Decimal("12.5")),
])
def test_prices_may_carry_a_yen_sign_and_thousands_separators(
    subsidiary, cco, products, cell, expected,
):
    report = run(csv_bytes([row(price=cell)]), seller=subsidiary, user=cco)

    assert report.ok, report.errors
    assert PriceTier.objects.get().unit_price == expected


@pytest.mark.parametrize(("cell", "expected"), [
    ("yes", True), ("No", False), ("TRUE", True), ("false", False), ("1", True), ("0", False),
    ("是", True), ("否", False), ("", True),
])
def test_tax_inclusive_words(subsidiary, cco, products, cell, expected):
    report = run(csv_bytes([row(tax=cell)]), seller=subsidiary, user=cco)

    assert report.ok, report.errors
    assert PriceTier.objects.get().tax_inclusive is expected


def test_csv_without_bom_with_semicolons_and_slashed_dates(subsidiary, cco, products):
    start = f"{START.year}/{START.month}/{START.day}"
    text = "sku;min_quantity;unit_price;valid_from\nDEMO-0001;1;100;" + start + "\n"

    report = run(text.encode("utf-8"), seller=subsidiary, user=cco)

    assert report.ok, report.errors
    assert PriceList.objects.get().valid_from == START


def test_xlsx_cells_numbers_dates_and_serials_read_exactly(subsidiary, cco, products):
    serial = (START - datetime.date(1899, 12, 30)).days  # an Excel date number
    rows = [["DEMO-0001", None, 0, 0.1, datetime.datetime.combine(START, datetime.time()),
             None, True],
            ["DEMO-0001", None, 2.5, 0.07, serial, None, 1]]

    report = run(xlsx_bytes(rows), seller=subsidiary, user=cco, filename="p.xlsx")

    assert report.ok, report.errors
    assert list(PriceTier.objects.values_list("min_quantity", "unit_price", "tax_inclusive")
                ) == [(Decimal("0"), Decimal("0.10"), True), (Decimal("2.5"), Decimal("0.07"),
                                                               True)]
    assert PriceList.objects.get().valid_from == START


def test_numbers_never_pass_through_float_arithmetic():
    value = price_import._decimal(0.1, places=2, required=True)
    assert isinstance(value, Decimal) and value == Decimal("0.1")
    assert price_import._decimal("1,234,567.89", places=2, required=True) == Decimal(
        "1234567.89")


# --- One bad row rejects all ------------------------------------------------------------------


def test_one_bad_row_among_good_ones_rejects_the_whole_file(subsidiary, cco, products, customer):
    rows = good_rows()
    rows.insert(2, row(quantity="20", price="abc"))  # the header is row 1: this is row 4

    report = run(csv_bytes(rows), seller=subsidiary, user=cco)

    assert not report.ok
    assert [(e.row_number, e.column) for e in report.errors] == [(4, "unit_price")]
    assert "“abc” is not a number" in report.errors[0].message
    assert report.price_lists == []
    assert nothing_written()


def test_a_failure_while_writing_undoes_the_lists_already_written(
    monkeypatch, subsidiary, cco, products, customer,
):
    real_create = services.price_list_create
    calls = []

    def create_then_fail(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise DomainError("someone was quicker")
        return real_create(**kwargs)

    monkeypatch.setattr(services, "price_list_create", create_then_fail)

    report = run(csv_bytes(good_rows()), seller=subsidiary, user=cco)

    assert len(calls) == 2
    assert report.errors == [RowError(None, "", "someone was quicker")]
    assert nothing_written()


def test_the_same_file_twice_is_refused_the_second_time(subsidiary, cco, products, customer):
    data = csv_bytes(good_rows())
    assert run(data, seller=subsidiary, user=cco).ok

    again = run(data, seller=subsidiary, user=cco)

    assert {(e.row_number, e.column) for e in again.errors} == {
        (2, "valid_from"), (5, "valid_from"), (6, "valid_from")}
    assert "already has a price list starting" in again.errors[0].message
    assert PriceList.objects.count() == 2


# --- Each kind of mistake, with its row and column --------------------------------------------

LATER = (START + datetime.timedelta(days=5)).isoformat()
EARLIER = (START - datetime.timedelta(days=1)).isoformat()


def _existing_list_for_demo1(subsidiary):
    product = Product.objects.get(sku="DEMO-0001")
    price_list_with_tiers(seller=subsidiary, valid_from=START, tiers=[(product, 0, "99")])


CASES = {
    "unknown SKU": ([row(), row(sku="NOPE-1", quantity="5")], 3, "sku", "Unknown SKU “NOPE-1”"),
    "empty SKU": ([row(sku="")], 2, "sku", "The SKU is empty."),
    "another seller's SKU": ([row(sku="OTHER-0001")], 2, "sku", "is not a product of"),
    "unknown USCC": ([row(uscc="91320500000000000X")], 2, "company_uscc",
                     "Unknown company USCC"),
    "bad number": ([row(price="12,5")], 2, "unit_price", "is not a number"),
    "bad quantity": ([row(quantity="ten")], 2, "min_quantity", "is not a number"),
    "empty price": ([row(price="")], 2, "unit_price", "This cell is empty"),
    "too many decimals": ([row(price="12.345")], 2, "unit_price", "more than 2 decimal"),
    "too large": ([row(price="1000000000000")], 2, "unit_price", "is too large"),
    "zero price": ([row(price="0")], 2, "unit_price", "must be more than zero"),
    "negative price": ([row(price="-5.00")], 2, "unit_price", "must be more than zero"),
    "negative quantity": ([row(quantity="-1")], 2, "min_quantity", "cannot be negative"),
    "bad date": ([row(), ["DEMO-0002", "", "1", "10", "next monday", "", "yes"]], 3,
                 "valid_from", "“next monday” is not a date"),
    "impossible date": ([["DEMO-0001", "", "1", "10", "2027-02-30", "", "yes"]], 2,
                        "valid_from", "is not a date"),
    "day-first date": ([["DEMO-0001", "", "1", "10", "04/01/2027", "", "yes"]], 2, "valid_from",
                       "is not a date"),
    "until before from": ([row(end=EARLIER)], 2, "valid_until", "is before valid from"),
    "start in the past": ([row(start=TODAY - datetime.timedelta(days=1))], 2, "valid_from",
                          "cannot start in the past"),
    "bad yes/no": ([row(tax="maybe")], 2, "tax_inclusive", "neither yes nor no"),
    "duplicate tier": ([row(quantity="10", price="95"), row(quantity="10", price="94")], 3,
                       "min_quantity", "Duplicate tier: row 2"),
    "tiers out of order": ([row(quantity="10", price="95"), row(quantity="5", price="97")], 3,
                           "min_quantity", "Tiers must go up in quantity"),
    "larger quantity dearer": ([row(quantity="1", price="95"), row(quantity="10", price="96")],
                               3, "unit_price", "A larger quantity cannot cost more"),
    "overlapping periods": ([row(), row(start=START + datetime.timedelta(days=5), price="98")],
                            3, "valid_from", "overlapping period on row 2"),
    "clash with an existing list": ([row()], 2, "valid_from",
                                    "already has a price list starting"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_named_with_its_row_and_column(
    subsidiary, cco, products, customer, other_product, case,
):
    rows, row_number, column, message = CASES[case]
    if case == "clash with an existing list":
        _existing_list_for_demo1(subsidiary)
    before = PriceList.objects.count()

    report = run(csv_bytes(rows), seller=subsidiary, user=cco)

    assert [(e.row_number, e.column) for e in report.errors] == [(row_number, column)], (
        report.errors)
    assert message in report.errors[0].message
    assert PriceList.objects.count() == before
    assert PriceTier.objects.filter(price_list__source=PriceList.Source.IMPORT).count() == 0


def test_overlap_with_an_open_end_and_a_separate_period_is_fine(subsidiary, cco, products):
    later_start = START + datetime.timedelta(days=14)
    rows = [row(end=(START + datetime.timedelta(days=13)).isoformat()),
            row(start=later_start, price="97")]

    report = run(csv_bytes(rows), seller=subsidiary, user=cco)

    assert report.ok, report.errors
    assert PriceList.objects.count() == 2


def test_a_customer_of_another_subsidiary_is_unknown_here(
    subsidiary, other_subsidiary, cco, products,
):
    stranger = CompanyFactory()
    stranger.served_by.add(other_subsidiary)

    report = run(csv_bytes([row(uscc=stranger.uscc)]), seller=subsidiary, user=cco)

    assert [(e.row_number, e.column) for e in report.errors] == [(2, "company_uscc")]


def test_several_mistakes_are_all_reported_in_row_order(subsidiary, cco, products):
    rows = [row(sku="NOPE", price="0"), row(quantity="x"), row(sku="DEMO-0002", tax="?")]

    report = run(csv_bytes(rows), seller=subsidiary, user=cco)

    assert [(e.row_number, e.column) for e in report.errors] == [
        (2, "sku"), (2, "unit_price"), (3, "min_quantity"), (4, "tax_inclusive")]


@pytest.mark.parametrize(("header", "column", "message"), [
    (["sku", "min_quantity", "valid_from"], "unit_price", "The column “unit_price” is missing."),
    ([*HEADER, "price"], "price", "Unknown column “price”"),
    ([*HEADER, "sku"], "sku", "appears twice"),
])
def test_header_mistakes(subsidiary, cco, products, header, column, message):
    report = run(csv_bytes([row()], header=header), seller=subsidiary, user=cco)

    assert [(e.row_number, e.column) for e in report.errors] == [(1, column)]
    assert message in report.errors[0].message
    assert nothing_written()


def test_header_names_are_forgiving_about_case_and_spaces(subsidiary, cco, products):
    header = ["SKU", "Company USCC", "Min Quantity", "unit-price", "Valid From", "valid_until",
              "Tax Inclusive"]

    assert run(csv_bytes([row()], header=header), seller=subsidiary, user=cco).ok


def test_notes_and_blank_rows_keep_the_row_numbers_excel_shows(subsidiary, cco, products):
    text = ("# a note\n\nsku,min_quantity,unit_price,valid_from\n\n"
            f"DEMO-0001,1,100,{START}\nDEMO-0001,10,oops,{START}\n")

    report = run(text.encode(), seller=subsidiary, user=cco)

    assert [(e.row_number, e.column) for e in report.errors] == [(6, "unit_price")]


# --- Files that are not price lists -----------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def _zip_that_is_not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    return out.getvalue()


@pytest.mark.parametrize(("data", "filename", "message"), [
    (PNG, "prices.csv", "neither an Excel workbook nor a UTF-8 CSV"),
    ("sku,unit_price\n甲,1\n".encode("gbk"), "prices.csv", "neither an Excel workbook nor a "
                                                          "UTF-8 CSV"),
    (b"%PDF-1.7", "prices.pdf", "Upload an Excel workbook (.xlsx) or a CSV file"),
    (b"sku,price\n", "prices.xlsx", "named .xlsx but is not an Excel workbook"),
    (_zip_that_is_not_a_workbook(), "prices.xlsx", "cannot be read as an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "prices.xls",
     "Upload an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "prices.xlsx", "old Excel .xls"),
    (b"", "prices.csv", "The file is empty."),
    (b"# only a note\n", "prices.csv", "no header row"),
    (b"sku,min_quantity,unit_price,valid_from\n", "prices.csv", "no price rows"),
])
def test_a_file_that_is_not_a_price_list_is_refused_clearly(
    subsidiary, cco, data, filename, message,
):
    report = run(data, seller=subsidiary, user=cco, filename=filename)

    assert len(report.errors) == 1
    assert report.errors[0].row_number is None
    assert message in report.errors[0].message
    assert nothing_written()


def test_an_xlsx_named_csv_is_read_by_its_content(subsidiary, cco, products):
    report = run(xlsx_bytes([row()]), seller=subsidiary, user=cco, filename="prices.csv")

    assert report.ok, report.errors


def test_size_and_row_limits(monkeypatch, subsidiary, cco, products):
    too_big = b"x" * (price_import.MAX_BYTES + 1)
    assert "larger than 5 MB" in run(too_big, seller=subsidiary, user=cco).errors[0].message

    monkeypatch.setattr(price_import, "MAX_ROWS", 3)
    rows = [row(quantity=str(q), price="100") for q in range(4)]
    report = run(csv_bytes(rows), seller=subsidiary, user=cco)
    assert "more than 3 price rows" in report.errors[0].message
    assert nothing_written()


def test_a_cco_cannot_import_for_another_subsidiary(other_subsidiary, cco, other_product):
    data = csv_bytes([row(sku="OTHER-0001")])

    with pytest.raises(DomainError):
        run(data, seller=other_subsidiary, user=cco)
    assert nothing_written()


# --- The admin page ---------------------------------------------------------------------------

IMPORT_URL = "/admin/catalog/pricelist/import/"
CHANGELIST = "/admin/catalog/pricelist/"


def upload(data, name="prices.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def catalog_roles(db):
    """The role groups with the catalog's permissions.

    Workaround: accounts connects `roles_sync` to its own post_migrate, which Django sends
    before catalog's (INSTALLED_APPS order) — before catalog's permissions exist. A freshly
    migrated database therefore has role groups without any catalog permission until the
    next `migrate`; see the xfail test below."""
    roles_sync()


def test_migrate_alone_gives_the_roles_their_catalog_permissions():
    assert Group.objects.get(name=Role.CCO).permissions.filter(
        content_type__app_label="catalog", codename="add_pricelist").exists()


def test_the_fixture_staff_have_the_catalog_permissions_from_roles_sync(
    catalog_roles, cco, subsidiary_manager, hq_manager,
):
    for user in (cco, subsidiary_manager, hq_manager):
        assert user.has_perm("catalog.add_pricelist")
        assert user.has_perm("catalog.change_pricetier")
        assert not user.has_perm("catalog.delete_pricelist")


def test_the_changelist_offers_the_import(catalog_roles, client, cco):
    client.force_login(cco)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert IMPORT_URL.encode() in response.content


def test_the_import_page_for_a_cco(catalog_roles, client, cco, subsidiary, other_subsidiary):
    client.force_login(cco)

    response = client.get(IMPORT_URL)

    assert response.status_code == 200
    sellers = list(response.context["form"].fields["seller"].queryset)
    assert sellers == [subsidiary]  # its own subsidiary only, never another
    assert response.context["form"].fields["seller"].initial == subsidiary.pk


def test_posting_a_good_file_imports_and_returns_to_the_changelist(
    catalog_roles, client, cco, subsidiary, products, customer,
):
    client.force_login(cco)

    response = client.post(IMPORT_URL, {"seller": subsidiary.pk,
                                        "file": upload(csv_bytes(good_rows()))})

    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    assert PriceList.objects.filter(source=PriceList.Source.IMPORT).count() == 2
    page = client.get(CHANGELIST)
    assert "Imported 2 price lists with 5 prices." in page.content.decode()


def test_posting_a_bad_file_shows_the_errors_and_saves_nothing(
    catalog_roles, client, cco, subsidiary, products, customer,
):
    client.force_login(cco)
    rows = good_rows()
    rows[3] = row(sku="DEMO-0002", quantity="25", price="-3")  # row 5

    response = client.post(IMPORT_URL, {"seller": subsidiary.pk,
                                        "file": upload(csv_bytes(rows))})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="import-errors"' in html
    assert "<td>5</td>" in html and "<td>unit_price</td>" in html
    assert "The unit price must be more than zero." in html
    assert "Nothing was saved" in html
    assert nothing_written()


def test_a_cco_cannot_import_for_another_subsidiary_in_the_admin(
    catalog_roles, client, cco, other_subsidiary, other_product,
):
    client.force_login(cco)

    response = client.post(IMPORT_URL, {"seller": other_subsidiary.pk,
                                        "file": upload(csv_bytes([row(sku="OTHER-0001")]))})

    assert response.status_code == 200
    assert "seller" in response.context["form"].errors
    assert nothing_written()


def test_staff_without_the_add_permission_cannot_import(catalog_roles, client, subsidiary):
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    client.force_login(finance)

    assert client.get(IMPORT_URL).status_code == 403
    assert IMPORT_URL.encode() not in client.get(CHANGELIST).content


def test_the_sample_files_can_be_downloaded(catalog_roles, client, cco):
    client.force_login(cco)

    response = client.get(IMPORT_URL + "sample.xlsx")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (DATA / "sample_price_list.xlsx").read_bytes()
    assert client.get(IMPORT_URL + "sample.exe").status_code == 404


def test_a_cco_cannot_open_another_subsidiarys_product_or_price_list(
    catalog_roles, client, cco, other_subsidiary, other_product,
):
    other_list = price_list_with_tiers(seller=other_subsidiary, valid_from=START,
                                       tiers=[(other_product, 0, "10")])
    client.force_login(cco)

    for url in (f"/admin/catalog/product/{other_product.pk}/change/",
                f"/admin/catalog/pricelist/{other_list.pk}/change/"):
        response = client.get(url, follow=True)
        assert response.redirect_chain[0] == ("/admin/", 302)
        assert "doesn’t exist" in response.content.decode()
        assert 'name="_save"' not in response.content.decode()

    response = client.post(f"/admin/catalog/product/{other_product.pk}/change/",
                           {"sku": "HIJACKED"})
    assert response.status_code == 302
    other_product.refresh_from_db()
    assert other_product.sku == "OTHER-0001"


# --- Price lists entered by hand --------------------------------------------------------------


def _list_form(seller, *, tiers, company="", valid_from=START, initial=0, extra=None):
    data = {
        "seller": seller.pk, "company": company, "name": "Manual list",
        "valid_from": valid_from.isoformat(), "valid_until": "",
        "tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": str(initial),
        "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000", "_save": "Save",
    }
    for i, tier in enumerate(tiers):
        for key, value in tier.items():
            data[f"tiers-{i}-{key}"] = value
    data.update(extra or {})
    return data


def test_a_list_added_by_hand_records_its_price_history(
    catalog_roles, client, cco, subsidiary, products,
):
    demo1 = products["DEMO-0001"]
    client.force_login(cco)

    response = client.post("/admin/catalog/pricelist/add/", _list_form(subsidiary, tiers=[
        {"product": demo1.pk, "min_quantity": "0", "unit_price": "50.00", "tax_inclusive": "on"},
        {"product": demo1.pk, "min_quantity": "10", "unit_price": "48.00",
         "tax_inclusive": "on"},
    ]))

    assert response.status_code == 302, response.context["errors"]
    price_list = PriceList.objects.get()
    assert (price_list.source, price_list.created_by) == (PriceList.Source.MANUAL, cco)
    assert list(PriceChange.objects.filter(price_list=price_list).values_list(
        "min_quantity", "unit_price", "effective_from", "changed_by")) == [
        (Decimal("0"), Decimal("50.00"), START, cco.pk),
        (Decimal("10"), Decimal("48.00"), START, cco.pk)]


def test_a_list_added_by_hand_is_checked_like_an_import(
    catalog_roles, client, cco, subsidiary, products, other_product,
):
    demo1 = products["DEMO-0001"]
    client.force_login(cco)

    dearer = client.post("/admin/catalog/pricelist/add/", _list_form(subsidiary, tiers=[
        {"product": demo1.pk, "min_quantity": "0", "unit_price": "50.00"},
        {"product": demo1.pk, "min_quantity": "10", "unit_price": "55.00"},
    ]))
    foreign = client.post("/admin/catalog/pricelist/add/", _list_form(subsidiary, tiers=[
        {"product": other_product.pk, "min_quantity": "0", "unit_price": "50.00"},
    ]))

    assert dearer.status_code == 200
    assert "cannot cost more per unit" in dearer.content.decode()
    assert foreign.status_code == 200  # another subsidiary's product is not a choice
    assert "Select a valid choice" in foreign.content.decode()
    assert nothing_written()


def test_editing_a_future_list_by_hand_records_the_change(
    catalog_roles, client, cco, subsidiary, products,
):
    demo1 = products["DEMO-0001"]
    price_list = services.price_list_create(
        seller=subsidiary, company=None, name="Next cycle", valid_from=START, valid_until=None,
        tiers=[services.TierInput(product=demo1, min_quantity=Decimal("0"),
                                  unit_price=Decimal("50"))], created_by=cco)
    tier = price_list.tiers.get()
    client.force_login(cco)

    response = client.post(
        f"/admin/catalog/pricelist/{price_list.pk}/change/",
        _list_form(subsidiary, initial=1, tiers=[
            {"id": tier.pk, "price_list": price_list.pk, "product": demo1.pk,
             "min_quantity": "0", "unit_price": "47.50", "tax_inclusive": "on"}]))

    assert response.status_code == 302
    assert list(PriceChange.objects.filter(price_list=price_list)
                .order_by("recorded_at", "pk").values_list("unit_price", flat=True)) == [
        Decimal("50.00"), Decimal("47.50")]


def test_a_list_in_force_cannot_be_edited(catalog_roles, client, cco, subsidiary, products):
    demo1 = products["DEMO-0001"]
    price_list = price_list_with_tiers(seller=subsidiary, valid_from=TODAY,
                                       tiers=[(demo1, 0, "50")])
    tier = price_list.tiers.get()
    client.force_login(cco)
    url = f"/admin/catalog/pricelist/{price_list.pk}/change/"

    page = client.get(url)
    response = client.post(url, _list_form(subsidiary, valid_from=TODAY, initial=1, tiers=[
        {"id": tier.pk, "price_list": price_list.pk, "product": demo1.pk, "min_quantity": "0",
         "unit_price": "1.00", "tax_inclusive": "on"}]))

    assert page.status_code == 200  # still readable: it is history
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    tier.refresh_from_db()
    assert tier.unit_price == Decimal("50.00")


def test_price_tiers_record_history_adds_nothing_when_repeated(cco, subsidiary, products):
    price_list = price_list_with_tiers(seller=subsidiary, valid_from=START,
                                       tiers=[(products["DEMO-0001"], 0, "50")])
    tiers = list(price_list.tiers.all())

    first = services.price_tiers_record_history(price_list=price_list, tiers=tiers, user=cco)
    second = services.price_tiers_record_history(price_list=price_list, tiers=tiers, user=cco)

    assert len(first) == 1 and second == []
