"""The intake API for chat, phone and social integrations, authenticated per integration by API key.

Each endpoint validates the payload, calls one intake service (one transaction) and answers with the
ticket it filed into: 201 when a ticket was created, 200 when it appended to (or re-found) one.
"""

import logging

from django.db import IntegrityError
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_response
from tickets.customers import normalize_email, normalize_phone
from tickets.exceptions import CustomerIdentityError, DomainError
from tickets.intake import services as intake
from tickets.models import Channel, IntegrationKey, PhoneCall

logger = logging.getLogger(__name__)


class IntegrationPrincipal:
    """The request's user for an integration key: authenticated, but no Django user and no staff rights."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, integration: IntegrationKey) -> None:
        self.integration = integration

    def __str__(self) -> str:
        return f"integration {self.integration.name}"


class IntegrationKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>` or `X-Api-Key: <key>`; request.auth is the IntegrationKey."""

    keyword = "Bearer"

    def authenticate(self, request: Request):
        key = request.META.get("HTTP_X_API_KEY", "").strip()
        if not key:
            parts = get_authorization_header(request).split()
            if not parts or parts[0].lower() != self.keyword.lower().encode():
                return None
            if len(parts) != 2:
                raise AuthenticationFailed(
                    "Send the key as 'Authorization: Bearer <key>' (one value, no spaces)."
                )
            try:
                key = parts[1].decode()
            except UnicodeError as error:
                raise AuthenticationFailed("The API key contains invalid characters.") from error
        integration = intake.integration_key_authenticate(key=key)
        if integration is None:
            raise AuthenticationFailed("Unknown or inactive API key; ask an administrator for a valid one.")
        return IntegrationPrincipal(integration), integration

    def authenticate_header(self, request: Request) -> str:
        # A non-empty header makes DRF answer 401 (not 403) for missing or bad credentials.
        return 'Bearer realm="intake"'


class IntegrationKeyScheme(OpenApiAuthenticationExtension):
    """Describes IntegrationKeyAuthentication in the OpenAPI schema (either header works)."""

    target_class = IntegrationKeyAuthentication
    name = ["integrationKeyBearer", "integrationKeyHeader"]

    def get_security_definition(self, auto_schema) -> list[dict]:
        return [
            {"type": "http", "scheme": "bearer", "description": "An intake integration key."},
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Api-Key",
                "description": "An intake integration key.",
            },
        ]

    def get_security_requirement(self, auto_schema) -> list[dict]:
        # Alternatives, not both at once.
        return [{self.name[0]: []}, {self.name[1]: []}]


class IntegrationForChannel(BasePermission):
    """The key must be for the channel of the endpoint (a chat key cannot file phone calls)."""

    def has_permission(self, request: Request, view: "IntakeView") -> bool:
        integration = request.auth
        if not isinstance(integration, IntegrationKey):
            return False
        if integration.channel != view.channel:
            raise PermissionDenied(
                f"This key is for the {integration.channel} channel; this endpoint takes {view.channel}."
            )
        return True


class IntakeResultSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="The ticket reference, e.g. HD-1042.")
    ticket_id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="True when this request opened a new ticket.")
    messages_added = serializers.IntegerField()


ERROR_RESPONSES = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid payload: field errors."),
    401: OpenApiResponse(OpenApiTypes.OBJECT, description="Missing, unknown or inactive API key."),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="The key is for another channel."),
}


class IntakeView(APIView):
    """Subclasses set `channel` and `input_serializer` and define `file(integration=, data=)`."""

    authentication_classes = [IntegrationKeyAuthentication]
    permission_classes = [IntegrationForChannel]
    channel: str = ""
    input_serializer: type[serializers.Serializer]

    def post(self, request: Request) -> Response:
        owner = f"integration:{request.auth.pk}"
        return idempotent_response(request=request, owner=owner, produce=lambda: self._post(request))

    def _post(self, request: Request) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            try:
                result = self.file(integration=request.auth, data=serializer.validated_data)
            except IntegrityError:
                # A concurrent request filed the same conversation or message first and our
                # transaction rolled back whole; a second pass finds its rows and is idempotent.
                logger.info("Intake retried after a concurrent duplicate on %s", self.channel)
                result = self.file(integration=request.auth, data=serializer.validated_data)
        except DomainError as error:
            raise serializers.ValidationError({"detail": [str(error)]}) from error
        body = {
            "ticket": result.ticket.reference,
            "ticket_id": result.ticket.pk,
            "created": result.created,
            "messages_added": result.messages_added,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def _validate_email(value: str) -> str:
    try:
        return normalize_email(value)
    except CustomerIdentityError as error:
        raise serializers.ValidationError(str(error)) from error


def _validate_phone(value: str) -> str:
    try:
        return normalize_phone(value)
    except CustomerIdentityError as error:
        raise serializers.ValidationError(str(error)) from error


# --- chat ----------------------------------------------------------------------------------------


class IntakeChatCustomerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    handle = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="The visitor's id in the chat system."
    )

    def validate_email(self, value: str) -> str:
        return _validate_email(value) if value else ""

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("email") and not attrs.get("handle"):
            raise serializers.ValidationError("Give the customer's email or chat handle (or both).")
        return attrs


class IntakeChatMessageSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="The chat system's message id, if any."
    )
    author = serializers.ChoiceField(choices=["customer", "agent"])
    author_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="For agents: username or email.",
    )
    text = serializers.CharField(max_length=50_000)
    timestamp = serializers.DateTimeField()


class IntakeChatTranscriptSerializer(serializers.Serializer):
    conversation_id = serializers.CharField(max_length=200)
    customer = IntakeChatCustomerSerializer()
    messages = IntakeChatMessageSerializer(many=True, allow_empty=False, max_length=1000)


class ChatTranscriptView(IntakeView):
    channel = Channel.CHAT
    input_serializer = IntakeChatTranscriptSerializer

    @extend_schema(
        operation_id="intake_chat_transcript",
        summary="File a chat transcript",
        description=(
            "Opens a chat ticket, or appends the new messages to the conversation's unsolved ticket. "
            "Re-posting a transcript adds only messages not seen before (by message id, else position)."
        ),
        request=IntakeChatTranscriptSerializer,
        responses={201: IntakeResultSerializer, 200: IntakeResultSerializer, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[
            OpenApiExample(
                "Transcript",
                request_only=True,
                value={
                    "conversation_id": "conv-8812",
                    "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "handle": "visitor-77"},
                    "messages": [
                        {
                            "author": "customer",
                            "text": "My invoice is wrong",
                            "timestamp": "2026-11-23T09:00:00Z",
                        },
                        {
                            "author": "agent",
                            "author_name": "maria",
                            "text": "Let me check",
                            "timestamp": "2026-11-23T09:01:10Z",
                        },
                    ],
                },
            )
        ],
        tags=["intake"],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def file(self, *, integration: IntegrationKey, data: dict) -> intake.IntakeResult:
        return intake.intake_chat_transcript(
            integration=integration,
            conversation_id=data["conversation_id"],
            customer_name=data["customer"].get("name", ""),
            customer_email=data["customer"].get("email") or None,
            customer_handle=data["customer"].get("handle") or None,
            lines=[
                intake.ChatLine(
                    author=line["author"],
                    author_name=line.get("author_name", ""),
                    text=line["text"],
                    timestamp=line["timestamp"],
                    message_id=line.get("id", ""),
                )
                for line in data["messages"]
            ],
        )


# --- phone ---------------------------------------------------------------------------------------


class IntakePhoneCallSerializer(serializers.Serializer):
    call_id = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="The telephony system's call id (idempotency).",
    )
    caller = serializers.CharField(max_length=40, help_text="The customer's number, ideally E.164.")
    caller_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    direction = serializers.ChoiceField(
        choices=PhoneCall.Direction.choices, default=PhoneCall.Direction.INBOUND
    )
    outcome = serializers.ChoiceField(choices=PhoneCall.Outcome.choices)
    queue_wait_seconds = serializers.IntegerField(min_value=0, max_value=7 * 24 * 3600, default=0)
    talk_seconds = serializers.IntegerField(min_value=0, max_value=7 * 24 * 3600, default=0)
    wrap_up_seconds = serializers.IntegerField(
        min_value=0, max_value=7 * 24 * 3600, default=0, help_text="After-call work of the answering agent."
    )
    agent = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text="Username or email of the agent who answered; phone measures count the call for them.",
    )
    notes = serializers.CharField(max_length=50_000, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField()

    def validate_caller(self, value: str) -> str:
        return _validate_phone(value)

    def validate(self, attrs: dict) -> dict:
        if attrs["outcome"] == PhoneCall.Outcome.ABANDONED and attrs.get("talk_seconds"):
            raise serializers.ValidationError({"talk_seconds": "An abandoned call has no talk time; send 0."})
        if attrs["outcome"] == PhoneCall.Outcome.ABANDONED and attrs.get("wrap_up_seconds"):
            raise serializers.ValidationError(
                {"wrap_up_seconds": "An abandoned call has no wrap-up time; send 0."}
            )
        return attrs


class PhoneCallView(IntakeView):
    channel = Channel.PHONE
    input_serializer = IntakePhoneCallSerializer

    @extend_schema(
        operation_id="intake_phone_call",
        summary="Record a phone call",
        description=(
            "Records the call (for abandonment rate and average speed of answer) and files it on the "
            "caller's unsolved phone ticket with a call in the last HELPDESK_PHONE_THREAD_HOURS hours, or "
            "on a new ticket. Abandoned calls also make a ticket, tagged `abandoned-call`."
        ),
        request=IntakePhoneCallSerializer,
        responses={201: IntakeResultSerializer, 200: IntakeResultSerializer, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[
            OpenApiExample(
                "Abandoned call",
                request_only=True,
                value={
                    "call_id": "c-5521",
                    "caller": "+14155550123",
                    "outcome": "abandoned",
                    "queue_wait_seconds": 95,
                    "started_at": "2026-11-23T09:00:00Z",
                },
            )
        ],
        tags=["intake"],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def file(self, *, integration: IntegrationKey, data: dict) -> intake.IntakeResult:
        return intake.intake_phone_call(
            integration=integration,
            external_id=data.get("call_id") or None,
            caller=data["caller"],
            customer_name=data.get("caller_name", ""),
            direction=data["direction"],
            outcome=data["outcome"],
            queue_wait_seconds=data["queue_wait_seconds"],
            talk_seconds=data["talk_seconds"],
            wrap_up_seconds=data["wrap_up_seconds"],
            agent=data.get("agent", ""),
            notes=data.get("notes", ""),
            started_at=data["started_at"],
        )


# --- social --------------------------------------------------------------------------------------


class IntakeSocialMessageSerializer(serializers.Serializer):
    platform = serializers.RegexField(
        r"^[A-Za-z0-9_.-]{1,40}$", help_text="e.g. twitter, facebook, instagram, whatsapp"
    )
    handle = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=200, help_text="The platform's id of the post or message.")
    post_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")
    text = serializers.CharField(max_length=50_000)
    timestamp = serializers.DateTimeField(required=False)

    def validate_handle(self, value: str) -> str:
        if not value.strip().lstrip("@"):
            raise serializers.ValidationError("The handle is empty; send the sender's handle, e.g. @acme.")
        return value.strip()


class SocialMessageView(IntakeView):
    channel = Channel.SOCIAL
    input_serializer = IntakeSocialMessageSerializer

    @extend_schema(
        operation_id="intake_social_message",
        summary="File a social media message",
        description=(
            "Opens a social ticket, or adds the message to the unsolved ticket of the same platform and "
            "handle. Idempotent on (platform, external_id)."
        ),
        request=IntakeSocialMessageSerializer,
        responses={201: IntakeResultSerializer, 200: IntakeResultSerializer, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[
            OpenApiExample(
                "Mention",
                request_only=True,
                value={
                    "platform": "twitter",
                    "handle": "@ada",
                    "external_id": "1790000000000000001",
                    "post_url": "https://twitter.com/ada/status/1790000000000000001",
                    "text": "@acme my order never arrived",
                },
            )
        ],
        tags=["intake"],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def file(self, *, integration: IntegrationKey, data: dict) -> intake.IntakeResult:
        return intake.intake_social_message(
            integration=integration,
            platform=data["platform"],
            handle=data["handle"],
            customer_name=data.get("name", ""),
            external_id=data["external_id"],
            post_url=data.get("post_url", ""),
            text=data["text"],
            timestamp=data.get("timestamp") or timezone.now(),
        )
