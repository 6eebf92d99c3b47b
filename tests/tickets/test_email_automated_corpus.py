"""Real automated mail through the intake path: sisimai/set-of-emails (BSD-2-Clause) in tests/data.

322 bounces (DSNs from some sixty mail systems, with and without From, broken MIME, provider JSON),
feedback-loop reports (ARF, Hotmail JMRP) and auto-replies, plus the set's own non-bounces. Each file
goes through the same store-then-process service as ingest_mail, IMAP and webhooks.
"""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tickets.email.inbound import inbound_message_process, inbound_message_store, inbound_outcome
from tickets.models import InboundMessage, Ticket

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[1] / "data" / "automated-mail" / "sisimai"
AUTOMATED = sorted((CORPUS / "automated").glob("*.eml"))
NOT_AUTOMATED = sorted((CORPUS / "not-automated").glob("*.eml"))
# A person forwarding a bounce to us ("Fwd: Returned mail: see transcript for details", from a
# mailbox, not a mail system): that is a request from a human and opens a ticket.
HUMAN_FORWARDED_BOUNCES = {"lhost-sendmail-14.eml"}


def test_the_corpus_holds_at_least_300_automated_messages_from_many_mail_systems():
    systems = {path.name.rsplit("-", 1)[0] for path in AUTOMATED}
    assert len(AUTOMATED) - len(HUMAN_FORWARDED_BOUNCES) >= 300
    assert len({s for s in systems if s.startswith(("lhost-", "rhost-"))}) >= 60
    assert {"arf", "rfc3834", "rfc3464"} <= systems


def test_automated_mail_opens_no_ticket_and_none_is_quarantined():
    outcomes = {}
    for path in AUTOMATED:
        inbound = inbound_message_store(
            raw=path.read_bytes(), source=InboundMessage.Source.FILE, origin=path.name, enqueue=False
        )
        inbound = inbound_message_process(inbound=inbound)
        outcomes[path.name] = (inbound_outcome(inbound), inbound.reason)

    opened = {name for name, (outcome, _) in outcomes.items() if outcome == "created"}
    quarantined = {name: reason for name, (outcome, reason) in outcomes.items() if outcome == "quarantined"}
    assert quarantined == {}
    assert opened == HUMAN_FORWARDED_BOUNCES
    assert Ticket.objects.count() == len(HUMAN_FORWARDED_BOUNCES)
    # Every ignored message says why (bounce, feedback report, auto-reply, list manager, ...).
    assert all(reason for name, (outcome, reason) in outcomes.items() if outcome == "ignored")


def test_ingest_mail_counts_the_sets_non_bounces_as_created():
    out = io.StringIO()
    call_command("ingest_mail", str(CORPUS / "not-automated"), "--json", stdout=out, stderr=io.StringIO())
    counts = json.loads(out.getvalue().strip().splitlines()[-1])
    assert counts == {
        "created": len(NOT_AUTOMATED),
        "threaded": 0,
        "duplicates": 0,
        "ignored": 0,
        "quarantined": 0,
    }


@pytest.mark.parametrize("path", NOT_AUTOMATED, ids=lambda p: p.name)
def test_the_sets_non_bounces_are_taken_in_as_tickets(path):
    inbound = inbound_message_process(
        inbound=inbound_message_store(raw=path.read_bytes(), source=InboundMessage.Source.FILE, enqueue=False)
    )
    assert inbound_outcome(inbound) == "created"
