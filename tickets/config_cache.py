"""Per-process caches of the configuration every inbound message reads, invalidated on change.

Own addresses, teams, routing rules, webhook subscriptions, SLA policies and business calendars change
rarely but were read several times for every ticket. `cached(key, loader)` keeps the loaded value per
process, tagged with the configuration version: one row (`ConfigVersion`) whose counter the
`post_save`/`post_delete`/`m2m_changed` receivers of the watched models bump in the changing transaction.
A process reloads a value when the committed version differs from the one it was loaded at, so a change
made in the admin reaches every web process, Celery worker and ingest worker at its next read.

Reading the version is one primary-key lookup; `config_snapshot()` reads it once for a whole unit of work
(one inbound message) and the cached reads inside it cost no query at all. Writes that bypass the model
signals (`QuerySet.update`, `bulk_create`) on watched models must call `config_changed()` themselves.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from tickets.models import ConfigVersion

T = TypeVar("T")
ROW = 1

_values: dict[str, tuple[int, object]] = {}
_lock = threading.Lock()
# The version pinned by `config_snapshot` for the unit of work in progress, else None.
_pinned: ContextVar[int | None] = ContextVar("config_version_pinned", default=None)


def _read_version(also: str = "") -> int:
    if not also:
        return ConfigVersion.objects.filter(pk=ROW).values_list("version", flat=True).first() or 0
    table = connection.ops.quote_name(ConfigVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT (SELECT version FROM {table} WHERE id = %s), {also}", [ROW])
        return cursor.fetchone()[0] or 0


def config_version() -> int:
    pinned = _pinned.get()
    return _read_version() if pinned is None else pinned


def cached(key: str, loader: Callable[[], T]) -> T:
    """The value `loader()` returned at the current configuration version (loaded once per version)."""
    version = config_version()
    hit = _values.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]  # type: ignore[return-value]
    value = loader()
    with _lock:
        _values[key] = (version, value)
    return value


@contextmanager
def config_snapshot(also: str = "") -> Iterator[None]:
    """Read the configuration version once for the block: cached reads inside it need no query.

    `also` is an SQL expression evaluated in the same statement, for a caller that needs one more round
    trip at the start of its unit of work (the inbound processing sets its commit mode so).
    """
    if _pinned.get() is not None:
        yield  # an outer snapshot already pinned it
        return
    token = _pinned.set(_read_version(also))
    try:
        yield
    finally:
        _pinned.reset(token)


def config_clear() -> None:
    """Forget every cached value in this process (the next read loads again)."""
    with _lock:
        _values.clear()


def config_changed() -> None:
    """Record a configuration change: bump the version in this transaction and drop this process's cache."""
    if not ConfigVersion.objects.filter(pk=ROW).update(version=F("version") + 1):
        try:
            with transaction.atomic():
                ConfigVersion.objects.create(pk=ROW, version=1)
        except IntegrityError:  # created concurrently: bump that row instead
            ConfigVersion.objects.filter(pk=ROW).update(version=F("version") + 1)
    config_clear()
    if _pinned.get() is not None:
        _pinned.set(_read_version())


def _changed(sender, **kwargs) -> None:
    if kwargs.get("raw"):
        return  # loaddata: the fixture's own rows, no live configuration changed yet
    if kwargs.get("action", "post_").startswith("pre_"):
        return
    config_changed()


def watch(*models: type[Model]) -> None:
    """Bump the version whenever a row of these models (or one of their many-to-many links) changes."""
    for model in models:
        uid = f"config_cache.{model._meta.label}"
        post_save.connect(_changed, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(_changed, sender=model, dispatch_uid=uid + ".delete")
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            m2m_changed.connect(_changed, sender=through, dispatch_uid=f"{uid}.{field.name}")
