import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """The single-column indexes of customer, department, group and assignee go: the composite
    indexes ticket_<field>_state lead with the same column and serve every lookup (and the foreign
    key checks) they served, and each new ticket wrote four index entries fewer."""

    dependencies = [
        ("accounts", "0002_access_generation"),
        ("customers", "0008_scoped_search_indexes_sqlite"),
        ("tickets", "0009_complaint_reports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Only the indexes go: on SQLite, AlterField would copy the whole ticket table once per field.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [
                        'DROP INDEX IF EXISTS "tickets_ticket_assignee_id_3a5aa407"',
                        'DROP INDEX IF EXISTS "tickets_ticket_customer_id_f2d9135a"',
                        'DROP INDEX IF EXISTS "tickets_ticket_department_id_32e39a8e"',
                        'DROP INDEX IF EXISTS "tickets_ticket_group_id_4c5eda1a"',
                    ],
                    reverse_sql=[
                        'CREATE INDEX "tickets_ticket_assignee_id_3a5aa407" ON "tickets_ticket" ("assignee_id")',
                        'CREATE INDEX "tickets_ticket_customer_id_f2d9135a" ON "tickets_ticket" ("customer_id")',
                        'CREATE INDEX "tickets_ticket_department_id_32e39a8e" ON "tickets_ticket" ("department_id")',
                        'CREATE INDEX "tickets_ticket_group_id_4c5eda1a" ON "tickets_ticket" ("group_id")',
                    ],
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assigned_tickets",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="responsible person",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="department",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="accounts.department",
                        verbose_name="handling department",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="group",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="tickets.ticketgroup",
                        verbose_name="group",
                    ),
                ),
            ],
        ),
    ]
