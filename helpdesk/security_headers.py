"""Response headers Django's SecurityMiddleware does not set: CSP (behind a setting) and no-store caching.

Ticket pages and API answers carry customer data: `Cache-Control: no-store` keeps them out of shared and
browser caches (a later user of the same machine cannot page back to them after logout).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PRIVATE_PREFIXES = ("/desk/", "/api/", "/admin/")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PRIVATE_PREFIXES):
            response["Cache-Control"] = "no-store"
        policy = settings.HELPDESK_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
