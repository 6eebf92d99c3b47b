import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse

from helpdesk.outbound_http import OutboundURLRefused, outbound_url_check
from tickets import transitions


class Status(models.TextChoices):
    NEW = transitions.NEW, transitions.LABELS[transitions.NEW]
    OPEN = transitions.OPEN, transitions.LABELS[transitions.OPEN]
    PENDING = transitions.PENDING, transitions.LABELS[transitions.PENDING]
    ON_HOLD = transitions.ON_HOLD, transitions.LABELS[transitions.ON_HOLD]
    SOLVED = transitions.SOLVED, transitions.LABELS[transitions.SOLVED]
    CLOSED = transitions.CLOSED, transitions.LABELS[transitions.CLOSED]


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# Ordering of priorities for escalation ("raise priority") and sorting.
PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    SOCIAL = "social", "Social"
    API = "api", "API"


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    email_domains = models.JSONField(
        default=list, blank=True, help_text="Email domains whose senders belong to this organization."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=32, null=True, blank=True, help_text="E.164, e.g. +4512345678")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    is_vip = models.BooleanField("VIP", default=False)
    notes = models.TextField(blank=True)
    email_undeliverable_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set after repeated hard bounces (HELPDESK_HARD_BOUNCE_LIMIT); clear it once it works.",
    )
    email_undeliverable_reason = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=Q(email__isnull=False), name="customer_email_unique_ci"
            ),
            models.UniqueConstraint(
                fields=["phone"], condition=Q(phone__isnull=False), name="customer_phone_unique"
            ),
        ]

    def __str__(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or self.phone or f"Customer {self.pk}"

    @property
    def first_name(self) -> str:
        return (self.name or "").split(" ")[0]


class CustomerHandle(models.Model):
    """A customer's identity on a channel other than email or phone (chat id, social handle)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="handles")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    platform = models.CharField(max_length=40, blank=True, help_text="e.g. twitter, facebook, whatsapp")
    handle = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "platform", "handle"], name="customer_handle_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.platform}:{self.handle}"


class Skill(models.Model):
    name = models.CharField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    class AssignmentStrategy(models.TextChoices):
        QUEUE = "queue", "Leave in the queue"
        ROUND_ROBIN = "round_robin", "Round-robin"
        LEAST_LOADED = "least_loaded", "Least loaded"
        SKILL_BASED = "skill_based", "Skill-based, then least loaded"

    name = models.CharField(max_length=100, unique=True)
    email_address = models.EmailField(blank=True, help_text="The team's support address, if it has its own.")
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )
    assignment_strategy = models.CharField(
        max_length=20, choices=AssignmentStrategy.choices, default=AssignmentStrategy.QUEUE
    )
    round_robin_last_agent = models.ForeignKey(
        "Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="Round-robin pointer: the agent who got the team's last automatic assignment.",
    )
    is_default = models.BooleanField(
        "default team",
        default=False,
        help_text="Tickets that no routing rule gives a team go to this team (one team at most).",
    )
    auto_ack_enabled = models.BooleanField(
        "send auto-acknowledgements",
        default=False,
        help_text="Answer each new email ticket of this team with the template below "
        "(never sent to automatic mail or to our own addresses).",
    )
    auto_ack_template = models.TextField(
        blank=True,
        help_text="Django template text; context: ticket, customer, reference. "
        "Empty uses a short default text.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="team_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """The helpdesk side of a Django user who works tickets."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    teams = models.ManyToManyField(Team, blank=True, related_name="agents")
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    capacity = models.PositiveIntegerField(
        default=20, help_text="How many unsolved tickets the agent can hold."
    )
    is_available = models.BooleanField(
        default=True, help_text="Away agents are skipped by automatic assignment."
    )

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Tag(models.Model):
    name = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketManager(models.Manager):
    """Leaves `search_vector` out of loaded tickets: lists need not fetch it, and a `save()` of a loaded
    ticket then cannot write back a document older than the triggers' (Django saves only loaded fields)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().defer("search_vector")


# `Ticket.next_sla_due_at` for tickets without a running SLA clock when sorting by it: after every real
# due time, and not null, so cursor pagination (which compares the first ordering column) works on it.
NO_SLA_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def new_reply_token() -> str:
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y").lower()


class Ticket(models.Model):
    reference = models.CharField(max_length=32, unique=True, null=True, editable=False)
    subject = models.CharField(max_length=250)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    required_skills = models.ManyToManyField(Skill, blank=True, related_name="tickets")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opened_tickets",
        help_text="The agent who opened the ticket on the customer's behalf, if any.",
    )
    is_auto_generated = models.BooleanField(
        default=False, help_text="Came from automatically generated mail (no surveys, no acknowledgements)."
    )
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="followed_tickets",
        help_text="Agents told about each update of the ticket (they must be able to see it).",
    )
    reply_token = models.CharField(max_length=32, unique=True, default=new_reply_token, editable=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    next_sla_due_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The earliest due instant of a running or breached, unfulfilled SLA clock, stored for "
        "queue ordering; written by the SLA engine in the transaction that changes the clocks.",
    )
    # What the queue views and `?sla_state=` read of the SLA clocks, stored like `next_sla_due_at` by the SLA
    # engine and sweep in the transaction that changes the clocks (`sla.services.engine
    # .sla_tickets_store_state`), so each view is a comparison with the current instant on an indexed column
    # of the ticket instead of a search through two million clocks.
    sla_breach_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Breached at every instant after this one: the earliest due instant of a running SLA "
        "clock, or the earliest breach of a clock still waiting to be fulfilled; empty with neither.",
    )
    sla_warn_from = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The earliest warning instant of a running SLA clock not yet due (its warning window "
        "runs to its due instant); empty without one.",
    )
    sla_warn_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The latest end of those warning windows."
    )
    sla_warn_one_window = models.BooleanField(
        default=True,
        editable=False,
        help_text="The warning windows overlap, so the ticket is breaching soon exactly from sla_warn_from "
        "to sla_warn_until; otherwise the clocks tell which instants between them are in a window.",
    )
    # The search document (tickets/search.py; similar-ticket ranking may reuse it). Written only by the
    # PostgreSQL triggers of migration 0015_ticket_search, which also create its GIN index; never set it
    # from Python.
    search_vector = SearchVectorField(
        null=True,
        editable=False,
        help_text="PostgreSQL full-text document (config 'helpdesk'): subject weight A, message text "
        "weight B; kept current by database triggers. Empty on SQLite.",
    )

    objects = TicketManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-created_at", "-pk"]
        indexes = [
            # By status, with the visibility rule's columns: the desk counts "Solved", "Closed" and "All
            # tickets" on the entries (the rule is an OR of team and assignee).
            models.Index(fields=["status", "team", "assignee"], name="ticket_status_team_assignee"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["updated_at"], name="ticket_updated"),
            # The metrics place tickets by these instants; the rollup's raw days read them by range.
            models.Index(fields=["first_response_at"], name="ticket_first_response"),
            models.Index(fields=["solved_at"], name="ticket_solved"),
            models.Index(
                fields=["closed_at"], condition=Q(solved_at__isnull=True), name="ticket_closed_unsolved"
            ),
            models.Index(
                fields=["solved_at"], condition=Q(status=transitions.SOLVED), name="ticket_solved_to_close"
            ),
            # The `next_sla_due` order (`TICKET_ORDERINGS`), exactly as the API sorts.
            models.Index(
                Coalesce("next_sla_due_at", models.Value(NO_SLA_DUE)), "id", name="ticket_next_sla_due"
            ),
            # A team's tickets in some statuses, newest first (`?team=&status=`, the default order).
            models.Index(fields=["team", "status", "-created_at"], name="ticket_team_status_created"),
            # The desk's views and counts read unsolved tickets only (a minority of a year's tickets):
            # "mine" newest first, "unassigned in my teams" newest first, counts per team and assignee.
            models.Index(
                fields=["assignee", "-created_at"],
                condition=Q(status__in=sorted(transitions.UNSOLVED)),
                name="ticket_unsolved_assignee",
            ),
            models.Index(
                fields=["team", "-created_at"],
                condition=Q(status__in=sorted(transitions.UNSOLVED), assignee__isnull=True),
                name="ticket_unsolved_unassigned",
            ),
            models.Index(
                fields=["team", "assignee", "status"],
                condition=Q(status__in=sorted(transitions.UNSOLVED)),
                name="ticket_unsolved_counts",
            ),
            # A team's unsolved tickets by their next SLA due instant: the breach forecast's breached
            # ones (before now), those due within its horizon, and those due first (sla.selectors).
            models.Index(
                fields=["team", "next_sla_due_at"],
                condition=Q(status__in=sorted(transitions.UNSOLVED)),
                name="ticket_unsolved_team_next_due",
            ),
            # The desk's views of unsolved tickets other than "mine" and "unassigned" are filtered by the
            # visibility rule, an OR of team and assignee: these indexes carry both, so the rule is checked
            # on the index entries (no heap visit, no bitmap of every candidate) while the list walks them
            # newest first and each capped count stops at its cap. "All open", "Breached" (dense on a desk
            # that is behind) and "Pending":
            models.Index(
                models.OrderBy(models.F("created_at"), descending=True),
                include=["team", "assignee", "status", "sla_breach_at"],
                condition=Q(status__in=sorted(transitions.UNSOLVED)),
                name="ticket_unsolved_created",
            ),
            # "Breached" where breaches are few: the tickets breached before now. Only open clocks set
            # `sla_breach_at` and `sla_warn_from`, so these hold unsolved tickets without saying so, and
            # also serve `?sla_state=`, which does not filter by status.
            models.Index(
                fields=["sla_breach_at"],
                include=["team", "assignee", "status", "created_at"],
                condition=Q(sla_breach_at__isnull=False),
                name="ticket_sla_breach",
            ),
            # "Breaching soon" and `?sla_state=breaching_soon`: the tickets whose warning began before now
            # (those not yet due are the view), a few days' worth of tickets whatever the size of the
            # desk, where walking newest first crossed every newer ticket (60,000 at a million).
            models.Index(
                fields=["sla_warn_from"],
                include=["sla_warn_until", "sla_warn_one_window", "team", "assignee", "status", "created_at"],
                condition=Q(sla_warn_from__isnull=False),
                name="ticket_sla_warning",
            ),
            # The few tickets whose warning windows leave gaps (their clocks decide whether they are
            # breaching soon): counted apart from the rest, through this index, so that neither count reads
            # a clock for every ticket past its warning (`sla.selectors.breaching_soon_arms`).
            models.Index(
                fields=["sla_warn_from"],
                condition=Q(sla_warn_from__isnull=False, sla_warn_one_window=False),
                name="ticket_sla_warning_gaps",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    @property
    def is_unsolved(self) -> bool:
        return self.status in transitions.UNSOLVED


class Message(models.Model):
    class AuthorRole(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal note"

    class DeliveryStatus(models.TextChoices):
        NOT_APPLICABLE = "", "—"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        NO_ROUTE = "no_route", "Not sent: no route to the customer"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_role = models.CharField(max_length=10, choices=AuthorRole.choices)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    body_text = models.TextField(blank=True, help_text="The visible new text (quoted history stripped).")
    body_html = models.TextField(blank=True, help_text="Sanitised HTML, safe to render.")
    full_text = models.TextField(blank=True, help_text="The original text including quoted history.")
    is_automatic = models.BooleanField(
        default=False, help_text="Sent by the system (acknowledgements, notices); never counts as a response."
    )
    email_message_id = models.CharField(max_length=998, null=True, blank=True)
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.NOT_APPLICABLE, blank=True
    )
    delivery_error = models.TextField(blank=True)
    macro = models.ForeignKey(
        "Macro",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        help_text="The canned response the reply was written from (suggested first on similar tickets).",
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["email_message_id"],
                condition=Q(email_message_id__isnull=False),
                name="message_email_message_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_author_role_display()} {self.get_visibility_display()} on {self.ticket_id}"

    @property
    def is_public_agent_reply(self) -> bool:
        return (
            self.author_role == self.AuthorRole.AGENT
            and self.visibility == self.Visibility.PUBLIC
            and not self.is_automatic
        )


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    return f"attachments/{secrets.token_hex(8)}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    is_inline = models.BooleanField(default=False)
    rejected_reason = models.CharField(
        max_length=255, blank=True, help_text="Why the content was not stored (e.g. over the size limit)."
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename

    def get_absolute_url(self) -> str:
        """The workspace download, which checks that the user may see the ticket."""
        return reverse("workspace:attachment", args=[self.pk])

    @property
    def is_rejected(self) -> bool:
        return bool(self.rejected_reason)


class AuditEntry(models.Model):
    """One change to a ticket: who, what, when, old and new value."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        FIELD_CHANGED = "field_changed", "Field changed"
        MESSAGE_ADDED = "message_added", "Message added"
        TAG_ADDED = "tag_added", "Tag added"
        TAG_REMOVED = "tag_removed", "Tag removed"
        MERGED_FROM = "merged_from", "Merged from another ticket"
        MERGED_INTO = "merged_into", "Merged into another ticket"
        FOLLOW_UP_CREATED = "follow_up_created", "Follow-up created"
        ROUTED = "routed", "Routed"
        SLA = "sla", "SLA"
        SURVEY = "survey", "Survey"
        EMAIL = "email", "Email"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="Who acted when not a user: customer, system, a routing rule."
    )
    action = models.CharField(max_length=30, choices=Action.choices)
    field = models.CharField(max_length=50, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.old_value!r} → {self.new_value!r}"
        return self.get_action_display()


class TicketMetrics(models.Model):
    """Per-ticket metric columns kept current by the services, so reports aggregate in the database."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="metrics")
    first_response_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    first_response_business_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    resolution_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    resolution_business_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    first_resolution_seconds = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Creation to the first solve; kept through reopens."
    )
    first_resolution_business_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    # Status-time totals (Zendesk's multi-event metrics): each status interval is added when it ends,
    # in calendar seconds and in business seconds of the ticket's calendar at that moment.
    requester_wait_seconds = models.PositiveBigIntegerField(default=0, help_text="New, open and on-hold.")
    requester_wait_business_seconds = models.PositiveBigIntegerField(default=0)
    agent_work_seconds = models.PositiveBigIntegerField(default=0, help_text="New and open.")
    agent_work_business_seconds = models.PositiveBigIntegerField(default=0)
    agent_wait_seconds = models.PositiveBigIntegerField(default=0, help_text="Pending.")
    agent_wait_business_seconds = models.PositiveBigIntegerField(default=0)
    on_hold_seconds = models.PositiveBigIntegerField(default=0)
    on_hold_business_seconds = models.PositiveBigIntegerField(default=0)
    status_since = models.DateTimeField(
        null=True, blank=True, help_text="When the current status began (the open status interval)."
    )
    agent_public_replies = models.PositiveIntegerField(
        default=0,
        help_text="Public agent comments, except the opening comment of an agent-created ticket.",
    )
    customer_messages = models.PositiveIntegerField(default=0)
    reopens = models.PositiveIntegerField(default=0)
    team_stations = models.PositiveIntegerField(default=0, help_text="How many times a team took the ticket.")
    assignee_stations = models.PositiveIntegerField(
        default=0, help_text="How many times an agent took the ticket."
    )
    solved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The assignee when the ticket was (last) solved.",
    )

    class Meta:
        verbose_name_plural = "ticket metrics"

    def __str__(self) -> str:
        return f"Metrics of ticket {self.ticket_id}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        ASSIGNMENT = "assignment", "Assignment"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breach"
        POOR_SURVEY = "poor_survey", "Poor survey answer"
        DELIVERY_FAILURE = "delivery_failure", "Delivery failure"
        MENTION = "mention", "Mention"
        TICKET_UPDATE = "ticket_update", "Update on a followed ticket"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=250)
    body = models.TextField(blank=True)
    dedupe_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="Makes a notification idempotent per recipient (e.g. 'breach:clock:42').",
    )
    created_at = models.DateTimeField(help_text="When the latest event it stands for happened.")
    occurrences = models.PositiveIntegerField(
        default=1, help_text="How many events of this kind on this ticket it stands for while unread."
    )
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], condition=~Q(dedupe_key=""), name="notification_dedupe"
            ),
            # One unread entry per recipient, ticket and kind: a second event updates it.
            models.UniqueConstraint(
                fields=["recipient", "ticket", "kind"],
                condition=Q(read_at__isnull=True, ticket__isnull=False),
                name="notification_one_unread_per_ticket_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# Kinds emailed to someone who has not chosen (NotificationPreference): everything that asks them to act;
# updates on followed tickets stay in the bell.
DEFAULT_EMAILED_NOTIFICATION_KINDS = tuple(
    kind for kind in Notification.Kind if kind != Notification.Kind.TICKET_UPDATE
)


def default_emailed_notification_kinds() -> list[str]:
    return [str(kind) for kind in DEFAULT_EMAILED_NOTIFICATION_KINDS]


class NotificationPreference(models.Model):
    """Which kinds of notification a user also gets by email (every kind is always shown in the bell)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    emailed_kinds = models.JSONField(
        default=default_emailed_notification_kinds,
        blank=True,
        help_text='Notification kinds that are emailed, e.g. ["assignment", "mention"].',
    )

    def __str__(self) -> str:
        return f"Notification email preferences of {self.user_id}"


class CustomerMerge(models.Model):
    """The record of one customer merge: who merged which customer into which, and what moved."""

    source = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="merge_record")
    target = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_absorbed")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_ids = models.JSONField(default=list, blank=True, help_text="The tickets that moved.")
    details = models.JSONField(
        default=dict, blank=True, help_text="Identities and contact details that moved to the target."
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Customer {self.source_id} merged into {self.target_id}"


# --- Intake channels and routing (channels branch) ----------------------------------------------


class RoutingRule(models.Model):
    """One routing rule: when all its conditions hold, its actions apply. Rules run by position; first wins.

    A condition left empty matches everything, so a rule without conditions placed last is the catch-all.
    """

    class VipCondition(models.TextChoices):
        ANY = "any", "Any customer"
        VIP = "vip", "VIP customers only"
        NON_VIP = "non_vip", "Non-VIP customers only"

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, help_text="Lower runs first.")
    is_active = models.BooleanField(default=True)
    channels = models.JSONField(
        default=list, blank=True, help_text='Ticket channels, e.g. ["email", "chat"]; empty for any.'
    )
    received_at_addresses = models.JSONField(
        default=list,
        blank=True,
        help_text="Receiving addresses or mailbox/integration names (case-insensitive); empty for any.",
    )
    keywords = models.JSONField(
        default=list,
        blank=True,
        help_text="Whole words or phrases in the subject or body (case-insensitive); any one matches.",
    )
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="routing_rules", help_text="Empty for any organization."
    )
    vip = models.CharField(max_length=10, choices=VipCondition.choices, default=VipCondition.ANY)
    set_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules"
    )
    set_priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    add_tags = models.JSONField(default=list, blank=True, help_text='Tags to add, e.g. ["billing"].')
    add_required_skills = models.ManyToManyField(Skill, blank=True, related_name="routing_rules")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["is_active", "position"], name="routingrule_active_position")]

    def __str__(self) -> str:
        return f"#{self.position} {self.name}"


class WebFormTopic(models.Model):
    """A choice in the support form's "What is it about?" list, and the team its requests go to."""

    name = models.CharField(max_length=100, unique=True, help_text="As customers see it, e.g. 'Billing'.")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="web_form_topics")
    position = models.PositiveIntegerField(default=0, help_text="Lower is listed first.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class IntegrationKey(models.Model):
    """An API key for one intake integration (chat widget, telephony, social connector).

    Only a SHA-256 hash of the key is stored; the key itself is shown once, when it is created.
    """

    name = models.CharField(max_length=120, unique=True)
    channel = models.CharField(
        max_length=10,
        choices=[(c.value, c.label) for c in (Channel.CHAT, Channel.PHONE, Channel.SOCIAL)],
        help_text="The intake endpoint this key may post to.",
    )
    key_prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    default_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="integration_keys",
        help_text="Team for its tickets when no routing rule sets one.",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    callback_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Where agents' public replies to this integration's conversations are POSTed "
        "(signed like the integrator webhooks); empty: replies go by email when the customer has an address.",
    )
    callback_secret = models.CharField(
        max_length=128,
        default=new_webhook_secret,
        help_text="Shared secret for the HMAC-SHA256 signature of the reply callbacks.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel}, {self.key_prefix}…)"


class ExternalMessage(models.Model):
    """Links a message to its id on the channel it came from, so re-posted messages are not duplicated.

    `conversation_key` groups the messages of one conversation (chat conversation id, social
    platform:handle), which is how a later message finds the conversation's open ticket.
    """

    channel = models.CharField(max_length=10, choices=Channel.choices)
    external_id = models.CharField(max_length=255)
    conversation_key = models.CharField(max_length=255)
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="external")
    integration = models.ForeignKey(
        "IntegrationKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="external_messages",
        help_text="The integration that posted it; replies to the conversation go to its callback.",
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="external_message_unique"),
        ]
        indexes = [models.Index(fields=["channel", "conversation_key"], name="external_message_conv")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"


class PhoneCall(models.Model):
    """One call, answered or abandoned; the source of abandonment rate and average speed of answer."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "Answered"
        ABANDONED = "abandoned", "Abandoned"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="phone_calls")
    external_id = models.CharField(
        max_length=255, null=True, blank=True, help_text="The telephony system's call id, if it sends one."
    )
    scope = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="The namespace of the integration that posted it (its team's, else its own): call ids "
        "and caller threading are per scope, so one team's key never finds another team's calls.",
    )
    caller = models.CharField(max_length=32, help_text="E.164")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    queue_wait_seconds = models.PositiveIntegerField(default=0)
    talk_seconds = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    wrap_up_seconds = models.PositiveIntegerField(
        default=0, help_text="After-call work; handle time is talk plus wrap-up."
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
        help_text="The agent who answered (inbound) or placed (outbound) the call; phone measures follow it.",
    )
    started_at = models.DateTimeField(db_index=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "external_id"],
                condition=Q(external_id__isnull=False),
                name="phone_call_scope_external_unique",
            ),
        ]
        indexes = [models.Index(fields=["caller", "started_at"], name="phone_call_caller_started")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} call from {self.caller} at {self.started_at:%Y-%m-%d %H:%M}"


# --- Outbound webhooks (added with the REST API) ----------------------------------------------------


class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", "Ticket created"
    TICKET_UPDATED = "ticket.updated", "Ticket updated"
    TICKET_SOLVED = "ticket.solved", "Ticket solved"
    SLA_WARNING = "sla.warning", "SLA warning"
    SLA_BREACH = "sla.breach", "SLA breach"
    SURVEY_ANSWERED = "survey.answered", "Survey answered"


class WebhookSubscription(models.Model):
    """An integrator's endpoint that receives signed POSTs for the events it subscribed to."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500, help_text="HTTPS endpoint that receives the POSTs.")
    secret = models.CharField(
        max_length=128,
        default=new_webhook_secret,
        help_text="Shared secret for the HMAC-SHA256 signature; give it to the integrator.",
    )
    events = models.JSONField(
        default=list, blank=True, help_text='Event names to send, e.g. ["ticket.created"]; empty: all.'
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text="Only events of this team's tickets; empty: every team.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    def clean(self) -> None:
        errors = {}
        if not isinstance(self.events, list) or any(e not in WebhookEvent.values for e in self.events):
            errors["events"] = f"Use a list of event names from: {', '.join(WebhookEvent.values)}."
        # SSRF: refuse internal addresses when the subscription is configured; delivery checks again.
        try:
            outbound_url_check(self.url)
        except OutboundURLRefused as error:
            errors["url"] = str(error)
        if errors:
            raise ValidationError(errors)

    def wants(self, event: str, team_id: int | None) -> bool:
        if self.events and event not in self.events:
            return False
        return self.team_id is None or self.team_id == team_id


class WebhookDelivery(models.Model):
    """One event for one subscription: the delivery log and the source of truth for retries."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due (for a sending row: its lease end)."
    )
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} → {self.subscription_id} ({self.status})"


# --- Agent workspace (added with the web UI) ----------------------------------------------------


class Macro(models.Model):
    """A canned response: a body with `{{ object.field }}` placeholders and optional status and tags."""

    name = models.CharField(max_length=120)
    body = models.TextField(
        help_text=(
            "Placeholders: {{ customer.name }}, {{ customer.first_name }}, {{ customer.email }}, "
            "{{ ticket.reference }}, {{ ticket.subject }}, {{ agent.first_name }}, {{ agent.name }}. "
            "Nothing else is evaluated."
        )
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
        help_text="Only offered on this team's tickets; empty: offered everywhere.",
    )
    set_status = models.CharField(
        max_length=10,
        choices=[(Status.PENDING, "Pending"), (Status.SOLVED, "Solved"), (Status.ON_HOLD, "On hold")],
        blank=True,
        help_text="Submit the reply with this status (the agent can still change it).",
    )
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="macros")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class SavedView(models.Model):
    """A named queue view (view, filters and sort) that an agent saved for themselves or for a team."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
        help_text="Shared with this team's members; empty: only the owner sees it.",
    )
    query = models.CharField(max_length=1000, help_text="The queue's query string: view, filters and sort.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class DeskProfile(models.Model):
    """One person's desk settings (agent, lead or admin); without a row the installation's defaults apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="desk_profile"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA time zone the desk shows times in, e.g. 'Europe/Lisbon'; empty: the installation's.",
    )

    def __str__(self) -> str:
        return f"Desk profile of {self.user_id}"


class TicketPresence(models.Model):
    """Who has a ticket open right now: refreshed by the page's heartbeat, stale after a TTL."""

    class Activity(models.TextChoices):
        VIEWING = "viewing", "Viewing"
        TYPING = "typing", "Typing a reply"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    activity = models.CharField(max_length=10, choices=Activity.choices, default=Activity.VIEWING)
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="ticket_presence_unique"),
        ]
        indexes = [models.Index(fields=["ticket", "last_seen_at"], name="ticket_presence_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.activity} {self.ticket_id}"


# --- Email intake and delivery (Mailbox, InboundMessage, TicketParticipant) ----------------------


class Mailbox(models.Model):
    """An IMAP mailbox polled by Celery beat; each new message is stored raw, then processed."""

    class TlsMode(models.TextChoices):
        NONE = "none", "None (plain text; loopback or tests only)"
        STARTTLS = "starttls", "STARTTLS"
        SSL = "ssl", "Implicit TLS (IMAPS)"

    class ProcessedAction(models.TextChoices):
        MARK_SEEN = "mark_seen", "Mark as seen"
        MOVE = "move", "Move to a folder"

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    tls_mode = models.CharField(max_length=10, choices=TlsMode.choices, default=TlsMode.SSL)
    username = models.CharField(max_length=255)
    # Stored in clear text in the database (IMAP needs the plain password); see docs/email.md.
    password = models.CharField(max_length=255)
    folder = models.CharField(max_length=255, default="INBOX")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="mailboxes")
    addresses = models.JSONField(
        default=list,
        blank=True,
        help_text='Support addresses this mailbox receives for, e.g. ["support@example.com"].',
    )
    processed_action = models.CharField(
        max_length=10, choices=ProcessedAction.choices, default=ProcessedAction.MARK_SEEN
    )
    processed_folder = models.CharField(
        max_length=255, blank=True, default="Processed", help_text="Target folder when moving."
    )
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.name


class InboundMessage(models.Model):
    """One received email, stored raw before it is parsed, so nothing is ever lost."""

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        MAILGUN = "mailgun", "Mailgun"
        POSTMARK = "postmark", "Postmark"
        SENDGRID = "sendgrid", "SendGrid"
        WEBHOOK = "webhook", "Other webhook"
        FILE = "file", "File import"

    class State(models.TextChoices):
        STORED = "stored", "Stored (waiting to be processed)"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        DUPLICATE = "duplicate", "Duplicate"
        QUARANTINED = "quarantined", "Quarantined"

    raw_key = models.CharField(
        max_length=100,
        blank=True,
        db_index=True,
        help_text="Key of the raw bytes in the inbound_raw storage (content address: their SHA-256).",
    )
    raw_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the retention policy deleted the raw bytes."
    )
    size = models.PositiveBigIntegerField(default=0)
    source = models.CharField(max_length=10, choices=Source.choices)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    received_for = models.CharField(
        max_length=254, blank=True, help_text="Envelope recipient reported by the source, if any."
    )
    origin = models.CharField(max_length=500, blank=True, help_text="File path or IMAP UID it came from.")
    received_at = models.DateTimeField(db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.STORED)
    reason = models.TextField(blank=True, help_text="Why it was ignored, a duplicate or quarantined.")
    content_hash = models.CharField(max_length=64, db_index=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    ticket_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    created_ticket = models.BooleanField(default=False, help_text="Opened a new ticket (vs. threaded).")
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["state", "received_at"], name="inbound_state_received")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} {self.subject or self.message_id}"[:200]


class EmailBounce(models.Model):
    """A delivery failure reported back for one message we emailed (a DSN or a provider's bounce event).

    One row per message and bounced address, so a re-delivered bounce counts once; the hard ones of an
    address are what flags it undeliverable.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="bounces")
    inbound = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    address = models.EmailField(max_length=254, help_text="The bounced address, lower case.")
    permanent = models.BooleanField(help_text="A hard bounce (5.x.x): the address does not accept mail.")
    status = models.CharField(max_length=16, blank=True, help_text="Enhanced status code, e.g. 5.1.1.")
    diagnostic = models.TextField(blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["message", "address"], name="email_bounce_once_per_address"),
        ]
        indexes = [models.Index(fields=["address", "permanent"], name="email_bounce_address")]

    def __str__(self) -> str:
        return f"{self.address} bounced message {self.message_id}"


class TicketParticipant(models.Model):
    """An address that may write on a ticket by email: its authors and the people CC'd on it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField(max_length=254)
    is_cc = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "ticket", name="ticket_participant_unique_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.email} on {self.ticket_id}"


class IdempotencyKey(models.Model):
    """The answer given to one API create sent with an `Idempotency-Key` header (tickets/api/idempotency.py).

    Written in the same transaction as what the request created, so a retried request either finds this row
    (and gets the same answer without creating anything) or finds nothing because nothing was committed.
    """

    owner = models.CharField(max_length=100, help_text="Who sent it: user:<id> or integration:<id>.")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_unique_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


# --- The outbox: every message that leaves the system (agent replies, acknowledgements, notification
# --- and survey email, reply callbacks) -------------------------------------------------------------


class OutboundDelivery(models.Model):
    """One message on its way out, by email or by a signed callback: the outbox row and its log.

    Written in the transaction of the change that causes it and carrying everything needed to send it
    (rendered email, or callback URL and JSON body), so a worker reads nothing else. `kind` and
    `source_id` name the row it delivers (a message, a ticket's acknowledgement, a notification, a survey
    invitation); they are unique together, so one thing is never queued twice.
    """

    class Kind(models.TextChoices):
        MESSAGE = "message", "Ticket message"
        ACKNOWLEDGEMENT = "acknowledgement", "Web-form acknowledgement"
        NOTIFICATION = "notification", "Agent notification"
        SURVEY = "survey", "Survey invitation"

    class Transport(models.TextChoices):
        EMAIL = "email", "Email"
        CALLBACK = "callback", "Signed callback"

    class State(models.TextChoices):
        PENDING = "pending", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_id = models.PositiveBigIntegerField(help_text="The id of the row it delivers (see kind).")
    transport = models.CharField(max_length=10, choices=Transport.choices)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_deliveries"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Email
    from_email = models.CharField(max_length=500, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True, help_text="Extra headers, Message-ID included.")
    email_message_id = models.CharField(
        max_length=998, blank=True, db_index=True, help_text="Its Message-ID without angle brackets."
    )
    # Callback
    url = models.URLField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    integration = models.ForeignKey(
        IntegrationKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        help_text="Whose callback secret signs it.",
    )
    # Delivery
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due (for a sending row: its lease end)."
    )
    last_error = models.TextField(blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "outbound deliveries"
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="outbound_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="outbound_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.source_id} by {self.transport} ({self.state})"


class PublishedAnswer(models.Model):
    """A public answer an agent wrote from a solved ticket, offered to customers on the support form.

    The title and text are the agent's own, edited for the public: never the customer's words (the form
    starts from the ticket's solving reply, which the agent rewrites). Only published answers are shown.
    """

    ticket = models.OneToOneField(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="published_answer",
        help_text="The solved ticket it was written from.",
    )
    title = models.CharField(max_length=200, help_text="As customers see it, e.g. 'Charged twice? Refunds'.")
    body = models.TextField(max_length=5000, help_text="The public answer, plain text.")
    is_published = models.BooleanField(default=True, help_text="Shown on the support form.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["-updated_at"], condition=Q(is_published=True), name="published_answer_live")
        ]

    def __str__(self) -> str:
        return self.title


class AnswerView(models.Model):
    """A customer opened a suggested answer from a support form (deflection measure, docs/deflection.md).

    `form_token` is the form's anonymous token (one per form shown); `form_submitted_at` is set on every
    view of that form when the form is sent. A form whose answers were viewed and that was not sent
    within the deflection window is counted as deflected.
    """

    answer = models.ForeignKey(PublishedAnswer, on_delete=models.CASCADE, related_name="views")
    form_token = models.CharField(max_length=64)
    viewed_at = models.DateTimeField()
    form_submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["viewed_at"], name="answer_view_viewed"),
            models.Index(fields=["form_token"], name="answer_view_form"),
        ]

    def __str__(self) -> str:
        return f"{self.answer_id} viewed {self.viewed_at:%Y-%m-%d %H:%M}"


class ConfigVersion(models.Model):
    """A counter that moves whenever configuration cached per process changes (tickets/config_cache.py).

    Saving or deleting a team, mailbox, routing rule, SLA policy, calendar, webhook subscription, ... bumps
    it in the same transaction, so every process (web, Celery workers, ingest workers) sees the change as
    soon as it is committed and reloads what it cached.
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"configuration version {self.version}"


# The daily metrics rollup lives with the reports that read it; importing it here registers its models.
from tickets.reporting.models import MetricsHistogram, MetricsRollup, MetricsRollupDay  # noqa: E402, F401
