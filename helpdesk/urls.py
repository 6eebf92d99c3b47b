from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Helpdesk administration"
admin.site.site_title = "Helpdesk"


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    # Inbound email from providers (docs/email.md); anymail checks each provider's signature/basic auth.
    path("anymail/mailgun/inbound/", MailgunInboundWebhookView.as_view(), name="mailgun_inbound_webhook"),
    path("anymail/mailgun/inbound_mime/", MailgunInboundWebhookView.as_view(), name="mailgun_inbound_mime"),
    path("anymail/postmark/inbound/", PostmarkInboundWebhookView.as_view(), name="postmark_inbound_webhook"),
    path("anymail/sendgrid/inbound/", SendGridInboundWebhookView.as_view(), name="sendgrid_inbound_webhook"),
]
