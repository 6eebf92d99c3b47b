"""Fresh planner statistics for the ticket columns 0006 filled in.

Until tickets_ticket is analysed, PostgreSQL has no statistics for sla_breach_at and the warning windows
and plans the desk's SLA views on defaults: measured at a million tickets, each queue page then took about
1 s of SQL where it takes tens of milliseconds after ANALYZE. Autovacuum would analyse the table
eventually; a server with it switched off (or a lagging one) would serve slow queues until then."""

from django.db import migrations


def analyze_tickets(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE tickets_ticket")


class Migration(migrations.Migration):
    dependencies = [("sla", "0006_store_ticket_sla_state")]

    operations = [migrations.RunPython(analyze_tickets, migrations.RunPython.noop, elidable=True)]
