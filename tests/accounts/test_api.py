"""/api/v1/ of accounts, the OpenAPI schema and its docs page."""

import io

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Membership, Role, User
from tests.factories import (
    TEST_PASSWORD,
    BuyerFactory,
    CompanyFactory,
    StaffFactory,
    SubsidiaryFactory,
)


def counts():
    return User.objects.count(), Membership.objects.count()


# --- tokens -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_is_usable_as_authorization_header(api_client, buyer):
    response = api_client.post("/api/v1/auth/token/",
                               {"email": buyer.email.upper(), "password": TEST_PASSWORD},
                               format="json")
    assert response.status_code == 200
    token = response.json()["token"]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == buyer.email

    # asking again gives the same token
    again = api_client.post("/api/v1/auth/token/",
                            {"email": buyer.email, "password": TEST_PASSWORD}, format="json")
    assert again.json()["token"] == token


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    {"email": "buyer@example.com", "password": "wrong"},
    {"email": "nobody@example.com", "password": TEST_PASSWORD},
])
def test_token_with_bad_credentials(api_client, body):
    BuyerFactory(email="buyer@example.com")
    response = api_client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == ["The email or password is not correct."]


@pytest.mark.django_db
def test_token_with_missing_fields(api_client):
    response = api_client.post("/api/v1/auth/token/", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


@pytest.mark.django_db
def test_token_for_inactive_user(api_client):
    user = BuyerFactory(is_active=False)
    response = api_client.post("/api/v1/auth/token/",
                               {"email": user.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_bad_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    response = api_client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Invalid token."


# --- me ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_me_anonymous(api_client):
    assert api_client.get("/api/v1/me/").status_code in (401, 403)


@pytest.mark.django_db
def test_me_for_a_buyer(api_client, buyer, company):
    api_client.force_authenticate(buyer)
    body = api_client.get("/api/v1/me/").json()
    assert body["id"] == buyer.pk
    assert body["roles"] == [Role.BUYER]
    assert body["company"]["id"] == company.pk
    assert body["company"]["uscc"] == company.uscc
    assert body["is_company_admin"] is True
    assert body["organization"] is None


@pytest.mark.django_db
def test_me_for_a_cco(api_client, cco, subsidiary):
    api_client.force_authenticate(cco)
    body = api_client.get("/api/v1/me/").json()
    assert body["roles"] == [Role.CCO]
    assert body["organization"]["id"] == subsidiary.pk
    assert body["organization"]["code"] == subsidiary.code
    assert body["company"] is None
    assert body["is_company_admin"] is False


# --- reference data ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_regions_provinces(api_client):
    response = api_client.get("/api/v1/regions/", {"level": "province"})
    assert response.status_code == 200
    provinces = response.json()
    assert len(provinces) == 34
    assert all(r["parent"] is None for r in provinces)
    assert {"code": "320000", "level": "province", "parent": None, "name_zh": "江苏省",
            "name_en": "Jiangsu"} in provinces


@pytest.mark.django_db
def test_regions_cities_of_a_province(api_client):
    cities = api_client.get("/api/v1/regions/", {"parent": "320000"}).json()
    codes = {r["code"] for r in cities}
    assert "320500" in codes
    assert all(code.startswith("32") for code in codes)
    assert all(r["level"] == "city" for r in cities)


@pytest.mark.django_db
def test_organizations_are_public(api_client, hq, subsidiary):
    SubsidiaryFactory(parent=hq, code="closed", is_active=False)
    response = api_client.get("/api/v1/organizations/")
    assert response.status_code == 200
    codes = {o["code"] for o in response.json()}
    assert codes == {hq.code, subsidiary.code}


# --- companies --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_companies_anonymous(api_client, company):
    assert api_client.get("/api/v1/companies/").status_code in (401, 403)
    assert api_client.get(f"/api/v1/companies/{company.pk}/").status_code in (401, 403)


@pytest.mark.django_db
def test_companies_list_is_scoped_for_a_buyer(api_client, buyer, company, outsider_buyer):
    api_client.force_authenticate(buyer)
    body = api_client.get("/api/v1/companies/").json()
    assert [c["id"] for c in body["results"]] == [company.pk]


@pytest.mark.django_db
def test_companies_list_is_scoped_for_a_cco(api_client, cco, company, other_subsidiary):
    company.served_by.add(cco.organization)
    CompanyFactory().served_by.add(other_subsidiary)
    api_client.force_authenticate(cco)
    body = api_client.get("/api/v1/companies/").json()
    assert [c["id"] for c in body["results"]] == [company.pk]


@pytest.mark.django_db
def test_companies_list_for_hq_manager(api_client, hq_manager, company, outsider_buyer):
    api_client.force_authenticate(hq_manager)
    body = api_client.get("/api/v1/companies/").json()
    assert body["count"] == 2


@pytest.mark.django_db
def test_company_detail_for_own_buyer(api_client, buyer, company):
    api_client.force_authenticate(buyer)
    response = api_client.get(f"/api/v1/companies/{company.pk}/")
    assert response.status_code == 200
    assert response.json()["uscc"] == company.uscc
    assert response.json()["province"] == "320000"


@pytest.mark.django_db
def test_outsider_cannot_see_company(api_client, company, outsider_buyer):
    api_client.force_authenticate(outsider_buyer)
    assert api_client.get(f"/api/v1/companies/{company.pk}/").status_code == 404


@pytest.mark.django_db
def test_cco_of_other_subsidiary_cannot_see_company(api_client, company, subsidiary,
                                                    other_subsidiary):
    company.served_by.add(subsidiary)
    api_client.force_authenticate(StaffFactory(organization=other_subsidiary))
    assert api_client.get(f"/api/v1/companies/{company.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/companies/{company.pk}/members/").status_code == 404


@pytest.mark.django_db
def test_missing_company_is_404(api_client, hq_manager):
    api_client.force_authenticate(hq_manager)
    assert api_client.get("/api/v1/companies/999999/").status_code == 404
    assert api_client.get("/api/v1/companies/999999/members/").status_code == 404


# --- members ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_list(api_client, buyer, company, outsider_buyer):
    colleague = BuyerFactory(company=company)
    api_client.force_authenticate(colleague)
    response = api_client.get(f"/api/v1/companies/{company.pk}/members/")
    assert response.status_code == 200
    assert {m["email"]: m["is_admin"] for m in response.json()} == {
        buyer.email: True, colleague.email: False}


@pytest.mark.django_db
def test_members_list_for_serving_cco(api_client, buyer, company, cco):
    company.served_by.add(cco.organization)
    api_client.force_authenticate(cco)
    response = api_client.get(f"/api/v1/companies/{company.pk}/members/")
    assert [m["email"] for m in response.json()] == [buyer.email]


@pytest.mark.django_db
def test_outsider_cannot_list_members(api_client, company, buyer, outsider_buyer):
    api_client.force_authenticate(outsider_buyer)
    assert api_client.get(f"/api/v1/companies/{company.pk}/members/").status_code == 404


@pytest.mark.django_db
def test_outsider_admin_cannot_add_members(api_client, company, mailoutbox,
                                           django_capture_on_commit_callbacks):
    outsider_admin = BuyerFactory(is_company_admin=True)
    api_client.force_authenticate(outsider_admin)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/v1/companies/{company.pk}/members/",
                                   {"email": "x@example.com", "full_name": "X"}, format="json")
    assert response.status_code == 404
    assert counts() == before
    assert mailoutbox == []


@pytest.mark.django_db
def test_non_admin_member_cannot_add_members(api_client, company, mailoutbox):
    member = BuyerFactory(company=company, is_company_admin=False)
    api_client.force_authenticate(member)
    before = counts()
    response = api_client.post(f"/api/v1/companies/{company.pk}/members/",
                               {"email": "x@example.com", "full_name": "X"}, format="json")
    assert response.status_code == 404
    assert counts() == before


@pytest.mark.django_db
def test_serving_cco_cannot_add_members(api_client, company, cco):
    company.served_by.add(cco.organization)
    api_client.force_authenticate(cco)
    response = api_client.post(f"/api/v1/companies/{company.pk}/members/",
                               {"email": "x@example.com", "full_name": "X"}, format="json")
    assert response.status_code == 404


@pytest.mark.django_db
def test_admin_adds_member(api_client, buyer, company, mailoutbox,
                           django_capture_on_commit_callbacks):
    api_client.force_authenticate(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/api/v1/companies/{company.pk}/members/",
            {"email": "New.Member@Example.com", "full_name": "New Member", "is_admin": True},
            format="json")
    assert response.status_code == 201
    body = response.json()
    user = User.objects.get(email="new.member@example.com")
    assert body == {"id": user.pk, "email": "new.member@example.com",
                    "full_name": "New Member", "is_admin": True}
    assert user.membership.company == company
    assert user.membership.invited_by == buyer
    assert not user.has_usable_password()
    assert len(mailoutbox) == 1
    assert "/accounts/invitation/" in mailoutbox[0].body


BAD_MEMBERS = {
    "invalid email": ({"email": "not-an-email", "full_name": "X"}, "email"),
    "missing email": ({"full_name": "X"}, "email"),
    "missing name": ({"email": "x@example.com"}, "full_name"),
    "blank name": ({"email": "x@example.com", "full_name": "  "}, "full_name"),
    "name too long": ({"email": "x@example.com", "full_name": "X" * 151}, "full_name"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), BAD_MEMBERS.values(), ids=BAD_MEMBERS.keys())
def test_admin_adds_member_with_bad_input(api_client, buyer, company, body, field):
    api_client.force_authenticate(buyer)
    before = counts()
    response = api_client.post(f"/api/v1/companies/{company.pk}/members/", body, format="json")
    assert response.status_code == 400
    assert response.json()[field]
    assert counts() == before


@pytest.mark.django_db
def test_admin_adds_member_with_existing_email(api_client, buyer, company, outsider_buyer,
                                               mailoutbox):
    api_client.force_authenticate(buyer)
    before = counts()
    response = api_client.post(f"/api/v1/companies/{company.pk}/members/",
                               {"email": outsider_buyer.email.upper(), "full_name": "X"},
                               format="json")
    assert response.status_code == 400
    assert response.json()["email"] == ["A user with this email already exists."]
    assert counts() == before
    assert mailoutbox == []


# --- schema and docs --------------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_is_served_and_lists_the_routes(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/auth/token/", "/api/v1/me/", "/api/v1/regions/",
            "/api/v1/organizations/", "/api/v1/companies/", "/api/v1/companies/{id}/",
            "/api/v1/companies/{id}/members/"} <= set(schema["paths"])


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    stderr = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out),
                 stderr=stderr)
    assert out.stat().st_size > 0
    assert "Warning" not in stderr.getvalue()


@pytest.mark.django_db
def test_docs_page_uses_local_static_files(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    for cdn in ("cdn.", "jsdelivr", "unpkg"):
        assert cdn not in html
