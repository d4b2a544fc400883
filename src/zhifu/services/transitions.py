"""THE transition table for orders, payment attempts and refunds, and the one function that
applies it.

Every status change in Zhifu goes through :func:`transition`, which re-reads the row under
``select_for_update`` inside ``transaction.atomic``, refuses a change the table does not list
(:class:`~zhifu.exceptions.IllegalTransition`) and treats a change to the status the row already
has as a no-op (returns ``False``). Callers send signals only when it returns ``True``, which is
what makes fulfilment happen exactly once.

Lock order, to avoid deadlocks: order, then attempt, then refund, then wallet.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.signals import post_save, pre_save
from django.utils.translation import gettext_lazy as _

from ..exceptions import IllegalTransition
from ..models import Order, PaymentAttempt, Refund

__all__ = [
    "TRANSITIONS",
    "can_transition",
    "fetch_rows",
    "insert_row",
    "lock",
    "save_flags",
    "transition",
    "transition_locked_quietly",
    "write_fields",
]

log = logging.getLogger("zhifu.transitions")

OS, AS, RS = Order.Status, PaymentAttempt.Status, Refund.Status

TRANSITIONS: dict[type[models.Model], frozenset[tuple[str, str]]] = {
    Order: frozenset(
        {
            (OS.PENDING, OS.PAID),
            (OS.PENDING, OS.CANCELLED),
            (OS.PENDING, OS.EXPIRED),
            (OS.PAID, OS.PARTIALLY_REFUNDED),
            (OS.PAID, OS.REFUNDED),
            (OS.PARTIALLY_REFUNDED, OS.REFUNDED),
        }
    ),
    PaymentAttempt: frozenset(
        {
            (AS.PENDING, AS.SUCCEEDED),
            (AS.PENDING, AS.CLOSED),
            (AS.PENDING, AS.EXTRA),
            # A trade we closed locally may still have been paid at Alipay (page pay never
            # opened when we tried to close it, or the buyer paid in the same second).
            (AS.CLOSED, AS.SUCCEEDED),
            (AS.CLOSED, AS.EXTRA),
        }
    ),
    Refund: frozenset(
        {
            (RS.PENDING, RS.SUCCEEDED),
            (RS.PENDING, RS.FAILED),
            (RS.PENDING, RS.UNKNOWN),
            (RS.UNKNOWN, RS.SUCCEEDED),
            (RS.UNKNOWN, RS.FAILED),
            # Asked again, the gateway says it has the refund and is processing it (WeChat
            # PROCESSING): no longer unknown, waiting for its notification or a query.
            (RS.UNKNOWN, RS.PENDING),
        }
    ),
}

M = TypeVar("M", bound=models.Model)


def _label(model: type[models.Model], status: str) -> Any:
    """The status's (translatable) label, or the raw value if the model does not know it."""
    choices = getattr(model, "Status", None)
    try:
        return choices(status).label if choices is not None else status
    except ValueError:
        return status


def can_transition(model: type[models.Model], current: str, target: str) -> bool:
    return (str(current), str(target)) in TRANSITIONS[model]


def lock(instance: M) -> M:
    """Re-read ``instance`` under ``SELECT ... FOR UPDATE`` (call inside ``atomic``)."""
    model = type(instance)
    return model._default_manager.select_for_update().get(pk=instance.pk)


def transition(
    instance: models.Model, target: str, *, locked: bool = False, **changes: Any
) -> bool:
    """Move ``instance`` to status ``target`` and set ``changes`` on it, under a row lock.

    Returns ``True`` if the status changed, ``False`` if it already was ``target`` (nothing is
    written). Raises :class:`IllegalTransition` for a change the table does not allow.
    ``instance`` is updated in place with what is in the database afterwards. ``locked=True``
    says the caller read ``instance`` with :func:`lock` in the current transaction, so it is not
    read again.
    """
    return _transition(instance, target, locked, False, changes)


def transition_locked_quietly(instance: models.Model, target: str, **changes: Any) -> bool:
    """:func:`transition` with ``locked=True``, logging the change at DEBUG instead of INFO: for
    a caller that logs one INFO line of its own naming the change (a payment applied)."""
    return _transition(instance, target, True, True, changes)


def _transition(
    instance: models.Model, target: str, locked: bool, quiet: bool, changes: dict[str, Any]
) -> bool:
    model = type(instance)
    if model not in TRANSITIONS:
        raise TypeError(f"{model.__name__} has no transition table")
    if locked:  # the caller's transaction holds the row lock: no second read, no savepoint
        changed = _move(model, instance, target, changes, quiet)
    else:
        with transaction.atomic():
            row = lock(instance)
            changed = _move(model, row, target, changes, quiet)
        _copy(row, instance)
    return changed


def _move(
    model: type[models.Model],
    row: models.Model,
    target: str,
    changes: dict[str, Any],
    quiet: bool = False,
) -> bool:
    current = row.status  # type: ignore[attr-defined]
    if current == target:
        return False
    if (current, str(target)) not in TRANSITIONS[model]:
        raise IllegalTransition(
            "illegal_transition",
            _("%(model)s %(ref)s cannot go from %(current)s to %(target)s"),
            model=model._meta.verbose_name,
            ref=_name(row),
            current=_label(model, current),
            target=_label(model, str(target)),
        )
    row.status = target  # type: ignore[attr-defined]
    for field, value in changes.items():
        setattr(row, field, value)
    write_fields(row, ["status", *changes])
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "status change model=%s ref=%s from=%s to=%s",
        model.__name__,
        _name(row),
        current,
        target,
        extra={
            "zhifu_model": model.__name__,
            "zhifu_ref": _name(row),
            "from": current,
            "to": target,
        },
    )
    return True


def _auto_now(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]


# UPDATE statements by (model, columns, database alias): built once per process.
_UPDATES: dict[tuple[type[models.Model], tuple[str, ...], str], tuple[str, list[Any]]] = {}


def write_fields(row: models.Model, names: list[str]) -> None:
    """``row.save(update_fields=names)`` (``auto_now`` columns included) as one plain
    ``UPDATE … WHERE pk = %s``, its SQL built once per process: a status change is on the hot
    path of every payment, and ``save()`` compiles the statement anew each time. If anything
    listens to ``pre_save``/``post_save`` for the model, ``save()`` runs instead, so that its
    receivers are called as before."""
    model = type(row)
    alias = row._state.db or router.db_for_write(model, instance=row)
    key = (model, tuple(names), alias)
    built = _UPDATES.get(key)
    meta = model._meta
    if built is None:
        named: list[Any] = [meta.get_field(n) for n in names]
        fields = list(
            dict.fromkeys([*named, *(f for f in meta.concrete_fields if _is_auto_now(f))])
        )
        qn = connections[alias].ops.quote_name
        sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        pk: Any = meta.pk
        # names from the model's own metadata; every value is a parameter
        sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(pk.column)} = %s"  # noqa: S608
        built = _UPDATES[key] = (sql, fields)
    sql, fields = built
    values = [f.pre_save(row, False) for f in fields]
    if (
        pre_save.has_listeners(model)
        or post_save.has_listeners(model)
        or any(hasattr(v, "resolve_expression") for v in values)  # F(...) and the like
    ):
        row.save(update_fields=[f.name for f in fields])
        return
    connection = connections[alias]
    params = [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
    params.append(row.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")


_CONVERTERS: dict[tuple[type[models.Model], str], list[tuple[int, list[Any], Any]]] = {}


def fetch_rows(model: type[M], alias: str, sql: str, params: list[Any]) -> list[M]:
    """Instances of ``model`` from ``sql``, which selects its concrete columns in order, with the
    database's converters applied: what a queryset gives, without compiling one (SQL built
    once per process by the hot paths that use this)."""
    connection = connections[alias]
    meta = model._meta
    converters = _CONVERTERS.get((model, alias))
    if converters is None:
        converters = []
        for i, field in enumerate(meta.concrete_fields):
            col = field.get_col(meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                converters.append((i, found, col))
        _CONVERTERS[(model, alias)] = converters
    names = [f.attname for f in meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    instances = []
    for row in rows:
        values = list(row)
        for i, functions, col in converters:
            for function in functions:
                values[i] = function(values[i], col, connection)
        instances.append(model.from_db(alias, names, values))
    return instances


def select_sql(model: type[models.Model], alias: str) -> str:
    """``SELECT <every concrete column, in order> FROM <table>``, for :func:`fetch_rows`."""
    qn = connections[alias].ops.quote_name
    meta = model._meta
    columns = ", ".join(qn(str(f.column)) for f in meta.concrete_fields)
    return f"SELECT {columns} FROM {qn(meta.db_table)}"  # noqa: S608 - names from the model


_INSERTS: dict[tuple[type[models.Model], str], tuple[str, list[Any], bool]] = {}


def insert_row(row: M) -> M:
    """``row.save()`` of a new row as one plain ``INSERT … RETURNING id``, its SQL built once per
    process (``save()`` when anything listens to ``pre_save``/``post_save`` for the model)."""
    model = type(row)
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        row.save(force_insert=True)
        return row
    alias = row._state.db or router.db_for_write(model, instance=row)
    connection = connections[alias]
    meta = model._meta
    built = _INSERTS.get((model, alias))
    if built is None:
        qn = connection.ops.quote_name
        fields: list[Any] = [f for f in meta.concrete_fields if not f.primary_key]
        pk: Any = meta.pk
        returning = bool(connection.features.can_return_columns_from_insert)
        sql = "INSERT INTO {} ({}) VALUES ({}){}".format(  # noqa: S608 - names from the model
            qn(meta.db_table),
            ", ".join(qn(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
            f" RETURNING {qn(pk.column)}" if returning else "",
        )
        built = _INSERTS[(model, alias)] = (sql, fields, returning)
    sql, fields, returning = built
    pk_column: Any = meta.pk.column if meta.pk is not None else "id"
    params = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            pk_value = cursor.fetchone()[0]
        else:
            pk_value = connection.ops.last_insert_id(cursor, meta.db_table, pk_column)
    row.pk = pk_value
    row._state.adding = False
    row._state.db = alias
    return row


def _is_auto_now(field: Any) -> bool:
    return bool(getattr(field, "auto_now", False))


def _name(row: models.Model) -> str:
    for attr in ("out_trade_no", "out_request_no"):
        value = getattr(row, attr, None)
        if value:
            return str(value)
    return str(row.pk)


def _copy(source: models.Model, target: models.Model) -> None:
    if source is target:
        return
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def save_flags(row: models.Model, **flags: Any) -> None:
    """Set fields that are not the status (``needs_attention``, ``closed_at_gateway``...) on a row
    the caller locked with :func:`lock` in the current transaction."""
    for field, value in flags.items():
        setattr(row, field, value)
    write_fields(row, list(flags))
