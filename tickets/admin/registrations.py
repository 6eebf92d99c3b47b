from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext

from helpdesk.pagination import EstimatedCountPaginator
from tickets import services, transitions
from tickets.adapters.sla import annotate_next_sla_due, breached_ticket_ids, sla_badge
from tickets.adapters.surveys import survey_invitation_summary_for_ticket
from tickets.customers import customer_merge
from tickets.deflection.services import published_answer_save
from tickets.email.inbound import inbound_message_retry
from tickets.email.raw_mail import RawMailUnavailable, raw_mail_read
from tickets.exceptions import DomainError
from tickets.intake.services import integration_key_create
from tickets.models import (
    Agent,
    Attachment,
    AuditEntry,
    Customer,
    CustomerHandle,
    CustomerMerge,
    ExternalMessage,
    InboundMessage,
    IntegrationKey,
    Macro,
    Mailbox,
    Message,
    Notification,
    Organization,
    OutboundDelivery,
    PhoneCall,
    PublishedAnswer,
    RoutingRule,
    Skill,
    Status,
    Tag,
    Team,
    Ticket,
    TicketMetrics,
    TicketParticipant,
    TicketPresence,
    WebFormTopic,
    WebhookDelivery,
    WebhookSubscription,
)
from tickets.outbox import services as outbox
from tickets.search import ticket_search
from tickets.webhooks import services as webhooks


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
        "delivery_error",
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


def _to_the_minute(value: datetime) -> str:
    """A list's time, to the minute in the active time zone (as the admin shows every time): Django's
    localised date format took a quarter of the ticket list's rendering (two dates on each row)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


class TicketChangeList(ChangeList):
    """The ticket list, whose SLA badges learn which tickets are breached for the page's rows only
    (`breached_ticket_ids`: an annotation of the list's query read every open breached clock)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        breached = breached_ticket_ids(ticket.pk for ticket in rows)
        for ticket in rows:
            ticket.sla_breached = ticket.pk in breached  # what `sla_badge` reads
        self.result_list = rows


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
        "created",
        "updated",
    )
    # created_at as a list filter (fixed ranges), not date_hierarchy, which reads every row's date to
    # draw its links; counts are estimated on big results (one COUNT(*) of a million rows per page
    # otherwise, two with the full result count).
    list_filter = ("status", "priority", "team", "channel", "assignee", "tags", "created_at")
    search_fields = ("reference", "subject", "customer__email", "customer__name")  # see get_search_results
    list_select_related = ("customer", "team", "assignee")
    autocomplete_fields = ("customer", "team", "assignee")
    paginator = EstimatedCountPaginator
    # The desk's page size: 100 rows of 12 columns took 1.5 ms a row to render, 6x the API's first page.
    list_per_page = 50
    show_full_result_count = False
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
        "survey_result",
    )
    inlines = (TicketMetricsInline, MessageInline, AuditEntryInline)
    actions = ("action_solve", "action_assign_to_me", "action_merge_into_oldest")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        # The badge's due instant is a column (and its sort key); whether a clock is breached is read
        # for the page's rows by `TicketChangeList`, so the list needs no query per row.
        return annotate_next_sla_due(super().get_queryset(request))

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return TicketChangeList

    def action_checkbox(self, obj: Ticket) -> str:
        # The stock checkbox renders a form widget through the template engine for every row, a fifth
        # of the list's rendering; this is the same input.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str):
        # The desk's search (reference, customer, words; indexed on PostgreSQL) instead of icontains
        # over four columns across a join, which scans every ticket. Its matches are read once, here:
        # as a subquery the search ran twice per page, for the page's count and for its rows.
        if not search_term.strip():
            return queryset, False
        matches = list(ticket_search(queryset, search_term).values_list("pk", flat=True))
        return queryset.filter(pk__in=matches), False

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: Ticket) -> str:
        return _to_the_minute(obj.created_at)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj: Ticket) -> str:
        return _to_the_minute(obj.updated_at)

    def get_fieldsets(self, request, obj=None):
        main = ["subject", "customer", "channel", "priority", "team", "assignee", "tag_names"]
        if obj is not None:
            main.insert(4, "status")
        fieldsets = [(None, {"fields": main}), ("Message", {"fields": ["body", "body_visibility"]})]
        if obj is not None:
            fieldsets.append(("Lifecycle", {"fields": list(self.readonly_fields)}))
        return fieldsets

    @admin.display(description="Survey")
    def survey_result(self, obj: Ticket) -> str:
        return survey_invitation_summary_for_ticket(ticket=obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        if obj.status == Status.CLOSED:
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
        # No service moves a ticket to another customer or channel, so the admin does not offer it.
        return (*self.readonly_fields, "customer", "channel")

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Ticket, form: TicketAdminForm, change: bool) -> None:
        """Every change goes through the services (audit, webhooks, SLA); a refusal changes nothing."""
        data = form.cleaned_data
        tags = [name.strip() for name in data.get("tag_names", "").split(",") if name.strip()]
        now = timezone.now()
        try:
            if change:
                self._update(request, ticket=Ticket.objects.get(pk=obj.pk), data=data, tags=tags, now=now)
            else:
                obj.pk = self._create(request, data=data, tags=tags, now=now).pk
        except DomainError as error:
            transaction.set_rollback(True)
            request._ticket_admin_refusal = str(error)

    def _create(self, request: HttpRequest, *, data: dict, tags: list[str], now) -> Ticket:
        return services.ticket_create(
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

    def _update(self, request: HttpRequest, *, ticket: Ticket, data: dict, tags: list[str], now) -> None:
        if ticket.status == Status.CLOSED:
            return
        if data.get("body"):
            ticket = services.message_add(
                ticket=ticket,
                author_role=Message.AuthorRole.AGENT,
                author_user=request.user,
                body_text=data["body"],
                visibility=data.get("body_visibility") or Message.Visibility.PUBLIC,
                now=now,
            ).ticket
        services.ticket_update(
            ticket=ticket,
            actor=request.user,
            subject=data["subject"],
            priority=data["priority"],
            team=data.get("team"),
            assignee=data.get("assignee"),
            tags=tags,
            status=data["status"],
            now=now,
        )

    def _refusal(self, request: HttpRequest) -> str | None:
        return getattr(request, "_ticket_admin_refusal", None)

    def response_add(self, request: HttpRequest, obj: Ticket, post_url_continue=None):
        if refusal := self._refusal(request):
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Ticket):
        if refusal := self._refusal(request):
            self.message_user(request, f"Nothing was saved: {refusal}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def log_addition(self, request, obj, message):
        if not self._refusal(request):
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if not self._refusal(request):
            return super().log_change(request, obj, message)
        return None

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
    list_filter = ("is_vip", ("email_undeliverable_at", admin.EmptyFieldListFilter), "organization")
    search_fields = ("name", "email", "phone", "handles__handle")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    readonly_fields = ("merged_into", "created_at")

    class HandleInline(admin.TabularInline):
        model = CustomerHandle
        extra = 0

    inlines = (HandleInline,)
    actions = ("action_merge_customers",)

    @admin.action(description="Merge the two selected customers (the newer into the older)")
    def action_merge_customers(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        selected = list(queryset.order_by("created_at", "pk"))
        if len(selected) != 2:
            self.message_user(request, "Select exactly two customers to merge.", messages.WARNING)
            return
        target, source = selected
        try:
            customer_merge(source=source, target=target, actor=request.user)
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, f"Merged {source} into {target}.", messages.SUCCESS)


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    """The record of each customer merge (desk or admin action); written by `customer_merge` only."""

    list_display = ("source", "target", "actor", "created_at")
    list_select_related = ("source", "target", "actor")
    search_fields = ("source__name", "source__email", "target__name", "target__email")
    readonly_fields = ("source", "target", "actor", "ticket_ids", "details", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "lead", "email_address", "assignment_strategy", "auto_ack_enabled")
    list_filter = ("is_default", "assignment_strategy", "auto_ack_enabled")
    search_fields = ("name",)
    autocomplete_fields = ("lead",)

    def save_model(self, request: HttpRequest, obj: Team, form, change: bool) -> None:
        # Marking a team default unmarks the previous one (through the service) instead of failing the
        # one-default constraint.
        wants_default = obj.is_default
        obj.is_default = False if wants_default else obj.is_default
        super().save_model(request, obj, form, change)
        if wants_default:
            services.team_update(team=obj, is_default=True)


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
    list_display = (
        "ticket",
        "author_role",
        "visibility",
        "channel",
        "delivery_status",
        "delivery_error",
        "created_at",
    )
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


# --- Intake channels and routing (channels branch) ----------------------------------------------


@admin.register(WebFormTopic)
class WebFormTopicAdmin(admin.ModelAdmin):
    list_display = ("position", "name", "team", "is_active")
    list_display_links = ("name",)
    list_editable = ("position", "is_active")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = (
        "position",
        "name",
        "is_active",
        "channels",
        "keywords",
        "vip",
        "set_team",
        "set_priority",
    )
    list_display_links = ("name",)
    list_editable = ("position", "is_active")
    list_filter = ("is_active", "set_team", "vip")
    search_fields = ("name",)
    list_select_related = ("set_team",)
    autocomplete_fields = ("set_team",)
    filter_horizontal = ("organizations", "add_required_skills")
    ordering = ("position", "pk")
    fieldsets = (
        (None, {"fields": ("name", "position", "is_active")}),
        (
            "Conditions (all must hold; an empty condition matches everything)",
            {"fields": ("channels", "received_at_addresses", "keywords", "organizations", "vip")},
        ),
        ("Actions", {"fields": ("set_team", "set_priority", "add_tags", "add_required_skills")}),
    )


class IntegrationKeyAdminForm(forms.ModelForm):
    callback_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=500,
        help_text=IntegrationKey._meta.get_field("callback_url").help_text,
    )

    class Meta:
        model = IntegrationKey
        fields = ("name", "channel", "is_active", "default_team", "callback_url")


@admin.register(IntegrationKey)
class IntegrationKeyAdmin(admin.ModelAdmin):
    form = IntegrationKeyAdminForm
    list_display = (
        "name",
        "channel",
        "key_prefix",
        "is_active",
        "default_team",
        "callback_url",
        "last_used_at",
        "created_at",
    )
    list_filter = ("channel", "is_active")
    search_fields = ("name", "key_prefix")
    list_select_related = ("default_team",)
    readonly_fields = ("key_prefix", "callback_secret", "last_used_at", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # The channel of an existing key is fixed: integrations are configured against it.
        return (*self.readonly_fields, "channel") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: IntegrationKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The form has validated the name (unique) and channel, which is all the service checks.
        integration, key = integration_key_create(
            name=obj.name, channel=obj.channel, default_team=obj.default_team, callback_url=obj.callback_url
        )
        integration.is_active = obj.is_active
        integration.save(update_fields=["is_active"])
        obj.pk = integration.pk
        self.message_user(
            request,
            f"The API key of {integration.name!r} is {key} - copy it now; it is stored only as a hash "
            "and never shown again.",
            messages.WARNING,
        )


@admin.register(PhoneCall)
class PhoneCallAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "caller",
        "direction",
        "outcome",
        "queue_wait_seconds",
        "talk_seconds",
        "agent",
        "ticket",
    )
    list_filter = ("outcome", "direction")
    search_fields = ("caller", "external_id", "ticket__reference")
    list_select_related = ("ticket", "agent")
    date_hierarchy = "started_at"
    readonly_fields = [field.name for field in PhoneCall._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExternalMessage)
class ExternalMessageAdmin(admin.ModelAdmin):
    list_display = ("channel", "external_id", "conversation_key", "integration", "message", "created_at")
    list_filter = ("channel",)
    search_fields = ("external_id", "conversation_key", "message__ticket__reference")
    list_select_related = ("message", "integration")
    readonly_fields = [field.name for field in ExternalMessage._meta.fields]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "team", "is_active", "created_at")
    list_filter = ("is_active", "team")
    search_fields = ("name", "url")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)


class DeliveryLogAdmin(admin.ModelAdmin):
    """A read-only log of deliveries whose failed rows can be given a fresh round of attempts."""

    actions = ("action_retry",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def retry(self, delivery) -> bool:
        """Queue one failed delivery again through its service; False when it was not failed."""
        raise NotImplementedError

    @admin.action(description="Retry selected failed deliveries")
    def action_retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        retried = sum(self.retry(delivery) for delivery in queryset)
        self.message_user(
            request, f"{retried} failed delivery(ies) queued again; others were left as they are."
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DeliveryLogAdmin):
    """The delivery log: read-only; failed deliveries can be given a fresh round of attempts."""

    list_display = (
        "created_at",
        "event",
        "subscription",
        "status",
        "attempts",
        "response_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "subscription")
    search_fields = ("subscription__name", "error")
    list_select_related = ("subscription",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def retry(self, delivery: WebhookDelivery) -> bool:
        return webhooks.webhook_delivery_retry(delivery=delivery)


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(DeliveryLogAdmin):
    """The outbox log: read-only; failed deliveries can be given a fresh round of attempts."""

    list_display = (
        "created_at",
        "kind",
        "transport",
        "ticket",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("state", "kind", "transport")
    search_fields = ("ticket__reference", "email_message_id", "subject", "url", "last_error")
    list_select_related = ("ticket",)
    readonly_fields = [field.name for field in OutboundDelivery._meta.fields]

    def retry(self, delivery: OutboundDelivery) -> bool:
        return outbox.delivery_retry(delivery=delivery)


# --- Agent workspace (added with the web UI) ----------------------------------------------------


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "set_status", "created_at")
    list_filter = ("team", "set_status")
    search_fields = ("name", "body")
    list_select_related = ("team",)
    autocomplete_fields = ("team", "add_tags")


class PublishedAnswerAdminForm(forms.ModelForm):
    class Meta:
        model = PublishedAnswer
        fields = ("ticket", "title", "body", "is_published")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "ticket" in self.fields:
            self.fields["ticket"].required = True


@admin.register(PublishedAnswer)
class PublishedAnswerAdmin(admin.ModelAdmin):
    """Public answers for the support form; saved through the service (solved tickets only, audited)."""

    form = PublishedAnswerAdminForm
    list_display = ("title", "ticket", "is_published", "updated_at", "created_by")
    list_filter = ("is_published",)
    search_fields = ("title", "body", "ticket__reference")
    list_select_related = ("ticket", "created_by")
    raw_id_fields = ("ticket",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # An answer stays with the ticket it was written from.
        return (*self.readonly_fields, "ticket") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        try:
            saved = published_answer_save(
                ticket=obj.ticket,
                title=obj.title,
                body=obj.body,
                is_published=obj.is_published,
                actor=request.user,
                now=timezone.now(),
            )
        except DomainError as error:
            self.message_user(request, str(error), level=messages.ERROR)
            return
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(TicketPresence)
class TicketPresenceAdmin(admin.ModelAdmin):
    """Who had which ticket open, for troubleshooting collision notices; written only by the heartbeat."""

    list_display = ("ticket", "user", "activity", "last_seen_at")
    list_filter = ("activity",)
    search_fields = ("ticket__reference", "user__username")
    list_select_related = ("ticket", "user")
    readonly_fields = ("ticket", "user", "activity", "last_seen_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Email intake and delivery -------------------------------------------------------------------


class MailboxAdminForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=True),
        help_text="Stored in the database in clear text (IMAP needs it); use an app-specific password.",
    )

    class Meta:
        model = Mailbox
        fields = (
            "name",
            "host",
            "port",
            "tls_mode",
            "username",
            "password",
            "folder",
            "team",
            "addresses",
            "processed_action",
            "processed_folder",
            "is_active",
        )


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxAdminForm
    list_display = ("name", "host", "username", "folder", "team", "is_active", "last_polled_at", "last_error")
    list_filter = ("is_active", "tls_mode", "processed_action", "team")
    search_fields = ("name", "host", "username")
    list_select_related = ("team",)
    readonly_fields = ("last_polled_at", "last_error", "created_at")


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "source",
        "state",
        "from_address",
        "subject",
        "ticket",
        "reason",
        "attempts",
        "size",
    )
    list_filter = ("state", "source", "mailbox", "created_ticket")
    search_fields = ("message_id", "from_address", "subject", "content_hash", "ticket__reference")
    list_select_related = ("ticket", "mailbox")
    readonly_fields = [f.name for f in InboundMessage._meta.fields] + ["raw_preview"]
    actions = ("action_retry",)
    date_hierarchy = "received_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="raw message (first 20 kB)")
    def raw_preview(self, obj: InboundMessage) -> str:
        try:
            raw = raw_mail_read(obj)
        except RawMailUnavailable as error:
            return str(error)
        return raw[:20000].decode("utf-8", errors="replace")

    @admin.action(description="Retry selected quarantined messages")
    def action_retry(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        retried = 0
        for inbound in queryset:
            try:
                inbound_message_retry(inbound=inbound)
                retried += 1
            except ValueError as error:
                self.message_user(request, str(error), messages.WARNING)
        if retried:
            self.message_user(request, f"{retried} message(s) queued for processing again.", messages.SUCCESS)


@admin.register(TicketParticipant)
class TicketParticipantAdmin(admin.ModelAdmin):
    list_display = ("email", "ticket", "is_cc", "created_at")
    list_filter = ("is_cc",)
    search_fields = ("email", "ticket__reference")
    list_select_related = ("ticket",)
    autocomplete_fields = ("ticket",)
