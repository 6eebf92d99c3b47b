"""One exception handler and one error body for the whole API, and the schema that declares them.

Every error answers `{"detail": "...", "code": "...", "errors": {...}}`: `detail` is a sentence for
people, `code` a stable token for programs, `errors` (validation only) the messages per field.
Domain errors from the services map to 400, or 409 when the ticket's state is what refuses them.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.exceptions import DomainError, InvalidAssignmentError, MergeError, TicketClosedError
from tickets.transitions import TransitionError

# Most specific first: TransitionError and the others all derive from DomainError.
DOMAIN_ERRORS: tuple[tuple[type[DomainError], int, str], ...] = (
    (TicketClosedError, status.HTTP_409_CONFLICT, "ticket_closed"),
    (TransitionError, status.HTTP_409_CONFLICT, "transition_not_allowed"),
    (InvalidAssignmentError, status.HTTP_400_BAD_REQUEST, "invalid_assignment"),
    (MergeError, status.HTTP_400_BAD_REQUEST, "merge_refused"),
    (DomainError, status.HTTP_400_BAD_REQUEST, "domain_error"),
)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="Validation messages per field."
    )


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        field, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if field == "non_field_errors" else f"{field}: {message}"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    for error_class, http_status, code in DOMAIN_ERRORS:
        if isinstance(exc, error_class):
            return Response({"detail": str(exc), "code": code}, status=http_status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "detail": f"Invalid input: {_first_message(errors)}",
            "code": "invalid",
            "errors": errors,
        }
    else:
        detail = getattr(exc, "detail", str(exc))
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"detail": str(detail), "code": codes if isinstance(codes, str) else "error"}
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 404 page: JSON in the error body of the API for any path under /api/, HTML elsewhere.

    Paths that match no route (a non-integer id such as /api/v1/tickets/abc/messages/) never reach DRF.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


class HelpdeskAutoSchema(AutoSchema):
    """Adds the error responses every operation can give, so the schema describes real answers."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "401", "403"]
        if self.method != "GET" or self._is_list_view() or "{" in self.path or self._get_format_parameters():
            # Detail routes answer 404 for unknown or invisible ids; lists for a malformed cursor; DRF
            # answers 404 for a `format` it has no renderer for.
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("409")
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        if any(
            getattr(parameter, "name", "") == "Idempotency-Key"
            for parameter in self.get_override_parameters()
        ):
            codes.append("422")  # the key was used before with a different body
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return responses
