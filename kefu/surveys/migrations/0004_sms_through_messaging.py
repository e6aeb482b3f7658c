
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0003_statistics_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='surveyinvitation',
            name='delivery_state',
            field=models.CharField(blank=True, choices=[('', 'Nothing to deliver'), ('to_send_sms', 'To send by SMS'), ('sms_queued', 'Handed to member-care SMS'), ('emailed', 'Emailed'), ('failed', 'Delivery failed')], default='', max_length=12, verbose_name='delivery'),
        ),
    ]
