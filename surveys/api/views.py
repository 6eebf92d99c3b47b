"""API views of the survey domain: read the invitations and answers of visible tickets; team settings."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys import selectors, services
from surveys.api import serializers as s
from surveys.filtersets import SurveyInvitationFilterSet, SurveyResponseFilterSet
from surveys.models import SurveyInvitation, SurveyResponse
from tickets import permissions as perms
from tickets.api.views import STAFF
from tickets.models import Team


@extend_schema_view(
    list=extend_schema(summary="Survey invitations of the tickets you can see, newest first"),
    retrieve=extend_schema(summary="One survey invitation"),
)
class SurveyInvitationViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = STAFF
    serializer_class = s.SurveyInvitationSerializer
    filterset_class = SurveyInvitationFilterSet
    queryset = SurveyInvitation.objects.none()
    cursor_ordering = ("-created_at", "-pk")

    def get_queryset(self) -> QuerySet[SurveyInvitation]:
        return selectors.survey_invitation_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Survey answers of the tickets you can see, newest first"),
    retrieve=extend_schema(summary="One survey answer"),
)
class SurveyResponseViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = STAFF
    serializer_class = s.SurveyResponseSerializer
    filterset_class = SurveyResponseFilterSet
    queryset = SurveyResponse.objects.none()
    cursor_ordering = ("-created_at", "-pk")

    def get_queryset(self) -> QuerySet[SurveyResponse]:
        return selectors.survey_response_list(user=self.request.user)


class TeamSurveySettingsView(APIView):
    """A team's all-channel survey settings: its agents and lead read them, the lead or an admin changes them.

    Per-channel overrides are edited in the admin. A team you are not in answers 404.
    """

    permission_classes = STAFF
    team_parameter = OpenApiParameter("team_pk", int, OpenApiParameter.PATH, description="Team id.")

    def _team(self, request: Request, team_pk: str) -> Team:
        return get_object_or_404(selectors.survey_settings_teams(user=request.user), pk=team_pk)

    @extend_schema(
        parameters=[team_parameter], responses=s.SurveySettingsSerializer, summary="A team's survey settings"
    )
    def get(self, request: Request, team_pk: str) -> Response:
        team = self._team(request, team_pk)
        return Response(s.settings_data(team_id=team.pk, row=selectors.survey_settings_row(team=team)))

    @extend_schema(
        parameters=[team_parameter],
        request=s.SurveySettingsUpdateSerializer,
        responses=s.SurveySettingsSerializer,
        summary="Change a team's survey settings (lead or admin)",
    )
    def patch(self, request: Request, team_pk: str) -> Response:
        team = self._team(request, team_pk)
        if not perms.can_manage_team(request.user, team):
            raise PermissionDenied("Only the team's lead or an admin may change its survey settings.")
        data = s.SurveySettingsUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.survey_settings_update(team=team, changes=data.validated_data)
        return Response(s.settings_data(team_id=team.pk, row=row))
