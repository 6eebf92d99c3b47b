"""Process batches of stored inbound messages on several processes without reordering a conversation.

`partition_conversations` (pure, tickets/mail/threading.py) splits a batch into lists such that every
conversation (messages tied by Message-ID, In-Reply-To/References, subject or ticket reference) is in one
list, in arrival order; each list is processed in order by one worker process. A reply therefore never
overtakes the message it answers, while unrelated conversations use every core.
"""

import multiprocessing
from dataclasses import dataclass

from django.db import connections

from tickets.email.inbound import inbound_message_process
from tickets.mail.threading import partition_conversations
from tickets.models import InboundMessage


@dataclass(frozen=True)
class Processed:
    pk: int
    state: str
    reason: str
    created_ticket: bool


def _process_in_order(pks: list[int]) -> list[Processed]:
    processed = []
    for pk in pks:
        row = inbound_message_process(inbound=pk)
        processed.append(Processed(row.pk, row.state, row.reason, row.created_ticket))
    return processed


# A worker keeps the connection objects it inherited alive: freeing one would end the parent's database
# session over the socket they share. Workers leave with os._exit, so nothing is freed at the end either.
_inherited_connections: list[object] = []


def _own_connections() -> None:
    """Pool initializer: the worker forgets the database connections it inherited and opens its own.

    The parent closes its connections before forking, but Django does not close one it considers closed
    inside a transaction (`closed_in_transaction`), and a worker that used an inherited socket would
    interleave its queries with the parent's (a test hung that way). `connect()` resets the rest of the
    connection's transaction state.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _inherited_connections.append(connection.connection)
            connection.connection = None


class InboundWorkers:
    """`workers` processes (forked once, reused for every batch); with 1, everything runs in this process."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._pool = None

    def __enter__(self) -> "InboundWorkers":
        if self.workers > 1:
            # A forked worker must never talk over its parent's database socket: close it before forking
            # (and each worker drops whatever it still inherited, `_own_connections`); every process, the
            # parent too, opens its own connection when it next needs one.
            connections.close_all()
            self._pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_own_connections)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def process(self, rows: list[InboundMessage], raws: list[bytes]) -> list[InboundMessage]:
        """Process stored rows (with their raw bytes, in arrival order); returns them with their outcome."""
        if self._pool is None:
            return [inbound_message_process(inbound=row) for row in rows]
        parts = partition_conversations(raws, self.workers)
        outcomes = {
            item.pk: item
            for done in self._pool.map(_process_in_order, [[rows[i].pk for i in part] for part in parts])
            for item in done
        }
        for row in rows:
            outcome = outcomes[row.pk]
            row.state, row.reason, row.created_ticket = outcome.state, outcome.reason, outcome.created_ticket
        return rows
