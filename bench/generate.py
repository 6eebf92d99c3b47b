"""Generate a realistic year of helpdesk data into an empty, migrated PostgreSQL database, in bulk SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_100k .venv/bin/python bench/generate.py --tickets 100000

Creates the database if it does not exist and migrates it; refuses a database that already has tickets
(`--reuse` keeps them instead).
What a year holds for N tickets: 8 teams of 5 agents (one of them the lead), N/3 customers (60 % in one
of N/500 organizations, every one with an email and a phone), tickets spread over the 365 days before
now with the shape of a busy desk (recent ones mostly unsolved, older ones mostly closed: about 30 %
unsolved in all), 3 messages each (customer, agent reply, customer follow-up), 10 tags on 30 % of tickets,
per-ticket metric columns, an SLA policy with a first-response and a resolution clock per ticket (running,
breached or achieved as the ticket's history says) and `next_sla_due_at` stored, a survey invitation
for 30 % of solved tickets (half of them answered, CSAT), and a phone call per phone ticket. Everything
follows from `setseed(--seed)`, so two runs build the same data. The search triggers fill
`Ticket.search_vector` as the rows go in, as they would in production.

Demo logins: `bench-admin` (superuser), `agent-1-1` (an agent of team 1), password `bench`.
"""

# ruff: noqa: E501  (the SQL statements keep a layout of their own)
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

TEAMS = 8
AGENTS_PER_TEAM = 5
PASSWORD = "bench"

FIRST_NAMES = [
    "Noah", "Emma", "Liam", "Olivia", "Lucas", "Mia", "Oliver", "Sofia", "Elias", "Ida", "William", "Freja",
    "Oscar", "Clara", "Carl", "Alma", "Viktor", "Ella", "Magnus", "Karla", "Anton", "Nora", "Alfred", "Agnes",
]  # fmt: skip
LAST_NAMES = [
    "Wagner", "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Poulsen", "Johansen", "Møller",
    "Mortensen", "Schmidt", "Weber", "Fischer", "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein",
]  # fmt: skip
PRODUCTS = ["printer", "scanner", "router", "laptop", "invoice", "subscription", "password", "account",
            "license", "monitor", "keyboard", "headset", "dashboard", "export", "backup", "calendar"]  # fmt: skip
PROBLEMS = ["not working", "keeps crashing", "is slow", "cannot connect", "shows an error", "was charged twice",
            "needs a refund", "stopped syncing", "will not start", "is missing data", "locked out",
            "upgrade question"]  # fmt: skip
WORDS = (
    "please help urgent since yesterday again after update error message screen restart tried cable "
    "support colleague office customer order number delivery payment card bank transfer reminder "
    "warranty replacement battery paper jam toner driver firmware version network wifi vpn email "
    "attachment download upload file folder share access permission admin login reset token browser"
).split()


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(array: str, expression: str) -> str:
    """SQL: the element of `array` at a position derived from the integer `expression`."""
    return f"({array})[1 + (({expression}) % cardinality({array}))]"


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def generate(tickets: int, seed: float, reuse: bool = False) -> dict[str, float]:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    timings: dict[str, float] = {}
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        existing = cursor.fetchone()[0]
    if existing and reuse:
        print(f"  reusing the {existing} tickets already there", file=sys.stderr)
        return timings
    if existing:
        raise SystemExit("This database already has tickets: generate into an empty one (or --reuse it).")
    customers = max(100, tickets // 3)
    organizations = max(20, tickets // 500)
    agents = TEAMS * AGENTS_PER_TEAM
    password = make_password(PASSWORD)
    first, last = _array(FIRST_NAMES), _array(LAST_NAMES)
    products, problems, words = _array(PRODUCTS), _array(PROBLEMS), _array(WORDS)
    sentence = " || ' ' || ".join(_pick(words, f"(g * {prime} + {n}) ") for n, prime in enumerate(
        [7, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53]
    ))  # fmt: skip

    steps = [
        (
            "people",
            [
                f"SELECT setseed({seed})",
                f"""INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,
                    is_staff, is_active, date_joined)
                SELECT g, '{password}', g = 1,
                       CASE WHEN g = 1 THEN 'bench-admin'
                            ELSE 'agent-' || ((g - 2) / {AGENTS_PER_TEAM} + 1) || '-' || ((g - 2) % {AGENTS_PER_TEAM} + 1) END,
                       {_pick(first, "g * 5")}, {_pick(last, "g * 3")}, 'user' || g || '@bench.test',
                       g = 1, true, now() - interval '400 days'
                FROM generate_series(1, {agents + 1}) g""",
                f"""INSERT INTO tickets_team (id, name, email_address, assignment_strategy, created_at, lead_id,
                    auto_ack_enabled, auto_ack_template, is_default)
                SELECT t, 'Team ' || t, 'team' || t || '@support.bench.test', 'queue', now() - interval '400 days',
                       2 + (t - 1) * {AGENTS_PER_TEAM}, false, '', t = 1
                FROM generate_series(1, {TEAMS}) t""",
                f"""INSERT INTO tickets_agent (id, capacity, is_available, user_id)
                SELECT g - 1, 40, true, g FROM generate_series(2, {agents + 1}) g""",
                f"""INSERT INTO tickets_agent_teams (agent_id, team_id)
                SELECT a, (a - 1) / {AGENTS_PER_TEAM} + 1 FROM generate_series(1, {agents}) a""",
                f"""INSERT INTO tickets_organization (id, name, email_domains, notes, created_at)
                SELECT o, {_pick(last, "o")} || ' ' || {_pick(products, "o * 7")} || ' ' || o || ' ApS',
                       jsonb_build_array('org' || o || '.example'), '', now() - interval '400 days'
                FROM generate_series(1, {organizations}) o""",
                f"""INSERT INTO tickets_customer (id, name, email, phone, is_vip, notes, created_at, organization_id,
                    email_undeliverable_reason)
                SELECT c, {_pick(first, "c * 7")} || ' ' || {_pick(last, "c * 11 + c / 24")},
                       lower({_pick(first, "c * 7")}) || '.' || c || '@'
                           || CASE WHEN c % 5 < 3 THEN 'org' || (c % {organizations} + 1) || '.example'
                                   ELSE 'mail' || (c % 7) || '.example' END,
                       '+45' || lpad((10000000 + c)::text, 8, '0'), c % 50 = 0, '', now() - interval '400 days',
                       CASE WHEN c % 5 < 3 THEN c % {organizations} + 1 END, ''
                FROM generate_series(1, {customers}) c""",
                """INSERT INTO tickets_tag (id, name)
                SELECT t, (ARRAY['billing','hardware','login','bug','feature','refund','vip','outage',
                                 'onboarding','printer'])[t] FROM generate_series(1, 10) t""",
            ],
        ),
        (
            "tickets",
            [
                f"""CREATE TEMP TABLE bench_ticket AS
                SELECT g AS id,
                       now() - (random() * interval '365 days') AS created_at,
                       random() AS fate, random() AS r1, random() AS r2, random() AS r3
                FROM generate_series(1, {tickets}) g""",
                # Recent tickets are mostly unsolved, older ones mostly closed: about 30 % unsolved overall.
                """ALTER TABLE bench_ticket ADD COLUMN status text, ADD COLUMN team int, ADD COLUMN assignee int""",
                """UPDATE bench_ticket SET
                   status = CASE
                       WHEN created_at > now() - interval '30 days' THEN
                           CASE WHEN fate < .2 THEN 'new' WHEN fate < .6 THEN 'open' WHEN fate < .75 THEN 'pending'
                                WHEN fate < .8 THEN 'on_hold' ELSE 'solved' END
                       ELSE CASE WHEN fate < .03 THEN 'new' WHEN fate < .17 THEN 'open'
                                 WHEN fate < .24 THEN 'pending' WHEN fate < .26 THEN 'on_hold'
                                 WHEN fate < .31 THEN 'solved' ELSE 'closed' END END,
                   team = 1 + floor(r1 * 8)::int""",
                f"""UPDATE bench_ticket SET assignee = CASE WHEN status = 'new' AND r2 < .7 THEN NULL
                                                   WHEN r2 < .1 THEN NULL
                                                   ELSE 2 + (team - 1) * {AGENTS_PER_TEAM} + floor(r3 * {AGENTS_PER_TEAM})::int END""",
                f"""INSERT INTO tickets_ticket (id, reference, subject, status, priority, channel, is_auto_generated,
                    reply_token, created_at, updated_at, first_response_at, solved_at, closed_at, reopen_count,
                    assignee_id, customer_id, team_id, sla_warn_one_window)
                SELECT b.id, 'HD-' || (1000 + b.id),
                       initcap({_pick(products, "b.id * 3")}) || ' ' || {_pick(problems, "b.id * 7 + b.id / 16")},
                       b.status,
                       CASE WHEN b.r3 < .2 THEN 'low' WHEN b.r3 < .8 THEN 'normal' WHEN b.r3 < .95 THEN 'high'
                            ELSE 'urgent' END,
                       CASE WHEN b.r2 < .6 THEN 'email' WHEN b.r2 < .75 THEN 'web' WHEN b.r2 < .85 THEN 'chat'
                            WHEN b.r2 < .95 THEN 'phone' ELSE 'api' END,
                       false, md5('bench' || b.id), b.created_at,
                       b.created_at + interval '3 hours',
                       CASE WHEN b.status <> 'new' THEN b.created_at + b.r1 * interval '8 hours' END,
                       CASE WHEN b.status IN ('solved', 'closed') THEN b.created_at + interval '1 day' * (.2 + b.r2 * 4) END,
                       CASE WHEN b.status = 'closed' THEN b.created_at + interval '1 day' * (4.2 + b.r2 * 4) END,
                       (b.r3 < .05)::int, b.assignee,
                       1 + (b.id::bigint * 7919) % {customers}, b.team, true
                FROM bench_ticket b ORDER BY b.id""",
                """INSERT INTO tickets_ticket_tags (ticket_id, tag_id)
                SELECT id, 1 + (id % 10) FROM tickets_ticket WHERE id % 10 < 3""",
            ],
        ),
        (
            "messages",
            [
                f"""INSERT INTO tickets_message (author_role, visibility, channel, body_text, body_html, full_text,
                    is_automatic, delivery_status, delivery_error, created_at, author_customer_id, author_user_id,
                    ticket_id)
                SELECT CASE WHEN m = 2 THEN 'agent' ELSE 'customer' END, 'public', t.channel,
                       CASE WHEN m = 1 THEN 'Hello, my ' || lower(t.subject) || '. ' ELSE '' END
                           || (SELECT {sentence} FROM (SELECT t.id * 3 + m AS g) x) || '.',
                       '', '', false, '', '',
                       CASE WHEN m = 1 THEN t.created_at
                            WHEN m = 2 THEN coalesce(t.first_response_at, t.created_at + interval '1 hour')
                            ELSE coalesce(t.first_response_at, t.created_at) + interval '2 hours' END,
                       CASE WHEN m <> 2 THEN t.customer_id END,
                       CASE WHEN m = 2 THEN coalesce(t.assignee_id, 2) END,
                       t.id
                FROM tickets_ticket t CROSS JOIN generate_series(1, 3) m
                WHERE m = 1 OR t.status <> 'new'
                ORDER BY t.id, m""",
            ],
        ),
        (
            "metrics, SLA clocks, surveys, calls",
            [
                """INSERT INTO tickets_ticketmetrics (ticket_id, first_response_seconds, resolution_seconds,
                    agent_public_replies, customer_messages, reopens, solved_by_id, requester_wait_seconds,
                    requester_wait_business_seconds, agent_work_seconds, agent_work_business_seconds,
                    agent_wait_seconds, agent_wait_business_seconds, on_hold_seconds, on_hold_business_seconds,
                    team_stations, assignee_stations)
                SELECT id, extract(epoch FROM first_response_at - created_at)::bigint,
                       extract(epoch FROM solved_at - created_at)::bigint,
                       (status <> 'new')::int, 1 + (status <> 'new')::int, reopen_count,
                       CASE WHEN solved_at IS NOT NULL THEN assignee_id END,
                       -- The calendar is always open, so business seconds equal calendar seconds; a fifth of
                       -- the time to the solve waits on the customer (pending), the rest is agent work.
                       w.work, w.work, w.work, w.work, w.wait, w.wait, 0, 0,
                       1, (assignee_id IS NOT NULL)::int
                FROM tickets_ticket
                CROSS JOIN LATERAL (
                    SELECT (extract(epoch FROM coalesce(solved_at, now()) - created_at) * .8)::bigint AS work,
                           (extract(epoch FROM coalesce(solved_at, now()) - created_at) * .2)::bigint AS wait
                ) w""",
                """INSERT INTO sla_calendar (id, name, time_zone, holiday_country, holiday_subdivision, created_at, is_default)
                VALUES (1, 'Always open', 'UTC', '', '', now(), true)""",
                """INSERT INTO sla_policy (id, name, position, is_active, priorities, channels, pause_when_pending,
                    pause_when_on_hold, escalate_raise_priority, escalate_reassign, escalate_add_tag, warn_percent,
                    calendar_id)
                VALUES (1, 'Standard', 0, true, '[]', '[]', true, true, false, '', '', 75, 1)""",
                # First response: 8 h; resolution: 30 days (calendar time). Unsolved tickets keep running
                # clocks; those past due are breached (and stay so until fulfilled).
                """INSERT INTO sla_slaclock (ticket_id, policy_id, calendar_id, metric, sequence, target_seconds,
                    business_hours, state, started_at, running_since, due_at, warn_at, elapsed_business_seconds,
                    elapsed_calendar_seconds, warned_at, breached_at, stopped_at, final_business_seconds,
                    final_calendar_seconds)
                SELECT t.id, 1, 1, c.metric, 1, c.target, false,
                       CASE WHEN c.stop IS NOT NULL THEN
                                CASE WHEN c.stop > t.created_at + c.target * interval '1 second' THEN 'breached'
                                     ELSE 'achieved' END
                            WHEN now() > t.created_at + c.target * interval '1 second' THEN 'breached'
                            ELSE 'running' END,
                       t.created_at,
                       CASE WHEN c.stop IS NULL THEN t.created_at END,
                       t.created_at + c.target * interval '1 second',
                       CASE WHEN c.stop IS NULL THEN t.created_at + c.target * .75 * interval '1 second' END,
                       0, 0,
                       CASE WHEN coalesce(c.stop, now()) > t.created_at + c.target * .75 * interval '1 second'
                            THEN t.created_at + c.target * .75 * interval '1 second' END,
                       CASE WHEN coalesce(c.stop, now()) > t.created_at + c.target * interval '1 second'
                            THEN t.created_at + c.target * interval '1 second' END,
                       c.stop,
                       extract(epoch FROM c.stop - t.created_at)::bigint,
                       extract(epoch FROM c.stop - t.created_at)::bigint
                FROM tickets_ticket t
                CROSS JOIN LATERAL (VALUES ('first_response', 28800, t.first_response_at),
                                           ('resolution', 2592000, t.solved_at)) AS c(metric, target, stop)""",
                # What the engine stores on the ticket (sla.selectors.ticket_sla_state).
                """UPDATE tickets_ticket t SET next_sla_due_at = d.due, sla_breach_at = d.breach_at,
                    sla_warn_from = d.warn_from, sla_warn_until = d.warn_until, sla_warn_one_window = d.one_window
                FROM (SELECT ticket_id,
                             min(due_at) FILTER (WHERE state IN ('running', 'breached')) AS due,
                             min(CASE WHEN state = 'running' THEN due_at
                                      WHEN state = 'breached' THEN coalesce(breached_at, started_at) END) AS breach_at,
                             min(warn_at) FILTER (WHERE w) AS warn_from,
                             max(due_at) FILTER (WHERE w) AS warn_until,
                             coalesce(max(warn_at) FILTER (WHERE w) <= min(due_at) FILTER (WHERE w), true) AS one_window
                      FROM (SELECT *, state = 'running' AND warn_at IS NOT NULL AND due_at IS NOT NULL
                                      AND warn_at <= due_at AS w
                            FROM sla_slaclock WHERE stopped_at IS NULL) c
                      GROUP BY ticket_id) d
                WHERE t.id = d.ticket_id""",
                """INSERT INTO surveys_surveyinvitation (channel, priority, kinds, questions, state, skip_reason,
                    secret, send_at, attempts, last_error, sent_at, expires_at, responded_at,
                    poor_follow_up_action, created_at, agent_id, team_id, ticket_id)
                SELECT t.channel, t.priority, '["csat"]', '{}', 'sent', '', md5('survey' || t.id),
                       t.solved_at + interval '1 hour', 1, '', t.solved_at + interval '1 hour',
                       t.solved_at + interval '15 days',
                       CASE WHEN t.id % 2 = 0 THEN t.solved_at + interval '5 hours' END,
                       'nothing', t.solved_at, t.assignee_id, t.team_id, t.id
                FROM tickets_ticket t WHERE t.solved_at IS NOT NULL AND t.id % 10 < 3""",
                """INSERT INTO surveys_surveyresponse (kind, score, comment, source, needs_review, is_poor, created_at,
                    updated_at, invitation_id)
                SELECT 'csat', CASE WHEN i.id % 7 = 0 THEN 1 WHEN i.id % 7 = 1 THEN 3 WHEN i.id % 7 < 4 THEN 4
                                    ELSE 5 END,
                       '', 'web', false, i.id % 7 = 0, i.responded_at, i.responded_at, i.id
                FROM surveys_surveyinvitation i WHERE i.responded_at IS NOT NULL""",
                """INSERT INTO tickets_phonecall (caller, direction, queue_wait_seconds, talk_seconds, outcome,
                    started_at, notes, created_at, agent_id, ticket_id, wrap_up_seconds, scope)
                SELECT c.phone, 'inbound', (t.id * 37) % 300,
                       CASE WHEN t.id % 8 = 0 THEN 0 ELSE 60 + (t.id * 53) % 900 END,
                       CASE WHEN t.id % 8 = 0 THEN 'abandoned' ELSE 'answered' END,
                       t.created_at, '', t.created_at, CASE WHEN t.id % 8 <> 0 THEN t.assignee_id END, t.id,
                       CASE WHEN t.id % 8 = 0 THEN 0 ELSE 30 + (t.id * 29) % 120 END,
                       'team-' || t.team_id
                FROM tickets_ticket t JOIN tickets_customer c ON c.id = t.customer_id
                WHERE t.channel = 'phone'""",
            ],
        ),
        (
            "sequences",
            [
                *(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    for table in (
                        "auth_user",
                        "tickets_team",
                        "tickets_agent",
                        "tickets_organization",
                        "tickets_customer",
                        "tickets_tag",
                        "tickets_ticket",
                        "sla_calendar",
                        "sla_policy",
                    )
                ),
            ],
        ),
    ]
    # One transaction: a run that fails half-way leaves an empty database to generate into again.
    with transaction.atomic():
        for name, statements in steps:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
            timings[name] = time.perf_counter() - started
            print(f"  {name}: {timings[name]:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have by now: no dead rows, visibility map set
    timings["vacuum"] = time.perf_counter() - started
    print(f"  vacuum analyze: {timings['vacuum']:.1f} s", file=sys.stderr)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value, -1..1")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has tickets")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")
    ensure_database(url)
    import django

    django.setup()
    started = time.perf_counter()
    generate(args.tickets, args.seed, reuse=args.reuse)
    print(f"{args.tickets} tickets in {time.perf_counter() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
