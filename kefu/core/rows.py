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

from django.db import connection
from django.db.models import Model

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

    def instance(self, values: list[Any]) -> Model:
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
_statements: dict[tuple[Any, ...], _Statement] = {}


def _part(model: type[Model], fields: Sequence[str] | None, start: int) -> tuple[_Part, list[str]]:
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
    statement = _statement(model, by, fields, join, extra or {})
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    main, *others = statement.parts
    instance = cast(M, main.instance(values))
    for part in others:
        setattr(instance, join, part.instance(values))
    count = sum(len(part.attnames) for part in statement.parts)
    for name, extra_value in zip(statement.extra, values[count:], strict=True):
        setattr(instance, name, extra_value)
    return instance


_inserts: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def insert_row(model: type[Model], values: Mapping[str, Any]) -> None:
    """Write one row of `model` (values by attname; the others take their defaults) in a
    statement built once per process: for a row written on every request (the operation log),
    where nothing reads the instance back and no signal receiver listens."""
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
        known = (f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({marks})", fields)
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
