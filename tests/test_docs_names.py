"""Every Python name and repository path the docs cite in backticks exists.

Only inline code is read (fenced blocks show shell sessions and sketches); a token counts when it is
a dotted path under one of our packages (`tickets.services.ticket_create`, optionally followed by its
call signature) or a path to a file of ours (`tickets/reporting/charts.py`). A dotted token also
exists when it is a model label (`tickets.Macro`), a webhook event name (`sla.breach`) or the id of
one of our system checks (`tickets.E001`); a path
ending in `.html` when it names a template (`surveys/error.html`). `Model.attribute` tokens whose
model is one of ours (`Mailbox.last_error`) must name a field or attribute of that model.
"""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from tickets.models import WebhookEvent

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
PACKAGES = ("tickets", "sla", "surveys", "helpdesk")

_FENCE_RE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_INLINE_RE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_NAME_RE = re.compile(rf"(?P<name>(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(.*\))?")
_MODEL_ATTRIBUTE_RE = re.compile(r"(?P<name>[A-Z][A-Za-z0-9]*\.[a-z_][A-Za-z0-9_]*)(?:\(.*\))?")
_PATH_RE = re.compile(rf"(?P<path>(?:{'|'.join(PACKAGES)}|tests|docs|bench|scripts)/[\w./-]*[\w/])")


def cited(kind: re.Pattern, group: str) -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        text = _FENCE_RE.sub("", document.read_text(encoding="utf-8"))
        for token in _INLINE_RE.findall(text):
            match = kind.fullmatch(token.strip())
            if match:
                found.append((document.name, match.group(group)))
    return sorted(set(found))


_CHECK_ID_RE = re.compile(r"[a-z]+\.[CDEIW]\d{3}")


def exists(dotted: str) -> bool:
    if dotted in WebhookEvent.values:
        return True
    if _CHECK_ID_RE.fullmatch(dotted):
        package = ROOT / dotted.partition(".")[0]
        return any(f'id="{dotted}"' in source.read_text() for source in package.rglob("*.py"))
    app_label, _, model = dotted.partition(".")
    if model[:1].isupper() and "." not in model:
        try:
            apps.get_model(app_label, model)
        except LookupError:
            pass
        else:
            return True
    try:
        resolve(dotted)
    except (ImportError, AttributeError):
        return False
    return True


def path_exists(path: str) -> bool:
    if (ROOT / path).exists():
        return True
    if path.endswith(".html"):
        try:
            get_template(path)
        except TemplateDoesNotExist:
            return False
        return True
    return False


def resolve(dotted: str) -> object:
    """Import the longest importable module prefix of `dotted`, then look the rest up as attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            target = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is not None and not module_name.startswith(error.name):
                raise  # the module exists but imports something missing
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


NAMES = cited(_NAME_RE, "name")
PATHS = cited(_PATH_RE, "path")
OUR_MODELS = {m.__name__: m for m in apps.get_models() if m._meta.app_label in PACKAGES}
MODEL_ATTRIBUTES = [
    (document, token)
    for document, token in cited(_MODEL_ATTRIBUTE_RE, "name")
    if token.partition(".")[0] in OUR_MODELS
]


def test_the_docs_cite_names_and_paths_at_all():
    # Guards the extraction itself: a broken pattern would make the checks below pass vacuously.
    assert len(NAMES) > 20 and len(PATHS) > 20 and len(MODEL_ATTRIBUTES) > 5
    assert ("api.md", "tickets.search.ticket_search") in NAMES
    assert ("architecture.md", "tickets/adapters/sla.py") in PATHS


@pytest.mark.parametrize(("document", "name"), NAMES, ids=[f"{d}:{n}" for d, n in NAMES])
def test_every_cited_python_name_exists(document, name):
    assert exists(name), f"{document} cites `{name}`, which does not exist"


@pytest.mark.parametrize(
    ("document", "token"), MODEL_ATTRIBUTES, ids=[f"{d}:{t}" for d, t in MODEL_ATTRIBUTES]
)
def test_every_cited_model_attribute_exists(document, token):
    model_name, _, attribute = token.partition(".")
    model = OUR_MODELS[model_name]
    fields = {field.name for field in model._meta.get_fields()}
    assert attribute in fields or hasattr(model, attribute), f"{document} cites `{token}`, which is missing"


@pytest.mark.parametrize(("document", "path"), PATHS, ids=[f"{d}:{p}" for d, p in PATHS])
def test_every_cited_repository_path_exists(document, path):
    assert path_exists(path), f"{document} cites `{path}`, which does not exist"


def test_the_extraction_reads_only_our_dotted_names_and_paths():
    assert _NAME_RE.fullmatch("tickets.services.ticket_create(*, subject, customer)")
    assert _NAME_RE.fullmatch("sla.services.sla_sweep")
    assert not _NAME_RE.fullmatch("django.db.models")
    assert not _NAME_RE.fullmatch("ticket.status")
    assert not _NAME_RE.fullmatch("make lint")
    assert _PATH_RE.fullmatch("tickets/reporting/charts.py")
    assert not _PATH_RE.fullmatch("/api/v1/metrics/")


def test_a_missing_name_or_path_is_caught():
    assert exists("tickets.services.ticket_create") and exists("tickets.mail") and exists("tickets.Macro")
    assert not exists("tickets.services.ticket_teleport")
    assert not exists("tickets.no_such_module.thing")
    assert not exists("tickets.NoSuchModel")
    assert exists("tickets.E001") and not exists("tickets.E999")
    assert not path_exists("tickets/no_such_file.py")
