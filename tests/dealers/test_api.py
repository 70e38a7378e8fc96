"""/api/v1/dealer/: routed inquiries in each caller's scope, answering them (accept, decline,
quote) as the dealer's users only, commission lines and statements (the workbook, marking
paid by finance), the outsiders' 404s, and the routes' place in the OpenAPI schema."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Role
from dealers import exports, services
from dealers.models import Assignment, CommissionLine, DealerQuote, Statement
from inquiries.models import Inquiry, Quote
from tests.dealers.conftest import HANGZHOU, SUZHOU, dealer_user, make_dealer
from tests.dealers.test_commissions import bought
from tests.factories import StaffFactory
from tests.inquiries.test_routing import ask
from tests.orders.factories import sellable

pytestmark = pytest.mark.django_db

V1 = "/api/v1/dealer"
HUGE = 2**63  # one more than the largest bigint


def as_user(client, user):
    client.force_authenticate(user)
    return client


def routed(w, *, region=SUZHOU) -> Assignment:
    inquiry = ask(w.product, buyer=w.buyer, quantity="10", delivery_region_code=region)
    return Assignment.objects.get(inquiry=inquiry)


def close_window(assignment) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(
        due_at=timezone.now() - dt.timedelta(minutes=1))


def quote_body(w, **extra) -> dict:
    return {"product_id": w.product.pk, "quantity": "10", "unit_price": "110.00",
            "valid_until": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
            "lead_time_days": 2, "incoterm": "DAP", "payment_terms": "Prepayment",
            "note": "From our Suzhou warehouse.", **extra}


def line(w, *, dealer=None, amount="10.00", kind="accrual", when=None) -> CommissionLine:
    return CommissionLine.objects.create(
        dealer=dealer or w.dealer, order=bought(w), category=w.category, kind=kind,
        basis="territory", base_amount=Decimal("500.00"), rate=Decimal("2.00"),
        amount=Decimal(amount), created_at=when or timezone.now())


def statement_of_last_month(w, amounts=("10.00", "-2.50")) -> Statement:
    start, _end = services.month_bounds(services.previous_month())
    for i, amount in enumerate(amounts):
        line(w, amount=amount, kind="accrual" if i == 0 else "clawback",
             when=start + dt.timedelta(days=1, hours=i))
    issued = services.statements_issue(month=services.previous_month())
    return next(statement for statement in issued if statement.dealer_id == w.dealer.pk)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def rival(world):
    """Another dealer of the same subsidiary (Hangzhou), with an inquiry routed to it."""
    dealer = make_dealer(world.seller, regions=(HANGZHOU,), categories=[world.category],
                         name="杭州化学品有限公司")
    return dealer, routed(world, region=HANGZHOU)


@pytest.fixture
def outsiders(world, rival, other_subsidiary):
    """Another dealer's user, a buyer, and another subsidiary's CCO and finance."""
    return [dealer_user(rival[0]), world.buyer,
            StaffFactory(organization=other_subsidiary, roles=[Role.CCO]),
            StaffFactory(organization=other_subsidiary, roles=[Role.FINANCE])]


# --- Routed inquiries: reading ------------------------------------------------------------------


def test_each_caller_lists_the_assignments_of_its_scope(api_client, world, rival, outsiders):
    mine = routed(world)
    _rival_dealer, theirs = rival
    assert ids(as_user(api_client, world.user).get(f"{V1}/assignments/")) == [mine.pk]
    assert ids(as_user(api_client, outsiders[0]).get(f"{V1}/assignments/")) == [theirs.pk]
    assert ids(as_user(api_client, world.staff).get(f"{V1}/assignments/")) == [
        mine.pk, theirs.pk]  # newest first
    for outsider in outsiders[1:]:
        assert ids(as_user(api_client, outsider).get(f"{V1}/assignments/")) == []


def test_an_assignment_shows_its_inquiry_and_window(api_client, world):
    assignment = routed(world)
    body = as_user(api_client, world.user).get(f"{V1}/assignments/{assignment.pk}/").json()
    inquiry = Inquiry.objects.get(pk=assignment.inquiry_id)
    assert body["status"] == "routed" and body["dealer"]["id"] == world.dealer.pk
    assert body["inquiry"]["number"] == inquiry.number
    assert body["inquiry"]["subject"] == inquiry.subject
    assert (body["inquiry"]["quantity"], body["inquiry"]["unit"]) == ("10.000", inquiry.unit)
    assert body["inquiry"]["delivery_region_name"] == inquiry.delivery_region.name
    assert 0 < body["seconds_left"] <= (assignment.due_at - assignment.routed_at).total_seconds()
    assert body["reason"] == assignment.reason and body["decline_reason"] == ""
    assert body["quotes"] == [] and {"routed_at", "due_at", "message"} <= set(body)


def test_the_list_filters_by_status_and_refuses_unknown_ones(api_client, world):
    waiting, taken = routed(world), routed(world)
    services.assignment_accept(assignment_id=taken.pk, user=world.user)
    client = as_user(api_client, world.user)
    assert ids(client.get(f"{V1}/assignments/", {"status": "accepted"})) == [taken.pk]
    assert ids(client.get(f"{V1}/assignments/", {"status": "routed"})) == [waiting.pk]
    assert client.get(f"{V1}/assignments/", {"status": "lost"}).status_code == 400
    page = client.get(f"{V1}/assignments/").json()
    assert page["count"] == 2 and page["next"] is None


def test_closed_windows_have_no_seconds_left(api_client, world):
    late, answered = routed(world), routed(world)
    close_window(late)
    services.assignment_accept(assignment_id=answered.pk, user=world.user)
    rows = as_user(api_client, world.user).get(f"{V1}/assignments/").json()["results"]
    assert {row["id"]: row["seconds_left"] for row in rows} == {late.pk: 0, answered.pk: 0}


# --- Routed inquiries: answering ----------------------------------------------------------------


def test_the_dealer_accepts_and_a_repeat_changes_nothing(api_client, world):
    assignment = routed(world)
    client = as_user(api_client, world.user)
    response = client.post(f"{V1}/assignments/{assignment.pk}/accept/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted" and response.json()["seconds_left"] == 0
    inquiry = Inquiry.objects.get(pk=assignment.inquiry_id)
    assert inquiry.owner == world.user and inquiry.status == Inquiry.Status.ASSIGNED
    again = client.post(f"{V1}/assignments/{assignment.pk}/accept/")
    assert again.status_code == 200 and again.json()["decided_at"] == response.json()[
        "decided_at"]


def test_accepting_after_the_window_closed_is_a_conflict(api_client, world):
    assignment = routed(world)
    close_window(assignment)
    response = as_user(api_client, world.user).post(f"{V1}/assignments/{assignment.pk}/accept/")
    assert response.status_code == 409 and response.json()["code"] == "window_closed"
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.ROUTED


def test_the_dealer_declines_with_a_reason_and_the_ccos_take_over(api_client, world):
    assignment = routed(world)
    response = as_user(api_client, world.user).post(
        f"{V1}/assignments/{assignment.pk}/decline/", {"reason": "Out of stock locally."},
        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "declined"
    assert response.json()["decline_reason"] == "Out of stock locally."
    assert Inquiry.objects.get(pk=assignment.inquiry_id).owner in world.ccos


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}])
def test_declining_needs_a_reason(api_client, world, body):
    assignment = routed(world)
    response = as_user(api_client, world.user).post(
        f"{V1}/assignments/{assignment.pk}/decline/", body, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.ROUTED


def test_declining_an_accepted_inquiry_is_a_conflict(api_client, world):
    assignment = routed(world)
    services.assignment_accept(assignment_id=assignment.pk, user=world.user)
    response = as_user(api_client, world.user).post(
        f"{V1}/assignments/{assignment.pk}/decline/", {"reason": "Changed our mind."},
        format="json")
    assert response.status_code == 409 and response.json()["code"] == "answered"


def test_the_accepted_dealer_quotes_and_the_detail_lists_it(api_client, world):
    assignment = routed(world)
    services.assignment_accept(assignment_id=assignment.pk, user=world.user)
    client = as_user(api_client, world.user)
    response = client.post(f"{V1}/assignments/{assignment.pk}/quote/", quote_body(world),
                           format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["status"], body["unit_price"], body["total"]) == (
        1, "sent", "110.00", "1100.00")
    assert DealerQuote.objects.get(quote_id=body["id"]).dealer == world.dealer
    # A revision without product_id: the inquiry's product; it supersedes version 1.
    revision = client.post(f"{V1}/assignments/{assignment.pk}/quote/",
                           quote_body(world, product_id=None, unit_price="105.50"),
                           format="json")
    assert revision.status_code == 201 and revision.json()["version"] == 2
    assert revision.json()["product_id"] == world.product.pk
    detail = client.get(f"{V1}/assignments/{assignment.pk}/").json()
    assert [(q["version"], q["status"]) for q in detail["quotes"]] == [
        (2, "sent"), (1, "superseded")]


def test_quoting_before_accepting_is_a_conflict(api_client, world):
    assignment = routed(world)
    response = as_user(api_client, world.user).post(
        f"{V1}/assignments/{assignment.pk}/quote/", quote_body(world), format="json")
    assert response.status_code == 409 and response.json()["code"] == "not_accepted"
    assert not Quote.objects.exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"lead_time_days": 400}, "lead_time_days"),
    ({"unit_price": "-1.00"}, "unit_price"),
    ({"unit_price": "cheap"}, "unit_price"),
    ({"valid_until": "2020-01-01"}, "valid_until"),
    ({"incoterm": "XYZ"}, "incoterm"),
    ({"payment_terms": " "}, "payment_terms"),
    ({"product_id": HUGE}, "product_id"),
    ({"product_id": "foreign"}, "product_id"),  # another subsidiary's product
])
def test_bad_quotes_are_refused_with_the_field(api_client, world, other_subsidiary, change,
                                               field):
    if change.get("product_id") == "foreign":
        change = {"product_id": sellable(seller=other_subsidiary).pk}
    assignment = routed(world)
    services.assignment_accept(assignment_id=assignment.pk, user=world.user)
    response = as_user(api_client, world.user).post(
        f"{V1}/assignments/{assignment.pk}/quote/", quote_body(world, **change), format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Quote.objects.exists()


@pytest.mark.parametrize("action", ["accept", "decline", "quote"])
def test_staff_who_see_it_may_not_answer_for_the_dealer(api_client, world, action):
    assignment = routed(world)
    client = as_user(api_client, world.staff)
    assert client.get(f"{V1}/assignments/{assignment.pk}/").status_code == 200
    body = {"accept": {}, "decline": {"reason": "No."}, "quote": quote_body(world)}[action]
    response = client.post(f"{V1}/assignments/{assignment.pk}/{action}/", body, format="json")
    assert response.status_code == 403
    # The same staff asking about an id that does not exist: 404, as for anybody.
    assert client.post(f"{V1}/assignments/999999/{action}/", body,
                       format="json").status_code == 404
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.ROUTED


# --- Commissions and statements -----------------------------------------------------------------


def test_commission_lines_in_scope_with_their_amounts(api_client, world, rival, outsiders):
    accrual = line(world, amount="20.00")
    clawback = line(world, amount="-20.00", kind="clawback")
    theirs = line(world, dealer=rival[0])
    client = as_user(api_client, world.user)
    assert ids(client.get(f"{V1}/commission-lines/")) == [clawback.pk, accrual.pk]
    row = client.get(f"{V1}/commission-lines/").json()["results"][1]
    assert row["order_number"] == accrual.order.number
    assert row["category_name"] == world.category.name
    assert (row["kind"], row["basis"], row["base_amount"], row["rate"], row["amount"]) == (
        "accrual", "territory", "500.00", "2.00", "20.00")
    assert row["statement_id"] is None and row["note"] == "" and row["created_at"]
    assert ids(client.get(f"{V1}/commission-lines/", {"kind": "clawback"})) == [clawback.pk]
    assert ids(as_user(api_client, world.staff).get(f"{V1}/commission-lines/")) == [
        theirs.pk, clawback.pk, accrual.pk]
    for outsider in outsiders[1:]:
        assert ids(as_user(api_client, outsider).get(f"{V1}/commission-lines/")) == []


def test_commission_lines_filter_by_statement(api_client, world):
    statement = statement_of_last_month(world)
    unsettled = line(world)
    client = as_user(api_client, world.user)
    on_statement = ids(client.get(f"{V1}/commission-lines/", {"statement": statement.pk}))
    assert set(on_statement) == set(statement.lines.values_list("pk", flat=True))
    assert unsettled.pk not in on_statement
    for bad in (HUGE, 0, "abc"):
        assert client.get(f"{V1}/commission-lines/", {"statement": bad}).status_code == 400


def test_statements_list_and_detail_with_lines(api_client, world, rival, outsiders):
    statement = statement_of_last_month(world)
    client = as_user(api_client, world.user)
    assert ids(client.get(f"{V1}/statements/")) == [statement.pk]
    assert ids(client.get(f"{V1}/statements/", {"status": "paid"})) == []
    body = client.get(f"{V1}/statements/{statement.pk}/").json()
    assert (body["status"], body["total"]) == ("issued", "7.50")
    assert body["month"] == services.previous_month().isoformat()
    assert [row["amount"] for row in body["lines"]] == ["10.00", "-2.50"]  # oldest first
    theirs = Statement.objects.get(dealer=rival[0])  # every active dealer gets one
    assert set(ids(as_user(api_client, world.staff).get(f"{V1}/statements/"))) == {
        statement.pk, theirs.pk}
    assert ids(as_user(api_client, outsiders[0]).get(f"{V1}/statements/")) == [theirs.pk]
    for outsider in outsiders[1:]:
        assert ids(as_user(api_client, outsider).get(f"{V1}/statements/")) == []


def test_the_statement_workbook_opens_with_the_right_total(api_client, world):
    statement = statement_of_last_month(world)
    response = as_user(api_client, world.user).get(
        f"{V1}/statements/{statement.pk}/xlsx/",
        HTTP_ACCEPT=exports.XLSX_TYPE)
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_TYPE
    assert response["Content-Disposition"] == (
        f'attachment; filename="{exports.statement_filename(statement)}"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[-1][0] == "Total" and Decimal(str(rows[-1][7])) == Decimal("7.50")
    assert sorted(Decimal(str(row[7])) for row in rows[3:-2]) == [
        Decimal("-2.50"), Decimal("10.00")]


def test_finance_marks_a_statement_paid_others_may_not(api_client, world):
    statement = statement_of_last_month(world)
    url = f"{V1}/statements/{statement.pk}/paid/"
    for someone in (world.user, world.staff):
        response = as_user(api_client, someone).post(url)
        assert response.status_code == 409 and response.json()["code"] == "forbidden"
    assert Statement.objects.get(pk=statement.pk).status == Statement.Status.ISSUED
    response = as_user(api_client, world.finance).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paid" and response.json()["paid_at"]
    paid = Statement.objects.get(pk=statement.pk)
    assert paid.paid_by == world.finance
    again = as_user(api_client, world.finance).post(url)
    assert again.status_code == 200 and again.json()["paid_at"] == response.json()["paid_at"]


# --- Outsiders ----------------------------------------------------------------------------------


def test_every_detail_route_is_404_for_outsiders(api_client, world, outsiders):
    assignment = routed(world)
    statement = statement_of_last_month(world)
    a, s = f"{V1}/assignments/{assignment.pk}", f"{V1}/statements/{statement.pk}"
    routes = [("get", f"{a}/", None), ("post", f"{a}/accept/", {}),
              ("post", f"{a}/decline/", {"reason": "Not ours."}),
              ("post", f"{a}/quote/", quote_body(world)),
              ("get", f"{s}/", None), ("get", f"{s}/xlsx/", None), ("post", f"{s}/paid/", {})]
    wrong = []
    for outsider in outsiders:
        client = as_user(api_client, outsider)
        for method, url, body in routes:
            response = (client.get(url) if method == "get"
                        else client.post(url, body, format="json"))
            if response.status_code != 404:
                wrong.append(f"{method} {url} as {outsider.email}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.ROUTED
    assert Statement.objects.get(pk=statement.pk).status == Statement.Status.ISSUED
    assert not Quote.objects.exists()


def test_ids_that_cannot_exist_are_404(api_client, world):
    client = as_user(api_client, world.user)
    for url in (f"{V1}/assignments/{HUGE}/", f"{V1}/statements/{HUGE}/xlsx/"):
        assert client.get(url).status_code == 404
    assert client.post(f"{V1}/assignments/{HUGE}/accept/").status_code == 404


def test_anonymous_callers_are_refused(api_client, world):
    assignment = routed(world)
    for url in (f"{V1}/assignments/", f"{V1}/assignments/{assignment.pk}/",
                f"{V1}/commission-lines/", f"{V1}/statements/"):
        assert api_client.get(url).status_code in (401, 403)


# --- Schema -------------------------------------------------------------------------------------


def test_schema_lists_the_dealer_routes(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    for route, method in [
        ("/api/v1/dealer/assignments/", "get"), ("/api/v1/dealer/assignments/{id}/", "get"),
        ("/api/v1/dealer/assignments/{id}/accept/", "post"),
        ("/api/v1/dealer/assignments/{id}/decline/", "post"),
        ("/api/v1/dealer/assignments/{id}/quote/", "post"),
        ("/api/v1/dealer/commission-lines/", "get"), ("/api/v1/dealer/statements/", "get"),
        ("/api/v1/dealer/statements/{id}/", "get"),
        ("/api/v1/dealer/statements/{id}/xlsx/", "get"),
        ("/api/v1/dealer/statements/{id}/paid/", "post"),
    ]:
        assert method in schema["paths"].get(route, {}), route
    quote = schema["paths"]["/api/v1/dealer/assignments/{id}/quote/"]["post"]
    assert {"201", "400", "403", "404", "409"} <= set(quote["responses"])
    xlsx = schema["paths"]["/api/v1/dealer/statements/{id}/xlsx/"]["get"]["responses"]["200"]
    assert exports.XLSX_TYPE in xlsx["content"]
    components = schema["components"]["schemas"]
    assert components["CommissionLine"]["properties"]["amount"]["type"] == "string"
    assert set(components["AssignmentStatus"]["enum"]) == set(Assignment.Status.values)


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    stderr = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out),
                 stderr=stderr)
    assert "Warning" not in stderr.getvalue()
    assert "/api/v1/dealer/assignments/{id}/quote/:" in out.read_text()


def test_the_accepted_dealer_and_the_buyer_talk(api_client, world, outsiders):
    assignment = routed(world)
    url = f"{V1}/assignments/{assignment.pk}/messages/"
    dealer = as_user(api_client, world.user)
    assert dealer.get(url).json() == []
    refused = dealer.post(url, {"body": "Hello"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "not_accepted"
    services.assignment_accept(assignment_id=assignment.pk, user=world.user)
    blank = dealer.post(url, {"body": " "}, format="json")
    assert blank.status_code == 400 and "body" in blank.json()
    sent = dealer.post(url, {"body": "Delivery on Friday."}, format="json")
    assert sent.status_code == 201 and sent.json()["from_buyer"] is False
    from inquiries import services as inquiry_services
    inquiry_services.inquiry_message_post(inquiry_id=assignment.inquiry_id, actor=world.buyer,
                                          body="Fine.")
    talk = dealer.get(url).json()
    assert [(m["from_buyer"], m["body"]) for m in talk] == [
        (False, "Delivery on Friday."), (True, "Fine.")]
    for outsider in outsiders:
        client = as_user(api_client, outsider)
        assert client.get(url).status_code == 404
        assert client.post(url, {"body": "x"}, format="json").status_code in (403, 404)
    assert Inquiry.objects.get(pk=assignment.inquiry_id).events.filter(
        kind="message_out").count() == 1
