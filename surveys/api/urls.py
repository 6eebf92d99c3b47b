from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views


def register(router: SimpleRouter) -> None:
    """Add the survey domain's resources to the project's API router."""
    router.register("survey-invitations", views.SurveyInvitationViewSet, basename="survey-invitation")
    router.register("survey-responses", views.SurveyResponseViewSet, basename="survey-response")


urlpatterns = [
    path(
        "teams/<int:team_pk>/survey-settings/",
        views.TeamSurveySettingsView.as_view(),
        name="team-survey-settings",
    ),
]
