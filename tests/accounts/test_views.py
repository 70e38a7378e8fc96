"""The web pages of accounts: home, sign in/out, registration, company page, password mails."""

import re

import pytest
from django.conf import settings
from django.contrib import auth
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services
from accounts.models import Company, Role, User
from tests.factories import (
    TEST_PASSWORD,
    BuyerFactory,
    CompanyFactory,
    UserFactory,
    valid_uscc,
)

ZH_CATALOG = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
# Our own strings are Chinese only once the catalog is compiled; Django switches language
# either way (its own zh_Hans catalog exists), which the tests without this mark check.
zh_catalog_pending = pytest.mark.xfail(not ZH_CATALOG.exists(), reason="zh catalog pending",
                                       strict=False)
NEW_PASSWORD = "brand-new-pass-5531"


def registration_data(**overrides):
    data = {
        "company_name": "苏州测试新材料有限公司",
        "uscc": valid_uscc(31337),
        "province": "320000",
        "city": "320500",
        "address": "苏州工业园区星湖街 1 号",
        "full_name": "Li Lei",
        "email": "li.lei@example.com",
        "phone": "+86 512 0000 0000",
        "password1": TEST_PASSWORD,
        "password2": TEST_PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return Company.objects.count(), User.objects.count()


def link_in(body: str, prefix: str) -> str:
    match = re.search(rf"https?://[^/\s]+({prefix}[^\s]+/)", body)
    assert match, body
    return match.group(1)


# --- home, language ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_page_in_english(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Register your company" in response.text
    assert "Sign in" in response.text


@pytest.mark.django_db
def test_home_page_switches_to_chinese_by_accept_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.text


@pytest.mark.django_db
def test_home_page_switches_to_chinese_by_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="zh-hans">' in response.text


@pytest.mark.django_db
def test_set_language_sets_the_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert '<html lang="zh-hans">' in client.get("/").text


@zh_catalog_pending
@pytest.mark.django_db
def test_home_page_text_in_chinese(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "登录" in response.text  # Sign in
    assert "注册企业" in response.text  # Register your company
    assert "Sign in" not in response.text


@zh_catalog_pending
@pytest.mark.django_db
def test_registration_errors_in_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post("/accounts/register/", registration_data(password2="different-9"))
    assert response.status_code == 400
    assert "The two passwords differ." not in response.text


# --- sign in and out --------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text
    assert "/accounts/password-reset/" in response.text


@pytest.mark.django_db
def test_login_with_email_in_any_case(client, buyer):
    response = client.post("/accounts/login/",
                           {"username": buyer.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert auth.get_user(client) == buyer


@pytest.mark.django_db
def test_login_with_wrong_password(client, buyer):
    response = client.post("/accounts/login/", {"username": buyer.email, "password": "nope"})
    assert response.status_code == 200
    assert not auth.get_user(client).is_authenticated


@pytest.mark.django_db
def test_logout_needs_post(client, buyer):
    client.force_login(buyer)
    assert client.get("/accounts/logout/").status_code == 405
    assert auth.get_user(client) == buyer

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not auth.get_user(client).is_authenticated


# --- registration -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_page(client):
    response = client.get("/accounts/register/")
    assert response.status_code == 200
    assert 'name="uscc"' in response.text
    assert 'data-province="320000"' in response.text  # cities carry their province
    assert "region-select.js" in response.text


@pytest.mark.django_db
def test_register_page_redirects_signed_in_user(client, buyer):
    client.force_login(buyer)
    response = client.get("/accounts/register/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/company/"


@pytest.mark.django_db
def test_registration_creates_company_and_signs_in(client):
    lowercase_uscc = valid_uscc(31337).lower()
    response = client.post("/accounts/register/", registration_data(uscc=lowercase_uscc))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/company/"
    user = User.objects.get(email="li.lei@example.com")
    assert auth.get_user(client) == user
    assert user.membership.is_admin
    assert user.membership.company.uscc == valid_uscc(31337)
    assert user.has_role(Role.BUYER)
    page = client.get("/accounts/company/")
    assert page.status_code == 200
    assert "苏州测试新材料有限公司" in page.text
    assert "Welcome! Your company is registered." in page.text


@pytest.mark.django_db
def test_registration_without_city(client):
    response = client.post("/accounts/register/", registration_data(city=""))
    assert response.status_code == 302
    assert Company.objects.get(uscc=valid_uscc(31337)).city is None


BAD_REGISTRATIONS = {
    "wrong check character": ({"uscc": "91110000600037341M"}, "uscc",
                              "Enter a valid unified social credit code"),
    "17-character code": ({"uscc": "91110000600037341"}, "uscc",
                          "Enter a valid unified social credit code"),
    "forbidden letter": ({"uscc": "91110000O00037341L"}, "uscc",
                         "Enter a valid unified social credit code"),
    "passwords differ": ({"password2": "another-pass-7766"}, "password2",
                         "The two passwords differ."),
    "weak password": ({"password1": "12345678", "password2": "12345678"}, "password1",
                      "This password is too short."),
    "city outside province": ({"province": "320000", "city": "330100"}, "city",
                              "The city is not in the chosen province."),
    "unknown province": ({"province": "999999", "city": ""}, "province",
                         "Select a valid choice."),
    "invalid email": ({"email": "not-an-email"}, "email", "Enter a valid email address."),
    "missing company name": ({"company_name": None}, "company_name", "This field is required."),
    "missing uscc": ({"uscc": None}, "uscc", "This field is required."),
    "missing province": ({"province": None, "city": None}, "province",
                         "This field is required."),
    "missing name": ({"full_name": ""}, "full_name", "This field is required."),
    "missing password": ({"password1": None, "password2": None}, "password1",
                         "This field is required."),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "field", "message"), BAD_REGISTRATIONS.values(),
                         ids=BAD_REGISTRATIONS.keys())
def test_registration_with_bad_input(client, overrides, field, message):
    before = counts()
    response = client.post("/accounts/register/", registration_data(**overrides))
    assert response.status_code == 400
    assert f'id="id_{field}-error"' in response.text
    assert message in response.text
    assert counts() == before
    assert not auth.get_user(client).is_authenticated


@pytest.mark.django_db
def test_registration_with_existing_email(client):
    UserFactory(email="li.lei@example.com")
    before = counts()
    response = client.post("/accounts/register/", registration_data(email="LI.LEI@example.com"))
    assert response.status_code == 400
    assert 'id="id_email-error"' in response.text
    assert "A user with this email already exists." in response.text
    assert counts() == before


@pytest.mark.django_db
def test_registration_of_a_registered_company(client):
    CompanyFactory(uscc=valid_uscc(31337))
    before = counts()
    response = client.post("/accounts/register/", registration_data())
    assert response.status_code == 400
    assert 'id="id_uscc-error"' in response.text
    assert "Ask its administrator to invite you." in response.text
    assert counts() == before


@pytest.mark.django_db
def test_registration_keeps_what_was_typed(client):
    response = client.post("/accounts/register/", registration_data(password2="x-differs-1"))
    assert 'value="苏州测试新材料有限公司"' in response.text
    assert TEST_PASSWORD not in response.text  # passwords are never echoed


# --- company page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_company_page_shows_members(client, buyer, company, outsider_buyer):
    colleague = BuyerFactory(company=company, full_name="Colleague Wang")
    client.force_login(colleague)
    response = client.get("/accounts/company/")
    assert response.status_code == 200
    assert company.name in response.text
    assert company.uscc in response.text
    assert buyer.email in response.text
    assert "Colleague Wang" in response.text
    assert outsider_buyer.email not in response.text
    assert "Send invitation" not in response.text  # not an admin


@pytest.mark.django_db
def test_company_admin_invites_via_the_page(client, buyer, company, mailoutbox,
                                            django_capture_on_commit_callbacks):
    client.force_login(buyer)
    assert "Send invitation" in client.get("/accounts/company/").text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/company/",
                               {"full_name": "New Colleague", "email": "new@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/company/"
    invited = User.objects.get(email="new@example.com")
    assert invited.membership.company == company
    assert not invited.membership.is_admin
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@example.com"]
    page = client.get("/accounts/company/").text
    assert "Invitation sent to new@example.com." in page
    assert "Invited" in page


@pytest.mark.django_db
def test_company_admin_invite_with_taken_email(client, buyer, outsider_buyer, mailoutbox):
    client.force_login(buyer)
    before = counts()
    response = client.post("/accounts/company/",
                           {"full_name": "Someone", "email": outsider_buyer.email})
    assert response.status_code == 400
    assert 'id="id_email-error"' in response.text
    assert counts() == before
    assert mailoutbox == []


@pytest.mark.django_db
def test_company_admin_invite_with_missing_name(client, buyer):
    client.force_login(buyer)
    before = counts()
    response = client.post("/accounts/company/", {"email": "x@example.com"})
    assert response.status_code == 400
    assert 'id="id_full_name-error"' in response.text
    assert counts() == before


@pytest.mark.django_db
def test_non_admin_member_cannot_invite(client, company, mailoutbox):
    member = BuyerFactory(company=company, is_company_admin=False)
    client.force_login(member)
    before = counts()
    response = client.post("/accounts/company/", {"full_name": "X", "email": "x@example.com"})
    assert response.status_code == 404
    assert counts() == before
    assert mailoutbox == []


@pytest.mark.django_db
def test_company_page_anonymous_redirects_to_login(client):
    response = client.get("/accounts/company/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/company/"


@pytest.mark.django_db
def test_company_page_for_staff_without_company_is_404(client, cco, company):
    company.served_by.add(cco.organization)
    client.force_login(cco)
    assert client.get("/accounts/company/").status_code == 404
    assert client.post("/accounts/company/", {"full_name": "X",
                                              "email": "x@example.com"}).status_code == 404


@pytest.mark.django_db
def test_company_page_for_user_without_company_is_404(client):
    client.force_login(UserFactory(roles=[Role.DEALER]))
    assert client.get("/accounts/company/").status_code == 404


# --- password reset and invitation ------------------------------------------------------------


@pytest.mark.django_db
def test_password_reset_by_mail(client, buyer, mailoutbox):
    assert client.get("/accounts/password-reset/").status_code == 200
    response = client.post("/accounts/password-reset/", {"email": buyer.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [buyer.email]
    assert mailoutbox[0].subject == "Reset your ChemMall password"
    link = link_in(mailoutbox[0].body, "/accounts/reset/")

    form_url = client.get(link)["Location"]  # the token moves into the session
    assert client.get(form_url).status_code == 200
    response = client.post(form_url, {"new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reset/done/"

    buyer.refresh_from_db()
    assert buyer.check_password(NEW_PASSWORD)
    assert client.login(email=buyer.email, password=NEW_PASSWORD)
    client.logout()
    assert "This link has expired" in client.get(link, follow=True).text  # used once only


@pytest.mark.django_db
def test_password_reset_for_unknown_email_sends_nothing(client, mailoutbox):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302  # the same answer: addresses do not leak
    assert mailoutbox == []


@pytest.mark.django_db
def test_invitation_link_sets_password_then_login(client, buyer, company, mailoutbox,
                                                  django_capture_on_commit_callbacks):
    client.force_login(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/company/", {"full_name": "Han Mei", "email": "han@example.com"})
    client.logout()
    link = link_in(mailoutbox[0].body, "/accounts/invitation/")
    invited = User.objects.get(email="han@example.com")
    assert not client.login(email="han@example.com", password=NEW_PASSWORD)

    form_url = client.get(link)["Location"]
    page = client.get(form_url)
    assert page.status_code == 200
    assert "Choose a password to activate your account." in page.text
    response = client.post(form_url, {"new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not auth.get_user(client).is_authenticated  # signs in by itself afterwards

    response = client.post("/accounts/login/", {"username": "han@example.com",
                                                "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert auth.get_user(client) == invited
    client.logout()
    assert "This invitation has expired" in client.get(link, follow=True).text


@pytest.mark.django_db
def test_invitee_whose_link_expired_gets_a_new_one_by_password_reset(
        client, buyer, company, mailoutbox, django_capture_on_commit_callbacks):
    # The expired-invitation page says "ask your admin again, or reset your password"; a new
    # invitation is refused (the email exists), so the reset must reach an invited user.
    with django_capture_on_commit_callbacks(execute=True):
        services.company_member_invite(company_id=company.pk, inviter=buyer,
                                       email="late@example.com", full_name="Late Comer")
    mailoutbox.clear()

    client.post("/accounts/password-reset/", {"email": "late@example.com"})

    assert len(mailoutbox) == 1
    form_url = client.get(link_in(mailoutbox[0].body, "/accounts/reset/"))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.login(email="late@example.com", password=NEW_PASSWORD)


@pytest.mark.django_db
def test_password_reset_skips_inactive_users(client, mailoutbox):
    BuyerFactory(email="gone@example.com", is_active=False)
    client.post("/accounts/password-reset/", {"email": "gone@example.com"})
    assert mailoutbox == []


@pytest.mark.django_db
def test_invitation_link_with_bad_token(client, buyer):
    uidb64 = urlsafe_base64_encode(force_bytes(buyer.pk))
    response = client.get(f"/accounts/invitation/{uidb64}/abc-0123456789/", follow=True)
    assert response.status_code == 200
    assert "This invitation has expired" in response.text


@pytest.mark.django_db
def test_registration_returns_to_a_local_next_page_only(client):
    page = client.get("/accounts/register/?next=/inquiries/track/abc/")
    assert 'name="next" value="/inquiries/track/abc/"' in page.text
    response = client.post("/accounts/register/",
                           registration_data(next="/inquiries/track/abc/"))
    assert response["Location"] == "/inquiries/track/abc/"
    client.logout()
    response = client.post("/accounts/register/", registration_data(
        next="https://evil.example/", email="other@example.com", uscc=valid_uscc(31338)))
    assert response["Location"] == "/accounts/company/"
