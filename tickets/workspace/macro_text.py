"""Placeholder substitution for macros (pure: no Django imports).

Macro bodies are written by staff but must never run code: this is not a template engine. Only
`{{ object.field }}` with a whitelisted object and field is replaced; everything else, including
`{{ 7*7 }}`, `{% tags %}` and unknown names, stays as literal text.
"""

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")

ALLOWED_FIELDS: dict[str, frozenset[str]] = {
    "customer": frozenset({"name", "first_name", "email"}),
    "ticket": frozenset({"reference", "subject"}),
    "agent": frozenset({"name", "first_name"}),
}


def render_macro(body: str, values: Mapping[str, Mapping[str, str]]) -> str:
    """Replace each allowed placeholder by its value (missing value: empty); leave the rest verbatim."""

    def substitute(match: re.Match) -> str:
        obj, field = match.group(1), match.group(2)
        if field not in ALLOWED_FIELDS.get(obj, ()):
            return match.group(0)
        return str(values.get(obj, {}).get(field, "") or "")

    # One pass: substituted values are never scanned again, so a customer named "{{ agent.name }}"
    # stays that literal string.
    return PLACEHOLDER.sub(substitute, body)
