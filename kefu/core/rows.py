"""One row by a unique column, for the few lookups every request makes (API token with its owner).

The ORM compiles a query afresh on each call; for a one-row lookup that compiling costs several
times the round trip (an API token with its owner: about 1 ms against 0.1 ms on PostgreSQL). Here
the statement is built once per process from the model's own field list, the values pass through
the same database converters the ORM applies, and the instance comes from `Model.from_db`, as
from a queryset (`fields` leaves the others deferred, as `.only()` does).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, signals

from kefu.core.postgresql import prepare_always

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Part:
    """The columns of one model in the statement, in the model's field order (as `from_db` wants)."""

    model: type[Model]
    attnames: tuple[str, ...]
    start: int
    # (position in the row, converters, column expression) for the columns needing conversion
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]

    def instance(self, values: list[Any], connection: BaseDatabaseWrapper) -> Model:
        for position, converters, expression in self.converters:
            for converter in converters:
                values[position] = converter(values[position], expression, connection)
        end = self.start + len(self.attnames)
        return self.model.from_db(connection.alias, list(self.attnames), values[self.start : end])


@dataclass(frozen=True)
class _Statement:
    sql: str
    parts: tuple[_Part, ...]
    extra: tuple[str, ...]


_lock = threading.Lock()


def _connection() -> BaseDatabaseWrapper:
    """The connection itself: every attribute read through django.db.connection, a proxy, looks
    the connection up in a context-local store (twenty lookups for one ticket's INSERT values)."""
    return connections[DEFAULT_DB_ALIAS]


_statements: dict[tuple[Any, ...], _Statement] = {}


def _part(model: type[Model], fields: Sequence[str] | None, start: int) -> tuple[_Part, list[str]]:
    connection = _connection()
    opts = model._meta
    wanted = {opts.pk.attname, *(opts.get_field(name).attname for name in fields or ())}
    chosen = [field for field in opts.concrete_fields if not fields or field.attname in wanted]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    converters = []
    for position, field in enumerate(chosen, start=start):
        expression = field.get_col(opts.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if found:
            converters.append((position, tuple(found), expression))
    part = _Part(
        model=model,
        attnames=tuple(field.attname for field in chosen),
        start=start,
        converters=tuple(converters),
    )
    return part, [f"{table}.{quote(field.column)}" for field in chosen]


def _statement(
    model: type[Model], by: str, fields: Sequence[str] | None, join: str, extra: Mapping[str, str]
) -> _Statement:
    connection = _connection()
    key = (connection.vendor, model._meta.label, by, tuple(fields or ()), join, tuple(extra.items()))
    known = _statements.get(key)
    if known is not None:
        return known
    opts = model._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    main, columns = _part(model, (*(fields or ()), join) if fields and join else fields, 0)
    parts = [main]
    joined = ""
    if join:
        link = opts.get_field(join)
        related = link.related_model
        other, other_columns = _part(related, None, len(columns))
        parts.append(other)
        columns += other_columns
        other_table = quote(related._meta.db_table)
        joined = (
            f" INNER JOIN {other_table} ON {other_table}.{quote(related._meta.pk.column)}"
            f" = {table}.{quote(link.column)}"
        )
    columns += [f"{sql} AS {quote(name)}" for name, sql in extra.items()]
    where = quote(opts.get_field(by).column)
    statement = _Statement(
        sql=prepare_always(f"SELECT {', '.join(columns)} FROM {table}{joined} WHERE {table}.{where} = %s"),
        parts=tuple(parts),
        extra=tuple(extra),
    )
    with _lock:
        _statements[key] = statement
    return statement


def one_row(
    model: type[M],
    *,
    by: str,
    value: Any,
    fields: Sequence[str] | None = None,
    join: str = "",
    extra: Mapping[str, str] | None = None,
) -> M | None:
    """The instance whose `by` column (unique) equals `value`, or None.

    `join` names a foreign key (not null) whose row is read in the same statement, whole, and set
    on the instance as `select_related` would. `extra` adds SQL expressions (trusted, written in
    code, never from input) read in the same statement and set as attributes of the instance.
    """
    connection = _connection()
    statement = _statement(model, by, fields, join, extra or {})
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    main, *others = statement.parts
    instance = cast(M, main.instance(values, connection))
    for part in others:
        setattr(instance, join, part.instance(values, connection))
    count = sum(len(part.attnames) for part in statement.parts)
    for name, extra_value in zip(statement.extra, values[count:], strict=True):
        setattr(instance, name, extra_value)
    return instance


_inserts: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def insert_row(model: type[Model], values: Mapping[str, Any]) -> Any:
    """Write one row of `model` (values by attname; the others take their defaults) in a
    statement built once per process: for a row written on every request (the operation log),
    where nothing reads the instance back and no signal receiver listens. Returns the new row's
    primary key."""
    connection = _connection()
    key = (connection.vendor, model._meta.label, tuple(values))
    known = _inserts.get(key)
    if known is None:
        opts = model._meta
        by_attname = {field.attname: field for field in opts.concrete_fields}
        fields = tuple(field for field in opts.concrete_fields if not field.primary_key)
        unknown = set(values) - set(by_attname)
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({marks})"
        if connection.features.can_return_columns_from_insert:
            sql += " " + connection.ops.return_insert_columns([opts.pk])[0]
        known = (sql, fields)
        with _lock:
            _inserts[key] = known
    sql, fields = known
    params = [
        field.get_db_prep_save(
            values[field.attname] if field.attname in values else field.get_default(), connection
        )
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid


_new_rows: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = {}


def insert_new(instance: M) -> M:
    """Write a new instance as `instance.save()` would, in a statement built once per process.

    For the rows written on every intake (the ticket, its timeline events, a complaint's step 1):
    the ORM compiles an INSERT afresh for each, which cost more than the database's work for a
    fifty-column ticket. The same steps are kept: related objects checked, each field's pre_save
    (auto_now_add and the like) and database preparation, pre_save/post_save sent with
    created=True, the primary key read back in the same statement, `_state` as after save().
    Falls back to save() where a statement built once cannot say the same: a model with parent
    tables, a primary key already set, a value that is an SQL expression, a database without
    INSERT … RETURNING.
    """
    connection = _connection()
    model = type(instance)
    opts = model._meta
    features = connection.features
    if opts.parents or instance.pk is not None or not features.can_return_columns_from_insert:
        instance.save(force_insert=True)
        return instance
    key = (connection.vendor, opts.label)
    known = _new_rows.get(key)
    if known is None:
        quote = connection.ops.quote_name
        fields = tuple(field for field in opts.concrete_fields if not field.primary_key)
        columns = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        returning, _params = connection.ops.return_insert_columns([opts.pk])
        sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({marks}) {returning}"
        known = (prepare_always(sql), fields)
        with _lock:
            _new_rows[key] = known
    sql, fields = known
    if any(hasattr(getattr(instance, field.attname), "resolve_expression") for field in fields):
        instance.save(force_insert=True)
        return instance
    instance._prepare_related_fields_for_save(operation_name="save")
    signals.pre_save.send(
        sender=model, instance=instance, raw=False, using=connection.alias, update_fields=None
    )
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with transaction.mark_for_rollback_on_error(connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        (pk,) = cursor.fetchone()
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    signals.post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=connection.alias
    )
    return instance
