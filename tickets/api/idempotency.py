"""`Idempotency-Key` on API creates: a client's retry gets the first answer instead of a second ticket.

The key row is inserted first, in the same transaction as the create. A concurrent retry with the same key
blocks on the unique index until the first request ends: if it committed, the retry replays its answer; if
it rolled back (an error answer), the retry runs afresh. Only successful answers are ever stored.
Rows older than HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS are purged by a beat task; a retry after that
is a new request.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value per intended create (e.g. a UUID). A retry with the same key and body gets the "
        "first answer again and creates nothing; the same key with a different body answers 422."
    ),
)


class IdempotencyKeyReused(APIException):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used for a different request; use a new key."


def _canonical(value):
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)  # the view reads it again
        return {"file": value.name, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # QueryDict / MultiValueDict of a form or multipart body
        return {key: [_canonical(item) for item in items] for key, items in value.lists()}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    return value


def request_fingerprint(request: Request) -> str:
    body = json.dumps(_canonical(request.data), sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent_response(*, request: Request, owner: str, produce: Callable[[], Response]) -> Response:
    """`produce()` once per (owner, Idempotency-Key); without the header, simply `produce()`."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return produce()
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationError({HEADER: [f"Use at most {MAX_KEY_LENGTH} printable ASCII characters."]})
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    owner=owner,
                    key=key,
                    request_fingerprint=fingerprint,
                    response_status=0,  # filled in below, before this transaction commits
                    response_body={},
                    created_at=timezone.now(),
                )
        except IntegrityError:
            earlier = IdempotencyKey.objects.filter(owner=owner, key=key).first()
            if earlier is None:
                raise
            if earlier.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused() from None
            return Response(
                earlier.response_body, status=earlier.response_status, headers={"Idempotent-Replayed": "true"}
            )
        response = produce()
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
    return response


def idempotency_keys_purge(*, now: datetime, batch_size: int = 1000) -> int:
    """Delete one batch (oldest first) of keys older than the retention period; returns how many.

    Safe to run twice or concurrently: a row deleted by another run is simply not deleted again. A key
    younger than the retention period is never touched, so a retry within it still replays its answer.
    """
    cutoff = now - timedelta(hours=settings.HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS)
    pks = list(
        IdempotencyKey.objects.filter(created_at__lt=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not pks:
        return 0
    deleted, _ = IdempotencyKey.objects.filter(pk__in=pks).delete()
    return deleted
