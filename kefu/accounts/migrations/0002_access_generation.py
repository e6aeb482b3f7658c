from django.db import migrations, models


def create_row(apps, schema_editor):
    apps.get_model("accounts", "AccessGeneration").objects.create(pk=1, value=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="AccessGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.PositiveBigIntegerField(default=0)),
            ],
            options={"default_permissions": ()},
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
