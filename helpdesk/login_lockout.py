"""The answer django-axes gives a locked-out login: JSON under /api/, a page for the desk and the admin."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    cooloff_minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "detail": f"Too many failed logins from this address; try again in {cooloff_minutes} min.",
                "code": "locked_out",
            },
            status=429,
        )
    context = {"cooloff_minutes": cooloff_minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/locked_out.html", context, status=429)
