"""SPEC §3 defaults as the first policy versions (rule 4: every number is a policy)."""

import datetime as dt
from decimal import Decimal

from django.db import migrations


def load_defaults(apps, schema_editor):
    TierPolicy = apps.get_model("customers", "TierPolicy")
    ChurnPolicy = apps.get_model("customers", "ChurnPolicy")
    start = dt.date(2000, 1, 1)
    if not TierPolicy.objects.exists():
        TierPolicy.objects.create(
            effective_from=start, a_min_tons=Decimal("20000"), b_min_tons=Decimal("10000"),
            brand_value_makes_a=True, scale_makes_vip=True, note="SPEC §3 默认值",
        )
    if not ChurnPolicy.objects.exists():
        ChurnPolicy.objects.create(
            effective_from=start, days_without_trade=180, days_without_contact=90, birthday_days_ahead=7,
            note="默认值",
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
