import xml.etree.ElementTree as ET

import pytest

from tickets.reporting.charts import _nice_max, bar_chart, line_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_line_chart_is_well_formed_svg_with_one_line_per_series():
    root = parse(
        line_chart(
            title="First response", labels=["a", "b", "c"], series={"median": [1, 2, 3], "p90": [2, 4, 6]}
        )
    )
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 6


def test_line_chart_leaves_gaps_for_missing_values():
    root = parse(line_chart(title="t", labels=list("abcde"), series={"s": [1, 2, None, 4, 5]}))
    polylines = root.findall(f"{SVG}polyline")
    assert [len(p.get("points").split()) for p in polylines] == [2, 2]


def test_stacked_bars_stack_to_the_total_and_skip_zeros():
    root = parse(
        stacked_bar_chart(title="Volume", labels=["d1", "d2"], series={"email": [3, 0], "chat": [1, 2]})
    )
    rects = [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(rects) == 3
    heights = {r.find(f"{SVG}title").text: float(r.get("height")) for r in rects}
    assert heights["d1 email: 3"] == pytest.approx(3 * heights["d1 chat: 1"])


def test_text_is_escaped():
    svg = line_chart(title="<script>alert(1)</script>", labels=["<b>"], series={"a&b": [1]})
    assert "<script>" not in svg
    parse(svg)


def test_empty_data_still_draws_a_frame():
    parse(line_chart(title="Nothing", labels=[], series={}))
    parse(stacked_bar_chart(title="Nothing", labels=["d"], series={"x": [0]}))


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (0.3, 0.5), (7, 10), (12, 20), (230, 250), (4100, 5000)]
)
def test_axis_maximum_is_a_round_number_at_or_above_the_data(value, expected):
    assert _nice_max(value) == expected


def test_negative_values_get_a_symmetric_axis_with_zero_in_the_middle():
    svg = line_chart(title="NPS", labels=["a", "b"], series={"NPS": [-40, 30]})
    ET.fromstring(svg)
    assert ">-50<" in svg and ">50<" in svg and ">0<" in svg
    # -40 sits below the middle line (y = 28 + 192 / 2 = 124), 30 above it.
    ys = [float(c.split('cy="')[1].split('"')[0]) for c in svg.split("<circle")[1:]]
    assert ys[0] > 124 > ys[1]


def test_bar_chart_has_one_bar_per_item_and_an_accessible_name():
    root = parse(bar_chart(title="Volume", items=[("Email", 10), ("Chat", 5)], unit=" tickets"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Volume"
    assert root.find(f"{SVG}title").text == "Volume"
    bars = [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [b.find(f"{SVG}title").text for b in bars] == ["Email: 10 tickets", "Chat: 5 tickets"]
    assert float(bars[0].get("height")) == pytest.approx(2 * float(bars[1].get("height")))


def test_bar_chart_escapes_labels_and_draws_axes_without_data():
    svg = bar_chart(title='a "quoted" & <title>', items=[("<script>alert(1)</script>", 1)])
    assert "<script>" not in svg
    parse(svg)
    root = parse(bar_chart(title="Empty", items=[]))
    assert root.findall(f"{SVG}rect") == []
    assert len(root.findall(f"{SVG}line")) == 5


def test_many_x_labels_are_thinned_out_to_eight():
    labels = [f"L{i}" for i in range(60)]
    svg = line_chart(title="T", labels=labels, series={"A": list(range(60))})
    assert sum(1 for label in labels if f">{label}<" in svg) <= 8


def test_charts_carry_the_class_names_pages_style():
    root = parse(line_chart(title="T", labels=["a"], series={"s": [1]}))
    assert root.get("class") == "chart"
    assert {line.get("class") for line in root.findall(f"{SVG}line")} == {"chart-grid"}
