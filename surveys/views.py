"""Public survey pages (no login). A GET never records anything: link scanners fetch every link in
an email, so the clicked score only pre-selects the form; the answer is recorded by the POST."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View
from django.views.decorators.http import require_safe

from surveys import scoring
from surveys.exceptions import InvalidSurveyAnswer, InvalidSurveyToken, SurveyError, SurveyExpired
from surveys.forms import SurveyAnswerForm
from surveys.models import SurveyInvitation, SurveyResponse
from surveys.services import survey_response_record
from surveys.tokens import invitation_from_token

ERROR_PAGES = {
    InvalidSurveyToken: (404, "This survey link is not valid"),
    SurveyExpired: (410, "This survey has closed"),
    InvalidSurveyAnswer: (400, "That answer is not on the scale"),
}


def _error(request: HttpRequest, error: SurveyError) -> HttpResponse:
    status, title = next(
        (page for cls, page in ERROR_PAGES.items() if isinstance(error, cls)), (400, "Something went wrong")
    )
    response = render(request, "surveys/error.html", {"title": title, "message": str(error)}, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


def _answerable(token: str) -> SurveyInvitation:
    invitation = invitation_from_token(token)
    if invitation.state != SurveyInvitation.State.SENT:
        raise InvalidSurveyToken("This survey link is not valid: the survey was never sent.")
    if invitation.expires_at is None or timezone.now() >= invitation.expires_at:
        raise SurveyExpired(
            "The time to answer this survey is over. Thank you all the same; if you need more help, "
            "just write to us."
        )
    return invitation


def _clicked_score(request: HttpRequest, invitation: SurveyInvitation) -> int | None:
    raw = request.GET.get("score")
    if raw is None or raw == "":
        return None
    low, high = scoring.SCALES[invitation.primary_kind]
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidSurveyAnswer(
            f"The score in this link is not between {low} and {high}. Open the link from the email again, "
            "or choose your score on the survey page."
        )
    return int(raw)


class SurveyAnswerView(View):
    http_method_names = ["get", "head", "post", "options"]

    def _render(self, request, invitation, form, status=200) -> HttpResponse:
        current = {r.kind: r for r in invitation.responses.all()}
        response = render(
            request,
            "surveys/answer.html",
            {
                "invitation": invitation,
                "form": form,
                "current": current.get(invitation.primary_kind),
                "auto_submit": settings.HELPDESK_SURVEY_AUTO_SUBMIT
                and form.initial.get(invitation.primary_kind) is not None
                and not current,
            },
            status=status,
        )
        response["X-Robots-Tag"] = "noindex"
        response["Cache-Control"] = "no-store"
        return response

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            invitation = _answerable(token)
            clicked = _clicked_score(request, invitation)
        except SurveyError as error:
            return _error(request, error)
        current: dict[str, SurveyResponse] = {r.kind: r for r in invitation.responses.all()}
        initial: dict[str, object] = {kind: r.score for kind, r in current.items() if r.score is not None}
        if invitation.primary_kind in current:
            initial["comment"] = current[invitation.primary_kind].comment
        if clicked is not None:
            initial[invitation.primary_kind] = clicked
        return self._render(request, invitation, SurveyAnswerForm(invitation=invitation, initial=initial))

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            invitation = _answerable(token)
        except SurveyError as error:
            return _error(request, error)
        form = SurveyAnswerForm(request.POST, invitation=invitation)
        if not form.is_valid():
            return self._render(request, invitation, form, status=400)
        try:
            survey_response_record(
                invitation=invitation,
                answers=form.answers(),
                comment=form.cleaned_data["comment"],
                source=SurveyResponse.Source.WEB,
            )
        except SurveyError as error:
            return _error(request, error)
        return redirect("surveys:thanks", token=token)


@require_safe
def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = _answerable(token)
    except SurveyError as error:
        return _error(request, error)
    return render(
        request,
        "surveys/thanks.html",
        {"invitation": invitation, "responses": list(invitation.responses.all()), "token": token},
    )
