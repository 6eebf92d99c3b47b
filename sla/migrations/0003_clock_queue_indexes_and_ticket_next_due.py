"""Indexes for the SLA queue views, and Ticket.next_sla_due_at filled in for the clocks that exist."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def store_next_due(apps, schema_editor) -> None:
    Ticket = apps.get_model("tickets", "Ticket")
    SlaClock = apps.get_model("sla", "SlaClock")
    due = SlaClock.objects.filter(
        state__in=["running", "breached"], stopped_at__isnull=True, due_at__isnull=False
    )
    earliest = due.filter(ticket_id=OuterRef("pk")).order_by("due_at").values("due_at")[:1]
    Ticket.objects.filter(pk__in=due.values("ticket_id")).update(next_sla_due_at=Subquery(earliest))


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0002_default_and_team_calendars"),
        ("tickets", "0016_ticket_next_sla_due_and_queue_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(
                condition=models.Q(("state", "breached"), ("stopped_at__isnull", True)),
                fields=["ticket"],
                name="sla_clock_open_breached",
            ),
        ),
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(
                condition=models.Q(("state", "running")), fields=["warn_at"], name="sla_clock_running_warn_at"
            ),
        ),
        migrations.RunPython(store_next_due, migrations.RunPython.noop),
    ]
