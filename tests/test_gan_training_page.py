"""The GAN training page under AppTest: controls, presets, the URL, bad input, in both languages."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import component_payload

PAGE = "gan_training"


def canvas(at) -> dict:
    """What the page sends its canvas component."""
    (element,) = [c for c in at.get("bidi_component") if "snap" in component_payload(c)]
    return component_payload(element)


def press(at, name: str):
    """Press one of the canvas's buttons, as the browser reports it: a new action in its state."""
    state = dict(at.session_state["gtrain.canvas"]) if "gtrain.canvas" in at.session_state else {}
    press.n = getattr(press, "n", 0) + 1
    at.session_state["gtrain.canvas"] = {"tick": state.get("tick", 0), "drawn": state.get("drawn"), "action": {"name": name, "id": press.n}}
    return at.run()


def open_page(lang="en", **query):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"pages/{PAGE}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_opens_with_its_controls_and_presets_in_both_languages(lang):
    at = open_page(lang)
    title = at.title[0].value
    assert (title == "GAN training, step by step") if lang == "en" else any("\u4e00" <= ch <= "\u9fff" for ch in title)
    keys = {b.key for b in at.button}
    assert {f"gtrain.preset.{p}" for p in ("converges", "collapse", "vanishing", "oscillation")} <= keys
    data = canvas(at)
    buttons = [data["labels"][f"btn_{k}"] for k in ("play", "pause", "step_d", "step_g", "step_both", "reset")]
    assert len(set(buttons)) == 6 and (buttons[0] == "Play" if lang == "en" else buttons[0] == "播放")
    assert data["snap"]["epoch"] == 0 and data["first"]["epoch"] == 0 and not data["playing"]
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in data["labels"]["epoch"] + data["labels"]["layer_heat"])


def test_step_d_step_g_and_step_both_count_their_updates():
    at = open_page()
    press(at, "step_d")
    first = canvas(at)["snap"]
    assert (first["steps_d"], first["steps_g"], first["epoch"]) == (1, 0, 0)
    press(at, "step_g")
    second = canvas(at)["snap"]
    assert (second["steps_d"], second["steps_g"]) == (1, 1)
    assert second["fake"] != first["fake"] and second["heat"] == first["heat"]  # G moved, D did not
    press(at, "step_both")
    third = canvas(at)["snap"]
    assert (third["steps_d"], third["steps_g"], third["epoch"]) == (2, 2, 1) and third["heat"] != second["heat"]


def test_play_trains_and_tells_the_browser_when_to_tick_pause_stops():
    at = open_page()
    press(at, "play")
    data = canvas(at)
    assert data["playing"] and data["snap"]["epoch"] > 10 and data["next_ms"] >= 0
    # the browser's tick (a state change of the component) trains more; the same action twice does nothing more
    action = at.session_state["gtrain.canvas"]["action"]
    at.session_state["gtrain.canvas"] = {"tick": 12345, "drawn": None, "action": action}
    at.run()
    assert canvas(at)["playing"] and canvas(at)["snap"]["epoch"] > data["snap"]["epoch"]
    press(at, "pause")
    paused = canvas(at)
    at.run()
    assert not paused["playing"] and canvas(at)["snap"]["epoch"] == paused["snap"]["epoch"]


def test_slow_motion_narrates_each_sub_step_in_the_language_of_the_page():
    at = open_page("zh")
    at.toggle(key="gtrain.w.slow").set_value(True).run()
    press(at, "step_g")
    stages = canvas(at)["stages"]
    assert [s["stage"] for s in stages] == ["noise", "fakes", "score", "loss", "grad", "update"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s["text"]) for s in stages)
    assert at.query_params["slow"] == "1"


@pytest.mark.parametrize("preset", ["converges", "collapse", "vanishing", "oscillation"])
def test_a_preset_sets_its_run_explains_itself_and_lands_in_the_url(preset):
    at = open_page()
    press(at, "step_both")
    at.button(key=f"gtrain.preset.{preset}").click().run()
    assert not at.exception
    assert at.query_params["preset"] == preset
    assert canvas(at)["snap"]["epoch"] == 0  # a new run
    assert any(c.value.startswith("**") and "—" in c.value for c in at.caption)  # its two-sentence explanation
    # the shared link opens the same run
    again = open_page(preset=preset)
    assert canvas(again)["snap"]["fake"] == canvas(at)["snap"]["fake"]


def test_changing_a_rate_keeps_the_run_changing_the_architecture_resets_it():
    at = open_page()
    for _ in range(3):
        press(at, "step_both")
    at.select_slider(key="gtrain.w.lr_g").set_value(0.01).run()
    assert canvas(at)["snap"]["epoch"] == 3 and at.query_params["lr_g"] == "0.01"
    at.selectbox(key="gtrain.w.loss").set_value("minimax").run()
    assert canvas(at)["snap"]["epoch"] == 3
    at.selectbox(key="gtrain.w.g_width").set_value(8).run()
    assert canvas(at)["snap"]["epoch"] == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_drawn_distribution_needs_points_then_trains_on_them(lang):
    at = open_page(lang)
    at.selectbox(key="gtrain.w.data").set_value("drawn").run()
    assert not at.exception and at.info  # draw first: a message, no traceback
    data = canvas(at)
    assert data["snap"] is None and data["draw"]
    at.session_state["gtrain.canvas"] = {"tick": 0, "drawn": [0.5, 0.5], "action": None}  # one point only
    at.run()
    assert not at.exception and at.info and canvas(at)["snap"] is None
    at.session_state["gtrain.canvas"] = {"tick": 0, "drawn": [0.5, 0.5, 0.52, 0.48, 0.49, 0.51], "action": None}
    at.run()
    snap = canvas(at)["snap"]
    assert not at.info and snap is not None
    import base64

    real = np.frombuffer(base64.b64decode(snap["real"]), "<i2").reshape(-1, 2) / 32767 * 1.25
    assert np.abs(real - 0.5).max() < 0.2  # the real points are the drawing's


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_learning_rate_of_zero_gets_a_message(lang):
    at = open_page(lang, lr_d="0")
    assert not at.exception and at.warning
    press(at, "step_d")
    assert not at.exception and canvas(at)["snap"]["steps_d"] == 1


@pytest.mark.parametrize("query", [{"lr_g": "fast"}, {"preset": "nope"}, {"g_layers": "99"}, {"data": "<b>x</b>"}])
def test_garbage_in_the_url_gets_a_message_and_the_defaults(query):
    at = open_page(**query)
    assert at.warning and canvas(at)["snap"]["epoch"] == 0


def test_a_diverging_run_says_so_and_reset_recovers(monkeypatch):
    at = open_page(optimizer="sgd", lr_g="10", lr_d="10", loss="lsgan")
    run = at.session_state["gtrain.run"]
    import torch

    with torch.no_grad():
        for p in run.D.parameters():
            p.mul_(1e30)
    press(at, "play")
    assert not at.exception and at.error and not canvas(at)["playing"] and canvas(at)["snap"]["diverged"]
    press(at, "reset")
    assert not at.error and not canvas(at)["snap"]["diverged"]


def test_a_full_class_gets_a_message_and_the_steps_still_work(monkeypatch):
    monkeypatch.setenv("ADVDL_MAX_PLAYERS", "1")
    from advdl.ui.training_view import player_pool

    player_pool.clear()
    try:
        player_pool().join("another student")
        at = open_page()
        press(at, "play")
        assert at.warning and not canvas(at)["playing"]
        press(at, "step_d")
        assert canvas(at)["snap"]["steps_d"] == 1
    finally:
        player_pool.clear()
