
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_access_generation'),
        ('customers', '0006_scoped_search_indexes'),
        ('tickets', '0005_ticket_indexes_for_queues'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_state_at_risk',
        ),
        migrations.RemoveIndex(
            model_name='ticket',
            name='ticket_state_manager',
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('sla_status', 'ok'), ('state', 'open')), fields=['sla_at_risk_at'], name='ticket_sla_at_risk_unflagged'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('escalation_level__lt', 1), ('state', 'open')), fields=['sla_breach_at'], name='ticket_sla_breach_unflagged'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('escalation_level__lt', 2), ('state', 'open')), fields=['sla_manager_at'], name='ticket_sla_manager_unflagged'),
        ),
    ]
