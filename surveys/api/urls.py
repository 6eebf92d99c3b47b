from django.urls import re_path
from rest_framework.routers import SimpleRouter

from surveys.api import views


def register(router: SimpleRouter) -> None:
    """Add the survey domain's resources to the project's API router."""
    router.register("survey-invitations", views.SurveyInvitationViewSet, basename="survey-invitation")
    router.register("survey-responses", views.SurveyResponseViewSet, basename="survey-response")


urlpatterns = [
    # Any id-like segment, like the router's routes: a malformed id answers the API's JSON 404.
    re_path(
        r"^teams/(?P<team_pk>[^/.]+)/survey-settings/$",
        views.TeamSurveySettingsView.as_view(),
        name="team-survey-settings",
    ),
]
