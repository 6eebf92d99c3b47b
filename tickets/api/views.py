"""API views of the ticket domain: parse input, call a service or selector, render."""

from dataclasses import asdict
from zoneinfo import ZoneInfo

from django.contrib.auth import authenticate
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.filters import FormClassOnceMixin
from helpdesk.parsers import SafeJSONParser
from helpdesk.throttling import ClientIPScopedRateThrottle
from tickets import permissions as perms
from tickets import search, selectors, services
from tickets.api import serializers as s
from tickets.api.filtersets import (
    AgentFilterSet,
    CustomerFilterSet,
    MessageFilterSet,
    NotificationFilterSet,
    OrganizationFilterSet,
    PhoneCallFilterSet,
    TicketFilterSet,
)
from tickets.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_response
from tickets.api.renderers import MetricsCSVRenderer
from tickets.customer_profile import customer_profile
from tickets.customers import customer_get_or_create
from tickets.deflection.selectors import deflection_measures
from tickets.models import (
    Agent,
    Attachment,
    AuditEntry,
    Customer,
    Message,
    Notification,
    Organization,
    PhoneCall,
    Team,
    Ticket,
)
from tickets.reporting import health, metrics
from tickets.similar import selectors as similar_selectors
from tickets.uploads import attachment_inputs
from tickets.workspace import selectors as workspace_selectors

STAFF = [IsAuthenticated, perms.IsHelpdeskStaff]


def _messages_of(ticket: Ticket) -> QuerySet[Message]:
    return ticket.messages.select_related("author_user").prefetch_related("attachments")


class TicketListFilterSet(FormClassOnceMixin, TicketFilterSet):
    """TicketFilterSet, its form class built once (every ticket list request validates its filters)."""


@extend_schema_view(
    list=extend_schema(summary="List the tickets you can see"),
    retrieve=extend_schema(summary="One ticket"),
)
class TicketViewSet(viewsets.GenericViewSet):
    permission_classes = STAFF
    serializer_class = s.TicketSerializer
    filterset_class = TicketListFilterSet
    queryset = Ticket.objects.none()

    def get_queryset(self) -> QuerySet[Ticket]:
        return selectors.ticket_list(user=self.request.user)

    def get_cursor_ordering(self, request: Request) -> tuple[str, ...]:
        name = selectors.ticket_ordering_name(
            request.query_params.get("ordering"), request.query_params.get("q")
        )
        # An unknown name never gets here: TicketFilterSet refuses it with a 400 first.
        return selectors.TICKET_ORDERINGS.get(
            name, selectors.TICKET_ORDERINGS[selectors.DEFAULT_TICKET_ORDERING]
        )

    def _fresh(self, ticket: Ticket) -> Ticket:
        return selectors.ticket_after_write(pk=ticket.pk)

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "search_highlights": getattr(self, "_highlights", {})}

    def _detail(self, ticket: Ticket) -> dict:
        return s.TicketDetailSerializer(ticket, context=self.get_serializer_context()).data

    def list(self, request: Request) -> Response:
        tickets = self.filter_queryset(self.get_queryset())
        search_text = request.query_params.get("q")
        if not search_text:
            rows = self.paginate_queryset(selectors.ticket_list_rows(tickets))
            return self.get_paginated_response(s.TicketRowSerializer(rows, many=True).data)
        # A search highlights each match from the ticket, its customer and organization (model instances).
        page = self.paginate_queryset(tickets)
        self._highlights = search.ticket_search_highlights(page, search_text)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses={200: s.TicketDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            s.TicketDetailSerializer(self.get_object(), context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=s.TicketCreateSerializer,
        responses={201: s.TicketSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    def create(self, request: Request) -> Response:
        return idempotent_response(
            request=request, owner=f"user:{request.user.pk}", produce=lambda: self._create(request)
        )

    def _create(self, request: Request) -> Response:
        data = s.TicketCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        args = dict(data.validated_data)
        email, name = args.pop("customer_email", None), args.pop("customer_name")
        customer = args.pop("customer", None) or customer_get_or_create(email=email, name=name)
        ticket = services.ticket_create(customer=customer, opened_by=request.user, **args)
        return Response(self.get_serializer(self._fresh(ticket)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TicketUpdateSerializer, responses={200: s.TicketDetailSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        data = s.TicketUpdateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        ticket = services.ticket_update(ticket=ticket, actor=request.user, **data.validated_data)
        return Response(
            s.TicketDetailSerializer(self._fresh(ticket), context=self.get_serializer_context()).data
        )

    @extend_schema(request=s.TicketMergeSerializer, responses={200: s.TicketSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        data = s.TicketMergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = self.get_queryset().filter(pk=data.validated_data["target"]).first()
        if target is None:
            raise NotFound("No ticket with that target id that you can see.")
        merged = services.ticket_merge(source=source, target=target, actor=request.user)
        return Response(self.get_serializer(self._fresh(merged)).data)


class TicketChildMixin:
    """Shared by the lists nested under a ticket: the ticket must be visible, or the answer is 404."""

    permission_classes = STAFF

    def get_ticket(self) -> Ticket:
        if not hasattr(self, "_ticket"):
            visible = Ticket.objects.filter(perms.visible_tickets_q(self.request.user))
            self._ticket = get_object_or_404(visible, pk=self.kwargs["ticket_pk"])
        return self._ticket


@extend_schema_view(
    list=extend_schema(summary="The messages of a ticket, oldest first"),
    create=extend_schema(
        summary="Add a public reply or internal note, with attachments (multipart)",
        request={
            "multipart/form-data": s.MessageCreateSerializer,
            "application/json": s.MessageCreateSerializer,
        },
        responses={201: s.MessageSerializer},
    ),
)
class TicketMessageViewSet(TicketChildMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.MessageSerializer
    filterset_class = MessageFilterSet
    queryset = Message.objects.none()
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]
    cursor_ordering = ("created_at", "pk")

    def get_queryset(self) -> QuerySet[Message]:
        return _messages_of(self.get_ticket())

    def create(self, request: Request, ticket_pk: str) -> Response:
        ticket = self.get_ticket()
        data = s.MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        message = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=request.user,
            body_text=args["body_text"],
            body_html=args["body_html"],
            visibility=args["visibility"],
            new_status=args.get("new_status"),
            attachments=attachment_inputs(args["attachments"]),
        )
        message = _messages_of(message.ticket).get(pk=message.pk)
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(summary="The audit trail of a ticket, oldest first"))
class TicketAuditViewSet(TicketChildMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.AuditEntrySerializer
    queryset = AuditEntry.objects.none()
    filter_backends = []
    cursor_ordering = ("created_at", "pk")

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return self.get_ticket().audit_entries.all()


class AttachmentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Attachments of messages on tickets you can see; others answer 404."""

    permission_classes = STAFF
    serializer_class = s.AttachmentSerializer
    queryset = Attachment.objects.none()
    filter_backends = []

    def get_queryset(self) -> QuerySet[Attachment]:
        visible = Ticket.objects.filter(perms.visible_tickets_q(self.request.user))
        return Attachment.objects.filter(message__ticket__in=visible)

    @extend_schema(
        summary="Download the attachment's content",
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        attachment = self.get_object()
        if attachment.is_rejected or not attachment.file:
            raise NotFound(
                f"This attachment's content was not stored: {attachment.rejected_reason or 'empty'}."
            )
        # Always application/octet-stream and as a download: a stored HTML or SVG file must never
        # render in the API's origin. The original type is in the attachment's metadata.
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.filename,
            content_type="application/octet-stream",
        )


@extend_schema_view(
    list=extend_schema(summary="Phone calls of the tickets you can see, newest first"),
    retrieve=extend_schema(summary="One phone call"),
)
class PhoneCallViewSet(viewsets.ReadOnlyModelViewSet):
    """Call records (from the phone intake) of tickets you can see; others answer 404."""

    permission_classes = STAFF
    serializer_class = s.PhoneCallSerializer
    filterset_class = PhoneCallFilterSet
    queryset = PhoneCall.objects.none()
    cursor_ordering = ("-started_at", "-pk")

    def get_queryset(self) -> QuerySet[PhoneCall]:
        visible = Ticket.objects.filter(perms.visible_tickets_q(self.request.user)).values("pk")
        return PhoneCall.objects.filter(ticket__in=visible)


class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers with at least one ticket you can see (admins: all)."""

    permission_classes = STAFF
    serializer_class = s.CustomerSerializer
    filterset_class = CustomerFilterSet
    queryset = Customer.objects.none()
    cursor_ordering = ("-pk",)

    def get_queryset(self) -> QuerySet[Customer]:
        return Customer.objects.filter(perms.visible_customers_q(self.request.user))

    @extend_schema(
        summary="A customer's profile: contact details on every channel, their tickets you can see "
        "(status, channel, CSAT) and recent contacts",
        responses={200: s.CustomerProfileSerializer},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def profile(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        profile = customer_profile(user=request.user, customer=customer)
        return Response(s.CustomerProfileSerializer(profile).data)


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organizations of the customers you can see (admins: all)."""

    permission_classes = STAFF
    serializer_class = s.OrganizationSerializer
    filterset_class = OrganizationFilterSet
    queryset = Organization.objects.none()
    cursor_ordering = ("-pk",)

    def get_queryset(self) -> QuerySet[Organization]:
        return Organization.objects.filter(perms.visible_organizations_q(self.request.user))


@extend_schema_view(partial_update=extend_schema(request=s.TeamUpdateSerializer, responses=s.TeamSerializer))
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """All teams are listed (to transfer tickets); the lead or an admin changes a team's settings."""

    permission_classes = STAFF
    serializer_class = s.TeamSerializer
    queryset = Team.objects.all()
    filter_backends = []
    cursor_ordering = ("pk",)

    def partial_update(self, request: Request, pk: str) -> Response:
        team = self.get_object()
        if not perms.can_manage_team(request.user, team):
            raise PermissionDenied("Only the team's lead or an admin may change its settings.")
        data = s.TeamUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_update(team=team, **data.validated_data)
        return Response(s.TeamSerializer(team).data)


@extend_schema_view(
    partial_update=extend_schema(request=s.AgentUpdateSerializer, responses=s.AgentSerializer)
)
class AgentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Agents who share a team with you (admins: all)."""

    permission_classes = STAFF
    serializer_class = s.AgentSerializer
    filterset_class = AgentFilterSet
    queryset = Agent.objects.none()
    cursor_ordering = ("pk",)

    def get_queryset(self) -> QuerySet[Agent]:
        visible = Agent.objects.filter(perms.visible_agents_q(self.request.user)).values("pk")
        return (
            Agent.objects.filter(pk__in=visible)
            .select_related("user")
            .prefetch_related(Prefetch("teams", queryset=Team.objects.only("pk")))
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        agent = self.get_object()
        if not perms.can_set_agent_availability(request.user, agent):
            raise PermissionDenied("Only the agent, a lead of one of their teams or an admin may do this.")
        data = s.AgentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = services.agent_set_availability(agent=agent, **data.validated_data)
        return Response(s.AgentSerializer(self.get_queryset().get(pk=agent.pk)).data)


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your own in-app notifications, newest first."""

    permission_classes = STAFF
    serializer_class = s.NotificationSerializer
    filterset_class = NotificationFilterSet
    queryset = Notification.objects.none()
    cursor_ordering = ("-created_at", "-pk")

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.notification_list(user=self.request.user)

    @extend_schema(request=None, responses=s.NotificationSerializer, summary="Mark one notification read")
    @action(detail=True, methods=["post"], filter_backends=[])
    def read(self, request: Request, pk: str) -> Response:
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(s.NotificationSerializer(notification).data)

    @extend_schema(request=None, responses=s.MarkedReadSerializer, summary="Mark all your notifications read")
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request: Request) -> Response:
        count = services.notification_mark_all_read(recipient=request.user)
        return Response({"marked_read": count})


class TokenView(APIView):
    """Exchange a username and password for your API token (created on first use)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # Password guessing: a few attempts per minute per client address (HELPDESK_API_TOKEN_RATE).
    throttle_classes = [ClientIPScopedRateThrottle]
    throttle_scope = "auth-token"

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The plain HttpRequest: django-axes flags a locked-out client on it for its middleware to answer.
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unknown username or wrong password."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MetricsView(APIView):
    """Volume, backlog, response and resolution times, first-contact resolution and reopen rates.

    Team leads see the teams they lead, admins everything. Add `?format=csv` for a CSV table.
    """

    permission_classes = [IsAuthenticated, perms.IsHelpdeskStaff, perms.IsTeamLeadOrAdmin]
    renderer_classes = [JSONRenderer, MetricsCSVRenderer]

    @extend_schema(
        parameters=[s.MetricsQuerySerializer],
        responses={200: s.MetricsSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("format") == "":
            # DRF negotiates as if `format` were left out; the schema's enum has no empty value.
            raise ValidationError({"format": ["Give csv or json, or leave the parameter out."]})
        query = s.MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        args = query.validated_data
        team_ids = perms.metrics_team_ids(request.user)
        if team_ids is not None and args.get("team") is not None and args["team"] not in team_ids:
            raise ValidationError({"team": ["You can read the metrics of the teams you lead only."]})
        tickets = Ticket.objects.all() if team_ids is None else Ticket.objects.filter(team_id__in=team_ids)
        result = metrics.ticket_metrics(
            tickets=tickets,
            start=args["start"],
            end=args["end"],
            group_by=args["group_by"],
            scope_teams=team_ids,
            filters=metrics.MetricsFilters(
                team=args.get("team"),
                agent=args.get("agent"),
                channel=args.get("channel"),
                priority=args.get("priority"),
            ),
        )
        start_at, end_at = metrics.range_bounds(args["start"], args["end"], ZoneInfo(result["time_zone"]))
        result["deflection"] = asdict(
            deflection_measures(start_at=start_at, end_at=end_at, now=timezone.now())
        )
        return Response(result)


class TicketSimilarViewSet(TicketChildMixin, viewsets.GenericViewSet):
    """`tickets/{id}/similar/`: solved tickets like this one that the user may see; 404 for invisible ones."""

    serializer_class = s.SimilarTicketsSerializer
    queryset = Ticket.objects.none()
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Similar solved tickets, their solving replies drafted for this ticket, and macros to try",
        parameters=[OpenApiParameter("ticket_pk", int, OpenApiParameter.PATH, description="Ticket id.")],
        responses={200: s.SimilarTicketsSerializer},
    )
    def list(self, request: Request, ticket_pk: str) -> Response:
        ticket = self.get_ticket()  # visible, else 404
        answers = similar_selectors.similar_answers(
            user=request.user,
            ticket=ticket,
            macros=workspace_selectors.macro_list(ticket=ticket),
            now=timezone.now(),
        )
        return Response(s.SimilarTicketsSerializer(answers).data)


class CustomerHealthView(APIView):
    """Organizations (or customers) by risk, with the reasons; see docs/metrics.md (customer health).

    Computed over the tickets of the teams the reader leads (admins: all tickets).
    """

    permission_classes = [IsAuthenticated, perms.IsHelpdeskStaff, perms.IsTeamLeadOrAdmin]

    @extend_schema(parameters=[s.CustomerHealthQuerySerializer], responses={200: s.CustomerHealthSerializer})
    def get(self, request: Request) -> Response:
        query = s.CustomerHealthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        args = query.validated_data
        team_ids = perms.metrics_team_ids(request.user)
        tickets = Ticket.objects.all() if team_ids is None else Ticket.objects.filter(team_id__in=team_ids)
        rows = health.customer_health(
            tickets=tickets, level=args["level"], now=timezone.now(), sort=args["sort"]
        )
        data = {"level": args["level"], "results": [health.row_as_dict(row, args["level"]) for row in rows]}
        return Response(s.CustomerHealthSerializer(data).data)
