"""What the ORM does not say in one statement."""

from django.db import router
from django.db.models.constants import OnConflict


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
    queryset = model._base_manager.using(router.db_for_write(model))
    queryset._prepare_for_bulk_create(objs)
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field]
    key_field = opts.get_field(key)
    rows = queryset._insert(objs, fields=fields, returning_fields=[opts.pk, key_field],
                           on_conflict=OnConflict.IGNORE)
    returned = iter(row for row in rows if row is not None)
    written, pending = [], next(returned, None)
    for obj in objs:
        if pending is not None and pending[1] == getattr(obj, key_field.attname):
            obj.pk = pending[0]
            obj._state.adding, obj._state.db = False, queryset.db
            written.append(obj)
            pending = next(returned, None)
    return written
