"""Ticket.sla_breach_at and the warning windows (sla_warn_*) filled in from the clocks that exist, as
`sla.selectors.ticket_sla_state` defines them, in one pass over the open clocks."""

from django.db import migrations

STORE_STATE = """
UPDATE tickets_ticket SET
    sla_breach_at = s.breach_at,
    sla_warn_from = s.warn_from,
    sla_warn_until = s.warn_until,
    sla_warn_one_window = s.one_window
FROM (
    SELECT ticket_id,
           MIN(CASE WHEN state = 'running' THEN due_at
                    WHEN state = 'breached' THEN COALESCE(breached_at, started_at) END) AS breach_at,
           MIN(CASE WHEN w THEN warn_at END) AS warn_from,
           MAX(CASE WHEN w THEN due_at END) AS warn_until,
           COALESCE(MAX(CASE WHEN w THEN warn_at END) <= MIN(CASE WHEN w THEN due_at END), TRUE) AS one_window
    FROM (
        SELECT ticket_id, state, due_at, warn_at, breached_at, started_at,
               (state = 'running' AND warn_at IS NOT NULL AND due_at IS NOT NULL AND warn_at <= due_at) AS w
        FROM sla_slaclock WHERE stopped_at IS NULL
    ) AS c
    GROUP BY ticket_id
) AS s
WHERE tickets_ticket.id = s.ticket_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0005_clock_open_running_due"),
        ("tickets", "0026_ticket_sla_state"),
    ]

    operations = [migrations.RunSQL(STORE_STATE, migrations.RunSQL.noop)]
