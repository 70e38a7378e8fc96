"""Catalog search: what is indexed for a product, and how a buyer's query finds it.

The indexed text (`Product.search_document`) is built in Python, because part of it cannot
be computed in SQL: Chinese names cut into single characters and pairs of characters
(Chinese is not written with spaces, so 硫酸 must match 浓硫酸 through its pair 硫酸), and
their pinyin (`liusuan`, initials `ls`). The document is a list of space-separated tokens
that PostgreSQL's parser keeps whole, in three lines that become the weights of the stored,
GIN-indexed `search_vector`, and a fourth line that is not in the vector:

    A  names (product's own and the chemical's), the CAS number without dashes, the formula
    B  synonyms
    C  pinyin of the Chinese names and synonyms, full and initials (heteronyms: two readings)
    -  the whole names and synonyms, folded, for the exact-name boost

A query is cut the same way and becomes a `to_tsquery('simple', …)` of AND-ed tokens (the
last one a prefix, for search-as-you-type), passed as a parameter and built only from
letters and digits, so no user text reaches the SQL or the tsquery syntax. Results are
ranked by `ts_rank` on the stored vector plus a boost for an exact name or synonym, both
read from the product row alone (ranking needs no join); a complete CAS number is looked up
exactly and its products come first. "Did you mean" looks for the
nearest word of the catalog (`SearchTerm`, filled by the indexer) with pg_trgm, only when
a query finds nothing or little; when it finds nothing, the results are the suggestion's.

On SQLite (the embedded mode) there is no search vector: `_fallback_filter` matches the
same tokens as words of `search_document` with LIKE, and there are no suggestions.
"""

import dataclasses
import difflib
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import (
    Case,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat, Replace
from pypinyin import Style, lazy_pinyin
from stdnum import casrn

from .models import Product, SearchTerm
from .selectors import products_public

MAX_QUERY_CHARS = 200  # a 500-character paste is cut, not refused
MAX_QUERY_TOKENS = 8  # AND of more tokens adds nothing but work
MIN_PREFIX_CHARS = 3  # 'a:*', 'be:*' match much of the catalog: two letters are matched whole
LITTLE = 3  # fewer results than this: offer "did you mean"
MAX_SUGGEST_WORDS = 5
CHUNK = 2000  # products per SELECT/UPDATE round when indexing

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")  # a run of Chinese, or of other letters/digits
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CAS_IN_TEXT = re.compile(r"(?<![0-9-])([1-9][0-9]{1,6})-([0-9]{2})-([0-9])(?![0-9-])")
_CAS_COMPLETE = re.compile(r"[1-9][0-9]{1,6}-[0-9]{2}-[0-9]")
_DIGITS_AND_DASHES = re.compile(r"[0-9\s-]*[0-9][0-9\s-]*")
_TERM = re.compile(r"[a-z]{3,100}")  # words of the "did you mean" table
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in text
_NAME_SEP = "\x1f"  # between the whole names in the document's last line


# --- Tokens -------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Full-width to half-width, subscripts to digits (NFKC), and lower case."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def _normalize(text: str) -> str:
    """Folded, with CAS numbers written without dashes (7664-93-9 → 7664939), because
    PostgreSQL's parser would read '-93' as a negative number."""
    return _CAS_IN_TEXT.sub(r"\1\2\3", _fold(text))


def _whole(text: str) -> str:
    """A whole name or query as compared for an exact match: folded, single spaces."""
    return " ".join(_fold(_CONTROL.sub(" ", text)).split())


def _is_cjk(token: str) -> bool:
    return bool(_CJK_CHAR.match(token))


@functools.lru_cache(maxsize=65536)
def _text_tokens(text: str) -> tuple[str, ...]:
    """The document tokens of a text: words, Chinese as characters and pairs, and
    locants bound to what follows (4-chloro → 4 chloro 4chloro; 4-氯 → 4 氯 4氯)."""
    tokens: list[str] = []
    runs = _TOKEN.findall(_normalize(text))
    for i, run in enumerate(runs):
        if _is_cjk(run):
            tokens.extend(run)
            tokens.extend(run[j:j + 2] for j in range(len(run) - 1))
        else:
            tokens.append(run)
            if locant := _locant(run, runs[i + 1] if i + 1 < len(runs) else ""):
                tokens.append(locant)
    return tuple(tokens)


def _locant(run: str, following: str) -> str | None:
    """A short number followed by a word: the two as one token. In a query it replaces
    the bare number, whose posting list holds half the catalog, and tells 2-chloro-4-methyl
    from 4-chloro-2-methyl."""
    if not (run.isdigit() and len(run) <= 3 and following and not following[0].isdigit()):
        return None
    return run + (following[0] if _is_cjk(following) else following)


@functools.lru_cache(maxsize=8192)
def _reading(char: str) -> str:
    """The usual reading of one character, out of context (重 → zhong)."""
    found = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    return found[0] if found else ""


@functools.lru_cache(maxsize=65536)
def _pinyin_tokens(text: str) -> tuple[str, ...]:
    """Full pinyin and initials of the Chinese in a name: 硫酸 → liusuan, ls.

    Heteronyms, without over-engineering: the reading in context (pypinyin knows phrases),
    and each character's usual reading when that differs (pypinyin reads 重铬酸钾 chong…,
    chemists zhong…: both are indexed); ü typed as v and as u (氯: lv, lu).
    """
    chars = _CJK_CHAR.findall(text or "")
    if not chars:
        return ()
    in_context = lazy_pinyin("".join(chars), style=Style.NORMAL, errors="ignore")
    variants = [in_context]
    if len(in_context) == len(chars):
        usual = [_reading(char) or syllable for char, syllable in zip(chars, in_context,
                                                                       strict=True)]
        if usual != in_context:
            variants.append(usual)
    variants += [[s.replace("v", "u") for s in v] for v in variants if "v" in "".join(v)]
    tokens: list[str] = []
    for syllables in variants:
        tokens.append("".join(syllables))
        tokens.append("".join(s[0] for s in syllables if s))
    return tuple(dict.fromkeys(t for t in tokens if t))


# --- The document -------------------------------------------------------------------------

_FIELDS = ("pk", "name_en", "name_zh", "chemical__cas", "chemical__name_en",
           "chemical__name_zh", "chemical__synonyms", "chemical__formula")


def _entry(row: dict, memo: dict | None = None) -> tuple[str, set[str]]:
    """(search document, words for "did you mean") of one product's values. `memo` keeps
    the entries of one indexing run: the products of one chemical mostly share theirs,
    and pinyin is the slow part."""
    if memo is not None:
        key = tuple(tuple(v) if isinstance(v, list) else v
                    for field, v in row.items() if field != "pk")
        if key not in memo:
            if len(memo) >= 50_000:  # bounded: a catalog of distinct chemicals gains nothing
                memo.clear()
            memo[key] = _entry(row)
        return memo[key]
    names = [row["name_en"], row["name_zh"], row["chemical__name_en"], row["chemical__name_zh"]]
    names = [n for n in names if n]
    synonyms = [s for s in (row["chemical__synonyms"] or []) if isinstance(s, str) and s]
    cas = row["chemical__cas"] or ""
    primary = [t for text in names for t in _text_tokens(text)]
    if cas:
        primary.append(re.sub(r"[^0-9]", "", cas))
    primary.extend(_text_tokens(row["chemical__formula"] or ""))
    secondary = [t for text in synonyms for t in _text_tokens(text)]
    phonetic = [t for text in names + synonyms for t in _pinyin_tokens(text)]

    seen: set[str] = set()
    lines = []
    for tokens in (primary, secondary, phonetic):
        line = [t for t in dict.fromkeys(tokens) if t not in seen]
        seen.update(line)
        lines.append(" ".join(line))
    # Line 4, not part of the vector: the whole names and synonyms, for the exact-name
    # boost without reading the chemical's columns (ranking needs no join).
    lines.append(_NAME_SEP + "".join(f"{_whole(text)}{_NAME_SEP}" for text in names + synonyms))
    terms = {w for text in names + synonyms for w in _TERM.findall(_fold(text))
             if w.isascii()}
    return "\n".join(lines), terms


def _row_of(product: Product) -> dict:
    chemical = product.chemical if product.chemical_id else None
    return {
        "pk": product.pk, "name_en": product.name_en, "name_zh": product.name_zh,
        "chemical__cas": chemical.cas if chemical else None,
        "chemical__name_en": chemical.name_en if chemical else None,
        "chemical__name_zh": chemical.name_zh if chemical else None,
        "chemical__synonyms": chemical.synonyms if chemical else None,
        "chemical__formula": chemical.formula if chemical else None,
    }


def search_document_for(product) -> str:
    """The text indexed for a product: lines of names, synonyms, pinyin (the vector's
    weights A, B, C), and the whole names for exact matches."""
    return _entry(_row_of(product))[0]


# --- Indexing -----------------------------------------------------------------------------

# One statement per chunk: the documents travel as two arrays, the vector is computed in
# the database from the same text (line n of the document gets weight A, B, C).
_UPDATE_PG = """
UPDATE {table} AS p
   SET search_document = d.doc,
       search_vector =
           setweight(to_tsvector('simple', split_part(d.doc, E'\\n', 1)), 'A')
        || setweight(to_tsvector('simple', split_part(d.doc, E'\\n', 2)), 'B')
        || setweight(to_tsvector('simple', split_part(d.doc, E'\\n', 3)), 'C')
  FROM unnest(%s::bigint[], %s::text[]) AS d(id, doc)
 WHERE p.id = d.id {only_changed}
"""
_ONLY_CHANGED = "AND (p.search_vector IS NULL OR p.search_document IS DISTINCT FROM d.doc)"


def _write(documents: dict[int, str], *, force: bool) -> None:
    if not documents:
        return
    if connection.vendor == "postgresql":
        sql = _UPDATE_PG.format(table=connection.ops.quote_name(Product._meta.db_table),
                                only_changed="" if force else _ONLY_CHANGED)
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(documents), list(documents.values())])
    else:
        Product.objects.bulk_update(
            [Product(pk=pk, search_document=doc) for pk, doc in documents.items()],
            ["search_document"], batch_size=500)


def _chunks(iterable: Iterable, size: int):
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def index_products(*, product_ids) -> None:
    """Recompute the search entries of these products (1 or 100,000: in chunks) and add
    their new words to the "did you mean" table. Unchanged documents are not rewritten."""
    ids = list(dict.fromkeys(int(pk) for pk in product_ids))
    for chunk in _chunks(ids, CHUNK):
        rows = Product.objects.filter(pk__in=chunk).values(*_FIELDS)
        documents, terms, memo = {}, Counter(), {}
        for row in rows:
            documents[row["pk"]], words = _entry(row, memo)
            terms.update(words)
        _write(documents, force=False)
        # New words only; the counts of known words are made exact again by index_all().
        SearchTerm.objects.bulk_create(
            [SearchTerm(term=t, frequency=n) for t, n in sorted(terms.items())],
            ignore_conflicts=True, batch_size=1000)


@transaction.atomic
def index_all() -> None:
    """Every product (after bulk loads), and the word table rebuilt with exact counts."""
    terms: Counter = Counter()
    memo: dict = {}
    last = 0
    while True:
        rows = list(Product.objects.filter(pk__gt=last).order_by("pk").values(*_FIELDS)[:CHUNK])
        if not rows:
            break
        documents = {}
        for row in rows:
            documents[row["pk"]], words = _entry(row, memo)
            terms.update(words)
        _write(documents, force=True)
        last = rows[-1]["pk"]
    SearchTerm.objects.all().delete()
    SearchTerm.objects.bulk_create(
        [SearchTerm(term=t, frequency=n) for t, n in sorted(terms.items())],
        batch_size=2000, update_conflicts=True, unique_fields=["term"],
        update_fields=["frequency"])


# --- Queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuery:
    tokens: tuple[str, ...]  # what every result's document holds (all of them)
    prefix: bool  # the last token may be the start of a word
    cas: str | None  # a complete, valid CAS number: its products first
    exact: str  # the whole query, folded: an exact name gets a boost
    words: tuple[str, ...]  # Latin words that "did you mean" may correct
    last_word: str = ""  # the Latin word the prefix token ends with, if any

    @property
    def tsquery(self) -> str:
        """'a' & 'b' & 'c':* — tokens are letters and digits only, never operators."""
        return self.whole_words_tsquery + (":*" if self.prefix else "")

    @property
    def whole_words_tsquery(self) -> str:
        """'a' & 'b' & 'c': the last token as a whole word too (ranks liusuan above
        liusuanna when the query is liusuan)."""
        return " & ".join(f"'{t}'" for t in self.tokens)


def parse_query(query: str) -> ParsedQuery | None:
    """The tokens of a buyer's query, cut like the documents; None for an empty query.
    A query of punctuation only ('%', '&|!') has no tokens: it matches nothing."""
    text = _CONTROL.sub(" ", (query or "")[:MAX_QUERY_CHARS]).strip()
    if not text:
        return None
    folded = _fold(text)
    exact = _whole(text)
    if _DIGITS_AND_DASHES.fullmatch(folded):  # a CAS number, whole or being typed (from
        # four digits on: '76:*' would match every CAS number starting so)
        digits = re.sub(r"[^0-9]", "", folded)[:10]
        cas = None
        if 5 <= len(digits) <= 10:
            formatted = f"{digits[:-3]}-{digits[-3:-1]}-{digits[-1]}"
            cas = formatted if casrn.is_valid(formatted) else None
        complete = cas is not None and bool(_CAS_COMPLETE.fullmatch(folded))
        return ParsedQuery(tokens=(digits,), prefix=not complete and len(digits) >= 4,
                           cas=cas, exact=exact, words=())
    tokens: list[str] = []
    runs = _TOKEN.findall(_normalize(text))
    bound = False  # the previous locant took this word in
    for i, run in enumerate(runs):
        if _is_cjk(run):  # pairs of characters, as indexed; one character alone as itself
            tokens.extend([run] if len(run) == 1 else
                          [run[j:j + 2] for j in range(len(run) - 1)])
        elif locant := _locant(run, runs[i + 1] if i + 1 < len(runs) else ""):
            tokens.append(locant[:100])
            bound = not _is_cjk(runs[i + 1])
            continue
        elif not bound:
            tokens.append(run[:100])
        bound = False
    last = tokens[-1] if tokens else ""
    tokens = list(dict.fromkeys(tokens))
    cut = len(tokens) > MAX_QUERY_TOKENS
    tokens = tokens[:MAX_QUERY_TOKENS]
    # The last word may be unfinished (search-as-you-type) unless something follows it:
    # "4-chloro-2-methyl-" or "sodium " end with a whole word.
    prefix = (not cut and tokens[-1] == last and not _is_cjk(last)
              and len(last) >= MIN_PREFIX_CHARS and folded[-1:].isalnum()) if tokens else False
    cas_match = _CAS_IN_TEXT.search(folded)
    cas = "-".join(cas_match.groups()) if cas_match else None
    words = tuple(dict.fromkeys(w for w in runs if _TERM.fullmatch(w) and w.isascii()))
    last_run = runs[-1] if runs else ""
    return ParsedQuery(tokens=tuple(tokens), prefix=prefix,
                       cas=cas if cas and casrn.is_valid(cas) else None,
                       exact=exact, words=words[:MAX_SUGGEST_WORDS],
                       last_word=last_run if prefix and last_run in words else "")


@dataclass
class SearchResult:
    products: QuerySet[Product]  # ordered by relevance; re-order for price or name
    suggestion: str | None = None  # "did you mean …"
    cas_match: bool = False  # the query is a CAS number some of the products have
    corrected: bool = False  # the query found nothing: products are the suggestion's


def _exact_name(exact: str) -> Q:
    """The query is one of the product's names or synonyms, whole (document's line 4)."""
    return Q(search_document__contains=f"{_NAME_SEP}{exact}{_NAME_SEP}")


def _cas_first(queryset: QuerySet, parsed: ParsedQuery) -> tuple[QuerySet, list[str]]:
    if not parsed.cas:
        return queryset, []
    return (queryset.annotate(search_cas=Case(When(chemical__cas=parsed.cas, then=1),
                                              default=0, output_field=IntegerField())),
            ["-search_cas"])


_INDEX_FIELDS = ("search_document", "search_vector")  # not needed to show a result


def _tsquery(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="raw", config="simple")


def _ranked(queryset: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """PostgreSQL: the GIN-indexed match; its rank is ts_rank on the stored vector
    (normalised by document length, so 'sulfuric acid' ranks above a longer name with both
    words), + 0.5 when the last word is whole rather than a prefix, + 1 for an exact name.
    Exact CAS first; pk last, for stable pages."""
    query = _tsquery(parsed.tsquery)
    boosts = [When(_exact_name(parsed.exact), then=Value(1.0))]
    if parsed.prefix:
        boosts = [When(_exact_name(parsed.exact), then=Value(1.5)),
                  When(search_vector=_tsquery(parsed.whole_words_tsquery), then=Value(0.5))]
    rank = SearchRank(F("search_vector"), query, normalization=Value(1)) + Case(
        *boosts, default=Value(0.0), output_field=FloatField())
    queryset, order = _cas_first(queryset.filter(search_vector=query), parsed)
    return (queryset.annotate(search_rank=rank).order_by(*order, "-search_rank", "pk")
            .defer(*_INDEX_FIELDS))


def _fallback_filter(queryset: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """SQLite: every token as a word of the document (LIKE on ' doc '), the last one as
    the start of a word; exact CAS, then exact names first."""
    text = TextField()
    padded = Concat(Value(" "), Replace(F("search_document"), Value("\n"), Value(" "),
                                        output_field=text), Value(" "), output_field=text)
    queryset = queryset.alias(search_padded=padded)
    for i, token in enumerate(parsed.tokens):
        last = i == len(parsed.tokens) - 1
        pattern = f" {token}" if (last and parsed.prefix) else f" {token} "
        queryset = queryset.filter(search_padded__contains=pattern)
    queryset, order = _cas_first(queryset, parsed)
    queryset = queryset.annotate(search_rank=Case(
        When(_exact_name(parsed.exact), then=Value(1.0)), default=Value(0.0),
        output_field=FloatField()))
    return queryset.order_by(*order, "-search_rank", "pk").defer(*_INDEX_FIELDS)


def _matches(queryset: QuerySet, parsed: ParsedQuery) -> QuerySet:
    if connection.vendor == "postgresql":
        return _ranked(queryset, parsed)
    return _fallback_filter(queryset, parsed)


def search_products(*, query: str, queryset=None) -> SearchResult:
    """The products matching a buyer's query, most relevant first (exact CAS first).

    `queryset` (default: products_public()) may carry filters; the result is a lazy,
    filtered queryset (count() and slicing work). Database queries here: one to know
    whether a CAS number matched; or one to look the query's Latin words up in the
    catalog's words and, only when one is unknown but resembles a known one, one more to
    know whether the query found little ("did you mean"). The caller's page and count come
    on top."""
    queryset = products_public() if queryset is None else queryset
    parsed = parse_query(query)
    if parsed is None:
        return SearchResult(products=queryset)
    if not parsed.tokens:
        return SearchResult(products=queryset.none())
    if parsed.cas:
        return SearchResult(products=_matches(queryset, parsed),
                            cas_match=queryset.filter(chemical__cas=parsed.cas).exists())
    known, fixes = _look_up(parsed.words)
    if parsed.last_word in known and len(parsed.tokens) > 1:
        # "benzoic acid": a finished word after others, matched whole. A prefix makes
        # PostgreSQL gather every word starting so ('acid:*': 15,000 rows) before it can
        # intersect; a single word stays a prefix ("toluene" finds toluenesulfonic acid).
        parsed = dataclasses.replace(parsed, prefix=False)
    products = _matches(queryset, parsed)
    suggestion = _corrected(query, fixes)
    if suggestion is None:
        return SearchResult(products=products)
    found = len(products.order_by().values_list("pk", flat=True)[:LITTLE])
    if found >= LITTLE:
        return SearchResult(products=products)
    corrected = parse_query(suggestion)
    if not found and corrected is not None and corrected.tokens:
        return SearchResult(products=_matches(queryset, corrected), suggestion=suggestion,
                            corrected=True)
    return SearchResult(products=products, suggestion=suggestion)


# Each word of the query: is it a catalog word, and if not, the few most similar ones
# (pg_trgm's % operator uses the GIN trigram index on SearchTerm.term). Python picks the one
# closest in spelling: trigrams favour a shorter word whose trigrams are all in the typo
# (benzlbenzamide → benzamide, not benzylbenzamide).
_WORDS_SQL = """
SELECT w.word, k.term IS NOT NULL,
       CASE WHEN k.term IS NULL THEN ARRAY(
           SELECT t.term FROM {table} AS t
            WHERE t.term %% w.word
            ORDER BY similarity(t.term, w.word) DESC, t.frequency DESC, t.term
            LIMIT 5) END
  FROM unnest(%s::text[]) AS w(word)
  LEFT JOIN {table} AS k ON k.term = w.word
"""


def _look_up(words: tuple[str, ...]) -> tuple[set[str], dict[str, str]]:
    """(the catalog's words among these, {unknown word: nearest catalog word}); nothing
    without words or on SQLite."""
    if not words or connection.vendor != "postgresql":
        return set(), {}
    table = connection.ops.quote_name(SearchTerm._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_WORDS_SQL.format(table=table), [list(words)])
        rows = cursor.fetchall()
    known = {word for word, is_known, _candidates in rows if is_known}
    fixes = {word: _closest(word, candidates) for word, _known, candidates in rows
             if candidates}
    return known, fixes


def _closest(word: str, candidates: list[str]) -> str:
    """The candidate with the best edit similarity; the first (most trigram-similar,
    then most frequent) among equals."""
    return max(candidates, key=lambda c: difflib.SequenceMatcher(None, word, c).ratio())


def _corrected(query: str, fixes: dict[str, str]) -> str | None:
    if not fixes:
        return None
    text = " ".join(_fold(_CONTROL.sub(" ", (query or "")[:MAX_QUERY_CHARS])).split())
    return _TOKEN.sub(lambda m: fixes.get(m.group(), m.group()), text)


def suggest(query: str) -> str | None:
    """"Did you mean": the query with each unknown word replaced by the nearest catalog
    word (trigram similarity), or None (nothing to correct, or SQLite). search_products
    offers it only when the query finds nothing or little."""
    parsed = parse_query(query)
    if parsed is None:
        return None
    return _corrected(query, _look_up(parsed.words)[1])
