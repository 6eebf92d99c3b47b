"""A trigram GIN index on ticket subjects, for the similar-tickets ranking (`subject % …`, `similarity()`).

PostgreSQL only (pg_trgm is installed by 0015_ticket_search); a no-op on SQLite, where the similar-tickets
fallback compares subjects in Python. Not in the model's Meta because SQLite cannot build it.
"""

from django.db import migrations

CREATE_INDEX = (
    "CREATE INDEX IF NOT EXISTS ticket_subject_trgm ON tickets_ticket USING gin (subject gin_trgm_ops);"
)
DROP_INDEX = "DROP INDEX IF EXISTS ticket_subject_trgm;"


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0017_phone_call_scope"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE_INDEX), _on_postgresql(DROP_INDEX)),
    ]
