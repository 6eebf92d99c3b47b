"""Benchmark email ingest against the standard-library parse floor and django-helpdesk 2.6.1, in one run.

Run from the project root: ``.venv/bin/python bench/ingest_bench.py [--messages 1000] [--rounds 2]``.

It generates one corpus of N realistic messages (new tickets and threaded replies, a third with an HTML
alternative, some with an attachment; the replies carry In-Reply-To and quote the message they answer)
and ingests it, in alternating rounds, with:

- **floor**: the standard library alone, one process: ``email.message_from_bytes(policy=default)``, the
  text and HTML bodies and the attachments' bytes (no database);
- **ours on PostgreSQL**, one process and ``--workers 2``: ``manage.py ingest_mail`` into a fresh copy of a
  migrated database (``bench_ingest_run``, made from the template ``bench_ingest_tpl`` on the server of
  DATABASE_URL) with a realistic setup: two teams with addresses and acknowledgements, routing rules, an
  SLA policy, agents picked least loaded;
- **ours on SQLite**, one process, a fresh copy of a migrated file;
- **django-helpdesk 2.6.1**: installed by this script into a throw-away virtualenv under /tmp (``pip
  install django-helpdesk==2.6.1``), driven through its own ``helpdesk.email.extract_email_metadata`` on a
  PostgreSQL database of its own (``bench_ingest_peer_*``), one process.

It also counts the SQL statements of one new-ticket message and one threaded reply of ours. The load
average is printed with every round. Databases made here are dropped at the end. Progress goes to stderr,
the table to stdout.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SERVER = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
PEER_VERSION = "2.6.1"
PEER_VENV = Path(tempfile.gettempdir()) / f"ingest-bench-django-helpdesk-{PEER_VERSION}"
SUPPORT = "support@helpdesk.localhost"
BILLING = "billing@helpdesk.localhost"

WORDS = (
    "printer jam invoice login password reset order delivery refund account screen error crash "
    "network slow update install licence export report payment card shipping address label sync "
    "calendar mobile app tablet battery cable monitor keyboard mouse email attachment folder share"
).split()
FIRST = "Ada Ben Cleo Dan Eva Finn Gus Hana Ivo Jana Kai Lea Milo Nora Otto Pia Rui Sara Tom Uma".split()
LAST = "Berg Costa Dahl Eng Fox Gray Holm Ito Jensen Kahn Lund Moss Nagy Ortiz Park Quinn Roth".split()


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- corpus ------------------------------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _paragraphs(rng: random.Random) -> str:
    return "\n\n".join(
        " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(2, 5)))
        for _ in range(rng.randint(1, 4))
    )


def generate_corpus(count: int, seed: int = 16) -> list[bytes]:
    """`count` messages in arrival order: about 60 % open a conversation, 40 % reply within one."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    conversations: list[dict] = []
    people = [
        (f"{first} {last}", f"{first.lower()}.{last.lower()}{n}@customer{n % 40}.example")
        for n, (first, last) in enumerate(
            (rng.choice(FIRST), rng.choice(LAST)) for _ in range(count // 2 + 1)
        )
    ]
    messages = []
    for index in range(count):
        when = start + timedelta(seconds=37 * index)
        reply = conversations and rng.random() < 0.4
        message = EmailMessage()
        if reply:
            conversation = rng.choice(conversations[-200:])
            name, address = conversation["from"]
            message["Subject"] = "Re: " + conversation["subject"]
            message["In-Reply-To"] = conversation["last_id"]
            message["References"] = " ".join(conversation["ids"][-5:])
            to = conversation["to"]
            quoted = "\n".join("> " + line for line in conversation["text"].splitlines())
            text = f"{_paragraphs(rng)}\n\nOn {format_datetime(when)}, {name} wrote:\n{quoted}\n"
        else:
            name, address = rng.choice(people)
            subject = f"{_sentence(rng, rng.randint(3, 7))[:-1]} #{index}"
            message["Subject"] = subject
            to = BILLING if rng.random() < 0.2 else SUPPORT
            text = f"Hello,\n\n{_paragraphs(rng)}\n\nRegards,\n{name}\n"
            conversation = {"from": (name, address), "subject": subject, "to": to, "ids": []}
            conversations.append(conversation)
        message_id = make_msgid(idstring=str(index), domain=address.rpartition("@")[2])
        message["From"] = f"{name} <{address}>"
        message["To"] = to
        if rng.random() < 0.15:
            message["Cc"] = f"Colleague <colleague{rng.randint(1, 50)}@{address.rpartition('@')[2]}>"
        message["Date"] = format_datetime(when)
        message["Message-ID"] = message_id
        message.set_content(text)
        if rng.random() < 0.33:
            paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
            message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        if rng.random() < 0.12:
            size = rng.choice((2_000, 20_000, 120_000))
            message.add_attachment(
                rng.randbytes(size), maintype="application", subtype="pdf", filename=f"document-{index}.pdf"
            )
        conversation["ids"].append(message_id)
        conversation["last_id"] = message_id
        conversation["text"] = text
        messages.append(message.as_bytes())
    return messages


def write_corpus(messages: list[bytes], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(messages):
        (directory / f"{index:06d}.eml").write_bytes(raw)


def read_corpus(directory: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(directory.glob("*.eml"))]


# --- the floor: standard library only ------------------------------------------------------------------


def phase_floor(corpus: Path) -> dict:
    import email
    from email import policy

    messages = read_corpus(corpus)
    started = time.perf_counter()
    chars = 0
    for raw in messages:
        message = email.message_from_bytes(raw, policy=policy.default)
        for header in ("from", "to", "cc", "subject", "message-id", "in-reply-to", "references", "date"):
            message.get(header)
        for kind in ("plain", "html"):
            body = message.get_body(preferencelist=(kind,))
            if body is not None:
                chars += len(body.get_content())
        for attachment in message.iter_attachments():
            chars += len(attachment.get_content())
    elapsed = time.perf_counter() - started
    return {"messages": len(messages), "seconds": elapsed}


# --- ours ----------------------------------------------------------------------------------------------


def _django(database_url: str, var_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ["HELPDESK_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ["HELPDESK_SUPPORT_ADDRESSES"] = f"{SUPPORT},{BILLING}"
    os.environ["HELPDESK_NOTIFICATION_EMAILS"] = "false"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["DEBUG"] = "false"
    os.environ["SECRET_KEY"] = "bench"
    os.environ["ALLOWED_HOSTS"] = "localhost"
    os.environ["REDIS_URL"] = ""
    import django

    django.setup()


def phase_setup_ours(database_url: str, var_dir: Path) -> dict:
    """Migrate an empty database and give it the configuration a real desk has."""
    _django(database_url, var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests import factories
    from tickets.models import Priority, RoutingRule, Team

    support = Team.objects.create(
        name="Support",
        email_address=SUPPORT,
        is_default=True,
        auto_ack_enabled=True,
        assignment_strategy=Team.AssignmentStrategy.LEAST_LOADED,
    )
    billing = Team.objects.create(
        name="Billing",
        email_address=BILLING,
        auto_ack_enabled=True,
        assignment_strategy=Team.AssignmentStrategy.ROUND_ROBIN,
    )
    for index in range(6):
        factories.AgentFactory(teams=[support] if index < 4 else [billing], capacity=10_000)
    RoutingRule.objects.create(name="Invoices", position=1, keywords=["invoice", "refund"], set_team=billing)
    RoutingRule.objects.create(name="Crashes", position=2, keywords=["crash"], set_priority=Priority.HIGH)
    RoutingRule.objects.create(name="Tablets", position=3, keywords=["tablet"], add_tags=["mobile"])
    from sla.models import Metric

    calendar = factories.sla_calendar(time_zone="UTC")
    factories.sla_policy(
        calendar=calendar,
        targets={
            (priority, metric): seconds
            for priority in Priority.values
            for metric, seconds in ((Metric.FIRST_RESPONSE, 4 * 3600), (Metric.RESOLUTION, 24 * 3600))
        },
    )
    return {}


def phase_ours(database_url: str, var_dir: Path, corpus: Path, workers: int) -> dict:
    _django(database_url, var_dir)
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    extra = ["--workers", str(workers)] if workers > 1 else []
    call_command("ingest_mail", str(corpus), "--json", *extra, stdout=out, stderr=StringIO())
    elapsed = time.perf_counter() - started
    counts = json.loads(out.getvalue().strip().splitlines()[-1])
    return {"messages": sum(counts.values()), "seconds": elapsed, "counts": counts}


def phase_queries(database_url: str, var_dir: Path) -> dict:
    """SQL statements of one new-ticket message and one threaded reply to it (after the corpus ran)."""
    _django(database_url, var_dir)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.email.inbound import inbound_message_process, inbound_message_store
    from tickets.models import InboundMessage

    first = EmailMessage()
    first["From"] = "Quinn Query <quinn@count.example>"
    first["To"] = SUPPORT
    first["Subject"] = "Counting statements"
    first["Message-ID"] = "<count-1@count.example>"
    first.set_content("The export to the report folder fails.\n")
    reply = EmailMessage()
    reply["From"] = "Quinn Query <quinn@count.example>"
    reply["To"] = SUPPORT
    reply["Subject"] = "Re: Counting statements"
    reply["Message-ID"] = "<count-2@count.example>"
    reply["In-Reply-To"] = "<count-1@count.example>"
    reply.set_content("It still fails.\n\n> The export to the report folder fails.\n")
    warm_up = EmailMessage()
    warm_up["From"] = "Walt Warm <walt@count.example>"
    warm_up["To"] = SUPPORT
    warm_up["Subject"] = "Loading the per-process caches"
    warm_up["Message-ID"] = "<count-0@count.example>"
    warm_up.set_content("First message of this process.\n")
    row = inbound_message_store(raw=warm_up.as_bytes(), source=InboundMessage.Source.FILE, enqueue=False)
    inbound_message_process(inbound=row)
    result = {}
    for key, message in (("new_ticket", first), ("threaded_reply", reply)):
        with CaptureQueriesContext(connection) as captured:
            row = inbound_message_store(
                raw=message.as_bytes(), source=InboundMessage.Source.FILE, enqueue=False
            )
            row = inbound_message_process(inbound=row)
        result[key] = len(captured.captured_queries)
        result[key + "_state"] = f"{row.state} created={row.created_ticket}"
    return result


# --- django-helpdesk 2.6.1, in its own virtualenv -------------------------------------------------------

PEER_SETTINGS = """
SECRET_KEY = "bench"
USE_TZ = True
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.sites", "django.contrib.humanize", "rest_framework",
    "helpdesk",
]
SITE_ID = 1
HELPDESK_TEAMS_MODE_ENABLED = False  # no pinax-teams: teams are not part of email ingestion
DATABASES = {"default": DATABASE}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = MEDIA
ROOT_URLCONF = "peer_urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages",
                                                 "django.template.context_processors.request"]}}]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
"""


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not (PEER_VENV / ".installed").exists():
        say(f"installing django-helpdesk {PEER_VERSION} into {PEER_VENV}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                f"django-helpdesk=={PEER_VERSION}",
                "psycopg2-binary",
            ],
            check=True,
        )
        (PEER_VENV / ".installed").touch()
    return python


def _peer_django(database: dict, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    (work / "peer_settings.py").write_text(
        f"DATABASE = {database!r}\nMEDIA = {str(work / 'media')!r}\n" + PEER_SETTINGS
    )
    (work / "peer_urls.py").write_text(
        "from django.urls import include, path\n\nurlpatterns = [path('', include('helpdesk.urls'))]\n"
    )
    sys.path.insert(0, str(work))
    os.environ["DJANGO_SETTINGS_MODULE"] = "peer_settings"
    import django

    django.setup()


def phase_setup_peer(database: dict, work: Path) -> dict:
    _peer_django(database, work)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from helpdesk.models import Queue

    Queue.objects.create(title="Support", slug="support", email_address=SUPPORT, allow_email_submission=True)
    return {}


def phase_peer(database: dict, work: Path, corpus: Path) -> dict:
    _peer_django(database, work)
    import logging

    from helpdesk.email import extract_email_metadata
    from helpdesk.models import Queue

    logger = logging.getLogger("peer")
    logger.setLevel(logging.WARNING)
    queue = Queue.objects.get(slug="support")
    messages = [raw.decode("utf-8", "replace") for raw in read_corpus(corpus)]
    started = time.perf_counter()
    for text in messages:
        extract_email_metadata(message=text, queue=queue, logger=logger)
    elapsed = time.perf_counter() - started
    from helpdesk.models import FollowUp, Ticket

    return {
        "messages": len(messages),
        "seconds": elapsed,
        "counts": {"tickets": Ticket.objects.count(), "followups": FollowUp.objects.count()},
    }


# --- orchestration ---------------------------------------------------------------------------------------


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(sql)


def pg_url(name: str) -> str:
    return SERVER._replace(path=f"/{name}").geturl()


def pg_fresh(name: str, template: str | None = None) -> None:
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def run_phase(python: str, *args: str) -> dict:
    command = [python, str(Path(__file__).resolve()), "--phase", *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"phase {args} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peer_database(name: str) -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": SERVER.username or "postgres",
        "PASSWORD": SERVER.password or "",
        "HOST": SERVER.hostname or "127.0.0.1",
        "PORT": SERVER.port or 5432,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-peer", action="store_true", help="leave django-helpdesk out")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.phase:
        return print(json.dumps(dispatch(options.phase)))

    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    corpus = work / "corpus"
    write_corpus(generate_corpus(options.messages), corpus)
    say(f"corpus: {options.messages} messages in {corpus}; load {load()}")
    ours = str(ROOT / ".venv" / "bin" / "python")
    peer_python = None if options.skip_peer else str(ensure_peer_venv())

    say("templates: migrating ours (PostgreSQL, SQLite) and the peer")
    pg_fresh("bench_ingest_tpl")
    run_phase(ours, "setup-ours", pg_url("bench_ingest_tpl"), str(work / "var-tpl"))
    sqlite_tpl = work / "tpl.sqlite3"
    run_phase(ours, "setup-ours", f"sqlite:///{sqlite_tpl}", str(work / "var-tpl"))
    if peer_python:
        pg_fresh("bench_ingest_peer_tpl")
        run_phase(
            peer_python, "setup-peer", json.dumps(peer_database("bench_ingest_peer_tpl")), str(work / "peer")
        )

    results: dict[str, list[float]] = {}
    loads: list[str] = []
    queries = {}
    names = ["floor", "ours PostgreSQL, 1 process", "ours PostgreSQL, 2 workers", "ours SQLite, 1 process"]
    if peer_python:
        names.append(f"django-helpdesk {PEER_VERSION} PostgreSQL")
    for round_ in range(options.rounds):
        order = names if round_ % 2 == 0 else list(reversed(names))
        for name in order:
            var = work / f"var-{round_}-{len(loads)}"
            if name == "floor":
                result = run_phase(ours, "floor", str(corpus))
            elif name.startswith("ours PostgreSQL"):
                pg_fresh("bench_ingest_run", "bench_ingest_tpl")
                workers = "2" if "2 workers" in name else "1"
                result = run_phase(ours, "ours", pg_url("bench_ingest_run"), str(var), str(corpus), workers)
                if workers == "1" and not queries:
                    queries = run_phase(ours, "queries", pg_url("bench_ingest_run"), str(var))
            elif name.startswith("ours SQLite"):
                database = work / "run.sqlite3"
                shutil.copy(sqlite_tpl, database)
                result = run_phase(ours, "ours", f"sqlite:///{database}", str(var), str(corpus), "1")
            else:
                pg_fresh("bench_ingest_peer_run", "bench_ingest_peer_tpl")
                result = run_phase(
                    peer_python,
                    "peer",
                    json.dumps(peer_database("bench_ingest_peer_run")),
                    str(var),
                    str(corpus),
                )
            rate = result["messages"] / result["seconds"]
            results.setdefault(name, []).append(rate)
            loads.append(load())
            say(f"round {round_ + 1}: {name}: {rate:.0f} msg/s {result.get('counts', '')} load {loads[-1]}")
            shutil.rmtree(var, ignore_errors=True)

    for name in ("bench_ingest_run", "bench_ingest_tpl", "bench_ingest_peer_run", "bench_ingest_peer_tpl"):
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(work, ignore_errors=True)

    floor = max(results["floor"])
    peer = results.get(f"django-helpdesk {PEER_VERSION} PostgreSQL")
    print(
        f"\nEmail ingest, {options.messages} messages, {options.rounds} alternating rounds, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print("| what | msg/s (each round) | best | % of floor | x django-helpdesk |")
    print("|---|---|---:|---:|---:|")
    for name, rates in results.items():
        best = max(rates)
        versus_peer = f"{best / max(peer):.1f}" if peer else ""
        print(
            f"| {name} | {', '.join(f'{r:.0f}' for r in rates)} | {best:.0f} | {100 * best / floor:.0f} % "
            f"| {versus_peer} |"
        )
    print(
        f"\nSQL statements per message (ours, PostgreSQL): new ticket {queries.get('new_ticket')}, "
        f"threaded reply {queries.get('threaded_reply')}"
    )
    print(f"load average (1, 5, 15 min) after each phase: {'; '.join(loads)}")


def dispatch(phase: list[str]) -> dict:
    name, *args = phase
    if name == "floor":
        return phase_floor(Path(args[0]))
    if name == "setup-ours":
        return phase_setup_ours(args[0], Path(args[1]))
    if name == "ours":
        return phase_ours(args[0], Path(args[1]), Path(args[2]), int(args[3]))
    if name == "queries":
        return phase_queries(args[0], Path(args[1]))
    if name == "setup-peer":
        return phase_setup_peer(json.loads(args[0]), Path(args[1]))
    if name == "peer":
        return phase_peer(json.loads(args[0]), Path(args[1]), Path(args[2]))
    raise SystemExit(f"unknown phase {name}")


if __name__ == "__main__":
    main()
