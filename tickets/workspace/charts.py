"""Small server-side SVG charts (pure: no Django imports).

Output is a complete `<svg>` element with `role="img"`, a `<title>` and a text fallback table is the
caller's job. Every label is XML-escaped here, so the result is safe to insert into a page.
"""

from collections.abc import Sequence
from html import escape

WIDTH = 640
HEIGHT = 240
PAD_LEFT = 48
PAD_RIGHT = 16
PAD_TOP = 16
PAD_BOTTOM = 40
PALETTE = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 times 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1000 else f"{value:,.0f}"


def _axes(maximum: float, unit: str, minimum: float = 0.0) -> list[str]:
    parts = []
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    for i in range(5):
        value = minimum + (maximum - minimum) * i / 4
        y = PAD_TOP + plot_height - plot_height * i / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" class="chart-grid"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="chart-tick">'
            f"{escape(_fmt(value))}</text>"
        )
    if unit:
        parts.append(f'<text x="4" y="{PAD_TOP - 4}" class="chart-tick">{escape(unit)}</text>')
    return parts


def _svg(title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _label_step(count: int) -> int:
    return max(1, -(-count // 8))  # at most 8 x labels, so they never overlap


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> str:
    """Vertical bars, one per (label, value)."""
    maximum = _nice_max(max((value for _, value in items), default=0))
    plot_width = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = _axes(maximum, unit)
    slot = plot_width / max(len(items), 1)
    step = _label_step(len(items))
    for i, (label, value) in enumerate(items):
        height = plot_height * value / maximum
        x = PAD_LEFT + i * slot + slot * 0.15
        y = PAD_TOP + plot_height - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
            f'fill="{PALETTE[0]}" rx="2"><title>{escape(label)}: {escape(_fmt(value))}</title></rect>'
        )
        if i % step == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" '
                f'class="chart-tick">{escape(label)}</text>'
            )
    return _svg(title, parts)


def line_chart(
    labels: Sequence[str], series: dict[str, Sequence[float | None]], *, title: str, unit: str = ""
) -> str:
    """One line per series over shared x labels; a None value breaks the line (no data that period).

    With a negative value (e.g. an NPS) the axis runs symmetrically from -max to +max.
    """
    values = [v for points in series.values() for v in points if v is not None]
    if any(v < 0 for v in values):
        maximum = _nice_max(max(abs(v) for v in values))
        minimum = -maximum
    else:
        maximum, minimum = _nice_max(max(values, default=0)), 0.0
    plot_width = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = _axes(maximum, unit, minimum)
    count = max(len(labels), 1)
    slot = plot_width / count

    def x_at(i: int) -> float:
        return PAD_LEFT + slot * i + slot / 2

    step = _label_step(len(labels))
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text x="{x_at(i):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" '
                f'class="chart-tick">{escape(label)}</text>'
            )
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for i, value in enumerate(points):
            if value is None:
                segments.append([])
                continue
            y = PAD_TOP + plot_height - plot_height * (value - minimum) / (maximum - minimum)
            segments[-1].append(f"{x_at(i):.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x_at(i):.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {escape(labels[i])}: {escape(_fmt(value))}</title></circle>"
            )
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        legend_x = PAD_LEFT + index * 180
        parts.append(
            f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" class="chart-legend">{escape(name)}</text>'
        )
    return _svg(title, parts)
