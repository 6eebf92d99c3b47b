from rest_framework.routers import SimpleRouter

from sla.api import views


def register(router: SimpleRouter) -> None:
    """Add the SLA domain's resources to the project's API router."""
    router.register("sla-calendars", views.CalendarViewSet, basename="sla-calendar")
    router.register("sla-policies", views.PolicyViewSet, basename="sla-policy")
    router.register("sla-clocks", views.SlaClockViewSet, basename="sla-clock")
    router.register(r"tickets/(?P<ticket_pk>[^/.]+)/sla", views.TicketSlaViewSet, basename="ticket-sla")
    router.register(
        r"teams/(?P<team_pk>[0-9]+)/breach-forecast",
        views.TeamBreachForecastViewSet,
        basename="team-forecast",
    )
