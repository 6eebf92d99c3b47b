"""django-filter FilterSets for the API (and any list view that wants the same query parameters).

SLA filters (`sla_state`, `breaching_within`) and the "next SLA due" ordering filter through
`sla.selectors`; the survey score filter (`survey_score_min`/`_max`/`survey_kind`) works the same way
with `surveys.models`.
"""

from datetime import UTC

from django import forms
from django.db.models import DateTimeField, Exists, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_filters import rest_framework as filters
from django_filters.fields import ChoiceField, IsoDateTimeField, IsoDateTimeRangeField, RangeField
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from tickets.adapters import sla as sla_adapter
from tickets.adapters import surveys as survey_adapter
from tickets.models import (
    NO_SLA_DUE,
    Agent,
    Channel,
    Customer,
    Message,
    Notification,
    Organization,
    PhoneCall,
    Priority,
    Status,
    Ticket,
)
from tickets.search import ticket_search
from tickets.selectors import DEFAULT_TICKET_ORDERING, TICKET_ORDERINGS

MAX_ID = 2**63 - 1  # the largest primary key; bigger numbers would overflow the database driver
MAX_BREACHING_WITHIN_MINUTES = 366 * 24 * 60


class StrictIntegerField(forms.IntegerField):
    """A whole number; `?name=` (empty) is a 400 rather than silently no filter."""

    def to_python(self, value):
        if value == "":
            raise forms.ValidationError("Give a whole number, or leave the parameter out.")
        return super().to_python(value)


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(filters.NumberFilter):
    """A whole number (a decimal, text or an empty value is a 400); `min_value`/`max_value` bound it, and
    the schema states those bounds (`BoundedFilterExtension`)."""

    field_class = StrictIntegerField


class IdFilter(IntegerFilter):
    """An object id: a positive integer that fits a bigint, or a 400."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, converted to UTC: PostgreSQL refuses offsets beyond ±15:59 (a 500 otherwise)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("That date and time is out of range.") from None


class UtcIsoDateTimeRangeField(IsoDateTimeRangeField):
    def __init__(self, *args, **kwargs) -> None:
        RangeField.__init__(self, (UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)

    def clean(self, value):
        # None: the parameter was left out. "": it was sent empty, which is no date and time.
        if value and "" in value:
            raise forms.ValidationError("Give an ISO 8601 date and time, or leave the parameter out.")
        return super().clean(value)


class IsoDateTimeRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    """`<name>_after` / `<name>_before` as ISO 8601 instants (any offset, compared in UTC)."""

    field_class = UtcIsoDateTimeRangeField


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else, an empty value too, is a 400 rather than silently no filter."""

    def to_python(self, value):
        if value is None:  # left out
            return None
        if value == "":
            raise forms.ValidationError("Give true or false, or leave the parameter out.")
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(f"{value!r} is not a boolean: use true or false.")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs) -> None:
        # The default widget maps unknown words to "no filter"; a text input hands them to the field.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class StrictChoiceField(ChoiceField):
    def clean(self, value):
        # None: the parameter was left out. "": it was sent empty, which the schema's enum does not allow.
        if value == "":
            listed = ", ".join(str(choice) for choice, _ in self.choices if choice != "")
            raise forms.ValidationError(f"Give one of {listed}, or leave the parameter out.")
        return super().clean(value)


class StrictChoiceFilter(filters.ChoiceFilter):
    """One of the choices; `?name=` (empty) is a 400 rather than silently no filter."""

    field_class = StrictChoiceField


class MinutesFilter(IntegerFilter):
    """A whole number of minutes."""


class AssigneeField(forms.CharField):
    """Accepts "me", "unassigned" or a user id."""

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        if value in ("me", "unassigned"):
            return value
        try:
            user_id = int(value)
        except (TypeError, ValueError):
            raise forms.ValidationError(
                f"{value!r} is not an assignee: use 'me', 'unassigned' or a user id."
            ) from None
        if not 1 <= user_id <= MAX_ID:
            raise forms.ValidationError("A user id is a positive integer.")
        return user_id


class AssigneeFilter(filters.Filter):
    field_class = AssigneeField


class SurveyScoreFilter(IntegerFilter):
    """A survey score (0-10 covers every scale); combined with the other survey filters in one Exists."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, min_value=0, max_value=10, method="filter_survey", **kwargs)


class TicketFilterForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("survey_score_min"), data.get("survey_score_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "survey_score_max", f"survey_score_max ({high}) is below survey_score_min ({low})."
            )
        return data


class TicketFilterSet(filters.FilterSet):
    # distinct=False: these are columns of the ticket, so no join can repeat a row, and SELECT DISTINCT
    # over whole rows would sort every match.
    status = filters.MultipleChoiceFilter(
        choices=Status.choices, distinct=False, help_text="Repeat for several statuses."
    )
    priority = filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    channel = filters.MultipleChoiceFilter(choices=Channel.choices, distinct=False)
    team = IdFilter(field_name="team_id", help_text="Team id.")
    assignee = AssigneeFilter(method="filter_assignee", help_text="'me', 'unassigned' or a user id.")
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    organization = IdFilter(field_name="customer__organization_id", help_text="Organization id.")
    tag = filters.CharFilter(method="filter_tag", help_text="Tag name.")
    created = IsoDateTimeRangeFilter(field_name="created_at")
    solved = IsoDateTimeRangeFilter(field_name="solved_at")
    survey_score_min = SurveyScoreFilter(help_text="Has a survey answer scoring at least this.")
    survey_score_max = SurveyScoreFilter(help_text="Has a survey answer scoring at most this.")
    survey_kind = StrictChoiceFilter(
        choices=[(kind, kind) for kind in survey_adapter.SURVEY_KINDS],
        method="filter_survey",
        help_text="Only answers of this kind count for survey_score_min/max (alone: has such an answer).",
    )
    sla_state = StrictChoiceFilter(
        choices=[
            ("breached", "breached: a clock breached and not yet fulfilled, or past due"),
            ("breaching_soon", "breaching soon: a running clock past its warning instant, not yet due"),
        ],
        method="filter_sla_state",
        help_text="SLA state of the ticket's open clocks.",
    )
    breaching_within = MinutesFilter(
        min_value=0,
        max_value=MAX_BREACHING_WITHIN_MINUTES,
        method="filter_breaching_within",
        help_text="Minutes: tickets with a running SLA clock due within this many minutes (or overdue).",
    )
    # Declared after every other filter, so it runs last: a search keeps its newest matches
    # (`tickets.search.SEARCH_CANDIDATES`) among the tickets the other filters leave.
    q = filters.CharFilter(
        method="filter_search",
        help_text="Search: a reference (HD-3029 or 3029), the customer's name, email, phone or organization, "
        "or words of the subject and messages; ordered by relevance unless `ordering` says otherwise.",
    )
    ordering = StrictChoiceFilter(
        choices=[(name, name) for name in TICKET_ORDERINGS],
        method="filter_ordering",
        empty_label=None,
        help_text=(
            f"Sort order (default {DEFAULT_TICKET_ORDERING}, relevance with q); priority sorts by urgency; "
            "next_sla_due puts the soonest due SLA clock first (breached ones, most overdue first) and "
            "tickets without one last."
        ),
    )

    class Meta:
        model = Ticket
        fields = []
        form = TicketFilterForm

    def filter_survey(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        # One Exists for the three parameters together, so min, max and kind hold for the same answer;
        # the first of them to run applies it and the others find it done.
        if getattr(self, "_survey_filtered", False):
            return queryset
        self._survey_filtered = True
        data = self.form.cleaned_data
        answers = survey_adapter.SurveyResponse.objects.filter(
            invitation__ticket=OuterRef("pk"), score__isnull=False
        )
        if data.get("survey_kind"):
            answers = answers.filter(kind=data["survey_kind"])
        if data.get("survey_score_min") is not None:
            answers = answers.filter(score__gte=data["survey_score_min"])
        if data.get("survey_score_max") is not None:
            answers = answers.filter(score__lte=data["survey_score_max"])
        return queryset.filter(Exists(answers))

    def filter_assignee(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=value)

    def filter_tag(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        # Exists instead of a join: a ticket appears once whatever else is filtered.
        tagged = Ticket.tags.through.objects.filter(ticket=OuterRef("pk"), tag__name=value.strip().lower())
        return queryset.filter(Exists(tagged))

    def filter_search(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return ticket_search(queryset, value)

    def filter_sla_state(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        now = timezone.now()
        if value == "breached":
            return sla_adapter.tickets_breached(queryset, now)
        return queryset.filter(sla_adapter.breaching_soon_q(now))

    def filter_breaching_within(self, queryset: QuerySet[Ticket], name: str, value: int) -> QuerySet[Ticket]:
        return sla_adapter.tickets_breaching_within(queryset, int(value), timezone.now())

    def filter_ordering(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        # The pagination applies the order (it must know it to build cursors); this filter validates it
        # and annotates the column an order needs.
        if value == "next_sla_due":
            # The same expression as the index `ticket_next_sla_due`, so the sort walks that index.
            last = Value(NO_SLA_DUE, output_field=DateTimeField())
            return queryset.annotate(next_sla_due_or_last=Coalesce("next_sla_due_at", last))
        if value == "relevance" and "search_rank" not in queryset.query.annotations:
            return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))  # no q: all equal
        return queryset


class MessageFilterSet(filters.FilterSet):
    visibility = StrictChoiceFilter(choices=Message.Visibility.choices)
    author_role = StrictChoiceFilter(choices=Message.AuthorRole.choices)

    class Meta:
        model = Message
        fields = []


class CustomerFilterSet(filters.FilterSet):
    is_vip = StrictBooleanFilter()
    organization = IdFilter(field_name="organization_id")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    q = filters.CharFilter(method="filter_search", help_text="Name, email or phone contains.")

    class Meta:
        model = Customer
        fields = []

    def filter_search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(phone__icontains=value)
        )


class OrganizationFilterSet(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Organization
        fields = []


class AgentFilterSet(filters.FilterSet):
    is_available = StrictBooleanFilter()
    team = IdFilter(field_name="teams", help_text="Team id.")

    class Meta:
        model = Agent
        fields = []


class PhoneCallFilterSet(filters.FilterSet):
    ticket = IdFilter(field_name="ticket_id", help_text="Ticket id.")
    outcome = StrictChoiceFilter(choices=PhoneCall.Outcome.choices)
    direction = StrictChoiceFilter(choices=PhoneCall.Direction.choices)
    started = IsoDateTimeRangeFilter(field_name="started_at")

    class Meta:
        model = PhoneCall
        fields = []


class NotificationFilterSet(filters.FilterSet):
    unread = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull", help_text="Only unread.")
    kind = StrictChoiceFilter(choices=Notification.Kind.choices)

    class Meta:
        model = Notification
        fields = []


class BoundedFilterExtension(DjangoFilterExtension):
    """drf-spectacular's django-filter support, plus the bounds of a filter (`min_value`, `max_value`) as
    the parameter's `minimum`/`maximum`: the schema states every range a filter enforces."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        bounds = {
            "minimum": filter_field.extra.get("min_value"),
            "maximum": filter_field.extra.get("max_value"),
        }
        for parameter in parameters:
            parameter["schema"].update({key: value for key, value in bounds.items() if value is not None})
        return parameters
