import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_metrics_durations_stations_wrap_up"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="macro",
            field=models.ForeignKey(
                blank=True,
                help_text="The canned response the reply was written from (suggested first on similar tickets).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="messages",
                to="tickets.macro",
            ),
        ),
    ]
