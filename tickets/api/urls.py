from rest_framework.routers import SimpleRouter

from tickets.api import views


def register(router: SimpleRouter) -> None:
    """Add the ticket domain's resources to the project's API router."""
    router.register("tickets", views.TicketViewSet, basename="ticket")
    router.register(r"tickets/(?P<ticket_pk>[^/.]+)/messages", views.TicketMessageViewSet, basename="message")
    router.register(r"tickets/(?P<ticket_pk>[^/.]+)/audit", views.TicketAuditViewSet, basename="audit")
    router.register(r"tickets/(?P<ticket_pk>[^/.]+)/similar", views.TicketSimilarViewSet, basename="similar")
    router.register("attachments", views.AttachmentViewSet, basename="attachment")
    router.register("phone-calls", views.PhoneCallViewSet, basename="phone-call")
    router.register("customers", views.CustomerViewSet, basename="customer")
    router.register("organizations", views.OrganizationViewSet, basename="organization")
    router.register("teams", views.TeamViewSet, basename="team")
    router.register("agents", views.AgentViewSet, basename="agent")
    router.register("notifications", views.NotificationViewSet, basename="notification")
