"""Sanity checks on the committed reference data accounts/data/regions.csv.

Reads the CSV only: no database, no Django. Regenerate with scripts/build_regions.py.
"""

import csv
from pathlib import Path

import pytest

CSV_PATH = Path(__file__).resolve().parents[2] / "accounts" / "data" / "regions.csv"
HEADER = ["code", "parent_code", "level", "name_zh", "name_en"]


@pytest.fixture(scope="module")
def rows():
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADER
        return list(reader)


@pytest.fixture(scope="module")
def by_code(rows):
    return {r["code"]: r for r in rows}


def test_codes_are_unique_six_digits_and_sorted(rows):
    codes = [r["code"] for r in rows]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)


def test_levels_and_names_are_filled(rows):
    assert {r["level"] for r in rows} == {"province", "city"}
    assert all(r["name_zh"].strip() and r["name_en"].strip() for r in rows)


def test_34_provinces_including_municipalities_and_sars(rows, by_code):
    provinces = [r for r in rows if r["level"] == "province"]
    assert len(provinces) == 34
    assert all(r["code"].endswith("0000") and r["parent_code"] == "" for r in provinces)
    expected = {
        "110000": "Beijing",
        "120000": "Tianjin",
        "310000": "Shanghai",
        "500000": "Chongqing",
        "810000": "Hong Kong",
        "820000": "Macau",
        "710000": "Taiwan",
        "540000": "Tibet",
    }
    for code, name_en in expected.items():
        assert by_code[code]["level"] == "province"
        assert by_code[code]["name_en"] == name_en


def test_every_city_hangs_under_its_province(rows, by_code):
    cities = [r for r in rows if r["level"] == "city"]
    assert len(cities) > 300
    for city in cities:
        parent = by_code[city["parent_code"]]
        assert parent["level"] == "province", city
        assert city["code"][:2] == parent["code"][:2], city
        assert not city["code"].endswith("0000"), city


def test_municipalities_have_no_city_rows(rows):
    municipality_prefixes = {"11", "12", "31", "50"}
    assert not [r for r in rows if r["level"] == "city" and r["code"][:2] in municipality_prefixes]


def test_no_placeholder_rows(rows):
    names = {r["name_zh"] for r in rows}
    assert not names & {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


@pytest.mark.parametrize(
    ("code", "parent", "name_zh", "name_en"),
    [
        ("320500", "320000", "苏州市", "Suzhou"),
        ("440300", "440000", "深圳市", "Shenzhen"),
        ("430100", "430000", "长沙市", "Changsha"),
        ("350200", "350000", "厦门市", "Xiamen"),
        ("341500", "340000", "六安市", "Lu'an"),
        ("429004", "420000", "仙桃市", "Xiantao"),
        ("222400", "220000", "延边朝鲜族自治州", "Yanbian Korean Autonomous Prefecture"),
        ("152900", "150000", "阿拉善盟", "Alxa League"),
    ],
)
def test_known_samples(by_code, code, parent, name_zh, name_en):
    row = by_code[code]
    assert (row["parent_code"], row["level"], row["name_zh"], row["name_en"]) == (
        parent,
        "city",
        name_zh,
        name_en,
    )
