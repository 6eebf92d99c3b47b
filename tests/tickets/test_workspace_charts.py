import xml.etree.ElementTree as ET

import pytest

from tickets.workspace.charts import _nice_max, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_chart_is_valid_svg_with_one_bar_per_item_and_an_accessible_name():
    svg = bar_chart([("Email", 10), ("Chat", 5)], title="Volume", unit="tickets")
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Volume"
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 2
    assert float(bars[0].get("height")) == pytest.approx(2 * float(bars[1].get("height")))


def test_labels_are_escaped():
    svg = bar_chart([("<script>alert(1)</script>", 1)], title='a "quoted" & <title>')
    assert "<script>" not in svg
    ET.fromstring(svg)  # still well-formed


def test_line_chart_breaks_the_line_where_a_value_is_missing():
    svg = line_chart(["d1", "d2", "d3", "d4"], {"Median": [1.0, 2.0, None, 3.0]}, title="T")
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle")) == 3
    assert len(root.findall(f"{SVG}polyline")) == 1  # d1-d2 only; d4 alone draws no segment


def test_empty_data_draws_axes_only():
    root = ET.fromstring(line_chart([], {"A": []}, title="Empty"))
    assert root.findall(f"{SVG}polyline") == []
    root = ET.fromstring(bar_chart([], title="Empty"))
    assert root.findall(f"{SVG}rect") == []
    assert len(root.findall(f"{SVG}line")) == 5


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (0.3, 1), (1, 1), (7, 10), (11, 20), (23, 25), (187, 200), (4100, 5000)]
)
def test_axis_maximum_is_a_round_number_at_or_above_the_data(value, expected):
    assert _nice_max(value) == expected


def test_many_x_labels_are_thinned_out():
    labels = [f"L{i}" for i in range(60)]
    svg = line_chart(labels, {"A": list(range(60))}, title="T")
    assert sum(1 for label in labels if f">{label}<" in svg) <= 8


def test_negative_values_get_a_symmetric_axis_with_zero_in_the_middle():
    svg = line_chart(["a", "b"], {"NPS": [-40, 30]}, title="NPS")
    ET.fromstring(svg)
    assert ">-50<" in svg and ">50<" in svg and ">0<" in svg
    ys = [float(c.split('cy="')[1].split('"')[0]) for c in svg.split("<circle")[1:]]
    middle = 16 + (240 - 16 - 40) / 2
    assert ys[0] > middle > ys[1]
