"""API views of the SLA domain: calendars and policies, a ticket's clocks, pinning a due time."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from sla import selectors, services
from sla.api import serializers as s
from sla.models import Calendar, Policy, SlaClock, SlaEvent
from tickets import permissions as perms
from tickets.api.views import STAFF, TicketChildMixin
from tickets.models import Team, Ticket
from tickets.selectors import user_is_admin


class ReadForStaffWriteForAdmins(BasePermission):
    message = "Only admins may change SLA calendars and policies; agents and leads may read them."

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or user_is_admin(request.user)


@extend_schema_view(
    list=extend_schema(summary="SLA calendars with their business hours and holidays"),
    retrieve=extend_schema(summary="One SLA calendar"),
    create=extend_schema(
        summary="Create a calendar (admins)",
        request=s.CalendarCreateSerializer,
        responses={201: s.CalendarSerializer},
    ),
)
class CalendarViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [*STAFF, ReadForStaffWriteForAdmins]
    serializer_class = s.CalendarSerializer
    queryset = Calendar.objects.prefetch_related("intervals", "holidays")
    cursor_ordering = ("name", "pk")

    def create(self, request: Request) -> Response:
        data = s.CalendarCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        calendar = services.calendar_create(**data.validated_data)
        fresh = self.get_queryset().get(pk=calendar.pk)
        return Response(s.CalendarSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="SLA policies in matching order, with their targets"),
    retrieve=extend_schema(summary="One SLA policy"),
    create=extend_schema(
        summary="Create a policy (admins)",
        request=s.PolicyCreateSerializer,
        responses={201: s.PolicySerializer},
    ),
)
class PolicyViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [*STAFF, ReadForStaffWriteForAdmins]
    serializer_class = s.PolicySerializer
    queryset = Policy.objects.prefetch_related("targets", "teams", "organizations", "tags")
    cursor_ordering = ("position", "pk")

    def create(self, request: Request) -> Response:
        data = s.PolicyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        args = dict(data.validated_data)
        targets = [services.TargetSpec(**target) for target in args.pop("targets")]
        policy = services.policy_create(targets=targets, **args)
        fresh = self.get_queryset().get(pk=policy.pk)
        return Response(s.PolicySerializer(fresh).data, status=status.HTTP_201_CREATED)


class TicketSlaViewSet(TicketChildMixin, viewsets.GenericViewSet):
    """`tickets/{id}/sla/`: the ticket's clocks per metric and their events; 404 for invisible tickets."""

    serializer_class = s.TicketSlaSerializer
    queryset = SlaEvent.objects.none()
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="A ticket's SLA clocks (latest per metric) and their event timeline",
        parameters=[OpenApiParameter("ticket_pk", int, OpenApiParameter.PATH, description="Ticket id.")],
        responses={200: s.TicketSlaSerializer},
    )
    def list(self, request: Request, ticket_pk: str) -> Response:
        ticket = self.get_ticket()
        events = SlaEvent.objects.filter(clock__ticket=ticket).select_related("clock").order_by("at", "pk")
        data = {
            "ticket": ticket.pk,
            "metrics": selectors.ticket_sla_status(ticket, timezone.now()),
            "events": events,
        }
        return Response(s.TicketSlaSerializer(data).data)

    @extend_schema(
        summary="Why each SLA clock of the ticket is due then: policy match, calendar, pauses, arithmetic",
        parameters=[
            OpenApiParameter("ticket_pk", int, OpenApiParameter.PATH, description="Ticket id."),
            s.ExplainQuerySerializer,
        ],
        responses={200: s.TicketSlaExplanationSerializer},
    )
    @action(detail=False, methods=["get"], url_path="explain")
    def explain(self, request: Request, ticket_pk: str) -> Response:
        ticket = self.get_ticket()
        query = s.ExplainQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tz = ZoneInfo(query.validated_data.get("tz") or settings.TIME_ZONE)
        explanation = selectors.ticket_sla_explanation(
            ticket, timezone.now(), tz, clock_id=query.validated_data.get("clock")
        )
        with timezone.override(tz):  # DRF renders instants in the current time zone: the agent's
            return Response(s.TicketSlaExplanationSerializer(explanation).data)


@extend_schema_view(retrieve=extend_schema(summary="One SLA clock"))
class SlaClockViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = STAFF
    serializer_class = s.SlaClockSerializer

    def get_queryset(self) -> QuerySet[SlaClock]:
        visible = Ticket.objects.filter(perms.visible_tickets_q(self.request.user))
        return SlaClock.objects.filter(ticket__in=visible).select_related("ticket__team")

    @extend_schema(
        summary="Pin (or with null unpin) the clock's due time: leads of the ticket's team and admins",
        request=s.PinSerializer,
        responses={200: s.SlaClockSerializer},
    )
    @action(detail=True, methods=["post"])
    def pin(self, request: Request, pk: str) -> Response:
        clock = self.get_object()
        team = clock.ticket.team
        if not (
            user_is_admin(request.user) or (team is not None and perms.can_manage_team(request.user, team))
        ):
            raise PermissionDenied("Only the lead of the ticket's team or an admin may pin an SLA due time.")
        data = s.PinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clock = services.sla_clock_pin_due(
            clock=clock, due_at=data.validated_data["due_at"], actor=request.user
        )
        return Response(s.SlaClockSerializer(clock).data)


class TeamBreachForecastViewSet(viewsets.GenericViewSet):
    """`teams/{id}/breach-forecast/`: for the team's lead and admins."""

    permission_classes = STAFF
    serializer_class = s.TeamForecastSerializer
    queryset = Team.objects.none()
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Tickets of the team that will breach in the next 2/4/8 business hours if nothing changes",
        parameters=[OpenApiParameter("team_pk", int, OpenApiParameter.PATH, description="Team id.")],
        responses={200: s.TeamForecastSerializer},
    )
    def list(self, request: Request, team_pk: str) -> Response:
        team = get_object_or_404(Team, pk=team_pk)
        if not perms.can_manage_team(request.user, team):
            raise PermissionDenied("Only the team's lead or an admin may see its breach forecast.")
        return Response(s.TeamForecastSerializer(selectors.team_breach_forecast(team, timezone.now())).data)
