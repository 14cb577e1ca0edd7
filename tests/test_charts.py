"""Charts made once per content and language (advdl.ui.charts) and results shared across sessions
(advdl.ui.models.shared): what is kept, what is made again, and that nothing kept is changed."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import vega_lite_errors as _errors

from advdl.ui import charts, models


def test_a_cached_chart_is_built_once_per_key_and_language(monkeypatch):
    built = []

    @charts.cached
    def line(ys):
        built.append(tuple(ys))
        return charts.lines({"a": (range(len(ys)), ys)}, x="x", y="y")

    language = {"now": "en"}
    monkeypatch.setattr(charts, "lang", lambda: language["now"])
    monkeypatch.setattr(charts, "presenting", lambda: False)
    first = line(("k", 1), [1, 2, 3])
    assert line(("k", 1), [9, 9, 9]) is first and built == [(1, 2, 3)]  # the key names the content
    language["now"] = "zh"
    assert line(("k", 1), [1, 2, 3]) is not first and len(built) == 2  # labels differ by language
    assert [v["y"] for v in line(("k", 2), [4, 5])["layer"][0]["data"]["values"]] == [4, 5]


def _every_chart() -> dict[str, dict]:
    rng = np.random.default_rng(0)
    curve = charts.lines({"D": ([1, 2, 3], [0.5, None, 0.7]), "G": ([1, 2, 3], [1.0, 2.0, np.nan])}, x="epoch", y="loss", y_domain=(0, 1))
    scatter = charts.scatter({"0": ([1, 2], [3, 4]), "1": ([5], [6])}, x="PC 1", y="PC 2", rows={"0": [7, 8], "1": [9]}, select="pick")
    return {
        "lines": charts.with_layers(curve, [charts.rule(2)]),
        "bars": charts.bars({"caps": rng.random(10), "cnn": rng.random(10)}, range(10), x="class", highlight=(3, "#d93025")),
        "heatmap": charts.heatmap(rng.normal(size=(10, 16)), x="dimension", y="class", xs=range(1, 17)),
        "scatter": charts.with_layers(scatter, [charts.dots([1.5], [3.5], shape="cross", label="you"), charts.dots([1], [2], text=["0.50"])]),
    }


@pytest.mark.parametrize("name", ["lines", "bars", "heatmap", "scatter"])
def test_every_kind_of_chart_is_a_valid_vega_lite_spec(name):
    assert _errors(_every_chart()[name]) == []


def test_the_schema_check_catches_a_broken_spec():
    broken = charts.lines({"a": ([0, 1], [1, 2])}, x="x", y="y")
    broken["layer"][0]["mark"]["type"] = "lines"
    assert _errors(broken)


def test_chart_values_keep_their_order_gaps_and_marks():
    c = _every_chart()
    values = c["lines"]["layer"][0]["data"]["values"]
    assert [(v["series"], v["x"], v["y"]) for v in values] == [("D", 1, 0.5), ("D", 2, None), ("D", 3, 0.7),
                                                               ("G", 1, 1.0), ("G", 2, 2.0), ("G", 3, None)]  # None and NaN: gaps
    assert c["lines"]["layer"][1]["data"]["values"] == [{"x": 2.0}]  # the marked epoch
    bars = c["bars"]["layer"][0]
    assert bars["encoding"]["xOffset"]["field"] == "series"  # two groups side by side
    assert [v["hi"] for v in bars["data"]["values"]].index(True) == 3 and sum(v["hi"] for v in bars["data"]["values"]) == 1
    cells = c["heatmap"]["layer"][0]
    assert len(cells["data"]["values"]) == 160 and cells["encoding"]["color"]["scale"]["domainMid"] == 0
    assert cells["encoding"]["x"]["sort"] == list(range(1, 17))
    points = _records(c["scatter"]["layer"][0]["data"])
    assert [(v["series"], v["x"], v["y"], v["row"]) for v in points] == [("0", 1, 3, 7), ("0", 2, 4, 8), ("1", 5, 6, 9)]
    assert [p["name"] for p in c["scatter"]["layer"][0]["params"]] == ["pick"]


def test_additions_leave_the_kept_chart_as_it_was():
    kept = charts.lines({"a": ([0, 1], [1, 2])}, x="x", y="y")
    before = copy.deepcopy(kept)
    spec = charts.with_layers(charts.with_layers(kept, [charts.rule(0.5)]), [charts.dots([0.2], [1.5])])
    assert kept == before and len(spec["layer"]) == 3


class _Event:
    def __init__(self, selection) -> None:
        self.selection = selection


def test_picked_rows_reads_a_click_on_a_point():
    assert charts.picked_rows(_Event({"pick": [{"row": 12}]}), "pick") == [12]
    assert charts.picked_rows(_Event({"pick": []}), "pick") == []
    assert charts.picked_rows(_Event({}), "pick") == [] and charts.picked_rows(None, "pick") == []
    assert charts.picked_rows(_Event({"pick": [{"x": 1.0}, "junk"]}), "pick") == []  # no row: nothing picked


class _Model:
    def __init__(self, stamp: str) -> None:
        self.stamp = stamp


def test_shared_results_are_kept_by_model_stamp_and_argument_bytes():
    calls = []

    def double(model, x, k):
        calls.append(k)
        return x * 2 + len(model.stamp)

    a = np.ones((28, 28), np.float32)
    first = models.shared(double, (_Model("m1"),), a, 3)
    assert models.shared(double, (_Model("m1"),), a.copy(), 3) is first and calls == [3]  # same bytes, another array
    models.shared(double, (_Model("m1"),), a + 1, 3)  # another digit
    models.shared(double, (_Model("m2"),), a, 3)  # a retrained checkpoint
    models.shared(double, (_Model("m1"),), a.astype(np.float64), 3)  # same values, another dtype
    assert calls == [3, 3, 3, 3]


def _records(data: dict) -> list[dict]:
    """A layer's inline data as records, from a list or from :func:`csv_data`'s CSV."""
    import csv
    import io

    values = data["values"]
    if not isinstance(values, str):
        return list(values)
    numbers = data.get("format", {}).get("parse", {})
    return [{k: (float(x) if k in numbers else x) for k, x in row.items()} for row in csv.DictReader(io.StringIO(values))]
