"""Desk pages speak the agent's time zone: their profile's, else the installation's TIME_ZONE."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from tickets.workspace.selectors import desk_time_zone


class DeskTimeZoneMiddleware:
    """One primary-key read per desk request, so a profile change shows at once in every session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = reverse("workspace:queue")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (request.path.startswith(self.prefix) and request.user.is_authenticated):
            return self.get_response(request)
        with timezone.override(desk_time_zone(request.user)):
            return self.get_response(request)
