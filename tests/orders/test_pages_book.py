"""Buyer pages of the orders app, part 3: the address book and the company's licences."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from orders.models import Address, CompanyLicence
from tests.factories import BuyerFactory, StaffFactory
from tests.orders.factories import AddressFactory, LicenceFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- Address book -----------------------------------------------------------------------------


def address_data(**overrides):
    data = {"label": "Plant 2", "recipient": "李雷", "phone": "13900001111",
            "province": "320000", "city": "320500", "line": "星湖街 328 号",
            "is_default": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_address_book_lists_the_company_addresses_only(signed_in, address, company):
    colleague_added = AddressFactory(company=company, label="Warehouse east")
    foreign = AddressFactory(label="Foreign plant")
    archived = AddressFactory(company=company, label="Old yard", is_active=False)
    page = html(signed_in.get("/addresses/"))
    assert address.line in page and "Warehouse east" in page
    assert foreign.label not in page and archived.label not in page
    assert "Default" in page
    assert f'action="/addresses/{colleague_added.pk}/default/"' in page
    assert 'data-region-select' in page and "region-select.js" in page
    assert "苏州" in page or "Suzhou" in page  # the city of the address


def test_first_address_becomes_the_default(signed_in, company):
    response = signed_in.post("/addresses/", address_data())
    assert response.status_code == 302 and response["Location"] == "/addresses/"
    address = Address.objects.get()
    assert (address.company, address.label, address.recipient, address.region_id,
            address.line, address.is_default) == (company, "Plant 2", "李雷", "320500",
                                                  "星湖街 328 号", True)


def test_adding_from_the_checkout_goes_back_there(signed_in):
    page = html(signed_in.get("/addresses/", {"next": "/checkout/"}))
    assert 'name="next" value="/checkout/"' in page
    response = signed_in.post("/addresses/", address_data(next="/checkout/"))
    assert response["Location"] == "/checkout/"
    response = signed_in.post("/addresses/", address_data(next="https://evil.example/"))
    assert response["Location"] == "/addresses/"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"recipient": ""}, "recipient", "This field is required."),
    ({"phone": ""}, "phone", "This field is required."),
    ({"line": ""}, "line", "This field is required."),
    ({"line": "   "}, "line", "This field is required."),
    ({"city": ""}, "city", "This field is required."),
    ({"city": "999999"}, "city", "Select a valid choice."),
    ({"province": "110000"}, "city", "The city is not in the chosen province."),
    ({"recipient": "x" * 101}, "recipient", "at most 100 characters"),
])
def test_bad_address_input_is_a_400_and_keeps_what_was_typed(signed_in, overrides, field,
                                                             message):
    response = signed_in.post("/addresses/", address_data(**overrides))
    assert response.status_code == 400
    page = html(response)
    assert f'id="id_{field}-error"' in page and message in page
    kept = "recipient" if field != "recipient" else "phone"
    assert f'value="{address_data()[kept]}"' in page  # what was typed comes back
    assert not Address.objects.exists()


def test_set_default_and_remove(signed_in, address, company):
    other = AddressFactory(company=company, label="Warehouse east")
    assert signed_in.post(f"/addresses/{other.pk}/default/").status_code == 302
    address.refresh_from_db()
    other.refresh_from_db()
    assert (address.is_default, other.is_default) == (False, True)
    assert signed_in.post(f"/addresses/{other.pk}/remove/").status_code == 302
    other.refresh_from_db()
    assert (other.is_active, other.is_default) == (False, False)  # archived: orders keep it
    assert list(signed_in.get("/addresses/").context["addresses"]) == [address]


def test_another_companys_address_is_404_and_untouched(signed_in):
    foreign = AddressFactory(is_default=False)
    assert signed_in.post(f"/addresses/{foreign.pk}/default/").status_code == 404
    assert signed_in.post(f"/addresses/{foreign.pk}/remove/").status_code == 404
    assert signed_in.post("/addresses/999999/remove/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active and not foreign.is_default


def test_address_book_is_for_company_members(client, cco, address):
    assert client.get("/addresses/").status_code == 302  # sign in first
    client.force_login(cco)
    assert client.get("/addresses/").status_code == 404
    assert client.post("/addresses/", address_data()).status_code == 404
    assert client.post(f"/addresses/{address.pk}/remove/").status_code == 404
    assert Address.objects.filter(is_active=True).count() == 1


def test_address_actions_are_post_only(signed_in, address):
    assert signed_in.get(f"/addresses/{address.pk}/remove/").status_code == 405
    assert signed_in.get(f"/addresses/{address.pk}/default/").status_code == 405


# --- Licences ---------------------------------------------------------------------------------


def upload(name="licence.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def licence_data(**overrides):
    data = {"kind": "precursor", "number": "苏易制毒购 2024-0815",
            "valid_until": (timezone.localdate() + datetime.timedelta(days=200)).isoformat(),
            "document": upload()}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_company_page_links_addresses_and_licences(signed_in):
    page = html(signed_in.get("/accounts/company/"))
    assert 'href="/addresses/"' in page and 'href="/company/licences/"' in page


def test_licences_list_the_company_licences_with_status(signed_in, company):
    approved = LicenceFactory(company=company, number="LIC-OK")
    LicenceFactory(company=company, number="LIC-OLD", status=CompanyLicence.Status.REJECTED,
                   valid_until=timezone.localdate() - datetime.timedelta(days=1))
    LicenceFactory(number="LIC-FOREIGN")
    page = html(signed_in.get("/company/licences/"))
    assert approved.number in page and "Approved" in page
    assert "LIC-OLD" in page and "Rejected" in page and "Expired" in page
    assert "LIC-FOREIGN" not in page
    assert 'enctype="multipart/form-data"' in page


def test_upload_a_licence_for_review(signed_in, company, media):
    response = signed_in.post("/company/licences/", licence_data(), follow=True)
    assert response.redirect_chain == [("/company/licences/", 302)]
    licence = CompanyLicence.objects.get()
    assert (licence.company, licence.kind, licence.status) == (company, "precursor", "pending")
    assert licence.document.name.endswith(".pdf")
    assert "licence.pdf" not in licence.document.name  # never the uploader's file name
    assert (media / licence.document.name).read_bytes() == PDF
    assert "finance reviews it" in html(response) and "Pending review" in html(response)


def test_a_png_scan_is_accepted(signed_in):
    data = licence_data(document=upload("scan.png", PNG, "image/png"))
    assert signed_in.post("/company/licences/", data).status_code == 302
    assert CompanyLicence.objects.get().document.name.endswith(".png")


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"document": None}, "document", "Attach the licence as a PDF, PNG or JPEG file."),
    ({"document": upload("licence.pdf", b"<html>not a pdf</html>")}, "document",
     "Attach the licence as a PDF, PNG or JPEG file."),
    ({"document": upload("big.pdf", PDF + b"\0" * (10 * 1024 * 1024))}, "document",
     "The file is larger than 10 MB."),
    ({"valid_until": "2001-01-01"}, "valid_until", "This licence has expired"),
    ({"valid_until": "someday"}, "valid_until", "Enter a valid date."),
    ({"kind": "driving"}, "kind", "Select a valid choice."),
    ({"number": ""}, "number", "This field is required."),
    ({"number": "   "}, "number", "This field is required."),
])
def test_bad_licence_upload_is_a_400_and_saves_nothing(signed_in, media, overrides, field,
                                                       message):
    response = signed_in.post("/company/licences/", licence_data(**overrides))
    assert response.status_code == 400
    page = html(response)
    assert f'id="id_{field}-error"' in page and message in page
    assert not CompanyLicence.objects.exists()
    assert not list(media.rglob("*.*"))


def licence_with_document(company, content=PDF):
    licence = LicenceFactory(company=company)
    licence.document.save("licence-0123456789abcdef.pdf", ContentFile(content))
    return licence


def test_member_downloads_the_document(signed_in, company):
    licence = licence_with_document(company)
    response = signed_in.get(f"/company/licences/{licence.pk}/document/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]


def test_staff_who_may_see_the_company_download_it_others_get_404(client, company,
                                                                   subsidiary,
                                                                   other_subsidiary,
                                                                   outsider_buyer):
    licence = licence_with_document(company)
    url = f"/company/licences/{licence.pk}/document/"
    company.served_by.add(subsidiary)
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    client.force_login(finance)
    assert client.get(url).status_code == 200
    for user in (outsider_buyer, StaffFactory(organization=other_subsidiary,
                                              roles=[Role.FINANCE])):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # sign in first


def test_missing_document_is_404(signed_in, company, media):
    without = LicenceFactory(company=company)
    assert signed_in.get(f"/company/licences/{without.pk}/document/").status_code == 404
    gone = licence_with_document(company)
    (media / gone.document.name).unlink()
    assert signed_in.get(f"/company/licences/{gone.pk}/document/").status_code == 404
    assert signed_in.get("/company/licences/999999/document/").status_code == 404


def test_licences_page_is_for_company_members(client, cco):
    client.force_login(cco)
    assert client.get("/company/licences/").status_code == 404
    assert client.post("/company/licences/", licence_data()).status_code == 404
    client.force_login(BuyerFactory())
    assert client.get("/company/licences/").status_code == 200
    assert not CompanyLicence.objects.exists()
