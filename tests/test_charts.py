"""Charts made once per content and language (advdl.ui.charts) and results shared across sessions
(advdl.ui.models.shared): what is kept, what is made again, and that nothing kept is changed."""

from __future__ import annotations

import copy

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools

from advdl.ui import charts, models


def test_a_cached_chart_is_built_once_per_key_and_language(monkeypatch):
    built = []

    @charts.cached
    def line(ys):
        built.append(tuple(ys))
        return go.Figure(go.Scatter(y=list(ys)))

    language = {"now": "en"}
    monkeypatch.setattr(charts, "lang", lambda: language["now"])
    monkeypatch.setattr(charts, "presenting", lambda: False)
    first = line(("k", 1), [1, 2, 3])
    assert line(("k", 1), [9, 9, 9]) is first and built == [(1, 2, 3)]  # the key names the content
    language["now"] = "zh"
    assert line(("k", 1), [1, 2, 3]) is not first and len(built) == 2  # labels differ by language
    assert list(line(("k", 2), [4, 5])["data"][0]["y"]) == [4, 5]


def test_additions_leave_the_kept_chart_as_it_was_and_plotly_reads_the_result():
    kept = go.Figure(go.Scatter(x=[0, 1], y=[1, 2])).update_layout(shapes=[charts.vline(0.5)]).to_dict()
    before = copy.deepcopy(kept)
    star = {"type": "scatter", "x": [0.2], "y": [1.5], "mode": "markers"}
    spec = charts.with_shapes(charts.with_traces(kept, [star]), [charts.vline(0.8)])
    assert kept == before
    assert len(spec["data"]) == 2 and [s["x0"] for s in spec["layout"]["shapes"]] == [0.5, 0.8]
    # what st.plotly_chart does with a figure: its dict, then JSON; and the dict is a valid figure
    figure = plotly.tools.return_figure_from_figure_or_data(charts.Spec(spec), validate_figure=True)
    assert figure is spec and '"x0":0.8' in pio.to_json(figure, validate=False)
    assert len(go.Figure(spec).data) == 2


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
