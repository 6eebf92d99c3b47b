from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

from tickets.admin.dashboard import metrics_dashboard
from tickets.email.provider_webhooks import provider_webhook_view

handler404 = "helpdesk.api_errors.not_found"

admin.site.site_header = "Helpdesk administration"
admin.site.site_title = "Helpdesk"


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(url="/desk/", permanent=False)),
    path("desk/", include("tickets.workspace.urls", namespace="workspace")),
    path("admin/metrics/", admin.site.admin_view(metrics_dashboard), name="admin-metrics"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("support/", include("tickets.intake.public_urls")),
    path("api/v1/intake/", include("tickets.intake.urls")),
    path("survey/", include("surveys.urls")),
    path("api/v1/", include("helpdesk.api_urls", namespace="api")),
    # Inbound email from providers (docs/email.md): served only when enabled and its credential is set;
    # anymail then checks each provider's signature/basic auth.
    path("anymail/mailgun/inbound/", provider_webhook_view("mailgun"), name="mailgun_inbound_webhook"),
    path("anymail/mailgun/inbound_mime/", provider_webhook_view("mailgun"), name="mailgun_inbound_mime"),
    path("anymail/postmark/inbound/", provider_webhook_view("postmark"), name="postmark_inbound_webhook"),
    path("anymail/sendgrid/inbound/", provider_webhook_view("sendgrid"), name="sendgrid_inbound_webhook"),
]
