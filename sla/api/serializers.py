"""Serializers of the SLA API: output per model, inputs mirroring `sla.services` arguments."""

import re

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from sla.business_time import BusinessCalendar
from sla.models import (
    BusinessHoursInterval,
    Calendar,
    Holiday,
    Metric,
    Policy,
    PolicyTarget,
    SlaClock,
    SlaEvent,
    Weekday,
    validate_time_zone,
)
from tickets.api.filtersets import MAX_ID
from tickets.api.serializers import QueryIntegerField
from tickets.models import Channel, Organization, Priority, Tag, Team

MAX_TARGET_SECONDS = 2**31 - 1  # the column is a PositiveIntegerField
WALL_CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
END_HELP = "As for start; an end not after the start runs past midnight, and 00:00-00:00 is the whole day."


@extend_schema_field(
    {
        "type": "string",
        "pattern": WALL_CLOCK_TIME_PATTERN,
        "example": "09:00:00",
        "description": "Local wall-clock time of the calendar's time zone: HH:MM or HH:MM:SS[.ffffff], "
        "00:00:00 to 23:59:59.999999, without a UTC offset.",
    }
)
class WallClockTimeField(serializers.TimeField):
    """A time of day on the calendar's wall clock. Not OpenAPI's `format: time` (RFC 3339 `full-time`),
    which requires an offset: business hours are local, so "00:00:00" is valid and an offset is refused
    rather than silently dropped."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.fullmatch(WALL_CLOCK_TIME_PATTERN, value):
            raise serializers.ValidationError(
                "Give a local time as HH:MM or HH:MM:SS (00:00:00 to 23:59:59), without an offset."
            )
        return super().to_internal_value(value)


class BusinessHoursIntervalSerializer(serializers.ModelSerializer):
    start = WallClockTimeField()
    end = WallClockTimeField(help_text=END_HELP)

    class Meta:
        model = BusinessHoursInterval
        fields = ["weekday", "start", "end"]


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]


class CalendarSerializer(serializers.ModelSerializer):
    hours = BusinessHoursIntervalSerializer(source="intervals", many=True, read_only=True)
    holidays = HolidaySerializer(many=True, read_only=True)

    class Meta:
        model = Calendar
        fields = ["id", "name", "time_zone", "holiday_country", "holiday_subdivision", "hours", "holidays"]


class PolicyTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyTarget
        fields = ["priority", "metric", "target_seconds", "business_hours"]


class PolicySerializer(serializers.ModelSerializer):
    targets = PolicyTargetSerializer(many=True, read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Policy
        fields = [
            "id",
            "name",
            "position",
            "is_active",
            "priorities",
            "channels",
            "teams",
            "organizations",
            "vip",
            "tags",
            "calendar",
            "pause_when_pending",
            "pause_when_on_hold",
            "warn_percent",
            "warn_minutes_before",
            "escalate_raise_priority",
            "escalate_reassign",
            "escalation_team",
            "escalate_add_tag",
            "targets",
        ]


# --- inputs ---------------------------------------------------------------------------------------


class HoursInputSerializer(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=Weekday.choices)
    start = WallClockTimeField()
    end = WallClockTimeField(help_text=END_HELP)


class HolidayInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=200, allow_blank=True, default="")


class CalendarCreateSerializer(serializers.Serializer):
    """Mirrors `sla.services.calendar_create`."""

    name = serializers.CharField(
        max_length=100,
        validators=[UniqueValidator(Calendar.objects.all(), message="A calendar has this name.")],
    )
    time_zone = serializers.CharField(max_length=64, validators=[validate_time_zone])
    hours = HoursInputSerializer(many=True, max_length=7 * 24)
    holidays = HolidayInputSerializer(many=True, required=False, max_length=1000)

    def validate(self, attrs: dict) -> dict:
        weekly: dict[int, list] = {}
        for interval in attrs["hours"]:
            weekly.setdefault(interval["weekday"], []).append((interval["start"], interval["end"]))
        try:
            BusinessCalendar(attrs["time_zone"], weekly)
        except ValueError as error:
            raise serializers.ValidationError({"hours": [str(error)]}) from error
        dates = [holiday["date"] for holiday in attrs.get("holidays", [])]
        if len(set(dates)) != len(dates):
            raise serializers.ValidationError({"holidays": ["Each date may appear once."]})
        return {
            "name": attrs["name"],
            "time_zone": attrs["time_zone"],
            "weekly_hours": weekly,
            "holidays": [(holiday["date"], holiday["name"]) for holiday in attrs.get("holidays", [])],
        }


class TargetInputSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    metric = serializers.ChoiceField(choices=Metric.choices)
    target_seconds = serializers.IntegerField(min_value=1, max_value=MAX_TARGET_SECONDS)
    business_hours = serializers.BooleanField(default=True)


class PolicyCreateSerializer(serializers.Serializer):
    """Mirrors `sla.services.policy_create`."""

    name = serializers.CharField(
        max_length=100, validators=[UniqueValidator(Policy.objects.all(), message="A policy has this name.")]
    )
    calendar = serializers.PrimaryKeyRelatedField(queryset=Calendar.objects.all())
    targets = TargetInputSerializer(many=True, min_length=1, max_length=len(Priority) * len(Metric))
    position = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    is_active = serializers.BooleanField(default=True)
    priorities = serializers.ListField(child=serializers.ChoiceField(choices=Priority.choices), default=list)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), default=list)
    teams = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), many=True, default=list)
    organizations = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), many=True, default=list
    )
    tags = serializers.SlugRelatedField(
        queryset=Tag.objects.all(), slug_field="name", many=True, default=list
    )
    vip = serializers.BooleanField(allow_null=True, default=None)
    pause_when_pending = serializers.BooleanField(default=True)
    pause_when_on_hold = serializers.BooleanField(default=True)
    warn_percent = serializers.IntegerField(min_value=1, max_value=99, allow_null=True, default=None)
    warn_minutes_before = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, allow_null=True, default=None
    )
    escalate_raise_priority = serializers.BooleanField(default=False)
    escalate_reassign = serializers.ChoiceField(choices=Policy.Reassign.choices, default="", allow_blank=True)
    escalation_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, default=None
    )
    escalate_add_tag = serializers.SlugField(max_length=60, allow_blank=True, default="")


# --- clocks ---------------------------------------------------------------------------------------


class SlaStatusSerializer(serializers.Serializer):
    """One metric of a ticket (its latest instance), from `sla.selectors.ticket_sla_status`."""

    clock_id = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=Metric.choices)
    sequence = serializers.IntegerField()
    state = serializers.CharField()
    target_seconds = serializers.IntegerField()
    business_hours = serializers.BooleanField(help_text="The target counts business hours of its calendar.")
    due_at = serializers.DateTimeField(allow_null=True, help_text="Null while paused or once stopped.")
    remaining_seconds = serializers.IntegerField(
        allow_null=True, help_text="Seconds left before the due instant; null when overdue or stopped."
    )
    overdue_seconds = serializers.IntegerField(
        allow_null=True, help_text="Seconds past the due instant (or the target); null when not overdue."
    )
    breached_at = serializers.DateTimeField(allow_null=True)
    paused = serializers.BooleanField()
    stopped_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, status) -> dict:
        left = status.remaining_seconds
        open_ = status.stopped_at is None
        return super().to_representation(
            {
                **status.__dict__,
                "remaining_seconds": left if open_ and left >= 0 else None,
                "overdue_seconds": -left if left < 0 else None,
            }
        )


class SlaEventSerializer(serializers.ModelSerializer):
    metric = serializers.CharField(source="clock.metric", read_only=True)

    class Meta:
        model = SlaEvent
        fields = [
            "id",
            "clock",
            "metric",
            "kind",
            "at",
            "policy",
            "target_seconds",
            "business_hours",
            "details",
        ]


# many=False: the ticket's SLA is one object, although the route is a viewset's `list`.
@extend_schema_serializer(many=False)
class TicketSlaSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    metrics = SlaStatusSerializer(many=True)
    events = SlaEventSerializer(many=True)


class SlaClockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaClock
        fields = [
            "id",
            "ticket",
            "policy",
            "metric",
            "sequence",
            "state",
            "target_seconds",
            "business_hours",
            "started_at",
            "due_at",
            "warn_at",
            "pinned_due_at",
            "warned_at",
            "breached_at",
            "stopped_at",
        ]


class PinSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(
        allow_null=True, help_text="The new due instant (ISO 8601 with offset); null unpins the clock."
    )


# --- the explainer (read-only output of `sla.selectors.ticket_sla_explanation`) --------------------


class ExplainQuerySerializer(serializers.Serializer):
    tz = serializers.CharField(
        required=False, validators=[validate_time_zone], help_text="IANA time zone to show instants in."
    )
    clock = QueryIntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Explain only this clock."
    )


class ConditionCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    required = serializers.CharField(
        help_text="What the policy asks for ('any' when the condition is empty)."
    )
    actual = serializers.CharField(help_text="What the ticket has.")
    holds = serializers.BooleanField()


class PolicyMatchSerializer(serializers.Serializer):
    policy_id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    matched = serializers.BooleanField()
    checks = ConditionCheckSerializer(many=True)


class CalendarInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    time_zone = serializers.CharField()
    hours = serializers.ListField(child=serializers.CharField())
    holidays = serializers.SerializerMethodField()

    def get_holidays(self, info) -> list[dict]:
        return [{"date": day.isoformat(), "name": name} for day, name in info.holidays]


class SegmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True, help_text="Null: still measuring.")
    started_by = serializers.CharField()
    ended_by = serializers.CharField()
    business_seconds = serializers.IntegerField()
    calendar_seconds = serializers.IntegerField()
    on_previous_calendar = serializers.BooleanField()


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    seconds = serializers.IntegerField()
    cumulative = serializers.IntegerField()


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField()
    elapsed_seconds = serializers.IntegerField(allow_null=True)


class ExplanationSerializer(serializers.Serializer):
    metric = serializers.CharField()
    state = serializers.CharField()
    unit = serializers.ChoiceField(choices=["business", "calendar"])
    target_seconds = serializers.IntegerField()
    segments = SegmentSerializer(many=True)
    timeline = TimelineEntrySerializer(many=True)
    elapsed_seconds = serializers.IntegerField(
        help_text="Measured before the open segment (the engine's figure)."
    )
    measuring_since = serializers.DateTimeField(allow_null=True)
    remaining_seconds = serializers.IntegerField()
    due_at = serializers.DateTimeField(allow_null=True)
    due_rule = serializers.ChoiceField(
        choices=["computed", "pinned", "breached", "stopped", "paused", "never"]
    )
    windows = WindowSerializer(
        many=True, help_text="Business-hours stretches the remaining time runs through."
    )
    windows_omitted = serializers.IntegerField()
    holidays_skipped = serializers.ListField(child=serializers.DateField())
    closed_seconds_skipped = serializers.IntegerField()
    final_seconds = serializers.IntegerField(allow_null=True)
    steps = serializers.ListField(child=serializers.CharField(), help_text="The arithmetic in words.")


class ClockExplanationSerializer(serializers.Serializer):
    clock_id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    policy = serializers.CharField()
    calendar = CalendarInfoSerializer(allow_null=True)
    explanation = ExplanationSerializer()


class TicketSlaExplanationSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    time_zone = serializers.CharField()
    facts = serializers.DictField(child=serializers.CharField())
    policies = PolicyMatchSerializer(
        many=True, help_text="Policies in matching order up to the one that applies."
    )
    clocks = ClockExplanationSerializer(many=True)


# --- breach forecast (output of `sla.selectors.team_breach_forecast`) -------------------------------


class ForecastTicketSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(source="ticket.pk")
    reference = serializers.CharField(source="ticket.reference")
    subject = serializers.CharField(source="ticket.subject")
    assignee = serializers.IntegerField(source="ticket.assignee_id", allow_null=True)
    due_at = serializers.DateTimeField()
    predicted_reply_at = serializers.DateTimeField(
        source="finish_at", allow_null=True, help_text="Null: nobody on duty works it before it is due."
    )


class ForecastSuggestionSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(source="ticket.pk")
    reference = serializers.CharField(source="ticket.reference")
    from_agent = serializers.CharField()
    to_agent = serializers.CharField()
    to_user = serializers.IntegerField(source="to_user_id")
    predicted_reply_at = serializers.DateTimeField(source="finish_at")
    due_at = serializers.DateTimeField()


@extend_schema_serializer(many=False)  # one forecast per team, although the route is a `list`
class TeamForecastSerializer(serializers.Serializer):
    team = serializers.IntegerField(source="team.pk")
    generated_at = serializers.DateTimeField(source="now")
    calendar = serializers.CharField(help_text="Business hours are counted on this calendar.")
    handling_seconds = serializers.IntegerField(help_text="Median business time from first touch to reply.")
    handling_samples = serializers.IntegerField()
    agents_on_duty = serializers.IntegerField()
    already_breached = serializers.IntegerField()
    horizons = serializers.SerializerMethodField()
    first_breaches = ForecastTicketSerializer(many=True)
    suggestions = ForecastSuggestionSerializer(many=True)

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "business_hours": {"type": "integer"},
                    "breaches": {"type": "integer"},
                    "breaches_after_suggestions": {"type": "integer"},
                },
            },
        }
    )
    def get_horizons(self, forecast) -> list[dict]:
        return [
            {
                "business_hours": hours,
                "breaches": count,
                "breaches_after_suggestions": forecast.breaches_within_after_suggestions[hours],
            }
            for hours, count in forecast.breaches_within.items()
        ]
