"""Search: a stored tsvector per ticket (subject and messages) and trigram indexes for people and references.

PostgreSQL only: the text search configuration `helpdesk`, the triggers that keep `Ticket.search_vector`
current, and the GIN indexes. On SQLite the column stays empty and search falls back to substring matching
(see tickets/search.py). The indexes are not in the models' Meta because SQLite cannot build them.
"""

import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

# English stemming without accents, so "Müller" finds "Muller" and "replies" finds "reply".
CREATE_CONFIG = """
CREATE TEXT SEARCH CONFIGURATION helpdesk (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION helpdesk
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
"""
DROP_CONFIG = "DROP TEXT SEARCH CONFIGURATION IF EXISTS helpdesk;"

# The subject weighs A, the text of the messages B; automatic messages (acknowledgements) are boilerplate
# and left out. A new message appends its text (statement-level, so bulk inserts cost one UPDATE); an edit,
# a move to another ticket or a delete recomputes the tickets concerned. A tsvector holds at most 1 MB and
# an overflow would fail the write that adds a message, so each message contributes its first 20,000
# characters, a recomputed document its first 200,000, and appending stops at about 600 kB.
CREATE_TRIGGERS = """
CREATE FUNCTION tickets_ticket_search_document(p_ticket_id bigint, p_subject text) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('helpdesk', coalesce(p_subject, '')), 'A')
        || coalesce((
            SELECT setweight(to_tsvector('helpdesk', left(
                string_agg(left(m.body_text, 20000), ' ' ORDER BY m.created_at, m.id), 200000)), 'B')
            FROM tickets_message m
            WHERE m.ticket_id = p_ticket_id AND NOT m.is_automatic
        ), ''::tsvector)
$$;

CREATE FUNCTION tickets_ticket_search_on_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := tickets_ticket_search_document(NEW.id, NEW.subject);
    RETURN NEW;
END $$;

CREATE TRIGGER ticket_search_on_insert BEFORE INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_on_write();
CREATE TRIGGER ticket_search_on_subject BEFORE UPDATE OF subject ON tickets_ticket
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
    EXECUTE FUNCTION tickets_ticket_search_on_write();

CREATE FUNCTION tickets_message_search_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets_ticket t
    SET search_vector = coalesce(t.search_vector, ''::tsvector) || added.document
    FROM (
        SELECT ticket_id,
               setweight(to_tsvector('helpdesk', string_agg(left(body_text, 20000), ' ' ORDER BY created_at, id)),
                         'B') AS document
        FROM new_messages
        WHERE NOT is_automatic
        GROUP BY ticket_id
    ) added
    WHERE t.id = added.ticket_id AND coalesce(pg_column_size(t.search_vector), 0) < 600000;
    RETURN NULL;
END $$;

CREATE TRIGGER message_search_on_insert AFTER INSERT ON tickets_message
    REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_message_search_on_insert();

CREATE FUNCTION tickets_message_search_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets_ticket t
    SET search_vector = tickets_ticket_search_document(t.id, t.subject)
    WHERE t.id IN (OLD.ticket_id, NEW.ticket_id);
    RETURN NULL;
END $$;

CREATE TRIGGER message_search_on_update AFTER UPDATE OF body_text, ticket_id, is_automatic ON tickets_message
    FOR EACH ROW WHEN (
        OLD.body_text IS DISTINCT FROM NEW.body_text
        OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id
        OR OLD.is_automatic IS DISTINCT FROM NEW.is_automatic
    )
    EXECUTE FUNCTION tickets_message_search_on_change();

CREATE FUNCTION tickets_message_search_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets_ticket t
    SET search_vector = tickets_ticket_search_document(t.id, t.subject)
    WHERE t.id IN (SELECT DISTINCT ticket_id FROM old_messages);
    RETURN NULL;
END $$;

CREATE TRIGGER message_search_on_delete AFTER DELETE ON tickets_message
    REFERENCING OLD TABLE AS old_messages
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_message_search_on_delete();

UPDATE tickets_ticket SET search_vector = tickets_ticket_search_document(id, subject);
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS message_search_on_delete ON tickets_message;
DROP TRIGGER IF EXISTS message_search_on_update ON tickets_message;
DROP TRIGGER IF EXISTS message_search_on_insert ON tickets_message;
DROP TRIGGER IF EXISTS ticket_search_on_subject ON tickets_ticket;
DROP TRIGGER IF EXISTS ticket_search_on_insert ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_message_search_on_delete();
DROP FUNCTION IF EXISTS tickets_message_search_on_change();
DROP FUNCTION IF EXISTS tickets_message_search_on_insert();
DROP FUNCTION IF EXISTS tickets_ticket_search_on_write();
DROP FUNCTION IF EXISTS tickets_ticket_search_document(bigint, text);
"""

# Django's icontains compiles to UPPER("column"::text) LIKE UPPER(%s): the trigram indexes match that form.
CREATE_INDEXES = """
CREATE INDEX ticket_search_vector ON tickets_ticket USING gin (search_vector);
CREATE INDEX customer_name_trgm ON tickets_customer USING gin (UPPER(name::text) gin_trgm_ops);
CREATE INDEX customer_email_trgm ON tickets_customer USING gin (UPPER(email::text) gin_trgm_ops);
CREATE INDEX customer_phone_trgm ON tickets_customer USING gin (UPPER(phone::text) gin_trgm_ops);
CREATE INDEX organization_name_trgm ON tickets_organization USING gin (UPPER(name::text) gin_trgm_ops);
"""
DROP_INDEXES = """
DROP INDEX IF EXISTS organization_name_trgm;
DROP INDEX IF EXISTS customer_phone_trgm;
DROP INDEX IF EXISTS customer_email_trgm;
DROP INDEX IF EXISTS customer_name_trgm;
DROP INDEX IF EXISTS ticket_search_vector;
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0014_web_form_topic"),
    ]

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(_on_postgresql(CREATE_CONFIG), _on_postgresql(DROP_CONFIG)),
        migrations.AddField(
            model_name="ticket",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(
                editable=False,
                help_text="PostgreSQL full-text document (config 'helpdesk'): subject weight A, message text "
                "weight B; kept current by database triggers. Empty on SQLite.",
                null=True,
            ),
        ),
        migrations.AlterModelOptions(
            name="ticket",
            options={"base_manager_name": "objects", "ordering": ["-created_at", "-pk"]},
        ),
        migrations.RunPython(_on_postgresql(CREATE_TRIGGERS), _on_postgresql(DROP_TRIGGERS)),
        migrations.RunPython(_on_postgresql(CREATE_INDEXES), _on_postgresql(DROP_INDEXES)),
    ]
