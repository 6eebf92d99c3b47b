from datetime import date

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from sla import selectors, services
from sla.business_time import add_business_seconds
from sla.models import (
    BusinessHoursInterval,
    Calendar,
    Holiday,
    Policy,
    PolicyTarget,
    SlaClock,
    SlaEvent,
    TeamCalendar,
)
from tickets.exceptions import DomainError
from tickets.models import Channel, Priority, Ticket

PREVIEW_SECONDS = 4 * 3600


class BusinessHoursIntervalInline(admin.TabularInline):
    model = BusinessHoursInterval
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


class TeamCalendarInline(admin.TabularInline):
    model = TeamCalendar
    extra = 0
    verbose_name = "team working these hours"
    verbose_name_plural = "teams working these hours (business-hours metrics of tickets no policy covers)"


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "is_default", "holiday_country", "holiday_subdivision")
    search_fields = ("name",)
    readonly_fields = ("preview",)
    fields = ("name", "time_zone", "is_default", "holiday_country", "holiday_subdivision", "preview")
    inlines = (BusinessHoursIntervalInline, HolidayInline, TeamCalendarInline)
    actions = ("action_import_holidays",)

    @admin.display(description="Preview")
    def preview(self, obj: Calendar) -> str:
        if obj.pk is None:
            return "Save the calendar to see when a target starting now would be due."
        calendar = selectors.business_calendar(obj)
        if calendar.weekly_business_seconds == 0:
            return "This calendar has no business hours, so business-hours targets would never be due."
        due = add_business_seconds(calendar, timezone.now(), PREVIEW_SECONDS)
        return f"A 4-business-hour target starting now is due at {due:%A %Y-%m-%d %H:%M %Z}."

    @admin.action(description="Import public holidays for this year and next (from the country set on it)")
    def action_import_holidays(self, request: HttpRequest, queryset: QuerySet[Calendar]) -> None:
        years = [date.today().year, date.today().year + 1]
        for calendar in queryset:
            if not calendar.holiday_country:
                self.message_user(
                    request, f"{calendar.name}: set its holiday country first (e.g. US).", messages.WARNING
                )
                continue
            try:
                added = services.calendar_import_holidays(
                    calendar=calendar,
                    country=calendar.holiday_country,
                    subdivision=calendar.holiday_subdivision or None,
                    years=years,
                )
            except ValueError as error:
                self.message_user(request, f"{calendar.name}: {error}", messages.ERROR)
                continue
            self.message_user(request, f"{calendar.name}: {added} holiday(s) added.", messages.SUCCESS)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "calendar")
    list_filter = ("calendar",)
    search_fields = ("name",)
    list_select_related = ("calendar",)
    date_hierarchy = "date"


class PolicyTargetInline(admin.TabularInline):
    model = PolicyTarget
    extra = 0


class PolicyAdminForm(forms.ModelForm):
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Policy
        fields = (
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
        )


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyAdminForm
    list_display = ("name", "position", "is_active", "calendar", "warn_percent", "warn_minutes_before")
    list_editable = ("position", "is_active")
    list_filter = ("is_active", "calendar")
    search_fields = ("name",)
    list_select_related = ("calendar",)
    filter_horizontal = ("teams", "organizations", "tags")
    inlines = (PolicyTargetInline,)


class SlaClockAdminForm(forms.ModelForm):
    class Meta:
        model = SlaClock
        fields = ("pinned_due_at",)


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    """Clocks are written by the engine; a lead may only pin (or unpin) the due time, through the service."""

    form = SlaClockAdminForm
    list_display = ("ticket", "metric", "sequence", "state", "started_at", "due_at", "breached_at", "policy")
    list_filter = ("state", "metric", ("breached_at", admin.EmptyFieldListFilter), "policy")
    search_fields = ("ticket__reference",)
    list_select_related = ("ticket", "policy")
    readonly_fields = [field.name for field in SlaClock._meta.fields if field.name != "pinned_due_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SlaClock, form, change: bool) -> None:
        if "pinned_due_at" not in form.changed_data:
            return
        try:
            services.sla_clock_pin_due(
                clock=obj, due_at=form.cleaned_data["pinned_due_at"], actor=request.user
            )
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)


@admin.register(SlaEvent)
class SlaEventAdmin(admin.ModelAdmin):
    list_display = ("at", "clock", "kind", "policy", "target_seconds", "business_hours")
    list_filter = ("kind", "clock__metric")
    search_fields = ("clock__ticket__reference",)
    list_select_related = ("clock", "policy")
    readonly_fields = [field.name for field in SlaEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


BADGE_COLOURS = {"breached": "#c62828", "soon": "#ef6c00", "ok": "#2e7d32"}
BADGE_STYLE = "color:#fff;padding:1px 6px;border-radius:8px;white-space:nowrap"
SOON = 3600


@admin.display(description="SLA", ordering="next_sla_due")
def sla_badge(ticket: Ticket) -> str:
    """A coloured SLA badge for ticket lists; reads `next_sla_due` (`selectors.annotate_next_sla_due`) and
    `sla_breached` (set from `selectors.breached_ticket_ids` for the page's rows)."""
    if getattr(ticket, "sla_breached", False):
        label, colour = "breached", BADGE_COLOURS["breached"]
    elif getattr(ticket, "next_sla_due", None) is not None:
        seconds = (ticket.next_sla_due - timezone.now()).total_seconds()
        minutes = max(0, int(seconds // 60))
        label = f"due in {minutes // 60} h {minutes % 60:02d} m" if seconds > 0 else "overdue"
        colour = BADGE_COLOURS["soon"] if seconds < SOON else BADGE_COLOURS["ok"]
    else:
        return "—"
    return format_html('<span style="background:{};{}">{}</span>', colour, BADGE_STYLE, label)
