"""accounts models: USCC validation, database check constraints, case-insensitive emails."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import override

from accounts.forms import CompanyRegistrationForm
from accounts.models import (
    Company,
    Organization,
    Region,
    User,
    WorkingCalendar,
    validate_uscc,
)
from tests.factories import (
    CompanyFactory,
    HQFactory,
    SubsidiaryFactory,
    UserFactory,
    WorkingCalendarFactory,
    valid_uscc,
)

VALID_USCC = ["91110000600037341L", valid_uscc(1), valid_uscc(4242), valid_uscc(987654321)]
INVALID_USCC = {
    "wrong check character": "91110000600037341M",
    "17 characters": "91110000600037341",
    "19 characters": "91110000600037341L0",
    "letter in the region part": "9111A000600037341L",
    "letter I": "91110000I00037341L",
    "letter O": "91110000O00037341L",
    "letter S": "91110000S00037341L",
    "letter V": "91110000V00037341L",
    "letter Z": "91110000Z00037341L",
    "empty": "",
}


# --- USCC -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", VALID_USCC)
def test_validate_uscc_accepts_valid_codes(code):
    validate_uscc(code)  # no exception


@pytest.mark.parametrize("code", INVALID_USCC.values(), ids=INVALID_USCC.keys())
def test_validate_uscc_rejects_invalid_codes(code):
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(code)
    assert excinfo.value.code == "invalid_uscc"


@pytest.mark.django_db
@pytest.mark.parametrize("code", VALID_USCC)
def test_company_full_clean_accepts_valid_uscc(code):
    CompanyFactory.build(uscc=code).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("code", INVALID_USCC.values(), ids=INVALID_USCC.keys())
def test_company_full_clean_rejects_invalid_uscc(code):
    with pytest.raises(ValidationError) as excinfo:
        CompanyFactory.build(uscc=code).full_clean()
    assert "uscc" in excinfo.value.message_dict


@pytest.mark.django_db
def test_company_full_clean_normalises_lowercase_uscc():
    company = CompanyFactory.build(uscc="91110000600037341l")
    company.full_clean()
    assert company.uscc == "91110000600037341L"


@pytest.mark.django_db
def test_company_full_clean_rejects_uscc_with_separators():
    # stdnum would strip the dash, but the stored code is always the bare 18 characters
    with pytest.raises(ValidationError) as excinfo:
        CompanyFactory.build(uscc="91110000-600037341L").full_clean()
    assert "uscc" in excinfo.value.message_dict


@pytest.mark.django_db
def test_company_full_clean_rejects_duplicate_uscc_in_other_case():
    CompanyFactory(uscc="91110000600037341L")
    with pytest.raises(ValidationError) as excinfo:
        CompanyFactory.build(uscc="91110000600037341l").full_clean()
    assert "uscc" in excinfo.value.message_dict


@pytest.mark.django_db
def test_registration_form_uppercases_uscc():
    form = CompanyRegistrationForm(data={"uscc": "91110000600037341l"})
    form.is_valid()
    assert "uscc" not in form.errors
    assert form.cleaned_data["uscc"] == "91110000600037341L"


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["91110000600037341M", "91110000-600037341L",
                                  "91110000I00037341L"])
def test_registration_form_rejects_invalid_uscc(code):
    form = CompanyRegistrationForm(data={"uscc": code})
    assert not form.is_valid()
    assert "uscc" in form.errors


@pytest.mark.django_db
def test_company_full_clean_rejects_city_outside_province():
    company = CompanyFactory.build(province=Region.objects.get(code="320000"),
                                   city=Region.objects.get(code="330100"))
    with pytest.raises(ValidationError) as excinfo:
        company.full_clean()
    assert "city" in excinfo.value.message_dict


@pytest.mark.django_db
def test_company_full_clean_rejects_a_province_as_city():
    company = CompanyFactory.build(province=Region.objects.get(code="320000"),
                                   city=Region.objects.get(code="320000"))
    with pytest.raises(ValidationError) as excinfo:
        company.full_clean()
    assert "city" in excinfo.value.message_dict


@pytest.mark.django_db
def test_company_full_clean_rejects_negative_credit_limit():
    with pytest.raises(ValidationError) as excinfo:
        CompanyFactory.build(credit_limit=Decimal("-0.01")).full_clean()
    assert "credit_limit" in excinfo.value.message_dict


# --- Database check constraints ---------------------------------------------------------------


def _integrity_error(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


@pytest.mark.django_db
def test_db_rejects_negative_credit_limit():
    _integrity_error(lambda: CompanyFactory(credit_limit=Decimal("-1.00")))


@pytest.mark.django_db
def test_db_accepts_zero_credit_limit():
    assert CompanyFactory(credit_limit=Decimal("0")).credit_limit == 0


@pytest.mark.django_db
def test_db_rejects_subsidiary_without_parent():
    calendar = WorkingCalendarFactory()
    _integrity_error(lambda: Organization.objects.create(
        code="orphan", name_zh="孤儿", kind=Organization.Kind.SUBSIDIARY, parent=None,
        calendar=calendar))


@pytest.mark.django_db
def test_db_rejects_hq_with_parent():
    hq = HQFactory()
    _integrity_error(lambda: Organization.objects.create(
        code="hq2", name_zh="第二总部", kind=Organization.Kind.HQ, parent=hq,
        calendar=hq.calendar))


@pytest.mark.django_db
def test_db_rejects_zero_service_level():
    _integrity_error(lambda: SubsidiaryFactory(service_level_hours=0))


@pytest.mark.django_db
def test_db_rejects_city_without_province():
    _integrity_error(lambda: Region.objects.create(
        code="329901", level=Region.Level.CITY, parent=None, name_zh="无省市", name_en="X"))


@pytest.mark.django_db
def test_db_rejects_province_with_parent():
    _integrity_error(lambda: Region.objects.create(
        code="329902", level=Region.Level.PROVINCE, parent_id="320000", name_zh="省中省",
        name_en="Y"))


@pytest.mark.django_db
def test_db_rejects_working_day_ending_before_it_starts():
    _integrity_error(lambda: WorkingCalendar.objects.create(
        name="Backwards", day_start=datetime.time(18), day_end=datetime.time(9),
        break_start=None, break_end=None))


# --- Emails -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_db_rejects_same_email_in_other_case():
    UserFactory(email="Jane.Doe@Example.com")
    _integrity_error(lambda: User.objects.create(email="jane.doe@example.com", full_name="J"))


@pytest.mark.django_db
def test_create_user_stores_email_lowercase_and_finds_it_in_any_case():
    user = User.objects.create_user("Mixed.Case@Example.COM", "x-irrelevant-9", full_name="M")
    assert user.email == "mixed.case@example.com"
    assert User.objects.get_by_natural_key("MIXED.case@example.com") == user


@pytest.mark.django_db
def test_user_full_clean_reports_duplicate_email_in_other_case():
    UserFactory(email="dup@example.com")
    user = User(email="DUP@example.com", full_name="Dup")
    user.set_password("irrelevant-pass-1")
    with pytest.raises(ValidationError):
        user.full_clean()


@pytest.mark.django_db
def test_company_str_and_bilingual_names():
    sub = SubsidiaryFactory(name_zh="江苏子公司", name_en="Jiangsu Sub")
    with override("zh-hans"):
        assert str(sub) == "江苏子公司"
    with override("en"):
        assert str(sub) == "Jiangsu Sub"
    sub.name_en = ""
    with override("en"):
        assert str(sub) == "江苏子公司"  # falls back to Chinese
    assert str(Company(name="X Co")) == "X Co"
