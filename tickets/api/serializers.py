"""Output serializers per model, and input serializers that mirror the service arguments."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.utils import html

from tickets.api.filtersets import MAX_ID
from tickets.models import (
    Agent,
    Attachment,
    AuditEntry,
    Channel,
    Customer,
    CustomerHandle,
    Message,
    Notification,
    Organization,
    PhoneCall,
    Priority,
    Status,
    Team,
    Ticket,
)
from tickets.permissions import visible_customers_q
from tickets.reporting import health, metrics
from tickets.selectors import ticket_tag_names, user_is_admin, user_team_ids
from tickets.services import MAX_CC, MAX_FOLLOWERS

User = get_user_model()

# --- output ----------------------------------------------------------------------------------------


class UserBriefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "email_domains", "notes", "created_at"]


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email", "phone", "organization", "is_vip", "notes", "created_at"]


class CsatSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    scale_min = serializers.IntegerField()
    scale_max = serializers.IntegerField()


class CustomerHandleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerHandle
        fields = ["channel", "platform", "handle"]


class CustomerTicketSerializer(serializers.ModelSerializer):
    csat = serializers.SerializerMethodField(help_text="The latest CSAT answer, or null.")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "channel",
            "team",
            "created_at",
            "solved_at",
            "csat",
        ]

    @extend_schema_field(CsatSerializer(allow_null=True))
    def get_csat(self, ticket: Ticket) -> dict | None:
        if ticket.csat is None:
            return None
        score, scale_min, scale_max = ticket.csat
        return {"score": score, "scale_min": scale_min, "scale_max": scale_max}


class ContactSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=[("message", "message"), ("call", "call")])
    channel = serializers.ChoiceField(choices=Channel.choices)
    ticket = serializers.IntegerField(source="ticket.pk")
    ticket_reference = serializers.CharField(source="ticket.reference")
    summary = serializers.CharField(
        help_text="The start of the message, or the call's direction and outcome."
    )


class CustomerProfileSerializer(serializers.Serializer):
    """`tickets.customer_profile.customer_profile`: the customer as you may see them."""

    customer = CustomerSerializer()
    organization = OrganizationSerializer(source="customer.organization", allow_null=True)
    emails = serializers.ListField(
        child=serializers.CharField(), help_text="Their address first, then those of merged records."
    )
    phones = serializers.ListField(child=serializers.CharField())
    handles = CustomerHandleSerializer(many=True)
    merged_from = serializers.SerializerMethodField(help_text="Ids of the customers merged into this one.")
    ticket_count = serializers.IntegerField(help_text="Their tickets you can see, on every channel.")
    tickets = CustomerTicketSerializer(many=True, help_text="The newest 100 of them.")
    recent_contacts = ContactSerializer(many=True, source="contacts")

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_merged_from(self, profile) -> list[int]:
        return [customer.pk for customer in profile.merged_from]


class CustomerBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email", "organization", "is_vip"]


class PhoneCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhoneCall
        fields = [
            "id",
            "ticket",
            "external_id",
            "caller",
            "direction",
            "outcome",
            "queue_wait_seconds",
            "talk_seconds",
            "agent",
            "started_at",
            "notes",
            "created_at",
        ]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "email_address", "lead", "assignment_strategy", "created_at"]


class AgentSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)
    teams = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Agent
        fields = ["id", "user", "teams", "capacity", "is_available"]


class TicketSerializer(serializers.ModelSerializer):
    customer = CustomerBriefSerializer(read_only=True)
    assignee = UserBriefSerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    search_highlight = serializers.SerializerMethodField(
        help_text="With `q` in a list: where the ticket matched, as HTML with the match in <mark> "
        "(the rest escaped); otherwise null."
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "priority",
            "channel",
            "team",
            "assignee",
            "customer",
            "tags",
            "follow_up_of",
            "merged_into",
            "created_at",
            "updated_at",
            "first_response_at",
            "solved_at",
            "closed_at",
            "reopen_count",
            "search_highlight",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_search_highlight(self, ticket: Ticket) -> str | None:
        return self.context.get("search_highlights", {}).get(ticket.pk)


def _instant(value, zone) -> str | None:
    """A date-time as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as `Z`."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class TicketRowListSerializer(serializers.ListSerializer):
    """A page of `selectors.ticket_list_rows`, given the page's tags in one query."""

    def to_representation(self, rows) -> list[dict]:
        tags = ticket_tag_names([row["id"] for row in rows])
        for row in rows:
            row["tags"] = tags.get(row["id"], [])
        return super().to_representation(rows)


class TicketRowSerializer(serializers.BaseSerializer):
    """The ticket list without a search: TicketSerializer's fields and values, written out by hand from
    `selectors.ticket_list_rows` (with `tags` added by the list).

    DRF's walk over the declared fields of model instances (attribute lookups, two nested serializers,
    a time zone lookup per date) was the largest part of a list request's Python time. The schema still
    documents TicketSerializer, and a test holds the two to the same output on varied tickets: a field
    added there must be added here and to `selectors.TICKET_ROW_FIELDS`.
    """

    class Meta:
        list_serializer_class = TicketRowListSerializer

    def to_representation(self, row: dict) -> dict:
        zone = timezone.get_current_timezone()
        assignee = None
        if row["assignee_id"] is not None:
            full_name = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
            assignee = {
                "id": row["assignee_id"],
                "username": row["assignee__username"],
                "name": full_name or row["assignee__username"],
            }
        return {
            "id": row["id"],
            "reference": row["reference"],
            "subject": row["subject"],
            "status": row["status"],
            "priority": row["priority"],
            "channel": row["channel"],
            "team": row["team_id"],
            "assignee": assignee,
            "customer": {
                "id": row["customer_id"],
                "name": row["customer__name"],
                "email": row["customer__email"],
                "organization": row["customer__organization_id"],
                "is_vip": row["customer__is_vip"],
            },
            "tags": row["tags"],
            "follow_up_of": row["follow_up_of_id"],
            "merged_into": row["merged_into_id"],
            "created_at": _instant(row["created_at"], zone),
            "updated_at": _instant(row["updated_at"], zone),
            "first_response_at": _instant(row["first_response_at"], zone),
            "solved_at": _instant(row["solved_at"], zone),
            "closed_at": _instant(row["closed_at"], zone),
            "reopen_count": row["reopen_count"],
            # Rows come from a list without `q`; only a search highlights.
            "search_highlight": None,
        }


class TicketDetailSerializer(TicketSerializer):
    """One ticket, with the people on it besides the customer and the assignee."""

    cc = serializers.SerializerMethodField(help_text="Addresses copied on the ticket's public replies.")
    followers = serializers.SerializerMethodField(help_text="Agents told about each update of the ticket.")

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "cc", "followers"]

    def get_cc(self, ticket: Ticket) -> list[str]:
        return list(ticket.participants.filter(is_cc=True).values_list("email", flat=True))

    @extend_schema_field(UserBriefSerializer(many=True))
    def get_followers(self, ticket: Ticket) -> list[dict]:
        return UserBriefSerializer(ticket.followers.order_by("username"), many=True).data


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "is_inline", "rejected_reason", "download_url"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, attachment: Attachment) -> str | None:
        if attachment.is_rejected:
            return None
        return reverse("api:attachment-download", kwargs={"pk": attachment.pk})


class MessageSerializer(serializers.ModelSerializer):
    author_user = UserBriefSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "author_role",
            "visibility",
            "author_user",
            "author_customer",
            "channel",
            "body_text",
            "body_html",
            "is_automatic",
            "delivery_status",
            "delivery_error",
            "created_at",
            "attachments",
        ]


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_label",
            "action",
            "field",
            "old_value",
            "new_value",
            "details",
        ]


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "ticket", "title", "body", "created_at", "read_at"]


class MarkedReadSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField()


# --- input -----------------------------------------------------------------------------------------


def _agents():
    return User.objects.filter(agent__isnull=False, is_active=True)


class TicketCreateSerializer(serializers.Serializer):
    """Arguments of `services.ticket_create`; the requester opens the ticket on the customer's behalf."""

    subject = serializers.CharField(max_length=250)
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, help_text="An existing customer you can see."
    )
    customer_email = serializers.EmailField(
        required=False, help_text="Or the customer's email: found or created."
    )
    customer_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, help_text="Required for agents."
    )
    assignee = serializers.PrimaryKeyRelatedField(queryset=_agents(), required=False, allow_null=True)
    body_text = serializers.CharField(required=False, allow_blank=True, default="")
    body_html = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False, default=list)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer"].queryset = Customer.objects.filter(visible_customers_q(request.user))

    def validate(self, attrs: dict) -> dict:
        user = self.context["request"].user
        if ("customer" in attrs) == ("customer_email" in attrs):
            raise serializers.ValidationError("Give either `customer` (an id) or `customer_email`.")
        team = attrs.get("team")
        if not user_is_admin(user):
            if team is None:
                raise serializers.ValidationError({"team": "Agents must open tickets in one of their teams."})
            if team.pk not in user_team_ids(user):
                raise serializers.ValidationError({"team": "You can only open tickets in your own teams."})
            # Customers are team-scoped (docs/security.md): an agent sees the customers of their teams'
            # tickets. Opening a ticket for another team's customer by address would widen that view (notes,
            # phone, VIP flag, organization), so it is refused; an administrator can open or move it.
            email = attrs.get("customer_email")
            others = Customer.objects.filter(email__iexact=email, tickets__isnull=False) if email else None
            if (
                others is not None
                and others.exists()
                and not others.filter(visible_customers_q(user)).exists()
            ):
                raise serializers.ValidationError(
                    {"customer_email": "This address is a customer of another team; ask an administrator."}
                )
        return attrs


class TicketUpdateSerializer(serializers.Serializer):
    """Arguments of `services.ticket_update`: only the fields sent are changed."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=_agents(), required=False, allow_null=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, help_text="The complete new set of tags."
    )
    cc = serializers.ListField(
        child=serializers.CharField(max_length=254),
        required=False,
        max_length=MAX_CC,
        help_text="The complete new list of addresses copied on public replies.",
    )
    followers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_FOLLOWERS,
        help_text="The complete new list of followers (user ids); each must be able to see the ticket.",
    )

    def validate_followers(self, ids: list[int]) -> list:
        users = list(User.objects.filter(pk__in=set(ids), is_active=True))
        if len(users) != len(set(ids)):
            raise serializers.ValidationError("Unknown user id; followers are active users (agents).")
        return users

    def validate_team(self, team: Team | None) -> Team | None:
        request = self.context.get("request")
        if team is None and request is not None and not user_is_admin(request.user):
            raise serializers.ValidationError("Only admins can take a ticket out of every team; pick a team.")
        return team


class TicketMergeSerializer(serializers.Serializer):
    target = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of the ticket that absorbs this one."
    )


class MessageCreateSerializer(serializers.Serializer):
    """Arguments of `services.message_add` for an agent's public reply or internal note."""

    body_text = serializers.CharField(allow_blank=True, required=False, default="")
    body_html = serializers.CharField(allow_blank=True, required=False, default="")
    visibility = serializers.ChoiceField(
        choices=Message.Visibility.choices, default=Message.Visibility.PUBLIC
    )
    new_status = serializers.ChoiceField(
        choices=Status.choices, required=False, help_text="Submit the reply as e.g. pending or solved."
    )
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )

    def validate_attachments(self, files: list) -> list:
        limit = settings.HELPDESK_API_MAX_ATTACHMENT_BYTES
        for upload in files:
            if upload.size > limit:
                raise serializers.ValidationError(
                    f"{upload.name} is {upload.size} bytes; attachments may be at most {limit} bytes."
                )
        return files

    def validate(self, attrs: dict) -> dict:
        if not (attrs["body_text"].strip() or attrs["body_html"].strip() or attrs["attachments"]):
            raise serializers.ValidationError("A message needs text or at least one attachment.")
        return attrs


class TeamUpdateSerializer(serializers.Serializer):
    assignment_strategy = serializers.ChoiceField(choices=Team.AssignmentStrategy.choices, required=False)
    email_address = serializers.EmailField(required=False, allow_blank=True)


class AgentUpdateSerializer(serializers.Serializer):
    is_available = serializers.BooleanField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


# --- metrics -----------------------------------------------------------------------------------------


class QueryFieldMixin:
    """A value in a query string. DRF reads an empty value of an optional field as "not given" (HTML
    forms send every field); here `?name=` is refused like any value the schema does not allow."""

    def get_value(self, dictionary):
        empty = html.is_html_input(dictionary) and dictionary.get(self.field_name) == ""
        if empty and not getattr(self, "allow_blank", False):
            return ""
        return super().get_value(dictionary)


class QueryChoiceField(QueryFieldMixin, serializers.ChoiceField):
    """One of the choices; `?name=` is not one of them."""


class QueryIntegerField(QueryFieldMixin, serializers.IntegerField):
    """A whole number; `?name=` is not one."""


# JSON Schema has no bounds for a `date`: this pattern states the years of metrics.EARLIEST_DATE (1900)
# to metrics.LATEST_DATE (9998).
METRICS_DATE_PATTERN = r"^(19\d{2}|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-"


@extend_schema_field({"type": "string", "format": "date", "pattern": METRICS_DATE_PATTERN})
class MetricsDateField(serializers.DateField):
    """A day the metrics can report on; `metrics.date_range_error` refuses the others."""


class MetricsQuerySerializer(serializers.Serializer):
    start = MetricsDateField(
        help_text=f"First day (YYYY-MM-DD), in the helpdesk's time zone; from {metrics.EARLIEST_DATE} "
        f"to {metrics.LATEST_DATE}."
    )
    end = MetricsDateField(
        help_text=f"Last day, inclusive; from {metrics.EARLIEST_DATE} to {metrics.LATEST_DATE}."
    )
    group_by = QueryChoiceField(choices=[(c, c) for c in metrics.GROUP_BY_CHOICES], default="day")
    team = QueryIntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Team id.")
    agent = serializers.CharField(
        required=False, max_length=20, help_text="User id of an agent, or 'unassigned' (tickets without one)."
    )
    channel = QueryChoiceField(choices=Channel.choices, required=False)
    priority = QueryChoiceField(choices=Priority.choices, required=False)

    def validate_agent(self, value: str) -> int | str:
        if value == metrics.UNASSIGNED_FILTER:
            return value
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ID:
            raise serializers.ValidationError("Use a user id or 'unassigned'.")
        return int(value)

    def validate(self, attrs: dict) -> dict:
        if error := metrics.date_range_error(attrs["start"], attrs["end"]):
            raise serializers.ValidationError({"end": error})
        return attrs


class DurationSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)


class SlaOutcomeSerializer(serializers.Serializer):
    achieved = serializers.IntegerField(help_text="Clocks of this metric fulfilled within the target.")
    breached = serializers.IntegerField(help_text="Clocks of this metric that exceeded the target.")
    compliance_rate = serializers.FloatField(allow_null=True, help_text="achieved / (achieved + breached).")


class SlaOutcomesSerializer(serializers.Serializer):
    first_response = SlaOutcomeSerializer()
    next_response = SlaOutcomeSerializer()
    periodic_update = SlaOutcomeSerializer()
    resolution = SlaOutcomeSerializer()


class MetricsMeasuresSerializer(serializers.Serializer):
    tickets_created = serializers.IntegerField()
    tickets_solved = serializers.IntegerField()
    backlog = serializers.IntegerField(help_text="Unsolved tickets at the end of the period.")
    first_response_hours = DurationSummarySerializer(
        help_text="First reply time: creation to the first public agent comment (agent-created tickets: "
        "the agent's next public comment); placed by the reply."
    )
    first_response_business_hours = DurationSummarySerializer()
    first_resolution_hours = DurationSummarySerializer(help_text="Creation to the first solve.")
    first_resolution_business_hours = DurationSummarySerializer()
    resolution_hours = DurationSummarySerializer(help_text="Full resolution: creation to the last solve.")
    resolution_business_hours = DurationSummarySerializer()
    requester_wait_hours = DurationSummarySerializer(help_text="Time new, open and on hold.")
    requester_wait_business_hours = DurationSummarySerializer()
    agent_work_hours = DurationSummarySerializer(help_text="Time new and open.")
    agent_work_business_hours = DurationSummarySerializer()
    agent_wait_hours = DurationSummarySerializer(help_text="Time pending.")
    agent_wait_business_hours = DurationSummarySerializer()
    on_hold_hours = DurationSummarySerializer()
    on_hold_business_hours = DurationSummarySerializer()
    first_contact_resolution_rate = serializers.FloatField(
        allow_null=True, help_text="Solved with exactly one public agent reply and never reopened."
    )
    reopen_rate = serializers.FloatField(allow_null=True)
    reopens = serializers.IntegerField(help_text="Reopens of the tickets solved in the period.")
    replies_per_ticket = serializers.FloatField(allow_null=True, help_text="Mean public agent replies.")
    one_touch_rate = serializers.FloatField(allow_null=True, help_text="Solved with one public reply.")
    two_touch_rate = serializers.FloatField(allow_null=True, help_text="Solved with two public replies.")
    solved_without_transfer_rate = serializers.FloatField(
        allow_null=True, help_text="Solved having had at most one team and at most one assignee."
    )
    team_stations_per_ticket = serializers.FloatField(allow_null=True)
    assignee_stations_per_ticket = serializers.FloatField(allow_null=True)
    repeat_contacts = serializers.IntegerField(
        help_text="Solved tickets whose customer opened another ticket within HELPDESK_REPEAT_CONTACT_DAYS."
    )
    repeat_contact_rate = serializers.FloatField(allow_null=True)
    sla_compliance_rate = serializers.FloatField(
        allow_null=True,
        help_text="SLA clocks achieved / (achieved + breached), all metrics, by outcome instant; "
        "running clocks without a breach are left out.",
    )
    sla = SlaOutcomesSerializer(help_text="SLA outcomes per metric.")
    csat = serializers.FloatField(allow_null=True, help_text="% of CSAT answers that are 4 or 5; null: none.")
    csat_responses = serializers.IntegerField(help_text="Scored CSAT answers.")
    nps = serializers.FloatField(allow_null=True, help_text="Net Promoter Score, -100..100; null: none.")
    nps_responses = serializers.IntegerField()
    ces = serializers.FloatField(allow_null=True, help_text="Mean CES answer, 1-7 (higher is easier).")
    ces_percent_easy = serializers.FloatField(allow_null=True, help_text="% of CES answers 5-7.")
    ces_responses = serializers.IntegerField()
    surveys_sent = serializers.IntegerField()
    surveys_responded = serializers.IntegerField()
    survey_response_rate = serializers.FloatField(
        allow_null=True, help_text="Share (0-1) of the surveys sent in the period that were answered."
    )
    phone_calls = serializers.IntegerField(help_text="Inbound calls started in the period.")
    phone_calls_answered = serializers.IntegerField()
    phone_calls_abandoned = serializers.IntegerField(help_text="All abandoned calls, short ones included.")
    phone_short_abandons = serializers.IntegerField(
        help_text="Abandoned within HELPDESK_PHONE_SHORT_ABANDON_SECONDS; not offered calls."
    )
    phone_abandonment_rate = serializers.FloatField(
        allow_null=True, help_text="(Abandoned - short abandons) ÷ (calls - short abandons)."
    )
    phone_answered_within_threshold = serializers.IntegerField()
    phone_service_level = serializers.FloatField(
        allow_null=True,
        help_text="Answered within HELPDESK_PHONE_SERVICE_LEVEL_SECONDS ÷ (calls - short abandons).",
    )
    phone_average_speed_of_answer_seconds = serializers.FloatField(
        allow_null=True, help_text="Mean queue wait of answered inbound calls."
    )
    phone_average_handle_time_seconds = serializers.FloatField(
        allow_null=True, help_text="Mean talk + wrap-up time of answered inbound calls."
    )
    phone_first_call_resolution_rate = serializers.FloatField(
        allow_null=True,
        help_text="Answered calls whose ticket was solved, never reopened, with no later call on it.",
    )


class MetricsGroupSerializer(MetricsMeasuresSerializer):
    key = serializers.CharField(allow_null=True, help_text="Period start date or the group's id/value.")
    label = serializers.CharField()


class DeflectionSerializer(serializers.Serializer):
    """Deflection at the door (docs/deflection.md), for the whole support form: not split by team."""

    answers_viewed = serializers.IntegerField(help_text="Published answers opened from the support form.")
    forms_with_views = serializers.IntegerField(help_text="Support forms on which at least one was opened.")
    forms_submitted_after_viewing = serializers.IntegerField()
    forms_abandoned_after_viewing = serializers.IntegerField(
        help_text="Not sent within window_minutes of the last answer opened: counted as deflected."
    )
    deflection_rate = serializers.FloatField(
        allow_null=True, help_text="Abandoned ÷ (abandoned + submitted), 0-1; null: no such form yet."
    )
    window_minutes = serializers.IntegerField(
        help_text="The deflection window (setting HELPDESK_DEFLECTION_WINDOW_SECONDS, an hour by default)."
    )


class MetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.CharField()
    time_zone = serializers.CharField()
    groups = MetricsGroupSerializer(many=True)
    totals = MetricsMeasuresSerializer()
    deflection = DeflectionSerializer(help_text="Answer views of the period (by the instant of the view).")


# --- similar solved tickets (tickets.similar.selectors) -------------------------------------------


class SimilarReplySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    body_text = serializers.CharField()
    author = serializers.CharField(source="author_user", allow_null=True)
    created_at = serializers.DateTimeField()
    macro = serializers.IntegerField(source="macro_id", allow_null=True)


class SimilarTicketSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(source="ticket.pk")
    reference = serializers.CharField(source="ticket.reference")
    subject = serializers.CharField(source="ticket.subject")
    customer_text = serializers.CharField(
        help_text="The customer's own words (no quoted history or signature)."
    )
    score = serializers.FloatField()
    csat = serializers.IntegerField(allow_null=True, help_text="Latest CSAT answer on the ticket (1-5).")
    age_days = serializers.IntegerField(help_text="Days since it was solved.")
    solving_reply = SimilarReplySerializer(allow_null=True)
    draft = serializers.CharField(help_text="The solving reply with this ticket's names filled in, to edit.")


class SuggestedMacroSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="macro.pk")
    name = serializers.CharField(source="macro.name")
    used_on_similar = serializers.IntegerField(help_text="Replies on the similar tickets written from it.")


@extend_schema_serializer(many=False)  # one object per ticket, although the route is a `list`
class SimilarTicketsSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    results = SimilarTicketSerializer(many=True)
    suggested_macros = SuggestedMacroSerializer(many=True)


class CustomerHealthQuerySerializer(serializers.Serializer):
    level = QueryChoiceField(choices=[(level, level) for level in health.LEVELS], default="organization")
    sort = QueryChoiceField(
        choices=[(f"{prefix}{name}", f"{prefix}{name}") for name in health.SORTS for prefix in ("", "-")],
        default="-risk_score",
        help_text="A column, prefixed with '-' for descending.",
    )


class CustomerHealthRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(help_text="Organization or customer id.")
    name = serializers.CharField()
    risk_score = serializers.IntegerField(help_text="0-100; docs/metrics.md lists the points of each sign.")
    reasons = serializers.ListField(child=serializers.CharField())
    tickets_recent = serializers.IntegerField(help_text="Tickets opened in the last 30 days.")
    tickets_previous = serializers.IntegerField(help_text="Tickets opened in the 30 days before.")
    csat_recent = serializers.FloatField(allow_null=True, help_text="CSAT over the last 90 days.")
    csat_previous = serializers.FloatField(allow_null=True, help_text="CSAT over the 90 days before.")
    nps_recent = serializers.FloatField(allow_null=True)
    nps_previous = serializers.FloatField(allow_null=True)
    detractors = serializers.IntegerField(help_text="NPS answers 0-6 in the last 90 days.")
    breaches_recent = serializers.IntegerField(help_text="SLA breaches in the last 30 days.")
    open_breaches = serializers.IntegerField(help_text="Unsolved tickets breaching their SLA now.")
    repeat_contacts = serializers.IntegerField(help_text="Repeat contacts in the last 90 days.")
    last_contact_at = serializers.DateTimeField(allow_null=True, help_text="The latest customer message.")
    tickets_url = serializers.CharField(
        help_text="The desk queue with this organization's (customer's) tickets."
    )


class CustomerHealthSerializer(serializers.Serializer):
    level = serializers.CharField()
    results = CustomerHealthRowSerializer(many=True)
