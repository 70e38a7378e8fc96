"""Security and observability: login lockout, CSP, staff passwords, request ids, sniffed
uploads and the audit log of staff changes."""

import re
from decimal import Decimal

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from chemmall.errors import DomainError
from chemmall.uploads import document_kind, validate_document
from orders import services as order_services
from orders.models import CompanyLicence
from tests.factories import TEST_PASSWORD, BuyerFactory, StaffFactory
from tests.orders.factories import LicenceFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"


# --- Login throttling ---------------------------------------------------------------------------


def _fail_login(client, email, times):
    for _i in range(times):
        response = client.post("/accounts/login/", {"username": email, "password": "wrong!"})
        assert response.status_code == 200  # the form says the password is wrong


def test_five_failures_lock_the_login_even_with_the_right_password(client, buyer):
    _fail_login(client, buyer.email, 4)
    fifth = client.post("/accounts/login/", {"username": buyer.email, "password": "wrong!"})
    assert fifth.status_code == 429  # the fifth failure locks
    response = client.post("/accounts/login/", {"username": buyer.email,
                                                "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(client, buyer):
    _fail_login(client, buyer.email, 4)
    response = client.post("/accounts/login/", {"username": buyer.email,
                                                "password": TEST_PASSWORD})
    assert response.status_code == 302
    client.post("/accounts/logout/")
    _fail_login(client, buyer.email, 4)  # counted from zero again: still not locked
    response = client.post("/accounts/login/", {"username": buyer.email,
                                                "password": TEST_PASSWORD})
    assert response.status_code == 302


def test_the_lockout_is_per_address_not_for_everyone(client, buyer):
    other = BuyerFactory()
    _fail_login(client, buyer.email, 4)
    client.post("/accounts/login/", {"username": buyer.email, "password": "wrong!"})
    response = client.post("/accounts/login/", {"username": other.email,
                                                "password": TEST_PASSWORD})
    assert response.status_code == 302


def test_the_api_token_endpoint_locks_with_a_json_429(api_client, buyer):
    for attempt in range(1, 6):
        response = api_client.post("/api/v1/auth/token/",
                                   {"email": buyer.email, "password": "wrong!"}, format="json")
        assert response.status_code == (429 if attempt == 5 else 400)
    response = api_client.post("/api/v1/auth/token/",
                               {"email": buyer.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"


def test_the_admin_login_is_throttled_too(client, cco):
    for _i in range(5):
        client.post("/admin/login/", {"username": cco.email, "password": "wrong!"})
    response = client.post("/admin/login/", {"username": cco.email, "password": TEST_PASSWORD})
    assert response.status_code == 429


# --- Headers ------------------------------------------------------------------------------------


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    script_src = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "onchange=" not in response.content.decode()  # no inline handlers


def test_an_inline_script_carries_the_nonce_of_its_response(client):
    response = client.get("/products/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    page = response.content.decode()
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert scripts, "the product list has its inline script"
    assert all(f'nonce="{nonce}"' in attributes for attributes in scripts)


def test_every_response_has_a_request_id_and_a_sane_incoming_one_is_kept(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
    kept = client.get("/healthz", headers={"X-Request-ID": "proxy-abc-12345"})
    assert kept["X-Request-ID"] == "proxy-abc-12345"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced["X-Request-ID"])


def test_log_records_carry_the_request_id(client, caplog):
    with caplog.at_level("INFO", logger="chemmall.request"):
        response = client.get("/healthz", headers={"X-Request-ID": "trace-me-0001"})
    (record,) = [r for r in caplog.records if r.name == "chemmall.request"]
    assert record.request_id == response["X-Request-ID"] == "trace-me-0001"
    assert record.status == 200 and record.path == "/healthz"


# --- Passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short-pw-1", "onlylettersherealong"])
def test_staff_need_a_strong_password(subsidiary, password):
    staff = StaffFactory(organization=subsidiary, roles=[Role.CCO])
    with pytest.raises(ValidationError):
        validate_password(password, user=staff)


def test_a_strong_staff_password_and_a_buyers_ordinary_one_pass(subsidiary, buyer):
    staff = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    validate_password("river-Delta-2049", user=staff)
    validate_password("short-pw-1", user=buyer)  # Django's rules for buyers: 10 characters


# --- Uploads ------------------------------------------------------------------------------------


def test_the_kind_is_sniffed_from_the_content_not_the_name():
    assert document_kind(SimpleUploadedFile("scan.pdf", PNG)) == "png"
    assert document_kind(SimpleUploadedFile("scan.pdf", PDF)) == "pdf"
    assert document_kind(SimpleUploadedFile("scan.pdf", b"<html><script>x</script>")) is None
    with pytest.raises(ValidationError):
        validate_document(SimpleUploadedFile("sds.pdf", b"MZ\x90\x00 an executable"))


def test_a_licence_that_is_not_a_document_is_refused_and_a_png_is_renamed(buyer, settings,
                                                                         tmp_path):
    settings.MEDIA_ROOT = tmp_path
    import datetime

    from django.utils import timezone

    until = timezone.localdate() + datetime.timedelta(days=30)
    with pytest.raises(DomainError) as refused:
        order_services.licence_submit(user=buyer, kind=CompanyLicence.Kind.PRECURSOR,
                                      number="L-1", valid_until=until,
                                      document=SimpleUploadedFile("licence.pdf", b"GIF89a.."))
    assert refused.value.field == "document"
    assert not CompanyLicence.objects.exists()
    licence = order_services.licence_submit(
        user=buyer, kind=CompanyLicence.Kind.PRECURSOR, number="L-2", valid_until=until,
        document=SimpleUploadedFile("../../etc/passwd.pdf", PNG))
    name = licence.document.name
    assert re.search(r"licence-[0-9a-f]{16}\.png$", name) and "passwd" not in name


# --- Audit log ----------------------------------------------------------------------------------


def test_a_credit_limit_change_is_logged_with_who_and_before_after(company, subsidiary):
    manager = StaffFactory(organization=subsidiary, roles=[Role.SUBSIDIARY_MANAGER])
    company.credit_limit = Decimal("1000.00")
    company.save()
    with set_actor(manager):
        company.credit_limit = Decimal("250000.00")
        company.save()
    entry = LogEntry.objects.get_for_object(company).filter(actor=manager).get()
    before, after = entry.changes_dict["credit_limit"]
    assert (Decimal(before), Decimal(after)) == (Decimal("1000.00"), Decimal("250000.00"))


def test_a_licence_review_through_the_finance_page_is_logged(client, company, subsidiary,
                                                            settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    finance = StaffFactory(organization=subsidiary, roles=[Role.FINANCE])
    company.served_by.add(subsidiary)
    licence = LicenceFactory(company=company, status=CompanyLicence.Status.PENDING)
    assert client.login(email=finance.email, password=TEST_PASSWORD)
    response = client.post(f"/finance/licences/{licence.pk}/review/", {"decision": "approve"})
    assert response.status_code == 302
    entry = LogEntry.objects.get_for_object(licence).latest("timestamp")
    assert entry.actor == finance
    assert entry.changes_dict["status"] == [CompanyLicence.Status.PENDING,
                                            CompanyLicence.Status.APPROVED]
