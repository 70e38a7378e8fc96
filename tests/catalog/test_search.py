"""Catalog search: CAS first, Chinese pairs, pinyin, formulas, synonyms, "did you mean",
hostile input, and the number of queries a page of results costs."""

import pytest

from catalog import search
from catalog.models import Product, SearchTerm
from catalog.selectors import products_public
from tests.catalog.factories import CategoryFactory, ChemicalFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(subsidiary):
    """A small catalog; each entry is one active product of the named chemical."""
    acids = CategoryFactory(key="acids")
    chemicals = {
        "water": ChemicalFactory(cas="7732-18-5", name_en="Water", name_zh="水",
                                 formula="H2O"),
        "sulfuric": ChemicalFactory(
            cas="7664-93-9", name_en="Sulfuric acid", name_zh="硫酸", formula="H2SO4",
            synonyms=["Oil of vitriol", "Hydrogen sulfate", "绿矾油"]),
        "concentrated": ChemicalFactory(name_en="Concentrated sulfuric acid",
                                        name_zh="浓硫酸", formula="H2SO4"),
        "sodium_sulfate": ChemicalFactory(cas="7757-82-6", name_en="Sodium sulfate",
                                          name_zh="硫酸钠", formula="Na2SO4",
                                          synonyms=["Glauber's salt", "芒硝"]),
        "hydrochloric": ChemicalFactory(cas="7647-01-0", name_en="Hydrochloric acid",
                                        name_zh="盐酸", formula="HCl",
                                        synonyms=["Muriatic acid"]),
        "naoh": ChemicalFactory(cas="1310-73-2", name_en="Sodium hydroxide",
                                name_zh="氢氧化钠", formula="NaOH",
                                synonyms=["Caustic soda", "Lye", "烧碱", "火碱"]),
        "toluene": ChemicalFactory(cas="108-88-3", name_en="Toluene", name_zh="甲苯",
                                   formula="C7H8", synonyms=["Methylbenzene", "Toluol"]),
        "chlorotoluene": ChemicalFactory(cas="106-43-4", name_en="4-Chlorotoluene",
                                         name_zh="4-氯甲苯", formula="C7H7Cl",
                                         synonyms=["p-Chlorotoluene", "对氯甲苯"]),
        "dichromate": ChemicalFactory(cas="7778-50-9", name_en="Potassium dichromate",
                                      name_zh="重铬酸钾", formula="K2Cr2O7"),
    }
    products = {key: ProductFactory(chemical=chemical, seller=subsidiary, category=acids)
                for key, chemical in chemicals.items()}
    # A product whose own name carries the CAS number of sulfuric acid: found by it, after.
    products["battery"] = ProductFactory(chemical=chemicals["water"], seller=subsidiary,
                                         category=acids, name_en="7664-93-9")
    return products


def found(query: str, **kwargs) -> list[Product]:
    return list(search.search_products(query=query, **kwargs).products)


@pytest.mark.parametrize("query", ["7664-93-9", "7664939", " 7664-93-9 ", "７６６４-９３-９"])
def test_cas_exact_match_comes_first(catalog, query):
    result = search.search_products(query=query)
    products = list(result.products)
    assert result.cas_match is True
    assert products[0] == catalog["sulfuric"]
    assert catalog["battery"] in products


def test_partial_cas_finds_as_you_type(catalog):
    result = search.search_products(query="7664-93")
    assert set(result.products) == {catalog["sulfuric"], catalog["battery"]}
    assert result.cas_match is False


def test_unknown_valid_cas_finds_nothing(catalog):
    result = search.search_products(query="50-00-0")
    assert list(result.products) == [] and result.cas_match is False


def test_chinese_pair_finds_names_that_contain_it(catalog):
    products = found("硫酸")
    assert products[0] == catalog["sulfuric"]  # the exact name first
    assert set(products) == {catalog["sulfuric"], catalog["concentrated"],
                             catalog["sodium_sulfate"]}
    assert found("浓硫酸") == [catalog["concentrated"]]


def test_chinese_synonym(catalog):
    assert found("烧碱") == [catalog["naoh"]]
    assert found("对氯甲苯") == [catalog["chlorotoluene"]]


@pytest.mark.parametrize("query", ["liusuan", "LiuSuan", "ls", "liusu"])
def test_pinyin_full_and_initials(catalog, query):
    products = found(query)
    assert catalog["sulfuric"] in products
    assert catalog["hydrochloric"] not in products  # yansuan, ys


def test_pinyin_of_a_heteronym_has_both_readings(catalog):
    # pypinyin reads 重 in 重铬酸钾 as chong; chemists say zhong. Both find it.
    assert found("zhonggesuanjia") == [catalog["dichromate"]]
    assert found("chonggesuanjia") == [catalog["dichromate"]]
    assert found("zgsj") == [catalog["dichromate"]]


@pytest.mark.parametrize("query", ["H2SO4", "h2so4", "H₂SO₄"])
def test_formula(catalog, query):
    assert set(found(query)) == {catalog["sulfuric"], catalog["concentrated"]}


def test_english_name_and_synonym(catalog):
    assert found("caustic soda") == [catalog["naoh"]]
    assert found("Sodium hydroxide") == [catalog["naoh"]]
    assert found("sulfuric acid")[:2] == [catalog["sulfuric"], catalog["concentrated"]]
    assert found("sodium")[0] in {catalog["naoh"], catalog["sodium_sulfate"]}


def test_last_word_is_a_prefix(catalog, subsidiary):
    tosic = ProductFactory(seller=subsidiary, chemical=ChemicalFactory(
        cas="104-15-4", name_en="p-Toluenesulfonic acid", name_zh="对甲苯磺酸"))
    assert found("tolu") == [catalog["toluene"], tosic]
    assert found("toluene") == [catalog["toluene"], tosic]  # one word: still a prefix
    assert found("sodium hydr") == [catalog["naoh"]]
    # A known word after others is taken whole: 'acid' is not 'acid:*' here.
    assert search.parse_query("sulfuric acid").prefix is True
    assert set(found("sulfuric acid")) == {catalog["sulfuric"], catalog["concentrated"]}


def test_typo_suggests_the_catalog_word_and_shows_its_products(catalog):
    assert search.suggest("tolune") == "toluene"
    result = search.search_products(query="tolune")
    assert result.suggestion == "toluene"
    assert result.corrected is True
    assert list(result.products) == [catalog["toluene"]]


def test_no_suggestion_when_the_query_finds_enough(catalog):
    result = search.search_products(query="acid")
    assert result.suggestion is None and result.corrected is False
    assert len(list(result.products)) >= 3


def test_suggestion_corrects_one_word_of_several(catalog):
    assert search.suggest("sulfric acid") == "sulfuric acid"
    assert search.suggest("4-Chlorotolune") == "4-chlorotoluene"
    assert search.suggest("sulfuric acid") is None  # every word known


def test_suggestion_prefers_the_closest_spelling(catalog, subsidiary):
    # Every trigram of 'benzamide' is in the typo: by trigrams alone it would win.
    for name in ("Benzamide", "N-Benzylbenzamide"):
        ProductFactory(chemical=ChemicalFactory(name_en=name), seller=subsidiary)
    assert search.suggest("benzlbenzamide") == "benzylbenzamide"


def test_a_number_before_a_word_binds_to_it(catalog, subsidiary):
    """2-chloro-4-methylphenol and 4-chloro-2-methylphenol are different chemicals."""
    first = ProductFactory(seller=subsidiary, chemical=ChemicalFactory(
        name_en="2-Chloro-4-methylphenol", name_zh="2-氯-4-甲基苯酚"))
    second = ProductFactory(seller=subsidiary, chemical=ChemicalFactory(
        name_en="4-Chloro-2-methylphenol", name_zh="4-氯-2-甲基苯酚"))
    assert found("2-chloro-4-methylphenol") == [first]
    assert found("4-氯-2-甲基苯酚") == [second]
    assert set(found("chloro methylphenol")) == {first, second}
    assert set(found("2-chloro")) == {first}


@pytest.mark.parametrize("query", [
    '"', "'", "''", "%", "%%", "_", "\\", "'; DROP TABLE catalog_product; --",
    "&|!:*()", "a:* | !b", "<-> <2>", "硫酸' OR 1=1 --", "\x00硫酸", "a" * 500,
    "硫" * 500, "tolune " * 80, "7664-93-9" * 60, "-", "--- 7664 ---",
])
def test_hostile_input_answers_normally(catalog, query):
    result = search.search_products(query=query)
    list(result.products[:20])
    result.products.count()
    assert Product.objects.count() == len(catalog)


def test_punctuation_only_finds_nothing(catalog):
    assert found("%&|!") == []


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_query_leaves_the_queryset_alone(catalog, query):
    queryset = products_public().filter(chemical__name_en__startswith="S")
    assert search.search_products(query=query, queryset=queryset).products is queryset


def test_inactive_products_and_sellers_are_not_found(catalog, other_subsidiary):
    catalog["sulfuric"].is_active = False
    catalog["sulfuric"].save()
    hidden = ProductFactory(chemical=catalog["naoh"].chemical, seller=other_subsidiary)
    other_subsidiary.is_active = False
    other_subsidiary.save()
    assert catalog["sulfuric"] not in found("硫酸")
    assert found("7664-93-9") == [catalog["battery"]]
    assert hidden not in found("caustic soda")


def test_search_keeps_the_callers_filters(catalog):
    only_salts = products_public().exclude(chemical__name_en__icontains="acid")
    assert found("硫酸", queryset=only_salts) == [catalog["sodium_sulfate"]]


def test_results_can_be_reordered_by_name(catalog):
    products = search.search_products(query="硫酸").products.order_by("chemical__name_en")
    assert [p.chemical.name_en for p in products] == [
        "Concentrated sulfuric acid", "Sodium sulfate", "Sulfuric acid"]


@pytest.mark.parametrize("query,limit", [
    ("acid", 3),  # are the words known (yes), the page, the count
    ("sulfuric acid", 3),
    ("7664-93-9", 3),  # did the CAS number match, the page, the count
    ("硫酸", 2),  # no Latin words to check: the page, the count
    ("tolune", 4),  # unknown word, found nothing?, the corrected page, its count
])
def test_a_page_of_results_costs_few_queries(catalog, django_assert_max_num_queries,
                                              query, limit):
    with django_assert_max_num_queries(limit):
        result = search.search_products(query=query)
        page = list(result.products[:20])
        result.products.count()
        assert all(p.seller.name and p.category.key and p.chemical.cas for p in page)


# --- Indexing ------------------------------------------------------------------------------


def test_document_holds_names_cas_formula_pairs_and_pinyin(catalog):
    lines = search.search_document_for(catalog["concentrated"]).split("\n")
    names = lines[0].split()
    assert {"concentrated", "sulfuric", "acid", "浓", "硫", "酸", "浓硫", "硫酸",
            "h2so4"} <= set(names)
    assert {"nongliusuan", "nls"} <= set(lines[2].split())
    assert "\x1fconcentrated sulfuric acid\x1f浓硫酸\x1f" in lines[3]
    assert "7664939" in search.search_document_for(catalog["sulfuric"]).split("\n")[0]


def test_index_products_follows_a_renamed_chemical(catalog):
    chemical = catalog["toluene"].chemical
    chemical.synonyms = ["Toluol", "Phenylmethane"]
    chemical.save()
    assert found("phenylmethane") == []
    search.index_products(product_ids=[catalog["toluene"].pk])
    assert found("phenylmethane") == [catalog["toluene"]]
    assert SearchTerm.objects.filter(term="phenylmethane").exists()


def test_index_all_rebuilds_documents_and_word_counts(catalog):
    Product.objects.update(search_document="", search_vector=None)
    SearchTerm.objects.create(term="obsolete", frequency=9)
    search.index_all()
    assert found("caustic soda") == [catalog["naoh"]]
    assert not SearchTerm.objects.filter(term="obsolete").exists()
    # "acid" is in three products' names (hydrochloric's synonym "Muriatic acid" adds none)
    assert SearchTerm.objects.get(term="acid").frequency == 3
    assert SearchTerm.objects.get(term="toluene").frequency == 1


def test_index_products_handles_many_ids_in_chunks(catalog, monkeypatch):
    monkeypatch.setattr(search, "CHUNK", 3)
    Product.objects.update(search_document="", search_vector=None)
    search.index_products(product_ids=Product.objects.values_list("pk", flat=True))
    assert not Product.objects.filter(search_vector__isnull=True).exists()
    assert found("liusuan")[0] == catalog["sulfuric"]


# --- The SQLite fallback, run here on PostgreSQL: same tokens, LIKE instead of @@ ----------


@pytest.mark.parametrize("query", [
    "硫酸", "浓硫酸", "liusuan", "ls", "H2SO4", "caustic soda", "7664-93-9", "7664939",
    "tolu", "sodium hydr", "zgsj", "acid",
])
def test_fallback_finds_what_full_text_search_finds(catalog, query):
    parsed = search.parse_query(query)
    fallback = search._fallback_filter(products_public(), parsed)
    assert set(fallback) == set(found(query))
    if parsed.cas:
        assert list(fallback)[0] == catalog["sulfuric"]


def test_fallback_puts_the_exact_name_first(catalog):
    fallback = search._fallback_filter(products_public(), search.parse_query("硫酸"))
    assert list(fallback)[0] == catalog["sulfuric"]
