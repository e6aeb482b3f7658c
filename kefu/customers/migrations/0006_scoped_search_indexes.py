"""Indexes that let a search restricted to some departments read only their rows.

An agent sees one department (a fifth of the customers here); with the pinyin indexes alone, a
search such as `ch` read every match of every department and dropped four in five: 0.1-0.4 s on
PostgreSQL at a million customers. Led by department or owner (the two halves of a data scope),
these indexes hand over the agent's share directly (see `search_q` and bench/README.md).

PostgreSQL only, with the id in each index so that the search reads the index only. On SQLite
they made things worse: its planner took them for the data scope's `department_id = … OR
owner_id = …` of every list, read the department in pinyin order and sorted it (an agent's
`?tier=A` page: 1.4 s CPU instead of ~20 ms); SQLite's pinyin search filters the department on
the rows of the pinyin ranges instead.
"""

from django.db import migrations

INDEXES = [
    ("customer_dept_initials", ["department_id", "name_initials"]),
    ("customer_dept_pinyin", ["department_id", "name_pinyin"]),
    ("customer_owner_initials", ["owner_id", "name_initials"]),
    ("customer_owner_pinyin", ["owner_id", "name_pinyin"]),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    with_id = ["id"]
    for name, columns in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {quote(name)} ON customers_customer "
            f"({', '.join(quote(column) for column in [*columns, *with_id])})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _columns in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_search_and_sort_indexes")]
    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
