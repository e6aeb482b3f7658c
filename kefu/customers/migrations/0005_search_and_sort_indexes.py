"""Indexes found missing by bench/latency.py at a million customers (see bench/README.md).

- lifecycle + name: the list filtered by lifecycle and sorted by name read and sorted every
  customer of that lifecycle (0.4-0.7 s on SQLite); with this index it reads one page.
- contact (name_initials | name, customer_id): the pinyin and name search read only the index,
  not every matching contact row.
- PostgreSQL only, customer (name_initials | name_pinyin, id): a PostgreSQL B-tree entry does not
  carry the primary key (a SQLite one does, as the rowid), so without these the pinyin search
  fetches every matching customer row just to read its id.
- PostgreSQL only, finer statistics on the name pieces: with the default sample it guessed ~500
  customers for a rare piece (real: ~50) and walked the whole primary key backwards hoping to
  fill the first page early (0.2 s instead of 2 ms).

Plain SQL kept out of the model state because some of it is for PostgreSQL only.
"""

from django.db import migrations

# name, table, columns, only on this database vendor (None: all)
INDEXES = [
    ("customer_lifecycle_name", "customers_customer", ["lifecycle", "name_pinyin", "id"], None),
    ("contact_initials_customer", "customers_contact", ["name_initials", "customer_id"], None),
    ("contact_name_customer", "customers_contact", ["name", "customer_id"], None),
    ("customer_initials_id", "customers_customer", ["name_initials", "id"], "postgresql"),
    ("customer_pinyin_id", "customers_customer", ["name_pinyin", "id"], "postgresql"),
]


GRAM_STATISTICS = 2000  # PostgreSQL's default is 100


def create_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, table, columns, vendor in INDEXES:
        if vendor in (None, schema_editor.connection.vendor):
            schema_editor.execute(
                f"CREATE INDEX {quote(name)} ON {quote(table)} ({', '.join(quote(c) for c in columns)})"
            )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE customers_customernamegram ALTER COLUMN gram SET STATISTICS {GRAM_STATISTICS}"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customernamegram ALTER COLUMN gram SET STATISTICS -1")
    for name, _table, _columns, vendor in INDEXES:
        if vendor in (None, schema_editor.connection.vendor):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_index_permissions")]
    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
