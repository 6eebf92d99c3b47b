"""Small server-side SVG charts for the metrics dashboard (pure: no Django imports, no JavaScript).

The one chart module: the admin's /admin/metrics/ and the workspace's /desk/metrics/ draw with it.
Each function returns a complete `<svg>` element with `role="img"`, an accessible name and a
`<title>`; every text is escaped, so the result can be inserted into a page as is.  Colours and
sizes are presentation attributes, so a page's CSS (`.chart`, `.chart-grid`, `.chart-tick`,
`.chart-legend`) can restyle them.
"""

from collections.abc import Sequence
from html import escape

PALETTE = ("#2f6fb0", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bbf", "#7f8c8d", "#d4a017", "#16a085")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 140, 28, 40


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 0.1
    while magnitude * 10 < value:
        magnitude *= 10
    while magnitude > value * 10:
        magnitude /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if magnitude * factor >= value:
            return magnitude * factor
    return magnitude * 10


def _format(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _frame(title: str, labels: Sequence[str], top: float, unit: str, bottom: float = 0.0) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}" class="chart" font-family="sans-serif" '
        'font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(5):
        value = bottom + (top - bottom) * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd" '
            'class="chart-grid"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="chart-tick">'
            f"{escape(_format(value) + unit)}</text>"
        )
    step = max(1, -(-len(labels) // 8))  # at most 8 x labels, so they never overlap
    for index, label in enumerate(labels):
        if index % step == 0:
            x = _x(index, len(labels))
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="chart-tick">'
                f"{escape(label)}</text>"
            )
    return parts


def _x(index: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (index + 0.5) / max(count, 1)


def _y(value: float, top: float, bottom: float = 0.0) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * ((value - bottom) / (top - bottom))


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        y = TOP + 14 * index
        color = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{y}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{WIDTH - RIGHT + 26}" y="{y + 9}" class="chart-legend">{escape(name)}</text>')
    return parts


def line_chart(
    *, title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str = ""
) -> str:
    """One line per series over the labels; None values leave a gap in the line.

    With a negative value (e.g. an NPS) the axis runs symmetrically from -max to +max.
    """
    values = [v for points in series.values() for v in points if v is not None]
    if any(v < 0 for v in values):
        top = _nice_max(max(abs(v) for v in values))
        bottom = -top
    else:
        top, bottom = _nice_max(max(values, default=0)), 0.0
    parts = _frame(title, labels, top, unit, bottom)
    for index, (name, points) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for i, value in enumerate(points):
            if value is None:
                segments.append([])
                continue
            x, y = _x(i, len(labels)), _y(value, top, bottom)
            segments[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(f'{name} {labels[i]}: {_format(value)}{unit}')}</title></circle>"
            )
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(segment)}"/>'
                )
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar_chart(*, title: str, labels: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    """Bars per label, each stacked from the series (e.g. tickets per day, stacked by channel)."""
    totals = [sum(points[i] for points in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    parts = _frame(title, labels, top, "")
    bar_w = max(1.0, (WIDTH - LEFT - RIGHT) / max(len(labels), 1) * 0.7)
    for i, label in enumerate(labels):
        base = 0.0
        for index, (name, points) in enumerate(series.items()):
            value = points[i]
            if not value:
                continue
            y_top, y_bottom = _y(base + value, top), _y(base, top)
            parts.append(
                f'<rect x="{_x(i, len(labels)) - bar_w / 2:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{y_bottom - y_top:.1f}" fill="{PALETTE[index % len(PALETTE)]}">'
                f"<title>{escape(f'{label} {name}: {_format(value)}')}</title></rect>"
            )
            base += value
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(*, title: str, items: Sequence[tuple[str, float]], unit: str = "") -> str:
    """One bar per (label, value), e.g. tickets per channel over a whole period."""
    labels = [label for label, _ in items]
    top = _nice_max(max((value for _, value in items), default=0))
    parts = _frame(title, labels, top, unit)
    bar_w = max(1.0, (WIDTH - LEFT - RIGHT) / max(len(items), 1) * 0.7)
    for i, (label, value) in enumerate(items):
        y_top, y_bottom = _y(value, top), _y(0, top)
        parts.append(
            f'<rect x="{_x(i, len(items)) - bar_w / 2:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
            f'height="{y_bottom - y_top:.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(f'{label}: {_format(value)}{unit}')}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)
