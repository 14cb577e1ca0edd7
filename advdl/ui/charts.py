"""Plotly charts made once per content and language, and shared by every session.

Building a plotly figure (``add_scatter``, ``update_layout``, ``make_subplots``) runs plotly's
validators in Python, and ``st.plotly_chart`` copies the figure again (``Figure.to_dict``) on
every run. Under a class that was the largest share of the server's time holding the GIL
(``scripts/loadtest.py`` with ``py-spy record --gil``), though most charts are the same for every
student (the cards' curves, the latent map's classes, the training losses). So a chart is built
by a plain function returning a ``go.Figure``, once per arguments, language and presentation mode
(:func:`cached`); what changes per student (a marked epoch, the student's own point) is added to
the kept dict as plain trace or shape dicts (:func:`with_traces`, :func:`with_shapes`); and
:func:`show` hands the dict to ``st.plotly_chart`` as a figure that already is one.

    @cached
    def losses_chart(rows) -> go.Figure: ...          # a plain builder, labels by t()

    spec = losses_chart((stamp,), rows)               # built once per stamp and language
    show(with_shapes(spec, [vline(epoch)]), width="stretch")
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st
from plotly.basedatatypes import BaseFigure

from .i18n import lang
from .shell import presenting


class Spec(BaseFigure):
    """A figure given as its finished dict. ``st.plotly_chart`` reads a plotly figure only through
    ``to_dict`` (plotly.tools.return_figure_from_figure_or_data), so nothing of BaseFigure's own
    state is set up: that setup is the validation this module makes once."""

    def __init__(self, spec: dict) -> None:  # noqa: D107 - BaseFigure.__init__ deliberately not called
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


@st.cache_resource(show_spinner=False, max_entries=512)
def _made(name: str, language: str, present: bool, key: tuple, _build: Callable, _values: tuple) -> dict:
    # ``name`` tells the builders apart (they all share this one cache); the language and the
    # presentation mode are part of the key because the builders' labels and sizes read them.
    return _build(*_values).to_dict()


def cached(build: Callable[..., object]) -> Callable[..., dict]:
    """Make ``build(*values) -> go.Figure`` into ``f(key, *values) -> dict``: the figure's dict,
    built once per ``key`` (hashable: numbers, strings, bytes, tuples of them; it must name
    everything the values hold, e.g. a checkpoint's stamp and a digit's bytes), language and
    presentation mode. The dict is shared: add to it with :func:`with_traces` /
    :func:`with_shapes`, never in place."""
    name = f"{build.__module__}.{build.__qualname__}"

    @functools.wraps(build)
    def wrapper(key: tuple, *values) -> dict:
        return _made(name, lang(), presenting(), key, build, values)

    return wrapper


def with_traces(spec: dict, traces: list[dict]) -> dict:
    """``spec`` with ``traces`` (plotly trace dicts, e.g. ``{"type": "scatter", ...}``) drawn on top."""
    return {**spec, "data": [*spec.get("data", ()), *traces]}


def with_shapes(spec: dict, shapes: list[dict]) -> dict:
    """``spec`` with ``shapes`` (layout shape dicts) added to its layout's."""
    layout = spec.get("layout", {})
    return {**spec, "layout": {**layout, "shapes": [*layout.get("shapes", ()), *shapes]}}


def vline(x: float, xref: str = "x", yref: str = "y domain") -> dict:
    """A dotted vertical line at ``x`` across the plot, as a layout shape."""
    return {"type": "line", "xref": xref, "yref": yref, "x0": float(x), "x1": float(x), "y0": 0, "y1": 1, "line": {"dash": "dot"}}


def show(spec: dict, **kwargs):
    """``st.plotly_chart`` of a figure dict made here (same arguments; returns what it returns)."""
    return st.plotly_chart(Spec(spec), **kwargs)
