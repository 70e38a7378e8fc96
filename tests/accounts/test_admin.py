"""The admin, the staff's workbench: each role reaches what its permissions allow, scoped."""

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.calendar import china_holiday_rows
from accounts.models import CalendarDay, Organization, Role
from tests.factories import (
    BuyerFactory,
    CompanyFactory,
    DepotFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = ["region", "workingcalendar", "organization", "company", "depot", "user"]
VISIBLE = {
    Role.CCO: {"region", "organization", "company", "depot"},
    Role.DEPOT_OPERATOR: {"depot"},
    Role.FINANCE: {"region", "organization", "company", "depot"},
    Role.SUBSIDIARY_MANAGER: {"region", "organization", "company", "depot", "user",
                              "workingcalendar"},
    Role.HQ_MANAGER: set(CHANGELISTS),
}
STAFF_ROLES = sorted(VISIBLE)


@pytest.fixture
def data(subsidiary, other_subsidiary, company, buyer, staff_by_role):
    """Something on every changelist: customers of both subsidiaries, a depot each."""
    company.served_by.add(subsidiary)
    other_customer = CompanyFactory(name="Other subsidiary's customer")
    other_customer.served_by.add(other_subsidiary)
    depot = DepotFactory(organization=subsidiary)
    depot.operators.add(staff_by_role[Role.DEPOT_OPERATOR])
    return {
        "company": company,
        "other_customer": other_customer,
        "depot": depot,
        "other_depot": DepotFactory(organization=other_subsidiary),
    }


def changelist(model):
    return f"/admin/accounts/{model}/"


def change_page(obj):
    return f"/admin/accounts/{obj._meta.model_name}/{obj.pk}/change/"


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_each_role_reaches_its_changelists(client, data, staff_by_role, role):
    client.force_login(staff_by_role[role])
    assert client.get("/admin/").status_code == 200
    for model in CHANGELISTS:
        expected = 200 if model in VISIBLE[role] else 403
        assert client.get(changelist(model)).status_code == expected, model


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_admin_index_lists_only_permitted_models(client, data, staff_by_role, role):
    client.force_login(staff_by_role[role])
    html = client.get("/admin/").text
    for model in CHANGELISTS:
        assert (changelist(model) in html) == (model in VISIBLE[role]), model


def test_superuser_sees_every_changelist(client, data):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    for model in CHANGELISTS:
        assert client.get(changelist(model)).status_code == 200, model
    assert client.get(changelist("company")).context["cl"].result_count == 2


def test_buyer_cannot_enter_the_admin(client, buyer):
    client.force_login(buyer)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("role", [Role.CCO, Role.FINANCE, Role.SUBSIDIARY_MANAGER])
def test_subsidiary_staff_see_only_their_customers(client, data, staff_by_role, role):
    client.force_login(staff_by_role[role])
    response = client.get(changelist("company"))
    assert list(response.context["cl"].result_list) == [data["company"]]
    assert "Other subsidiary&#x27;s customer" not in response.text


def test_hq_manager_sees_every_customer(client, data, staff_by_role):
    client.force_login(staff_by_role[Role.HQ_MANAGER])
    response = client.get(changelist("company"))
    assert response.context["cl"].result_count == 2


def test_cco_cannot_open_company_of_other_subsidiary(client, data, staff_by_role):
    client.force_login(staff_by_role[Role.CCO])
    response = client.get(change_page(data["other_customer"]))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    page = client.get(response["Location"])
    assert "Other subsidiary" not in page.text
    assert "doesn’t exist" in page.text


def test_cco_opens_own_customer_read_only(client, data, staff_by_role):
    client.force_login(staff_by_role[Role.CCO])
    response = client.get(change_page(data["company"]))
    assert response.status_code == 200
    assert data["company"].uscc in response.text
    assert 'name="credit_limit"' not in response.text  # view permission only
    assert client.post(change_page(data["company"]), {"name": "Renamed"}).status_code == 403


def test_depot_operator_sees_only_his_depot(client, data, staff_by_role):
    client.force_login(staff_by_role[Role.DEPOT_OPERATOR])
    response = client.get(changelist("depot"))
    assert list(response.context["cl"].result_list) == [data["depot"]]
    assert client.get(change_page(data["depot"])).status_code == 200
    assert client.get(change_page(data["other_depot"])).status_code == 302


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_change_pages_of_visible_objects_render(client, data, staff_by_role, subsidiary, role):
    user = staff_by_role[role]
    client.force_login(user)
    objects = {
        "company": data["company"],
        "depot": data["depot"],
        "organization": subsidiary,
        "workingcalendar": subsidiary.calendar,
        "user": user,
    }
    for model, obj in objects.items():
        if model in VISIBLE[role]:
            assert client.get(change_page(obj)).status_code == 200, model
    assert client.get("/admin/accounts/region/320500/change/").status_code == (
        200 if "region" in VISIBLE[role] else 403)


def test_finance_changes_a_credit_limit(client, data, staff_by_role, subsidiary):
    company = data["company"]
    client.force_login(staff_by_role[Role.FINANCE])
    response = client.post(change_page(company), {
        "name": company.name, "uscc": company.uscc, "province": company.province_id,
        "city": company.city_id, "address": "", "credit_limit": "250000.00",
        "payment_terms_days": "30", "is_active": "on", "served_by": [subsidiary.pk],
        # the members inline is read-only for finance, its management form still comes along
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    company.refresh_from_db()
    assert (str(company.credit_limit), company.payment_terms_days) == ("250000.00", 30)


def test_subsidiary_manager_changes_own_service_level(client, subsidiary, staff_by_role):
    client.force_login(staff_by_role[Role.SUBSIDIARY_MANAGER])
    response = client.post(change_page(subsidiary), {
        "code": subsidiary.code, "name_zh": subsidiary.name_zh, "name_en": subsidiary.name_en,
        "kind": subsidiary.kind, "parent": subsidiary.parent_id,
        "calendar": subsidiary.calendar_id, "service_level_hours": "6",
        "dealer_window_hours": "8", "is_active": "on",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    subsidiary.refresh_from_db()
    assert subsidiary.service_level_hours == 6
    assert subsidiary.kind == Organization.Kind.SUBSIDIARY
    assert subsidiary.parent.is_hq


def test_subsidiary_manager_cannot_move_own_subsidiary(client, hq, subsidiary,
                                                       other_subsidiary, staff_by_role):
    client.force_login(staff_by_role[Role.SUBSIDIARY_MANAGER])
    client.post(change_page(subsidiary), {
        "code": subsidiary.code, "name_zh": subsidiary.name_zh, "name_en": subsidiary.name_en,
        "kind": Organization.Kind.SUBSIDIARY, "parent": other_subsidiary.pk,
        "calendar": subsidiary.calendar_id, "service_level_hours": "4",
        "dealer_window_hours": "8", "is_active": "on",
    })
    subsidiary.refresh_from_db()
    assert subsidiary.parent_id == hq.pk


def test_depot_operator_choices_do_not_leak_other_users(client, data, staff_by_role, buyer,
                                                       other_subsidiary):
    other_staff = StaffFactory(organization=other_subsidiary, roles=[Role.CCO])
    client.force_login(staff_by_role[Role.SUBSIDIARY_MANAGER])
    response = client.get(change_page(data["depot"]))
    choices = set(response.context["adminform"].form.fields["operators"].queryset)
    assert staff_by_role[Role.DEPOT_OPERATOR] in choices
    assert buyer not in choices
    assert other_staff not in choices
    assert buyer.email not in response.text


def test_subsidiary_manager_user_list_is_scoped(client, data, staff_by_role, buyer):
    client.force_login(staff_by_role[Role.SUBSIDIARY_MANAGER])
    emails = {u.email for u in client.get(changelist("user")).context["cl"].result_list}
    assert staff_by_role[Role.CCO].email in emails
    assert buyer.email not in emails
    assert staff_by_role[Role.HQ_MANAGER].email not in emails


# --- working calendar action ------------------------------------------------------------------


def _run_sync_action(client, calendar):
    return client.post(changelist("workingcalendar"), {
        "action": "sync_china_holidays", "_selected_action": [calendar.pk], "index": "0",
    })


def test_calendar_admin_action_imports_holidays(client, subsidiary, staff_by_role):
    calendar = subsidiary.calendar
    client.force_login(staff_by_role[Role.HQ_MANAGER])
    response = _run_sync_action(client, calendar)
    assert response.status_code == 302
    year = timezone.localdate().year
    imported = CalendarDay.objects.filter(calendar=calendar)
    assert imported.filter(date__year=year).count() == len(china_holiday_rows([year]))
    assert not imported.filter(source=CalendarDay.Source.MANUAL).exists()
    message = str(list(client.get(response["Location"]).context["messages"])[0])
    assert message == f"{imported.count()} days imported."


def test_a_subsidiary_manager_cannot_change_the_shared_calendar(client, subsidiary,
                                                                staff_by_role):
    client.force_login(staff_by_role[Role.SUBSIDIARY_MANAGER])
    _run_sync_action(client, subsidiary.calendar)
    assert not CalendarDay.objects.filter(calendar=subsidiary.calendar).exists()
    change_url = f"/admin/accounts/workingcalendar/{subsidiary.calendar.pk}/change/"
    response = client.post(change_url, {"name": "hijacked"})
    assert response.status_code == 403


def test_calendar_admin_action_needs_change_permission(client, hq):
    viewer = StaffFactory(organization=hq, roles=[])
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_workingcalendar"))
    client.force_login(viewer)
    assert client.get(changelist("workingcalendar")).status_code == 200
    _run_sync_action(client, hq.calendar)
    assert not CalendarDay.objects.exists()


def test_membership_inline_cannot_add_members(client, data):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    BuyerFactory(company=data["company"])
    formset = client.get(change_page(data["company"])).context["inline_admin_formsets"][0]
    assert formset.formset.extra == 0
    assert not formset.has_add_permission


def test_subsidiary_finance_cannot_widen_served_by(client, subsidiary, other_subsidiary,
                                                   staff_by_role):
    company = CompanyFactory()
    company.served_by.add(subsidiary)
    client.force_login(staff_by_role[Role.FINANCE])
    response = client.get(f"/admin/accounts/company/{company.pk}/change/")
    assert response.status_code == 200
    assert "served_by" not in response.context["adminform"].form.fields
    assert "credit_limit" in response.context["adminform"].form.fields
