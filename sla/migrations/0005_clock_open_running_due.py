"""The SLA queue filters find running clocks through an expression index with statistics of its own."""

from django.db import migrations, models


def analyze(apps, schema_editor) -> None:
    # The planner reads an expression index's statistics only once ANALYZE has gathered them.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE sla_slaclock")


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0004_clock_outcome_index"),
        ("tickets", "0023_metrics_rollup"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="slaclock",
            name="sla_clock_running_warn_at",
        ),
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(
                models.Case(
                    models.When(models.Q(("state", "running"), ("stopped_at__isnull", True)), then="due_at"),
                    output_field=models.DateTimeField(),
                ),
                include=("warn_at", "ticket", "due_at", "state", "stopped_at"),
                name="sla_clock_open_running_due",
            ),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True),
    ]
