"""The dealers admin: scoped to the staff member's subsidiary (others' dealers are a 404),
dealers with territories and rates through the admin form (validation errors as form errors,
never a 500), the conflicts page, routed inquiries and commission lines read-only, statements
marked paid by finance only and downloaded as XLSX."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from accounts.services import roles_sync
from dealers import services
from dealers.models import Assignment, CommissionLine, Dealer, RoutingRule, Statement, Territory
from tests.dealers.conftest import HANGZHOU, JIANGSU, NANJING, SUZHOU, make_dealer
from tests.factories import StaffFactory
from tests.inquiries.test_routing import ask
from tests.orders.factories import sellable

pytestmark = pytest.mark.django_db

ADMIN = "/admin/dealers"
DEALERS = f"{ADMIN}/dealer/"
STATEMENTS = f"{ADMIN}/statement/"

@pytest.fixture(autouse=True)
def dealer_permissions(db):
    """The role groups with dealers/permissions.py's permissions (accounts syncs the roles
    on its own post_migrate, before this app's permissions exist; see the catalog tests)."""
    roles_sync()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _dealer_form(organization, **overrides) -> dict:
    """The add form of a dealer with no territory or rate rows; `territories`: region codes."""
    territories = overrides.pop("territories", [])
    rates = overrides.pop("category_rates", [])
    data = {
        "organization": organization.pk, "name": "无锡化工贸易有限公司", "uscc": "",
        "contact_name": "王经理", "phone": "0510-8888888", "email": "", "address": "",
        "is_active": "on", "priority": "10", "base_rate": "2.00", "won_rate": "5.00",
        "territories-TOTAL_FORMS": str(len(territories)), "territories-INITIAL_FORMS": "0",
        "territories-MIN_NUM_FORMS": "0", "territories-MAX_NUM_FORMS": "1000",
        "category_rates-TOTAL_FORMS": str(len(rates)), "category_rates-INITIAL_FORMS": "0",
        "category_rates-MIN_NUM_FORMS": "0", "category_rates-MAX_NUM_FORMS": "1000",
    }
    for i, code in enumerate(territories):
        data[f"territories-{i}-region"] = code
    for i, (category, base, won) in enumerate(rates):
        data.update({f"category_rates-{i}-category": category.pk,
                     f"category_rates-{i}-base_rate": base,
                     f"category_rates-{i}-won_rate": won})
    data.update(overrides)
    return data


def _change_form(dealer, *, add_regions=()) -> dict:
    """The change form of `dealer` as the page shows it, with `add_regions` as new rows."""
    existing = list(dealer.territories.order_by("pk"))
    data = _dealer_form(dealer.organization, name=dealer.name, priority=str(dealer.priority),
                        base_rate=str(dealer.base_rate), won_rate=str(dealer.won_rate))
    data["territories-INITIAL_FORMS"] = str(len(existing))
    data["territories-TOTAL_FORMS"] = str(len(existing) + len(add_regions))
    for i, territory in enumerate(existing):
        data[f"territories-{i}-id"] = territory.pk
        data[f"territories-{i}-dealer"] = dealer.pk
        data[f"territories-{i}-region"] = territory.region_id
    for i, code in enumerate(add_regions, start=len(existing)):
        data[f"territories-{i}-dealer"] = dealer.pk
        data[f"territories-{i}-region"] = code
    for user in dealer.users.all():
        data.setdefault("users", []).append(user.pk)
    return data


# --- Scope --------------------------------------------------------------------------------------


def test_a_subsidiary_manager_sees_its_dealers_and_not_another_subsidiarys(
        client, subsidiary, other_subsidiary, subsidiary_manager):
    own = make_dealer(subsidiary, name="Own Suzhou Trading")
    other = make_dealer(other_subsidiary, name="Elsewhere Trading")
    client.force_login(subsidiary_manager)

    page = client.get(DEALERS)

    assert page.status_code == 200
    content = page.content.decode()
    assert "Own Suzhou Trading" in content and "Elsewhere Trading" not in content
    assert client.get(f"{DEALERS}{own.pk}/change/").status_code == 200
    # Outside the scope is as if it did not exist: a 404, not the admin's redirect.
    assert client.get(f"{DEALERS}{other.pk}/change/").status_code == 404
    assert client.get(f"{DEALERS}{other.pk}/history/").status_code == 404


def test_hq_sees_every_subsidiarys_dealers(client, subsidiary, other_subsidiary, hq_manager):
    make_dealer(subsidiary, name="Own Suzhou Trading")
    other = make_dealer(other_subsidiary, name="Elsewhere Trading")
    client.force_login(hq_manager)

    content = client.get(DEALERS).content.decode()

    assert "Own Suzhou Trading" in content and "Elsewhere Trading" in content
    assert client.get(f"{DEALERS}{other.pk}/change/").status_code == 200


def test_the_changelist_shows_territories_and_flag_and_links_the_conflicts(
        client, subsidiary, subsidiary_manager):
    dealer = make_dealer(subsidiary, regions=(SUZHOU, NANJING), name="Two Cities Trading")
    Dealer.objects.filter(pk=dealer.pk).update(flagged_at=timezone.now())
    client.force_login(subsidiary_manager)

    page = client.get(DEALERS)

    content = page.content.decode()
    assert "Suzhou" in content and "Nanjing" in content
    assert f'{DEALERS}conflicts/' in content
    assert client.get(DEALERS, {"flagged": "yes"}).context["cl"].result_count == 1
    assert client.get(DEALERS, {"flagged": "no"}).context["cl"].result_count == 0


def test_the_organization_choices_are_the_managers_subsidiary(
        client, subsidiary, other_subsidiary, subsidiary_manager):
    client.force_login(subsidiary_manager)

    form = client.get(f"{DEALERS}add/").context["adminform"].form
    assert list(form.fields["organization"].queryset) == [subsidiary]

    response = client.post(f"{DEALERS}add/", _dealer_form(other_subsidiary))
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Dealer.objects.exists()


def test_the_user_choices_leave_out_another_subsidiarys_dealer_users(
        client, subsidiary, other_subsidiary, subsidiary_manager):
    own = make_dealer(subsidiary, name="Own Suzhou Trading")
    other = make_dealer(other_subsidiary, name="Elsewhere Trading")
    client.force_login(subsidiary_manager)

    form = client.get(f"{DEALERS}{own.pk}/change/").context["adminform"].form

    choices = set(form.fields["users"].queryset)
    assert set(own.users.all()) <= choices
    assert not set(other.users.all()) & choices


# --- Dealer form: territories, rates, validation ------------------------------------------------


def test_a_manager_adds_a_dealer_with_a_territory_and_a_category_rate(
        client, subsidiary, subsidiary_manager):
    category = sellable(seller=subsidiary).category
    client.force_login(subsidiary_manager)

    response = client.post(f"{DEALERS}add/", _dealer_form(
        subsidiary, territories=[SUZHOU], category_rates=[(category, "1.50", "7.25")],
        categories=[category.pk]))

    assert response.status_code == 302, response.context["adminform"].form.errors
    dealer = Dealer.objects.get(name="无锡化工贸易有限公司")
    assert dealer.organization == subsidiary
    assert list(dealer.territories.values_list("region_id", flat=True)) == [SUZHOU]
    rate = dealer.category_rates.get()
    assert (rate.category, rate.base_rate, rate.won_rate) == (
        category, Decimal("1.50"), Decimal("7.25"))
    assert list(dealer.categories.all()) == [category]


def test_the_region_picker_searches_provinces_and_cities(client, subsidiary_manager):
    client.force_login(subsidiary_manager)

    response = client.get("/admin/autocomplete/", {
        "app_label": "dealers", "model_name": "territory", "field_name": "region",
        "term": "Suzhou"})

    assert response.status_code == 200
    assert SUZHOU in {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("field", ["base_rate", "won_rate"])
def test_a_rate_over_100_is_a_form_error_and_nothing_is_saved(
        client, subsidiary, subsidiary_manager, field):
    client.force_login(subsidiary_manager)

    response = client.post(f"{DEALERS}add/", _dealer_form(
        subsidiary, territories=[SUZHOU], **{field: "101"}))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Dealer.objects.exists() and not Territory.objects.exists()


def test_a_category_rate_under_0_is_an_inline_error(client, subsidiary, subsidiary_manager):
    category = sellable(seller=subsidiary).category
    client.force_login(subsidiary_manager)

    response = client.post(f"{DEALERS}add/", _dealer_form(
        subsidiary, category_rates=[(category, "-1", "5.00")]))

    assert response.status_code == 200
    [_territories, rates] = response.context["inline_admin_formsets"]
    assert "base_rate" in rates.formset.forms[0].errors
    assert not Dealer.objects.exists()


def test_the_same_region_twice_is_an_inline_error(client, subsidiary, subsidiary_manager):
    client.force_login(subsidiary_manager)

    response = client.post(f"{DEALERS}add/", _dealer_form(
        subsidiary, territories=[SUZHOU, SUZHOU]))

    assert response.status_code == 200
    [territories, _rates] = response.context["inline_admin_formsets"]
    assert territories.formset.non_form_errors()
    assert not Dealer.objects.exists() and not Territory.objects.exists()


def test_a_city_inside_the_dealers_own_province_is_an_inline_error(
        client, subsidiary, subsidiary_manager):
    client.force_login(subsidiary_manager)

    response = client.post(f"{DEALERS}add/", _dealer_form(
        subsidiary, territories=[JIANGSU, SUZHOU]))

    assert response.status_code == 200
    [territories, _rates] = response.context["inline_admin_formsets"]
    errors = territories.formset.forms[1].errors
    assert "region" in errors and "already in this territory" in str(errors["region"])
    assert not Dealer.objects.exists()


def test_adding_a_city_to_a_dealer_that_has_its_province_is_refused(
        client, subsidiary, subsidiary_manager):
    dealer = make_dealer(subsidiary, regions=(JIANGSU,), name="Jiangsu Trading")
    client.force_login(subsidiary_manager)

    refused = client.post(f"{DEALERS}{dealer.pk}/change/",
                          _change_form(dealer, add_regions=[NANJING]))
    assert refused.status_code == 200
    assert list(dealer.territories.values_list("region_id", flat=True)) == [JIANGSU]

    # A city of another province is fine.
    saved = client.post(f"{DEALERS}{dealer.pk}/change/",
                        _change_form(dealer, add_regions=[HANGZHOU]))
    assert saved.status_code == 302
    assert set(dealer.territories.values_list("region_id", flat=True)) == {JIANGSU, HANGZHOU}


# --- Conflicts page -----------------------------------------------------------------------------


def test_the_conflicts_page_lists_an_overlap_and_the_performance(
        client, subsidiary, other_subsidiary, subsidiary_manager):
    wide = make_dealer(subsidiary, regions=(JIANGSU,), name="Jiangsu Wide Trading", priority=20)
    make_dealer(subsidiary, regions=(SUZHOU,), name="Suzhou Local Trading")
    make_dealer(other_subsidiary, regions=(JIANGSU,), name="Elsewhere Jiangsu")
    make_dealer(other_subsidiary, regions=(SUZHOU,), name="Elsewhere Suzhou")
    client.force_login(subsidiary_manager)

    page = client.get(f"{DEALERS}conflicts/")

    assert page.status_code == 200
    [overlap] = page.context["overlaps"]
    assert {overlap["first"].dealer.name, overlap["second"].dealer.name} == {
        "Jiangsu Wide Trading", "Suzhou Local Trading"}
    content = page.content.decode()
    assert "Jiangsu Wide Trading (higher priority)" in content
    assert "Elsewhere" not in content
    rows = {row["dealer"].name: row for row in page.context["performance"]}
    assert set(rows) == {"Jiangsu Wide Trading", "Suzhou Local Trading"}
    assert rows[wide.name]["routed"] == 0 and rows[wide.name]["flagged"] is False
    assert "Median response time" in content


def test_the_conflicts_page_counts_a_routed_inquiry(client, world):
    ask(world.product, buyer=world.buyer, quantity="10",
        delivery_region_code=world.address.region_id)
    client.force_login(world.staff)

    page = client.get(f"{DEALERS}conflicts/")

    [row] = page.context["performance"]
    assert (row["dealer"], row["routed"], row["accepted"], row["conversion"]) == (
        world.dealer, 1, 0, Decimal(0))


def test_the_conflicts_page_needs_the_view_permission(client, subsidiary):
    client.force_login(StaffFactory(organization=subsidiary, roles=[Role.DEPOT_OPERATOR]))
    assert client.get(f"{DEALERS}conflicts/").status_code == 403


# --- Routing rules and routed inquiries ---------------------------------------------------------


def test_routing_rules_are_scoped(client, subsidiary, other_subsidiary, subsidiary_manager):
    own = RoutingRule.objects.create(organization=subsidiary)
    other = RoutingRule.objects.create(organization=other_subsidiary)
    client.force_login(subsidiary_manager)

    page = client.get(f"{ADMIN}/routingrule/")

    assert list(page.context["cl"].result_list) == [own]
    assert client.get(f"{ADMIN}/routingrule/{other.pk}/change/").status_code == 404
    response = client.post(f"{ADMIN}/routingrule/{own.pk}/change/", {
        "organization": subsidiary.pk, "direct_sale_threshold": "500"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.is_enabled, own.direct_sale_threshold) == (False, Decimal("500"))


def test_routed_inquiries_are_a_read_only_list(client, world, other_subsidiary):
    inquiry = ask(world.product, buyer=world.buyer, quantity="10",
                  delivery_region_code=world.address.region_id)
    assignment = inquiry.dealer_assignment
    client.force_login(world.staff)

    page = client.get(f"{ADMIN}/assignment/", {"status__exact": "routed"})

    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [assignment]
    assert inquiry.number in page.content.decode()
    assert client.get(f"{ADMIN}/assignment/add/").status_code == 403
    detail = client.get(f"{ADMIN}/assignment/{assignment.pk}/change/")
    assert detail.status_code == 200 and not detail.context["has_change_permission"]
    assert client.get(f"{ADMIN}/assignment/{assignment.pk}/delete/").status_code == 403
    client.force_login(StaffFactory(organization=other_subsidiary,
                                    roles=[Role.SUBSIDIARY_MANAGER]))
    assert client.get(f"{ADMIN}/assignment/{assignment.pk}/change/").status_code == 404
    assert Assignment.objects.get().status == "routed"


# --- Statements and commission lines ------------------------------------------------------------


@pytest.fixture
def statement(world):
    from tests.dealers.test_commissions import line_at
    line_at(world, timezone.now() - dt.timedelta(days=40), "12.34")
    services.statements_issue(month=services.previous_month())
    return Statement.objects.get(dealer=world.dealer)


def test_finance_marks_a_statement_paid(client, world, statement):
    client.force_login(world.finance)
    offered = client.get(STATEMENTS).context["action_form"].fields["action"].choices
    assert "mark_paid" in dict(offered)

    response = client.post(STATEMENTS, {"action": "mark_paid",
                                        "_selected_action": [statement.pk]})

    assert response.status_code == 302
    statement.refresh_from_db()
    assert (statement.status, statement.paid_by) == ("paid", world.finance)
    assert _messages(response) == ["1 statement marked paid."]
    again = client.post(STATEMENTS, {"action": "mark_paid", "_selected_action": [statement.pk]})
    assert f"{statement} was paid already." in _messages(again)


def test_a_manager_is_not_offered_mark_paid(client, world, statement):
    client.force_login(world.staff)

    page = client.get(STATEMENTS)

    assert page.status_code == 200
    assert page.context["action_form"] is None  # mark paid was its only action
    assert 'value="mark_paid"' not in page.content.decode()
    client.post(STATEMENTS, {"action": "mark_paid", "_selected_action": [statement.pk]})
    statement.refresh_from_db()
    assert statement.status == "issued"


def test_a_statement_is_read_only_with_its_lines(client, world, statement):
    client.force_login(world.finance)

    page = client.get(f"{STATEMENTS}{statement.pk}/change/")

    assert page.status_code == 200 and not page.context["has_change_permission"]
    [lines] = page.context["inline_admin_formsets"]
    assert [form.instance for form in lines.formset.forms] == list(statement.lines.all())
    assert client.get(f"{STATEMENTS}add/").status_code == 403


def test_the_statement_downloads_as_xlsx(client, world, statement):
    line = statement.lines.get()
    client.force_login(world.finance)

    assert f"{STATEMENTS}{statement.pk}/xlsx/" in client.get(STATEMENTS).content.decode()
    response = client.get(f"{STATEMENTS}{statement.pk}/xlsx/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "Commission statement" and sheet["B1"].value == world.dealer.name
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert any(row[1] == line.order.number for row in rows)
    [total] = [row for row in rows if row[0] == "Total"]
    assert Decimal(str(total[7])) == Decimal("12.34")


def test_another_subsidiarys_statement_is_a_404(client, world, other_subsidiary, statement):
    other = Statement.objects.create(dealer=make_dealer(other_subsidiary, name="Elsewhere"),
                                     month=dt.date(2026, 1, 1))
    client.force_login(world.finance)

    assert client.get(f"{STATEMENTS}{other.pk}/xlsx/").status_code == 404
    assert client.get(f"{STATEMENTS}{other.pk}/change/").status_code == 404
    assert list(client.get(STATEMENTS).context["cl"].result_list) == [statement]


def test_commission_lines_are_a_read_only_list(client, world, statement):
    line = statement.lines.get()
    client.force_login(world.staff)

    page = client.get(f"{ADMIN}/commissionline/", {"kind__exact": "accrual"})

    assert list(page.context["cl"].result_list) == [line]
    assert client.get(f"{ADMIN}/commissionline/add/").status_code == 403
    detail = client.get(f"{ADMIN}/commissionline/{line.pk}/change/")
    assert detail.status_code == 200 and not detail.context["has_change_permission"]
    assert client.get(f"{ADMIN}/commissionline/", {"kind__exact": "clawback"}).context[
        "cl"].result_count == 0
    assert CommissionLine.objects.count() == 1
