"""Every text colour of the one stylesheet reaches WCAG AA (4.5:1) on the background it is drawn on."""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "tickets/static/helpdesk/app.css").read_text()
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))
# Rules drawn on the dark top bar rather than on a page or card background.
ON_TOPBAR = re.compile(r"^\.(topbar|topnav|bell-button|whoami)|^\.brand(:hover|-mark)?$")
PAGE_BACKGROUNDS = ("surface", "bg", "surface-2")


def _colour(value: str) -> str | None:
    value = value.strip()
    if value in ("#fff", "white"):
        return "#ffffff"
    variable = re.fullmatch(r"var\(--([\w-]+)\)", value)
    if variable:
        return VARIABLES.get(variable.group(1))
    return value if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _text_rules() -> list[tuple[str, str, list[str]]]:
    """(selector, text colour, backgrounds it may sit on) for each rule that sets a text colour."""
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        selector = selector.strip().splitlines()[-1].strip()
        text = re.search(r"(?<![-\w])(?:color|fill):\s*([^;}]+)", body)
        foreground = _colour(text.group(1)) if text else None
        if foreground is None:
            continue
        background = re.search(r"background(?:-color)?:\s*([^;}]+)", body)
        own = _colour(background.group(1)) if background else None
        if own:
            backgrounds = [own]
        elif ON_TOPBAR.match(selector):
            backgrounds = [VARIABLES["topbar"]]
        else:
            backgrounds = [VARIABLES[name] for name in PAGE_BACKGROUNDS]
        rules.append((selector, foreground, backgrounds))
    return rules


def test_the_audit_reads_the_stylesheet():
    assert len(_text_rules()) > 60
    assert contrast("#000000", "#ffffff") == pytest.approx(21)


@pytest.mark.parametrize(("selector", "foreground", "backgrounds"), _text_rules(), ids=lambda v: str(v)[:40])
def test_text_colour_reaches_4_5_to_1(selector, foreground, backgrounds):
    for background in backgrounds:
        assert contrast(foreground, background) >= 4.5, f"{selector}: {foreground} on {background}"


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("muted", "agent-bg"),  # times and labels in an agent's reply
        ("muted", "note-bg"),  # ... and in an internal note
        ("muted", "primary-soft"),  # the bulk bar with a selection
        ("muted", "danger-bg"),
        ("primary", "agent-bg"),  # links in an agent's reply
        ("ok-text", "surface"),  # "✓ Saved"
        ("warn-text", "warn-bg"),  # the away confirmation
    ],
)
def test_text_inside_tinted_boxes_reaches_4_5_to_1(foreground, background):
    assert contrast(VARIABLES[foreground], VARIABLES[background]) >= 4.5
