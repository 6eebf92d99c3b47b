"""Public pages: the support request form, its confirmation, and the published answers it suggests."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from helpdesk.client_ip import client_ip
from tickets.deflection import selectors as deflection_selectors
from tickets.deflection import services as deflection
from tickets.exceptions import DomainError
from tickets.intake.forms import SupportRequestForm
from tickets.intake.ratelimit import rate_limit_exceeded
from tickets.intake.services import intake_web_form
from tickets.uploads import attachment_inputs

logger = logging.getLogger(__name__)

SESSION_REFERENCE = "support_request_reference"
MAX_SUBJECT_LENGTH = 250  # the form's own limit
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
    deflection.deflection_form_submitted(form_token=data["form_token"], now=timezone.now())
    request.session[SESSION_REFERENCE] = ticket.reference
    return redirect("support:submitted")


@require_http_methods(["GET"])
def support_request_submitted(request: HttpRequest) -> HttpResponse:
    if SESSION_REFERENCE not in request.session:
        return redirect("support:new")
    return render(
        request, "tickets/support/submitted.html", {"reference": request.session[SESSION_REFERENCE]}
    )


def _answers_rate_limited(request: HttpRequest, scope: str, limit: int) -> bool:
    return rate_limit_exceeded(
        scope=scope,
        identity=client_ip(request),
        limit=limit,
        window_seconds=settings.HELPDESK_WEB_FORM_RATE_WINDOW_SECONDS,
    )


@require_http_methods(["GET"])
def support_answer_suggestions(request: HttpRequest) -> HttpResponse:
    """The published answers like the subject being typed (an htmx fragment; empty when none match)."""
    subject = request.GET.get("subject", "")
    token = request.GET.get("form_token", "")
    if len(subject) > MAX_SUBJECT_LENGTH or not deflection.form_token_is_valid(token):
        return HttpResponse(
            "Bad request: a subject of at most 250 characters and the form's token.", status=400
        )
    if _answers_rate_limited(request, "answers-ip", settings.HELPDESK_ANSWER_LOOKUPS_PER_IP):
        return HttpResponse("Too many requests.", status=429)
    answers = deflection_selectors.published_answer_suggestions(subject=subject)
    return render(request, "tickets/support/_answers.html", {"answers": answers, "form_token": token})


@require_http_methods(["GET"])
def support_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """One published answer; opened from a form's suggestions (`?form=<token>`) it counts as viewed."""
    token = request.GET.get("form", "")
    if token and not deflection.form_token_is_valid(token):
        return HttpResponse("Bad request: unknown form token.", status=400)
    if _answers_rate_limited(request, "answer-views-ip", settings.HELPDESK_ANSWER_VIEWS_PER_IP):
        return HttpResponse("Too many requests.", status=429)
    answer = get_object_or_404(deflection_selectors.published_answers(), pk=pk)
    if token:
        deflection.answer_view_record(answer=answer, form_token=token, now=timezone.now())
    return render(request, "tickets/support/answer.html", {"answer": answer})
