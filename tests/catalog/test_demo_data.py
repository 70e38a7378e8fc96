"""Sanity checks on the committed reference data catalog/data/demo_chemicals.json.

Reads the JSON only: no database. The hazard data itself (GHS classification, UN numbers)
was taken from the harmonised EU CLP Annex VI entries and common SDS; these tests guard
its shape and internal consistency, not its chemistry.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from stdnum import casrn

JSON_PATH = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_chemicals.json"
DATA = json.loads(JSON_PATH.read_text(encoding="utf-8"))
CHEMICALS = DATA["chemicals"]
CATEGORY_KEYS = [row["key"] for row in DATA["categories"]]

# The industry tree of the spec, in its order.
EXPECTED_CATEGORY_KEYS = [
    "pharma-intermediates", "apis", "food-additives", "coatings", "agrochemicals",
    "dyes-pigments", "surfactants", "flavors-fragrances", "reagents", "catalysts-auxiliaries",
    "natural-products", "inorganic", "organic", "biochemicals", "analytical",
    "cosmetic-ingredients", "water-treatment",
]
CHEMICAL_FIELDS = {
    "cas", "name_en", "name_zh", "synonyms_en", "synonyms_zh", "formula", "hs_code", "ghs",
    "signal_word", "h_statements", "un_number", "transport_class", "packing_group",
    "controlled", "licence_kind", "categories", "grades",
}
GHS_CODES = {f"GHS0{n}" for n in range(1, 10)}
# H360/H361 carry the CLP letters for fertility (F/f) and development (D/d).
H_STATEMENT = re.compile(r"H\d{3}(FD|Fd|Df|F|D|fd|f|d)?")
TRANSPORT_CLASSES = {"2.1", "2.2", "2.3", "3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1", "8", "9"}
GRADES = {"industrial", "reagent", "pharmaceutical", "food", "electronic"}
CJK = re.compile(r"[\u4e00-\u9fff]")
# Known precursor / explosive-precursor chemicals that the demo data must flag.
MUST_BE_CONTROLLED = {
    "7664-93-9": "sulfuric acid", "7647-01-0": "hydrochloric acid", "67-64-1": "acetone",
    "108-88-3": "toluene", "7722-64-7": "potassium permanganate", "7697-37-2": "nitric acid",
}

by_cas = pytest.mark.parametrize("chemical", CHEMICALS, ids=[c["cas"] for c in CHEMICALS])


def test_seventeen_categories_in_spec_order_with_both_names():
    assert CATEGORY_KEYS == EXPECTED_CATEGORY_KEYS
    for row in DATA["categories"]:
        assert row["name_en"].strip() and row["name_zh"].strip()
        assert CJK.search(row["name_zh"])


def test_at_least_90_distinct_chemicals():
    assert len(CHEMICALS) >= 90
    duplicates = [cas for cas, n in Counter(c["cas"] for c in CHEMICALS).items() if n > 1]
    assert duplicates == []
    names = Counter(c["name_en"].casefold() for c in CHEMICALS)
    assert [name for name, n in names.items() if n > 1] == []


def test_every_category_is_primary_for_at_least_two_chemicals():
    primaries = Counter(c["categories"][0] for c in CHEMICALS)
    assert {key: primaries[key] for key in CATEGORY_KEYS if primaries[key] < 2} == {}


def test_known_controlled_chemicals_are_flagged():
    flags = {c["cas"]: c["controlled"] for c in CHEMICALS}
    assert {cas: name for cas, name in MUST_BE_CONTROLLED.items() if not flags.get(cas)} == {}


@by_cas
def test_fields_and_cas_number(chemical):
    assert set(chemical) == CHEMICAL_FIELDS
    assert casrn.is_valid(chemical["cas"])
    assert re.fullmatch(r"[1-9]\d{1,6}-\d{2}-\d", chemical["cas"])  # dashed, no leading zero
    assert isinstance(chemical["controlled"], bool)
    # A controlled chemical names its licence (the database insists too); others none.
    expected_kinds = {"precursor", "explosive_precursor"} if chemical["controlled"] else {""}
    assert chemical["licence_kind"] in expected_kinds


@by_cas
def test_names_and_synonyms(chemical):
    assert chemical["name_en"].strip() and chemical["name_zh"].strip()
    assert CJK.search(chemical["name_zh"])
    for key, name in (("synonyms_en", "name_en"), ("synonyms_zh", "name_zh")):
        synonyms = chemical[key]
        assert all(isinstance(s, str) and s.strip() for s in synonyms)
        assert len(synonyms) == len(set(synonyms))
        assert chemical[name] not in synonyms


@by_cas
def test_formula_and_hs_code(chemical):
    assert chemical["formula"] and not re.search(r"\s", chemical["formula"])
    assert re.fullmatch(r"\d{6}|\d{10}", chemical["hs_code"])


@by_cas
def test_chemical_categories_exist(chemical):
    categories = chemical["categories"]
    assert categories and set(categories) <= set(CATEGORY_KEYS)
    assert len(categories) == len(set(categories))


@by_cas
def test_ghs_pictograms_and_h_statements(chemical):
    ghs, h_statements = chemical["ghs"], chemical["h_statements"]
    assert set(ghs) <= GHS_CODES and len(ghs) == len(set(ghs))
    assert all(H_STATEMENT.fullmatch(h) for h in h_statements)
    assert len(h_statements) == len(set(h_statements))
    assert bool(ghs) == bool(h_statements)


@by_cas
def test_signal_word_matches_pictograms(chemical):
    assert chemical["signal_word"] in {"Danger", "Warning", ""}
    assert bool(chemical["ghs"]) == bool(chemical["signal_word"])


@by_cas
def test_transport_data(chemical):
    un, cls, pg = chemical["un_number"], chemical["transport_class"], chemical["packing_group"]
    assert un == "" or re.fullmatch(r"\d{4}", un)
    assert pg in {"", "I", "II", "III"}
    assert bool(un) == bool(cls)
    assert cls == "" or cls in TRANSPORT_CLASSES
    if pg:
        assert un, "a packing group needs a UN number"


@by_cas
def test_grades(chemical):
    grades = chemical["grades"]
    assert grades and set(grades) <= GRADES and len(grades) == len(set(grades))


def test_testing_services():
    services = DATA["testing_services"]
    assert 5 <= len(services) <= 8
    codes = [s["code"] for s in services]
    assert len(codes) == len(set(codes))
    for service in services:
        assert set(service) == {"code", "name_en", "name_zh", "category", "lead_time_days"}
        assert re.fullmatch(r"TS-[A-Z0-9]+(-[A-Z0-9]+)*", service["code"])
        assert service["name_en"].strip() and CJK.search(service["name_zh"])
        assert service["category"] in CATEGORY_KEYS
        assert isinstance(service["lead_time_days"], int) and service["lead_time_days"] > 0
