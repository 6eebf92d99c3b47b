from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from sla.admin import sla_badge
from sla.selectors import annotate_sla_badge

from . import services, transitions
from .exceptions import DomainError
from .models import (
    Agent,
    Attachment,
    AuditEntry,
    Customer,
    CustomerHandle,
    Message,
    Notification,
    Organization,
    Skill,
    Status,
    Tag,
    Team,
    Ticket,
    TicketMetrics,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = (
        "created_at",
        "author_role",
        "visibility",
        "author_user",
        "author_customer",
        "body_text",
        "delivery_status",
    )
    readonly_fields = fields
    ordering = ("created_at", "pk")


class AuditEntryInline(ReadOnlyInline):
    model = AuditEntry
    fields = ("created_at", "actor", "actor_label", "action", "field", "old_value", "new_value")
    readonly_fields = fields
    ordering = ("created_at", "pk")
    verbose_name_plural = "audit trail"


class TicketMetricsInline(admin.StackedInline):
    model = TicketMetrics
    can_delete = False
    readonly_fields = (
        "first_response_seconds",
        "first_response_business_seconds",
        "resolution_seconds",
        "resolution_business_seconds",
        "agent_public_replies",
        "customer_messages",
        "reopens",
        "solved_by",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TicketAdminForm(forms.ModelForm):
    """Edits go through the services; the form only validates what the lifecycle allows."""

    body = forms.CharField(
        label="New message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="On a new ticket: the customer's first message. On an existing one: a reply or note.",
    )
    body_visibility = forms.ChoiceField(
        label="Message is",
        choices=Message.Visibility.choices,
        initial=Message.Visibility.PUBLIC,
        required=False,
    )
    tag_names = forms.CharField(label="Tags", required=False, help_text="Comma-separated.")

    class Meta:
        model = Ticket
        fields = ("subject", "customer", "channel", "priority", "status", "team", "assignee")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["tag_names"].initial = ", ".join(self.instance.tags.values_list("name", flat=True))

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if self.instance.pk and status != self.instance.status:
            try:
                transitions.check_transition(self.instance.status, status)
            except transitions.TransitionError as error:
                raise forms.ValidationError(str(error)) from error
        return status


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = (
        "reference",
        "subject",
        "customer",
        "status",
        "priority",
        "channel",
        "team",
        "assignee",
        sla_badge,
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "priority", "team", "channel", "assignee", "tags")
    search_fields = ("reference", "subject", "customer__email", "customer__name")
    list_select_related = ("customer", "team", "assignee")
    autocomplete_fields = ("customer", "team", "assignee")
    date_hierarchy = "created_at"
    readonly_fields = (
        "reference",
        "created_at",
        "updated_at",
        "first_response_at",
        "solved_at",
        "closed_at",
        "reopen_count",
        "follow_up_of",
        "merged_into",
        "opened_by",
    )
    inlines = (TicketMetricsInline, MessageInline, AuditEntryInline)
    actions = ("action_solve", "action_assign_to_me", "action_merge_into_oldest")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        # The SLA badge reads two annotations, so the list needs no query per row.
        return annotate_sla_badge(super().get_queryset(request))

    def get_fieldsets(self, request, obj=None):
        main = ["subject", "customer", "channel", "priority", "team", "assignee", "tag_names"]
        if obj is not None:
            main.insert(4, "status")
        fieldsets = [(None, {"fields": main}), ("Message", {"fields": ["body", "body_visibility"]})]
        if obj is not None:
            fieldsets.append(("Lifecycle", {"fields": list(self.readonly_fields)}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == Status.CLOSED:
            return (
                *self.readonly_fields,
                "subject",
                "customer",
                "channel",
                "priority",
                "status",
                "team",
                "assignee",
            )
        return self.readonly_fields

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Ticket, form: TicketAdminForm, change: bool) -> None:
        data = form.cleaned_data
        tags = [name.strip() for name in data.get("tag_names", "").split(",") if name.strip()]
        now = timezone.now()
        if not change:
            ticket = services.ticket_create(
                subject=data["subject"],
                customer=data["customer"],
                channel=data["channel"],
                priority=data["priority"],
                team=data.get("team"),
                assignee=data.get("assignee"),
                tags=tags,
                body_text=data.get("body", ""),
                opened_by=request.user,
                now=now,
            )
            obj.pk = ticket.pk
            return
        original = Ticket.objects.get(pk=obj.pk)
        if original.status == Status.CLOSED:
            return
        ticket = original
        if data.get("body"):
            message = services.message_add(
                ticket=ticket,
                author_role=Message.AuthorRole.AGENT,
                author_user=request.user,
                body_text=data["body"],
                visibility=data.get("body_visibility") or Message.Visibility.PUBLIC,
                now=now,
            )
            ticket = message.ticket
        if data["priority"] != ticket.priority:
            ticket = services.ticket_change_priority(
                ticket=ticket, priority=data["priority"], actor=request.user, now=now
            )
        if data.get("team") != ticket.team or data.get("assignee") != ticket.assignee:
            ticket = services.ticket_assign(
                ticket=ticket,
                team=data.get("team"),
                assignee=data.get("assignee"),
                actor=request.user,
                now=now,
            )
        current_tags = set(ticket.tags.values_list("name", flat=True))
        if set(tags) - current_tags:
            ticket = services.ticket_add_tags(
                ticket=ticket, names=set(tags) - current_tags, actor=request.user, now=now
            )
        if current_tags - set(tags):
            ticket = services.ticket_remove_tags(
                ticket=ticket, names=current_tags - set(tags), actor=request.user, now=now
            )
        if data["status"] != ticket.status:
            services.ticket_change_status(ticket=ticket, status=data["status"], actor=request.user, now=now)
        if data["subject"] != original.subject:
            Ticket.objects.filter(pk=obj.pk).update(subject=data["subject"])
            services.audit_record(
                ticket=ticket,
                action=AuditEntry.Action.FIELD_CHANGED,
                now=now,
                actor=request.user,
                field="subject",
                old_value=original.subject,
                new_value=data["subject"],
            )

    def save_related(self, request, form, formsets, change) -> None:
        # Tags and inlines are handled by the services in save_model; the inlines are read-only.
        pass

    def construct_change_message(self, request, form, formsets, add=False):
        # The audit trail records each change; the admin log only notes that the form was used.
        return [{"added": {}}] if add else [{"changed": {"fields": sorted(form.changed_data)}}]

    def _run(self, request: HttpRequest, queryset: QuerySet[Ticket], operation, done: str) -> None:
        succeeded = 0
        for ticket in queryset:
            try:
                operation(ticket)
                succeeded += 1
            except DomainError as error:
                self.message_user(request, f"{ticket.reference}: {error}", messages.ERROR)
        if succeeded:
            self.message_user(request, f"{succeeded} ticket(s) {done}.", messages.SUCCESS)

    @admin.action(description="Mark selected tickets solved")
    def action_solve(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._run(
            request,
            queryset,
            lambda ticket: services.ticket_change_status(
                ticket=ticket, status=Status.SOLVED, actor=request.user
            ),
            "solved",
        )

    @admin.action(description="Assign selected tickets to me")
    def action_assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._run(
            request,
            queryset,
            lambda ticket: services.ticket_assign(ticket=ticket, assignee=request.user, actor=request.user),
            "assigned to you",
        )

    @admin.action(description="Merge selected tickets into the oldest one")
    def action_merge_into_oldest(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        tickets = list(queryset.order_by("created_at", "pk"))
        if len(tickets) < 2:
            self.message_user(request, "Select at least two tickets to merge.", messages.WARNING)
            return
        target = tickets[0]
        self._run(
            request,
            tickets[1:],
            lambda ticket: services.ticket_merge(source=ticket, target=target, actor=request.user),
            f"merged into {target.reference}",
        )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "phone", "organization", "is_vip", "created_at")
    list_filter = ("is_vip", "organization")
    search_fields = ("name", "email", "phone", "handles__handle")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    readonly_fields = ("merged_into", "created_at")

    class HandleInline(admin.TabularInline):
        model = CustomerHandle
        extra = 0

    inlines = (HandleInline,)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "lead", "email_address", "assignment_strategy")
    list_filter = ("assignment_strategy",)
    search_fields = ("name",)
    autocomplete_fields = ("lead",)


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "capacity", "is_available")
    list_filter = ("is_available", "teams", "skills")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    filter_horizontal = ("teams", "skills")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("ticket", "author_role", "visibility", "channel", "delivery_status", "created_at")
    list_filter = ("author_role", "visibility", "channel", "delivery_status", "is_automatic")
    search_fields = ("ticket__reference", "body_text", "email_message_id")
    list_select_related = ("ticket",)
    readonly_fields = [field.name for field in Message._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("filename", "content_type", "size", "is_inline", "rejected_reason", "message")
    list_filter = ("is_inline", "content_type")
    search_fields = ("filename", "message__ticket__reference")
    list_select_related = ("message",)
    readonly_fields = [field.name for field in Attachment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "ticket",
        "actor",
        "actor_label",
        "action",
        "field",
        "old_value",
        "new_value",
    )
    list_filter = ("action", "field")
    search_fields = ("ticket__reference", "actor_label", "new_value")
    list_select_related = ("ticket", "actor")
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "ticket", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "ticket__reference", "recipient__username")
    list_select_related = ("recipient", "ticket")
    readonly_fields = ("created_at", "emailed_at", "dedupe_key")
