"""SQLite: pinyin indexes that also hold the department and owner, for a scoped pinyin search.

On PostgreSQL a scoped pinyin search reads the (department | owner, initials | pinyin) indexes of
0006. Those misled SQLite's planner on every list of a scoped user (it read the department in
pinyin order and sorted it), so SQLite gets indexes led by the pinyin instead: a scoped search
reads the range of the typed letters once and keeps the user's rows from the index entries
themselves, without reading a customer row; a list filtered by department cannot use them, since
they do not start with the department. An agent's `bt` (10,753 names, a fifth in the agent's
department) had walked the list for a thousand matches (0.1-1.1 s; see bench/README.md, "Third
round").
"""

from django.db import migrations

INDEXES = [
    ("customer_initials_scope", ["name_initials", "department_id", "owner_id"]),
    ("customer_pinyin_scope", ["name_pinyin", "department_id", "owner_id"]),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    quote = schema_editor.quote_name
    for name, columns in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {quote(name)} ON customers_customer ({', '.join(quote(column) for column in columns)})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, _columns in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_name_gram_scope")]
    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
