"""/api/v1/categories/, /api/v1/chemicals/, /api/v1/products/: public reads of the catalog."""


import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tests.catalog.factories import ProductFactory, StockFactory, counted_catalog, prices

pytestmark = pytest.mark.django_db


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


def token_client(api_client, user):
    token, _created = Token.objects.get_or_create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


# --- Categories and chemicals -----------------------------------------------------------------

# `assortment` (tests/catalog/conftest.py): A-HAZ, B-SALT, C-TEST and the inactive D-OFF.


def test_categories_are_public_with_tree_and_counts(api_client, assortment):
    response = api_client.get("/api/v1/categories/")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert list(rows) == ["solvents", "alcohols", "salts"]  # depth-first, display order
    assert rows["alcohols"]["parent"] == "solvents"
    assert rows["solvents"]["parent"] is None
    assert (rows["solvents"]["product_count"], rows["alcohols"]["product_count"],
            rows["salts"]["product_count"]) == (1, 1, 2)  # the inactive one not counted


def test_categories_in_chinese(api_client, assortment):
    response = api_client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()[0]["name"] == "溶剂"


def test_chemicals_list_filter_and_detail(api_client, assortment):
    response = api_client.get("/api/v1/chemicals/", {"cas": "67561"})  # dashes optional
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["cas"] == "67-56-1" and row["formula"] == "CH4O"
    assert row["pictograms"] == [{"code": "GHS02", "label": "Flame"},
                                 {"code": "GHS07", "label": "Exclamation mark"}]
    assert row["hazard_statements"][0] == {"code": "H225",
                                           "text": "Highly flammable liquid and vapour"}
    assert row["is_hazardous"] and row["un_number"] == "1170"

    by_name = api_client.get("/api/v1/chemicals/", {"q": "氯化钠"}).json()["results"]
    assert [c["cas"] for c in by_name] == ["7647-14-5"]
    detail = api_client.get(f"/api/v1/chemicals/{row['id']}/")
    assert detail.status_code == 200 and detail.json()["signal_word"] == "Danger"


# --- Product list -----------------------------------------------------------------------------


def test_product_list_is_public_with_entry_price_and_stock(api_client, assortment):
    response = api_client.get("/api/v1/products/")
    assert skus(response) == ["A-HAZ", "C-TEST", "B-SALT"]  # by name; inactive left out
    first = response.json()["results"][0]
    assert first["list_price"] == "50.00" and first["in_stock"] is True
    assert first["chemical"]["cas"] == "67-56-1" and first["chemical"]["is_hazardous"]
    assert first["seller"]["code"] == assortment["methanol"].seller.code
    assert first["category"] == "alcohols"
    service = response.json()["results"][1]
    assert service["chemical"] is None and service["list_price"] is None


@pytest.mark.parametrize(("params", "expected"), [
    ({"category": "solvents"}, ["A-HAZ"]),
    ({"category": "salts"}, ["C-TEST", "B-SALT"]),
    ({"grade": "industrial"}, ["B-SALT"]),
    ({"hazardous": "yes"}, ["A-HAZ"]),
    ({"hazardous": "no"}, ["C-TEST", "B-SALT"]),
    ({"in_stock": "yes"}, ["A-HAZ"]),
    ({"in_stock": "no"}, ["C-TEST", "B-SALT"]),
    ({"price_min": "100"}, ["B-SALT"]),
    ({"price_max": "100"}, ["A-HAZ"]),
    ({"q": "methanol"}, ["A-HAZ"]),
    ({"q": "7647-14-5"}, ["B-SALT"]),
    ({"q": "甲醇"}, ["A-HAZ"]),
    ({"sort": "-price"}, ["B-SALT", "A-HAZ", "C-TEST"]),
    ({"sort": "newest"}, ["C-TEST", "B-SALT", "A-HAZ"]),
])
def test_product_list_filters(api_client, assortment, params, expected):
    assert skus(api_client.get("/api/v1/products/", params)) == expected


def test_product_list_filter_by_seller(api_client, assortment, subsidiary, hq):
    assert skus(api_client.get("/api/v1/products/", {"seller": subsidiary.code})) == ["A-HAZ"]
    assert len(skus(api_client.get("/api/v1/products/", {"seller": hq.code}))) == 3


@pytest.mark.parametrize(("params", "field"), [
    ({"price_min": "abc"}, "price_min"),
    ({"price_max": "1e999"}, "price_max"),
    ({"price_min": "-1"}, "price_min"),
    ({"grade": "unknown"}, "grade"),
    ({"category": "nope"}, "category"),
    ({"seller": "nobody"}, "seller"),
    ({"hazardous": "maybe"}, "hazardous"),
    ({"in_stock": "true"}, "in_stock"),
    ({"sort": "bogus"}, "sort"),
    ({"q": "x" * 201}, "q"),
    ({"q": "nul\x00byte"}, "q"),
])
def test_bad_filter_input_is_400_with_field_messages(api_client, assortment, params, field):
    response = api_client.get("/api/v1/products/", params)
    assert response.status_code == 400
    assert isinstance(response.json()[field], list) and response.json()[field]


def test_unknown_page_is_404_not_500(api_client, assortment):
    assert api_client.get("/api/v1/products/", {"page": "abc"}).status_code == 404


# --- Product detail ---------------------------------------------------------------------------


def test_product_detail_for_a_guest(api_client, assortment):
    methanol = assortment["methanol"]
    response = api_client.get(f"/api/v1/products/{methanol.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["prices"]["is_company_price"] is False
    assert body["prices"]["vat_rate"] == "0.1300"
    assert [(t["min_quantity"], t["unit_price"], t["vat"]) for t in body["prices"]["tiers"]] == [
        ("200.000", "50.00", "5.75"), ("1000.000", "45.00", "5.18")]
    assert body["stock"] == [  # available only: on hand − reserved; depots by code
        {"depot": "NJ-01", "depot_name": "Nanjing depot", "region": "320500",
         "region_name": "Suzhou", "available": "0.000"},
        {"depot": "SZ-01", "depot_name": "Suzhou depot", "region": "320500",
         "region_name": "Suzhou", "available": "400.000"},
    ]
    assert [p["code"] for p in body["chemical"]["pictograms"]] == ["GHS02", "GHS07"]
    assert body["chemical"]["hazard_statements"][1]["text"] == "Causes serious eye irritation"
    assert body["sds_url"] is None


def test_product_detail_prices_for_the_callers_company(api_client, assortment, buyer, company,
                                                       outsider_buyer):
    methanol = assortment["methanol"]
    prices(methanol, [(200, "40.00")], company=company)
    url = f"/api/v1/products/{methanol.pk}/"

    own = token_client(api_client, buyer).get(url).json()["prices"]
    assert own["is_company_price"] is True
    assert [t["unit_price"] for t in own["tiers"]] == ["40.00"]

    other = token_client(api_client, outsider_buyer).get(url).json()["prices"]
    assert other["is_company_price"] is False
    assert [t["unit_price"] for t in other["tiers"]] == ["50.00", "45.00"]


def test_service_detail_has_no_stock_or_chemical(api_client, assortment):
    body = api_client.get(f"/api/v1/products/{assortment['service'].pk}/").json()
    assert body["stock"] == [] and body["chemical"] is None
    assert body["prices"]["tiers"] == []


def test_inactive_or_unknown_product_is_404(api_client, assortment):
    inactive = ProductFactory(is_active=False)
    assert api_client.get(f"/api/v1/products/{inactive.pk}/").status_code == 404
    assert api_client.get("/api/v1/products/999999/").status_code == 404


def test_sds_url_points_at_the_download_view(api_client, assortment, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    methanol = assortment["methanol"]
    methanol.sds.save("methanol.pdf", ContentFile(b"%PDF"))
    body = api_client.get(f"/api/v1/products/{methanol.pk}/").json()
    assert body["sds_url"] == f"http://testserver/products/{methanol.pk}/sds/"


# --- Query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 40])
def test_product_list_query_count_is_constant(api_client, subsidiary, buyer, size,
                                              django_assert_max_num_queries):
    counted_catalog(size, seller=subsidiary, indexed=3)
    with django_assert_max_num_queries(2):  # count, page
        assert api_client.get("/api/v1/products/").status_code == 200
    token_client(api_client, buyer)
    # token, category and seller choices (only when asked for), count, page
    with django_assert_max_num_queries(5):
        response = api_client.get("/api/v1/products/", {
            "category": "counted", "seller": subsidiary.code, "hazardous": "yes",
            "in_stock": "yes", "sort": "price"})
        assert response.status_code == 200
    # token, the search's check (+ "did you mean" when it finds little), count, page
    with django_assert_max_num_queries(5):
        assert api_client.get("/api/v1/products/", {"q": "compound"}).status_code == 200


def test_product_detail_query_count(api_client, assortment, buyer, company,
                                    django_assert_max_num_queries):
    methanol = assortment["methanol"]
    prices(methanol, [(200, "40.00")], company=company)
    for _ in range(5):
        StockFactory(product=methanol)
    token_client(api_client, buyer)
    with django_assert_max_num_queries(5):  # token, company id, product, prices, stock
        assert api_client.get(f"/api/v1/products/{methanol.pk}/").status_code == 200


# --- Schema -----------------------------------------------------------------------------------


def test_schema_builds_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for route in ("/api/v1/categories/", "/api/v1/chemicals/", "/api/v1/products/",
                  "/api/v1/products/{id}/"):
        assert f"{route}:" in schema
    for parameter in ("price_min", "in_stock", "hazardous", "sort"):
        assert f"name: {parameter}" in schema
