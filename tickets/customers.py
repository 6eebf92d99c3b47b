"""Customer identity across channels: find or create the one customer behind an address, merge duplicates.

A customer is identified by an email address (case-insensitive), a phone number (stored in E.164) or a
channel handle (`CustomerHandle`: channel, platform, handle). The database constraints on those
columns are what prevents duplicates under concurrency; the services here retry on IntegrityError.
"""

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from tickets.config_cache import cached
from tickets.exceptions import CustomerIdentityError, CustomerMergeRefused
from tickets.models import (
    Channel,
    Customer,
    CustomerHandle,
    CustomerMerge,
    Message,
    Organization,
    PhoneCall,
    Team,
    Ticket,
)
from tickets.selectors import ticket_visibility_q, user_is_admin
from tickets.services import audit_field_change

# A customer row can be re-read a few times when concurrent creators collide; more means a real fault.
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class HandleInput:
    channel: str
    handle: str
    platform: str = ""


def normalize_email(email: str) -> str:
    """The address trimmed, with a lower-case domain; raises CustomerIdentityError if it is not an address."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise CustomerIdentityError(
            f"{email!r} is not a valid email address; write it like name@example.com."
        ) from error
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(phone: str, *, region: str | None = None) -> str:
    """The number in E.164 (+14155550123); numbers without a country code use the default region."""
    raw = (phone or "").strip()
    region = region if region is not None else settings.HELPDESK_DEFAULT_PHONE_REGION
    hint = "write it in international form, e.g. +14155550123"
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and not region:
            hint += " (no default region is set: HELPDESK_DEFAULT_PHONE_REGION)"
        raise CustomerIdentityError(f"{raw!r} is not a phone number; {hint}.") from error
    if not phonenumbers.is_valid_number(number):
        raise CustomerIdentityError(f"{raw!r} is not a valid phone number; {hint}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalize_handle(handle: HandleInput) -> HandleInput:
    value = (handle.handle or "").strip()
    if not value:
        raise CustomerIdentityError("A channel handle cannot be empty.")
    if handle.channel not in Channel.values:
        raise CustomerIdentityError(
            f"Unknown channel {handle.channel!r}; expected one of {', '.join(Channel.values)}."
        )
    # Handles on social platforms are case-insensitive (@Acme is @acme); chat ids are kept as given.
    if handle.channel == Channel.SOCIAL:
        value = value.lstrip("@").lower()
    return HandleInput(
        channel=handle.channel, handle=value[:200], platform=handle.platform.strip().lower()[:40]
    )


def _surviving(customer: Customer | None) -> Customer | None:
    """Follow merges to the customer that absorbed this one."""
    seen = set()
    while customer is not None and customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = customer.merged_into
    return customer


def _with_email(email: str):
    # LOWER(email) = lower(address): the unique index customer_email_unique_ci, where `iexact` (UPPER on
    # PostgreSQL) would scan every customer.
    return Customer.objects.alias(email_lower=Lower("email")).filter(
        email__isnull=False, email_lower=email.lower()
    )


def _find(*, email: str | None, phone: str | None, handle: HandleInput | None) -> Customer | None:
    """Email wins over phone, phone over handle: an email address is the strongest identity we get."""
    if email:
        found = _with_email(email).first()
        if found:
            return _surviving(found)
    if phone:
        found = Customer.objects.filter(phone=phone).first()
        if found:
            return _surviving(found)
    if handle:
        found = (
            CustomerHandle.objects.filter(
                channel=handle.channel, platform=handle.platform, handle=handle.handle
            )
            .select_related("customer")
            .first()
        )
        if found:
            return _surviving(found.customer)
    return None


def organization_for_email(email: str | None) -> Organization | None:
    if not email:
        return None
    domain = email.rpartition("@")[2].lower()
    return cached("organizations_by_domain", _organizations_by_domain).get(domain)


def _organizations_by_domain() -> dict[str, Organization]:
    """Each email domain's organization (the first by id when two claim one); cached per process."""
    domains: dict[str, Organization] = {}
    for organization in Organization.objects.order_by("pk"):
        for domain in organization.email_domains or []:
            domains.setdefault(str(domain).strip().lower().lstrip("@"), organization)
    return domains


def _complete(
    customer: Customer, *, email: str | None, phone: str | None, handle: HandleInput | None, name: str
) -> Customer:
    """Add identifiers the customer lacks, unless another customer already owns them."""
    update_fields = []
    if email and not customer.email and not _with_email(email).exists():
        customer.email = email
        update_fields.append("email")
    if phone and not customer.phone and not Customer.objects.filter(phone=phone).exists():
        customer.phone = phone
        update_fields.append("phone")
    if name and not customer.name:
        customer.name = name
        update_fields.append("name")
    if customer.organization_id is None:
        organization = organization_for_email(customer.email)
        if organization is not None:
            customer.organization = organization
            update_fields.append("organization")
    if update_fields:
        try:
            with transaction.atomic():
                customer.save(update_fields=update_fields)
        except IntegrityError:
            # Another request gave the identifier to a different customer meanwhile; keep what we have.
            customer.refresh_from_db()
    if handle:
        try:
            with transaction.atomic():
                CustomerHandle.objects.get_or_create(
                    channel=handle.channel,
                    platform=handle.platform,
                    handle=handle.handle,
                    defaults={"customer": customer},
                )
        except IntegrityError:
            pass
    return customer


# No transaction of its own: finding the customer (nearly every call) is one read, and each write below
# runs in the savepoint that catches its concurrent twin.
def customer_get_or_create(
    *,
    email: str | None = None,
    phone: str | None = None,
    handle: HandleInput | None = None,
    name: str = "",
) -> Customer:
    """The customer behind these identifiers, created if none matches; never a duplicate.

    Raises CustomerIdentityError for an invalid email or phone, or when no identifier is given.
    """
    email = normalize_email(email) if email else None
    phone = normalize_phone(phone) if phone else None
    handle = _normalize_handle(handle) if handle else None
    name = (name or "").strip()[:200]
    if not (email or phone or handle):
        raise CustomerIdentityError("Give an email address, a phone number or a channel handle.")
    for _ in range(_CREATE_ATTEMPTS):
        customer = _find(email=email, phone=phone, handle=handle)
        if customer is not None:
            return _complete(customer, email=email, phone=phone, handle=handle, name=name)
        try:
            # A savepoint: when a concurrent request created the same customer first, the unique
            # constraint fails here and the loop reads the winner.
            with transaction.atomic():
                customer = Customer.objects.create(
                    name=name, email=email, phone=phone, organization=organization_for_email(email)
                )
                if handle:
                    CustomerHandle.objects.create(
                        customer=customer,
                        channel=handle.channel,
                        platform=handle.platform,
                        handle=handle.handle,
                    )
            return customer
        except IntegrityError:
            continue
    raise CustomerIdentityError("Could not create the customer because of concurrent changes; try again.")


def customer_merge_check(*, actor: AbstractBaseUser | None, source: Customer, target: Customer) -> None:
    """Refuse a merge the actor may not make: only admins and team leads merge customers, and a lead only
    customers all of whose tickets they can see (a merge moves tickets and reveals contact details, so it
    must not reach into another team's customers). `actor=None` is the system itself."""
    if actor is None or user_is_admin(actor):
        return
    if not Team.objects.filter(lead=actor).exists():
        raise CustomerMergeRefused("Only team leads and admins can merge customers.")
    hidden = Ticket.objects.filter(customer__in=[source.pk, target.pk]).exclude(ticket_visibility_q(actor))
    if hidden.exists():
        raise CustomerMergeRefused(
            "One of these customers has tickets in a team outside yours; ask an administrator to merge them."
        )


@transaction.atomic
def customer_merge(
    *, source: Customer, target: Customer, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Customer:
    """Merge `source` into `target`: tickets (with their calls and survey invitations), handles, message
    authorship and earlier merges move; `source` is marked merged and a `CustomerMerge` row records it.

    The target keeps its own email and phone and takes the source's where it has none; the source keeps
    the rest, and lookups by them find the target (`customer_get_or_create` follows merges). Each moved
    ticket gets an audit entry. Merging a customer again into the customer it was merged into changes
    nothing (idempotent). Raises CustomerMergeRefused when the actor may not merge these two
    (`customer_merge_check`) and CustomerIdentityError when the merge is impossible.
    """
    now = now or timezone.now()
    if source.pk == target.pk:
        raise CustomerIdentityError("A customer cannot be merged into itself.")
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    customer_merge_check(actor=actor, source=source, target=target)
    if source.merged_into_id == target.pk:
        return target
    if source.merged_into_id is not None:
        raise CustomerIdentityError(f"{source} was already merged into another customer.")
    if target.merged_into_id is not None:
        raise CustomerIdentityError(
            f"{target} was merged into another customer; merge into that one instead."
        )

    ticket_ids = list(Ticket.objects.filter(customer=source).order_by("pk").values_list("pk", flat=True))
    Ticket.objects.filter(pk__in=ticket_ids).update(customer=target)
    for ticket_id in ticket_ids:
        audit_field_change(
            ticket=Ticket(pk=ticket_id),
            field="customer",
            old=source,
            new=target,
            now=now,
            actor=actor,
            details={"reason": "customer merge", "source_customer": source.pk, "target_customer": target.pk},
        )
    handles = CustomerHandle.objects.filter(customer=source).update(customer=target)
    Message.objects.filter(author_customer=source).update(author_customer=target)
    # Customers merged into the source earlier now point at the target: lookups stay one step long.
    Customer.objects.filter(merged_into=source).update(merged_into=target)

    moved_email, moved_phone = source.email, source.phone
    source.merged_into = target
    update_fields = ["merged_into"]
    if moved_email and not target.email:
        source.email = None
        update_fields.append("email")
    if moved_phone and not target.phone:
        source.phone = None
        update_fields.append("phone")
    # The source must release its email/phone before the target takes them (unique constraints).
    source.save(update_fields=update_fields)

    target_fields = []
    if moved_email and not target.email:
        target.email = moved_email
        target_fields.append("email")
    if moved_phone and not target.phone:
        target.phone = moved_phone
        target_fields.append("phone")
    if source.name and not target.name:
        target.name = source.name
        target_fields.append("name")
    if target.organization_id is None and source.organization_id is not None:
        target.organization_id = source.organization_id
        target_fields.append("organization")
    if source.is_vip and not target.is_vip:
        target.is_vip = True
        target_fields.append("is_vip")
    if target_fields:
        target.save(update_fields=target_fields)
    CustomerMerge.objects.create(
        source=source,
        target=target,
        actor=actor,
        ticket_ids=ticket_ids,
        details={
            "handles": handles,
            "phone_calls": PhoneCall.objects.filter(ticket_id__in=ticket_ids).count(),
            "took": target_fields,
        },
        created_at=now,
    )
    return target
