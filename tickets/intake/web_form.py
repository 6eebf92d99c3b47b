"""Public pages: the support request form and its confirmation."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_http_methods

from helpdesk.client_ip import client_ip
from tickets.exceptions import DomainError
from tickets.intake.forms import SupportRequestForm
from tickets.intake.ratelimit import rate_limit_exceeded
from tickets.intake.services import intake_web_form
from tickets.uploads import attachment_inputs

logger = logging.getLogger(__name__)

SESSION_REFERENCE = "support_request_reference"
RATE_LIMITED = (
    "We have received many requests from you in a short time. Please wait a while and send again; "
    "what you wrote is kept below (attachments need to be chosen again)."
)


def _render_form(request: HttpRequest, form: SupportRequestForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "max_attachments": settings.HELPDESK_WEB_FORM_MAX_ATTACHMENTS,
        "max_attachment_size": filesizeformat(settings.HELPDESK_WEB_FORM_MAX_ATTACHMENT_BYTES),
    }
    return render(request, "tickets/support/new.html", context, status=status)


@require_http_methods(["GET", "POST"])
def support_request_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_form(request, SupportRequestForm())
    form = SupportRequestForm(request.POST, request.FILES)
    window = settings.HELPDESK_WEB_FORM_RATE_WINDOW_SECONDS
    ip = client_ip(request)
    if rate_limit_exceeded(
        scope="web-form-ip", identity=ip, limit=settings.HELPDESK_WEB_FORM_RATE_PER_IP, window_seconds=window
    ):
        form.add_error(None, RATE_LIMITED)
        return _render_form(request, form, status=429)
    if not form.is_valid():
        return _render_form(request, form, status=400)
    if form.is_honeypot_filled:
        # Answer exactly like a success so the bot learns nothing, but create nothing.
        logger.info(
            "Support form honeypot filled from %s (email %s); nothing created", ip, form.cleaned_data["email"]
        )
        request.session[SESSION_REFERENCE] = ""
        return redirect("support:submitted")
    data = form.cleaned_data
    if rate_limit_exceeded(
        scope="web-form-email",
        identity=data["email"],
        limit=settings.HELPDESK_WEB_FORM_RATE_PER_EMAIL,
        window_seconds=window,
    ):
        form.add_error(None, RATE_LIMITED)
        return _render_form(request, form, status=429)
    attachments = attachment_inputs(data["attachments"])
    try:
        ticket = intake_web_form(
            name=data["name"],
            email=data["email"],
            subject=data["subject"],
            message=data["message"],
            attachments=attachments,
            topic=data["topic"],
        )
    except DomainError as error:
        form.add_error(None, str(error))
        return _render_form(request, form, status=400)
    request.session[SESSION_REFERENCE] = ticket.reference
    return redirect("support:submitted")


@require_http_methods(["GET"])
def support_request_submitted(request: HttpRequest) -> HttpResponse:
    if SESSION_REFERENCE not in request.session:
        return redirect("support:new")
    return render(
        request, "tickets/support/submitted.html", {"reference": request.session[SESSION_REFERENCE]}
    )
