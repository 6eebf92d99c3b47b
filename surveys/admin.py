from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from surveys import scoring, services
from surveys.models import Kind, SurveyInvitation, SurveyResponse, SurveyResponseChange, SurveySettings


@admin.register(SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):
    list_display = (
        "team",
        "channel",
        "enabled",
        "kinds",
        "delay_minutes",
        "token_lifetime_days",
        "throttle_days",
        "poor_answer_action",
    )
    list_filter = ("enabled", "channel", "poor_answer_action")
    search_fields = ("team__name",)
    list_select_related = ("team",)
    autocomplete_fields = ("team",)


class SurveyResponseInline(admin.TabularInline):
    model = SurveyResponse
    extra = 0
    can_delete = False
    fields = ("kind", "score", "comment", "source", "needs_review", "is_poor", "updated_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SentFilter(admin.SimpleListFilter):
    title = "sent / responded"
    parameter_name = "progress"

    def lookups(self, request, model_admin):
        return (("sent", "Sent"), ("responded", "Responded"), ("unanswered", "Sent, no answer"))

    def queryset(self, request, queryset):
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "responded":
            return queryset.filter(responded_at__isnull=False)
        if self.value() == "unanswered":
            return queryset.filter(sent_at__isnull=False, responded_at__isnull=True)
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = "asks"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return Kind.choices

    def queryset(self, request, queryset):
        if self.value() not in scoring.KINDS:
            return queryset
        # `kinds` is a short JSON list; index look-ups work on SQLite and PostgreSQL alike.
        asks = Q()
        for index in range(len(scoring.KINDS)):
            asks |= Q(**{f"kinds__{index}": self.value()})
        return queryset.filter(asks)


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    """A log of what was scheduled and sent: read-only; state changes happen through the services."""

    list_display = (
        "pk",
        "ticket",
        "state",
        "skip_reason",
        "kinds",
        "team",
        "agent",
        "send_at",
        "sent_at",
        "responded_at",
    )
    list_filter = ("state", KindFilter, "skip_reason", "team", "channel", SentFilter, "poor_follow_up_action")
    search_fields = ("ticket__reference", "ticket__customer__email")
    list_select_related = ("ticket", "team", "agent")
    date_hierarchy = "created_at"
    inlines = (SurveyResponseInline,)
    exclude = ("secret",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in SurveyInvitation._meta.fields if f.name != "secret"]

    def has_add_permission(self, request) -> bool:
        return False


class SurveyResponseChangeInline(admin.TabularInline):
    model = SurveyResponseChange
    extra = 0
    can_delete = False
    fields = ("created_at", "score", "comment", "source", "raw_message_id")
    readonly_fields = fields
    verbose_name_plural = "history of answers"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("invitation", "kind", "score", "is_poor", "needs_review", "source", "updated_at")
    list_filter = ("kind", "score", "needs_review", "is_poor", "source")
    search_fields = ("comment", "invitation__ticket__reference", "invitation__ticket__customer__email")
    list_select_related = ("invitation", "invitation__ticket")
    readonly_fields = [f.name for f in SurveyResponse._meta.fields]
    inlines = (SurveyResponseChangeInline,)
    actions = ("action_mark_reviewed",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Mark selected replies reviewed")
    def action_mark_reviewed(self, request: HttpRequest, queryset: QuerySet[SurveyResponse]) -> None:
        count = 0
        for response in queryset.filter(needs_review=True):
            services.survey_response_mark_reviewed(response=response)
            count += 1
        self.message_user(request, f"{count} response(s) marked reviewed.", messages.SUCCESS)
