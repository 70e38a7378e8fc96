"""What the ORM does not say in one statement."""

import datetime
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models.constants import OnConflict
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql.subqueries import UpdateQuery
from django.db.transaction import TransactionManagementError

_INSERT_SQL: dict = {}
MAX_BUILT_ROWS = 8


def _insert_rows(objs: list, *, ignore_conflicts: bool, returning: list) -> list[tuple]:
    """INSERT … [ON CONFLICT DO NOTHING] RETURNING `returning` of unsaved objects of one
    model; the statement's text is built once per shape (fields, rows, conflict clause),
    the values prepared by each field as Django's own INSERT does (pre_save: auto_now_add;
    get_db_prep_save). Checkout and intake write a handful of rows each, and Django's
    insert compiler costs more Python than the statement costs the database."""
    model = type(objs[0])
    opts = model._meta
    db = router.db_for_write(model)
    connection = connections[db]
    queryset = model._base_manager.using(db)
    queryset._prepare_for_bulk_create(objs)  # related objects' pks, pk defaults
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field]
    if len(objs) > MAX_BUILT_ROWS:  # a sweep's batch: Django's bulk INSERT (UNNEST) is faster
        rows = queryset._insert(objs, fields=fields, returning_fields=returning,
                                on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
        return [row for row in rows if row is not None]
    key = (model, db, len(objs), ignore_conflicts, tuple(f.attname for f in returning))
    text = _INSERT_SQL.get(key)
    if text is None:
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        text = _INSERT_SQL[key] = (
            f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES {', '.join([row] * len(objs))}"
            + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
            + f" RETURNING {', '.join(quote(f.column) for f in returning)}")
    params = []
    for obj in objs:
        for field in fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"insert: {field.name} is an expression; use the ORM")
            params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        rows = cursor.fetchall()
    return rows


def insert(objs: list) -> list:
    """Write unsaved objects of one model in one INSERT; pks set, returns them. For the
    hot paths (no save() signals, like bulk_create; models with a plain auto pk)."""
    if not objs:
        return objs
    opts = type(objs[0])._meta
    rows = _insert_rows(objs, ignore_conflicts=False, returning=[opts.pk])
    db = router.db_for_write(type(objs[0]))
    for obj, (pk,) in zip(objs, rows, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, db
    return objs


_UPDATE_SQL: dict = {}


def update_fields(obj, fields: list[str]) -> int:
    """`obj.save(update_fields=fields)` for the hot paths: one UPDATE by primary key whose
    text is built once per (model, fields); values prepared by each field as save() does
    (pre_save: auto_now). No save() signals. Returns the rows updated (0 or 1)."""
    model = type(obj)
    opts = model._meta
    db = router.db_for_write(model)
    connection = connections[db]
    fields = list(dict.fromkeys(fields))
    concrete = [opts.get_field(name) for name in fields]
    key = (model, db, tuple(fields))
    text = _UPDATE_SQL.get(key)
    if text is None:
        quote = connection.ops.quote_name
        text = _UPDATE_SQL[key] = (
            f"UPDATE {quote(opts.db_table)} SET "
            + ", ".join(f"{quote(f.column)} = %s" for f in concrete)
            + f" WHERE {quote(opts.pk.column)} = %s")
    params = []
    for field in concrete:
        value = field.pre_save(obj, add=False)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"update_fields: {field.name} is an expression; use the ORM")
        params.append(field.get_db_prep_save(value, connection))
    params.append(opts.pk.get_db_prep_value(obj.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        return cursor.rowcount


def insert_new(objs: list, *, key: str) -> list:
    """Insert unsaved objects of one model with `INSERT … ON CONFLICT DO NOTHING RETURNING`:
    those a unique constraint refuses are left out, in one statement and without the
    savepoint a caught IntegrityError needs. Returns the objects written, pks set.

    `key` names a field that tells the returned rows apart: PostgreSQL returns the written
    rows in the order of VALUES, so an object is written when the next returned row
    carries its key. (bulk_create(ignore_conflicts=True) cannot say which were written.)
    """
    if not objs:
        return []
    model = type(objs[0])
    opts = model._meta
    db = router.db_for_write(model)
    key_field = opts.get_field(key)
    rows = _insert_rows(objs, ignore_conflicts=True, returning=[opts.pk, key_field])
    returned = iter(rows)
    written, pending = [], next(returned, None)
    for obj in objs:
        if pending is not None and pending[1] == getattr(obj, key_field.attname):
            obj.pk = pending[0]
            obj._state.adding, obj._state.db = False, db
            written.append(obj)
            pending = next(returned, None)
    return written


class Prepared:
    """A query the ORM compiles once per process and per shape; later runs only bind values.

    Django compiles a queryset to SQL on every evaluation (0.3–0.5 ms of Python for a
    join with an ORDER BY, several times the statement's own cost on the database). The
    checkout and the inquiry intake run the same dozen queries for every order, so they
    are written as ORM querysets as usual and compiled once: `build` is called with marker
    values standing in for its arguments, the markers' positions in the compiled
    parameters are remembered, and a run binds the real values there. `build` returns a
    QuerySet (`.all()`/`.first()`: model instances with their select_related, or
    values_list rows) or a `(QuerySet, {field: value})` pair (`.update()`: rows updated).

    Arguments are ints, Decimals, strs or dates, or lists of them (a list's length is part of the
    shape, as an IN (…) has one placeholder per value); None and booleans change the SQL
    itself, so each value of them is a shape of its own. A marker that does not reach the
    SQL's parameters unchanged (e.g. wrapped into a LIKE pattern) is refused at compile
    time rather than bound wrongly. The SQL is fixed at the first run: a query whose SQL
    depends on the active language or time zone (a `__date` lookup) is not one to prepare.
    """

    MAX_KEPT_LIST = 32

    def __init__(self, build):
        self.build = build
        self._plans: dict = {}

    # --- compiling ---------------------------------------------------------------------

    @staticmethod
    def _shape(values: dict) -> tuple:
        shape = []
        for name, value in sorted(values.items()):
            if value is None or isinstance(value, bool):
                shape.append((name, "const", value))
            elif isinstance(value, list | tuple):
                shape.append((name, "list", len(value), type(value[0]) if value else None))
            else:
                shape.append((name, "one", type(value)))
        return tuple(shape)

    @staticmethod
    def _marker(kind: type, n: int):
        if kind is int:
            # Positive and within int4 (Django turns an out-of-range lookup into "no rows"),
            # and beyond any id or count this platform will reach.
            return 2_140_000_000 + n
        if kind is str:
            return f"\x1amarker{n}\x1a"
        if kind is datetime.date:
            return datetime.date(1001 + n, 1, 1)
        if kind is Decimal:
            return Decimal(2_140_000_000 + n) + Decimal("0.125")
        raise TypeError(f"Prepared: {kind.__name__} arguments are not supported")

    def _compile(self, values: dict, using: str | None):
        markers, where, n = {}, [], 0
        for name, value in values.items():
            if value is None or isinstance(value, bool):
                markers[name] = value
            elif isinstance(value, list | tuple):
                markers[name] = []
                for index, item in enumerate(value):
                    marker = self._marker(type(item), n)
                    markers[name].append(marker)
                    where.append((marker, name, index))
                    n += 1
            else:
                marker = self._marker(type(value), n)
                markers[name] = marker
                where.append((marker, name, None))
                n += 1
        built = self.build(**markers)
        updates = None
        if isinstance(built, tuple):
            built, updates = built
        db = using or (router.db_for_write(built.model) if updates is not None or
                       built.query.select_for_update else built.db)
        if updates is not None:
            query = built.query.chain(UpdateQuery)
            query.add_update_values(updates)
            query.annotations = {}
        else:
            query = built.query
        compiler = query.get_compiler(using=db)
        try:
            text, params = compiler.as_sql()  # FOR UPDATE outside a transaction raises here
        except EmptyResultSet:  # e.g. `__in` an empty list: no rows, as Django answers
            return {"empty": True, "update": updates is not None}
        params = list(params)
        slots = []
        positions: dict = {}
        for i, param in enumerate(params):
            try:
                positions.setdefault((type(param), param), []).append(i)
            except TypeError:  # an unhashable parameter (an array) is never a marker
                continue
        ops = connections[db].ops
        for marker, name, index in where:
            # As it is, or as the backend adapted it (SQLite passes dates and decimals as
            # text): a run adapts its value the same way.
            for adapt in (None, *self._adapters(type(marker), ops)):
                form = marker if adapt is None else adapt(marker)
                if found := positions.get((type(form), form)):
                    slots.extend((i, name, index, adapt) for i in found)
                    break
            else:
                raise TypeError(f"Prepared: argument {name!r} does not reach the SQL as a "
                                "plain parameter; give it as part of the query's shape")
        iterable = None if updates is not None else built._iterable_class
        converters = None
        if iterable is not None:
            if iterable not in (ModelIterable, FlatValuesListIterable, ValuesListIterable):
                raise TypeError("Prepared: only model and values_list querysets are supported")
            fields = [s[0] for s in compiler.select[0:compiler.col_count]]
            if compiler.has_composite_fields(fields):
                raise TypeError("Prepared: composite primary keys are not supported")
            converters = compiler.get_converters(fields)
        return {"db": db, "sql": text, "params": params, "slots": slots,
                "compiler": compiler, "update": updates is not None, "iterable": iterable,
                "converters": converters,
                "model": self._model_plan(compiler, db) if iterable is ModelIterable else None}

    @staticmethod
    def _adapters(kind: type, ops) -> tuple:
        if kind is datetime.date:
            return (ops.adapt_datefield_value,)
        if kind is Decimal:
            return (ops.adapt_decimalfield_value,)
        return ()

    @staticmethod
    def _model_plan(compiler, db: str) -> dict:
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return {"cls": klass_info["model"], "start": start, "end": end,
                "init": [f[0].target.attname for f in select[start:end]],
                "related": get_related_populators(klass_info, select, db),
                "annotations": compiler.annotation_col_map}

    # --- running -------------------------------------------------------------------------

    @staticmethod
    def _plain(value):
        """Choices members (str and int enums) as the plain values they stand for."""
        if isinstance(value, list | tuple):
            return [Prepared._plain(item) for item in value]
        if isinstance(value, str) and type(value) is not str:
            return str(value)
        if isinstance(value, int) and type(value) not in (int, bool):
            return int(value)
        return value

    def _run(self, values: dict, using: str | None):
        values = {name: self._plain(value) for name, value in values.items()}
        key = (using, self._shape(values))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._compile(values, using)
            # A batch's long IN (…) lists come in every length: compiled each time, as the
            # ORM would, and not kept (the plans stay few).
            if all(len(v) <= self.MAX_KEPT_LIST for v in values.values()
                   if isinstance(v, list | tuple)):
                self._plans[key] = plan
        if plan.get("empty"):
            return plan, 0 if plan["update"] else []
        params = list(plan["params"])
        for position, name, index, adapt in plan["slots"]:
            value = values[name] if index is None else values[name][index]
            params[position] = value if adapt is None else adapt(value)
        connection = connections[plan["db"]]
        if plan["compiler"].query.select_for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(plan["sql"], params)
            if plan["update"]:
                return plan, cursor.rowcount
            return plan, cursor.fetchall()

    def all(self, *, using: str | None = None, **values) -> list:
        """The rows: model instances, or what the queryset's values_list gives."""
        plan, rows = self._run(values, using)
        if plan.get("empty"):
            return []
        iterable = plan["iterable"]
        if plan["converters"]:  # what results_iter does, with the converters found once
            rows = plan["compiler"].apply_converters(rows, plan["converters"])
        if iterable is ModelIterable:
            return self._instances(plan, rows)
        if iterable is FlatValuesListIterable:
            return [row[0] for row in rows]
        return [tuple(row) for row in rows]

    def first(self, *, using: str | None = None, **values):
        rows = self.all(using=using, **values)
        return rows[0] if rows else None

    def update(self, *, using: str | None = None, **values) -> int:
        plan, count = self._run(values, using)
        if not plan["update"]:
            raise TypeError("Prepared: update() needs a (queryset, values) build")
        return count

    @staticmethod
    def _instances(plan: dict, rows) -> list:
        model = plan["model"]
        cls, start, end, init = model["cls"], model["start"], model["end"], model["init"]
        db = plan["db"]
        objs = []
        for row in rows:
            obj = cls.from_db(db, init, row[start:end])
            for populator in model["related"]:
                populator.populate(row, obj)
            for name, position in (model["annotations"] or {}).items():
                setattr(obj, name, row[position])
            objs.append(obj)
        return objs
