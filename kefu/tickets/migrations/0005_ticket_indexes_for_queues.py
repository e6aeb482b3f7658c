from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_access_generation"),
        ("customers", "0006_scoped_search_indexes"),
        ("tickets", "0004_bench_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Only the indexes go: on SQLite, AlterField would copy the whole ticket table once per field.
        # The text-pattern (_like) twins exist on PostgreSQL only, hence IF EXISTS.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [
                        'DROP INDEX IF EXISTS "tickets_ticket_callback_due_at_b59b52a8"',
                        'DROP INDEX IF EXISTS "tickets_ticket_contact_phone_3f6c8261"',
                        'DROP INDEX IF EXISTS "tickets_ticket_contact_phone_3f6c8261_like"',
                        'DROP INDEX IF EXISTS "tickets_ticket_kind_ce2a5a06"',
                        'DROP INDEX IF EXISTS "tickets_ticket_kind_ce2a5a06_like"',
                        'DROP INDEX IF EXISTS "tickets_ticket_sla_status_7ff435fc"',
                        'DROP INDEX IF EXISTS "tickets_ticket_sla_status_7ff435fc_like"',
                        'DROP INDEX IF EXISTS "tickets_ticket_state_e1ee291b"',
                        'DROP INDEX IF EXISTS "tickets_ticket_state_e1ee291b_like"',
                    ],
                    reverse_sql=migrations.RunSQL.noop,
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="callback_due_at",
                    field=models.DateTimeField(blank=True, null=True, verbose_name="call back by"),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="contact_phone",
                    field=models.CharField(blank=True, max_length=30, verbose_name="contact phone"),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="kind",
                    field=models.CharField(
                        choices=[
                            ("inquiry", "Inquiry"),
                            ("complaint", "Complaint"),
                            ("repair", "Repair request"),
                            ("after_sales", "After-sales"),
                            ("suggestion", "Suggestion"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="sla_status",
                    field=models.CharField(
                        choices=[("ok", "On time"), ("at_risk", "At risk"), ("breached", "Breached")],
                        default="ok",
                        max_length=10,
                        verbose_name="SLA",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="state",
                    field=models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("pending", "Waiting for the customer"),
                            ("resolved", "Resolved"),
                            ("closed", "Closed"),
                            ("archived", "Archived"),
                        ],
                        default="open",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["contact_phone"], name="ticket_contact_phone"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("callback_done_at__isnull", True), ("callback_due_at__isnull", False)),
                fields=["callback_due_at"],
                name="ticket_callback_pending",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("approval_state", "requested")),
                fields=["id"],
                name="ticket_approval_requested",
            ),
        ),
    ]
