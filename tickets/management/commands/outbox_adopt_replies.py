"""Queue in the outbox the replies an older version left `queued` or `sending` (run once after upgrading)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from tickets.outbox.replies import messages_without_delivery, messages_without_delivery_adopt


class Command(BaseCommand):
    help = (
        "Give every public reply left queued or sending without an outbox row (written before the outbox "
        "existed) its outbox row, so the outbox sends it. Safe to run twice."
    )

    def handle(self, *args, **options) -> None:
        waiting = messages_without_delivery().count()
        if not waiting:
            self.stdout.write("No reply is waiting outside the outbox; nothing to do.")
            return
        self.stdout.write(f"{waiting} replies are waiting outside the outbox; queuing them…")
        adopted = messages_without_delivery_adopt(now=timezone.now())
        self.stdout.write(
            f"Queued {len(adopted)} in the outbox; the worker sends them (the outbox sweep picks up any the "
            f"broker misses). {waiting - len(adopted)} had no route to their customer and are marked so."
        )
