"""Ingest email files: `python manage.py ingest_mail PATH [PATH ...] [--json]`.

Each PATH is a Maildir (a directory with cur/, new/ and tmp/), an mbox file (starts with "From "), a single
message file, or a directory: every `.eml`/`.msg` file below it (recursively, sorted by path), plus mbox
files named `*.mbox`. Other files in a directory (LICENSE, notes, text fixtures) are skipped and reported,
never counted. A file named explicitly is always read as a message. Messages go through the same
store-then-process services as IMAP and webhooks, synchronously: each batch of up to BATCH messages is
stored in one transaction, then processed message by message, with `--workers N` on N processes (each
conversation on one of them, in order; see tickets/email/parallel.py).
"""

import json
import mailbox
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.email.inbound import OUTCOMES, inbound_messages_store, inbound_outcome
from tickets.email.parallel import InboundWorkers
from tickets.models import InboundMessage

MESSAGE_SUFFIXES = {".eml", ".msg"}
MBOX_SUFFIXES = {".mbox"}
PROGRESS_EVERY = 100
BATCH = 200


class UnreadablePath(Exception):
    pass


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _messages_in_file(path: Path) -> Iterator[tuple[str, bytes]]:
    if _is_mbox(path):
        box = mailbox.mbox(path, create=False)
        try:
            for index, key in enumerate(box.iterkeys()):
                yield f"{path}#{index + 1}", box.get_bytes(key)
        finally:
            box.close()
    else:
        yield str(path), path.read_bytes()


def _messages_in_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.iterkeys()):
        yield f"{path}/{key}", box.get_bytes(key)


def messages_at(path: Path, skipped: list[Path]) -> Iterator[tuple[str, bytes]]:
    """Yield (origin, raw bytes) per message at `path`; other files in a directory go to `skipped`."""
    if not path.exists():
        raise UnreadablePath(f"{path}: no such file or directory")
    try:
        if _is_maildir(path):
            yield from _messages_in_maildir(path)
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                suffix = child.suffix.lower()
                if suffix in MESSAGE_SUFFIXES:
                    yield str(child), child.read_bytes()
                elif suffix in MBOX_SUFFIXES:
                    yield from _messages_in_file(child)
                else:
                    skipped.append(child)
        else:
            yield from _messages_in_file(path)
    except OSError as error:
        raise UnreadablePath(f"{path}: {error.strerror or error}") from error


class Command(BaseCommand):
    help = (
        "Turn email files into tickets: .eml files, directories of them, mbox files or Maildirs. "
        "Prints a summary; with --json the last line is a JSON object of counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="file, directory, mbox or Maildir")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print the counts as JSON on the last line"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            metavar="N",
            help="process on N processes (default 1); each conversation stays in order on one of them",
        )

    def handle(self, *args, paths: list[str], as_json: bool = False, workers: int = 1, **options) -> None:
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        counts: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})
        errors: list[str] = []
        skipped: list[Path] = []
        verbose = options.get("verbosity", 1) >= 2
        total = 0

        def flush(batch: list[tuple[str, bytes]]) -> None:
            nonlocal total
            rows = inbound_messages_store(messages=batch, source=InboundMessage.Source.FILE)
            for (origin, _raw), inbound in zip(
                batch, pool.process(rows, [raw for _, raw in batch]), strict=True
            ):
                counts[inbound_outcome(inbound)] += 1
                total += 1
                if verbose:
                    self.stdout.write(f"{origin}: {inbound_outcome(inbound)} {inbound.reason}".rstrip())
                if total % PROGRESS_EVERY == 0:
                    sys.stderr.write(f"... {total} messages\n")
            batch.clear()

        with InboundWorkers(workers) as pool:
            for name in paths:
                path = Path(name)
                batch: list[tuple[str, bytes]] = []
                try:
                    for origin, raw in messages_at(path, skipped):
                        batch.append((origin, raw))
                        if len(batch) >= BATCH:
                            flush(batch)
                except UnreadablePath as error:
                    errors.append(str(error))
                    self.stderr.write(f"Cannot read {error}")
                if batch:
                    flush(batch)
        summary = (
            f"{total} message(s): {counts['created']} created, {counts['threaded']} threaded, "
            f"{counts['duplicates']} duplicate(s), {counts['ignored']} ignored, "
            f"{counts['quarantined']} quarantined"
        )
        if skipped:
            summary += f"; {len(skipped)} non-message file(s) skipped"
        self.stdout.write(summary + ".")
        if as_json:
            self.stdout.write(_json_line(counts))
        if errors:
            raise CommandError(
                f"{len(errors)} path(s) could not be read (the others were processed): " + "; ".join(errors)
            )


def _json_line(counts: Counter[str]) -> str:
    return json.dumps({outcome: int(counts[outcome]) for outcome in OUTCOMES})
