"""The customer's department and owner on its name pieces, so a scoped search reads its share only.

The existing rows are filled from their customers before the two indexes are built (at a million
customers, 7.4 M rows: see bench/README.md, "Third round").
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_scope(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # One hash join; a correlated sub-select per row would probe the customer table 15 M times.
        schema_editor.execute(
            "UPDATE customers_customernamegram AS g SET department_id = c.department_id, owner_id = c.owner_id "
            "FROM customers_customer AS c WHERE c.id = g.customer_id "
            "AND (c.department_id IS NOT NULL OR c.owner_id IS NOT NULL)"
        )
    else:
        schema_editor.execute(
            "UPDATE customers_customernamegram SET "
            "department_id = (SELECT c.department_id FROM customers_customer c "
            "WHERE c.id = customers_customernamegram.customer_id), "
            "owner_id = (SELECT c.owner_id FROM customers_customer c "
            "WHERE c.id = customers_customernamegram.customer_id)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_access_generation"),
        ("customers", "0006_scoped_search_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customernamegram",
            name="department",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="accounts.department",
            ),
        ),
        migrations.AddField(
            model_name="customernamegram",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(fill_scope, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="customernamegram",
            index=models.Index(fields=["gram", "department", "customer"], name="customer_gram_department"),
        ),
        migrations.AddIndex(
            model_name="customernamegram",
            index=models.Index(fields=["gram", "owner", "customer"], name="customer_gram_owner"),
        ),
    ]
