"""bench/generate.py writes rows with raw SQL, so Django's field defaults never reach them: every column the
schema requires (NOT NULL, no database default) must be in the generator's INSERT column lists, or the
benchmarks break the day a migration adds one (as they did for `Team.is_default`)."""

import re
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

GENERATOR = Path(__file__).resolve().parents[1] / "bench" / "generate.py"


def _insert_columns() -> dict[str, set[str]]:
    source = GENERATOR.read_text()
    return {
        table: {column.strip() for column in columns.split(",")}
        for table, columns in re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", source)
    }


def test_the_generator_fills_every_required_column_of_the_tables_it_writes():
    inserts = _insert_columns()
    assert {"tickets_ticket", "tickets_message", "sla_slaclock"} <= inserts.keys()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND is_nullable = 'NO' AND column_default IS NULL
                 AND is_identity = 'NO'
                 AND table_name = ANY(%s)""",
            [list(inserts)],
        )
        required = cursor.fetchall()
    missing = sorted(f"{table}.{column}" for table, column in required if column not in inserts[table])
    assert missing == [], f"bench/generate.py does not fill {', '.join(missing)}: add them to its INSERTs"
