"""Our own email addresses, read from settings, mailboxes and teams (loop protection in and out)."""

from django.conf import settings

from tickets.config_cache import cached
from tickets.models import Mailbox, Team


def own_addresses() -> frozenset[str]:
    """Every address we send from or receive at (loop protection), lower case.

    The mailboxes' and teams' addresses are cached per process (tickets/config_cache.py).
    """
    configured = frozenset(a.strip().lower() for a in settings.HELPDESK_SUPPORT_ADDRESSES if a.strip())
    return configured | cached("own_addresses", _stored_addresses)


def _stored_addresses() -> frozenset[str]:
    addresses: set[str] = set()
    for mailbox_addresses in Mailbox.objects.values_list("addresses", flat=True):
        addresses.update(str(a).strip().lower() for a in mailbox_addresses or [] if str(a).strip())
    addresses.update(
        a.lower() for a in Team.objects.exclude(email_address="").values_list("email_address", flat=True)
    )
    return frozenset(addresses)
