from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce

from tickets.models import Channel, Organization, Priority, Tag, Team, Ticket


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            f"{value!r} is not an IANA time zone; use a name such as 'Europe/Copenhagen' "
            "or 'America/New_York'."
        ) from error


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Calendar(models.Model):
    """Weekly business hours in one time zone, minus holidays; SLA targets count business time on it."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    holiday_country = models.CharField(
        max_length=8,
        blank=True,
        help_text="ISO 3166 country code whose public holidays the admin action imports.",
    )
    holiday_subdivision = models.CharField(
        max_length=40, blank=True, help_text="State/province code, e.g. 'CA' (optional)."
    )
    is_default = models.BooleanField(
        "default calendar",
        default=False,
        help_text="Business hours of tickets that neither an SLA policy nor their team gives a calendar.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sla_calendar_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"


class TeamCalendar(models.Model):
    """The business hours a team works: its tickets' business-hours metrics when no SLA policy matched."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="team_calendars")

    def __str__(self) -> str:
        return f"{self.team_id} works {self.calendar}"


class BusinessHoursInterval(models.Model):
    """Open from `start` to `end` local time on `weekday`; an end not after the start runs past midnight."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(
        help_text="Not after the start means the interval runs past midnight; 00:00-00:00 is all day."
    )

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="sla_interval_weekday_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="sla_holiday_unique_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    PERIODIC_UPDATE = "periodic_update", "Periodic update"
    RESOLUTION = "resolution", "Resolution"


class Policy(models.Model):
    """Conditions (each optional, any of several values) and targets; the first matching policy applies."""

    class Reassign(models.TextChoices):
        NONE = "", "Do not reassign"
        TEAM_LEAD = "team_lead", "Reassign to the team lead"
        ESCALATION_TEAM = "escalation_team", "Move to the escalation team"

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Lower first; the first matching policy applies."
    )
    is_active = models.BooleanField(default=True)
    priorities = models.JSONField(default=list, blank=True, help_text="Any of these priorities (empty: any).")
    channels = models.JSONField(default=list, blank=True, help_text="Any of these channels (empty: any).")
    teams = models.ManyToManyField(Team, blank=True, related_name="+", help_text="Any of these teams.")
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="+", help_text="Customers of any of these organizations."
    )
    vip = models.BooleanField(
        "VIP", null=True, blank=True, help_text="Yes: VIP customers only; No: non-VIP only; unknown: any."
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="+", help_text="Tickets with any of these tags."
    )
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="policies")
    pause_when_pending = models.BooleanField(default=True, help_text="Resolution clock pauses while pending.")
    pause_when_on_hold = models.BooleanField(default=True, help_text="Resolution clock pauses while on hold.")
    escalate_raise_priority = models.BooleanField(
        default=False, help_text="On breach, raise priority one step."
    )
    escalate_reassign = models.CharField(max_length=20, choices=Reassign.choices, blank=True, default="")
    escalation_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalate_add_tag = models.SlugField(max_length=60, blank=True, help_text="On breach, add this tag.")
    warn_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Warn when this percentage of the target has elapsed (1-99)."
    )
    warn_minutes_before = models.PositiveIntegerField(
        null=True, blank=True, help_text="Or warn this many minutes before the due time."
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(warn_percent__isnull=True) | Q(warn_percent__gte=1, warn_percent__lte=99),
                name="sla_policy_warn_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(warn_percent__isnull=True) | Q(warn_minutes_before__isnull=True),
                name="sla_policy_one_warning_rule",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        for field, allowed in (("priorities", Priority.values), ("channels", Channel.values)):
            values = getattr(self, field)
            if not isinstance(values, list) or any(value not in allowed for value in values):
                raise ValidationError({field: f"Use a list of: {', '.join(allowed)}."})
        if self.escalate_reassign == self.Reassign.ESCALATION_TEAM and self.escalation_team_id is None:
            raise ValidationError({"escalation_team": "Choose the team that breached tickets move to."})
        if self.warn_percent is not None and self.warn_minutes_before is not None:
            raise ValidationError(
                "Choose one warning rule: a percentage of the target or minutes before due."
            )


class PolicyTarget(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    target_seconds = models.PositiveIntegerField()
    business_hours = models.BooleanField(
        default=True,
        help_text="Count business hours of the policy's calendar; off: calendar (wall-clock) time.",
    )

    class Meta:
        ordering = ["policy", "metric", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority", "metric"], name="sla_target_unique"),
            models.CheckConstraint(condition=Q(target_seconds__gt=0), name="sla_target_positive"),
        ]

    def __str__(self) -> str:
        unit = "business" if self.business_hours else "calendar"
        return f"{self.get_metric_display()} {self.priority}: {self.target_seconds}s {unit}"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    ACHIEVED = "achieved", "Achieved"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "Cancelled"


# See the index `sla_clock_open_running_due`; filter on it as `SlaClock.objects.alias(...)`.
OPEN_RUNNING_DUE_AT = models.Case(
    models.When(Q(state=ClockState.RUNNING, stopped_at__isnull=True), then="due_at"),
    output_field=models.DateTimeField(),
)


class SlaClock(models.Model):
    """One instance of one metric on one ticket, with the target that was in force.

    `elapsed_*` hold the time measured before `running_since`; while the clock measures, the current
    segment is `running_since` → now. A breached clock keeps measuring until it is fulfilled
    (`stopped_at`), so its final elapsed time tells by how much it was late.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="clocks"
    )
    metric = models.CharField(max_length=20, choices=Metric.choices)
    sequence = models.PositiveIntegerField(
        default=1, help_text="Instance number of this metric on the ticket."
    )
    target_seconds = models.PositiveIntegerField()
    business_hours = models.BooleanField()
    calendar = models.ForeignKey(Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    elapsed_business_seconds = models.PositiveBigIntegerField(default=0)
    elapsed_calendar_seconds = models.PositiveBigIntegerField(default=0)
    pinned_due_at = models.DateTimeField(null=True, blank=True, help_text="Set by a lead; never recomputed.")
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Fulfilled or cancelled at.")
    final_business_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    final_calendar_seconds = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["ticket", "metric", "sequence"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="running"), name="sla_clock_running_due"),
            models.Index(
                fields=["warn_at"],
                condition=Q(state="running", warned_at__isnull=True),
                name="sla_clock_running_warn",
            ),
            models.Index(fields=["ticket", "metric", "sequence"], name="sla_clock_ticket_metric"),
            # The metrics place an ended clock by its outcome instant (tickets.reporting.metrics).
            models.Index(
                Coalesce("breached_at", "stopped_at"),
                condition=Q(state__in=["achieved", "breached"]),
                name="sla_clock_outcome",
            ),
            # The queue views: breached clocks still open, and running clocks past their warning instant.
            models.Index(
                fields=["ticket"],
                condition=Q(state="breached", stopped_at__isnull=True),
                name="sla_clock_open_breached",
            ),
            # The due instant of a running, unfulfilled clock, NULL for every other clock. Running
            # clocks are the future ones while most clocks are long past, so neither the state's nor
            # the due instant's statistics tell how many running clocks fall due before an instant
            # (estimates 100x too high sent `?breaching_within=` down a walk of every ticket). An
            # expression index gets statistics of its own (a partial one would not); it includes every
            # column the SLA filters read, the expression's too, so they are index-only scans.
            models.Index(
                OPEN_RUNNING_DUE_AT,
                include=["warn_at", "ticket", "due_at", "state", "stopped_at"],
                name="sla_clock_open_running_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "sequence"], name="sla_clock_instance_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} #{self.sequence} of ticket {self.ticket_id}: {self.state}"

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None and self.state != ClockState.CANCELLED

    @property
    def is_measuring(self) -> bool:
        return self.is_open and self.running_since is not None


class SlaEvent(models.Model):
    """The timeline of a clock: every change with the policy and target in force, to explain each number."""

    class Kind(models.TextChoices):
        APPLIED = "applied", "Applied"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        FULFILLED = "fulfilled", "Fulfilled"
        BREACHED = "breached", "Breached"
        WARNED = "warned", "Warned"
        RECOMPUTED = "recomputed", "Recomputed"
        CANCELLED = "cancelled", "Cancelled"
        PINNED = "pinned", "Pinned"

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_seconds = models.PositiveIntegerField()
    business_hours = models.BooleanField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["clock", "at"], name="sla_event_clock_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind"], condition=Q(kind__in=["warned", "breached"]), name="sla_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"
