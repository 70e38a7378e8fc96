"""Set-based writes the deadline sweep needs and the ORM lacks (PostgreSQL; plain ORM
equivalents on the embedded SQLite).

`update_returning`: a conditional UPDATE that says which rows it changed — a claim.
`rows_update`: many rows' new values in one UPDATE, the columns sent as arrays (what
bulk_update does, without a CASE per field and row, and with a few parameters instead of
one per value).
"""

from django.db import connection


def update_returning(queryset, **values) -> list:
    """UPDATE … SET `values` WHERE <the queryset's filter> RETURNING pk: the pks of the
    rows this statement changed. The database reads the filter again on a row another
    transaction changed meanwhile, so a claim by a condition succeeds for one caller only.
    The queryset filters on its own table's columns (no joins)."""
    if connection.vendor != "postgresql":
        # The embedded SQLite mode: its write transactions are serialised (IMMEDIATE), so
        # reading the matching rows and updating exactly those is the same claim.
        pks = list(queryset.values_list("pk", flat=True))
        queryset.model.objects.filter(pk__in=pks).update(**values)
        return pks
    model, query = queryset.model, queryset.query
    where, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
    quote = connection.ops.quote_name
    fields = [(model._meta.get_field(name), value) for name, value in values.items()]
    sets = ", ".join(f"{quote(f.column)} = %s" for f, _value in fields)
    set_params = [f.get_db_prep_save(value, connection) for f, value in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {where} "
                       f"RETURNING {quote(model._meta.pk.column)}", [*set_params, *params])
        return [row[0] for row in cursor.fetchall()]


def rows_update(objects: list, fields: list[str]) -> None:
    """Write `fields` of these (locked) model instances, all of one model, in one
    UPDATE … FROM UNNEST(…)."""
    if not objects:
        return
    if connection.vendor != "postgresql":  # the embedded SQLite mode: no arrays there
        type(objects[0]).objects.bulk_update(objects, fields)
        return
    meta = objects[0]._meta
    quote = connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    arrays = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objects]
              for f in columns]
    unnest = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    names = ", ".join(quote(f.column) for f in columns)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    pk = quote(meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(meta.db_table)} AS t SET {sets} "
                       f"FROM UNNEST({unnest}) AS v ({names}) WHERE t.{pk} = v.{pk}", arrays)

