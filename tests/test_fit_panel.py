"""The autoencoder lab's "train it yourself" in AppTest: start, the live view, the result beside the
shipped model, "use this model", Stop, and a run that diverges."""

from __future__ import annotations

import pytest
import torch

from conftest import run_page


def _ticks(at, n: int = 40):
    for _ in range(n):
        run = at.session_state["aefit.run"]
        if run is None or run.state != "running":
            break
        at.run()  # the fragment's tick (run_every) as one run of the page
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_run_trains_shows_its_progress_and_compares_with_the_shipped_model(random_checkpoints, checkpoint_env, lang):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders", lang=lang)
    at.number_input(key="aefit.w.epochs").set_value(2)
    at.select_slider(key="aefit.w.code").set_value(2)
    at.button(key="aefit.start").click().run()
    assert not at.exception
    run = at.session_state["aefit.run"]
    assert run.state == "running" and run.config.epochs == 2 and run.config.code == 2
    assert at.button(key="aefit.start").disabled and not at.button(key="aefit.stop").disabled
    _ticks(at)
    run = at.session_state["aefit.run"]
    assert run.state == "done" and len(run.history) == 2 and not at.exception
    assert len(at.success) == 1 and ("0." in at.success[0].value)
    assert at.get("vega_lite_chart") and len(at.get("vega_lite_chart")) >= 2  # the curves, and the 2-D codes
    at.button(key="aefit.use").click().run()
    assert not at.exception
    assert at.session_state["aefit.used"][0] is run.model
    from conftest import ae_panel

    shown = ae_panel(at)
    assert shown is not None and len(shown["frames"][0]) == 6  # the noisy input, the four shipped models and the student's


def test_stop_stops_and_a_fresh_session_does_not_see_the_model(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders")
    at.number_input(key="aefit.w.epochs").set_value(50)
    at.button(key="aefit.start").click().run()
    at.run()
    at.button(key="aefit.stop").click().run()
    run = at.session_state["aefit.run"]
    n = len(run.batch_losses)
    assert run.state == "stopped" and run.reason == "stop"
    at.run()
    assert len(at.session_state["aefit.run"].batch_losses) == n and any("Stopped" in w.value for w in at.warning)
    other = run_page("autoencoders")
    from conftest import ae_panel

    assert len(ae_panel(other)["frames"][0]) == 5  # another student's lab: the shipped models only


def test_a_diverging_run_says_so_and_the_lab_goes_on(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders", lang="zh")
    at.button(key="aefit.start").click().run()
    run = at.session_state["aefit.run"]
    with torch.no_grad():
        next(run.model.parameters()).fill_(float("nan"))  # what a far too large rate does
    at.run()
    assert at.session_state["aefit.run"].state == "diverged" and not at.exception
    assert any("学习率太大" in e.value for e in at.error)
    at.run()
    assert not at.exception and at.button(key="aefit.start").disabled is False


def test_the_full_training_set_is_offered_only_where_the_server_has_it(random_checkpoints, checkpoint_env, monkeypatch, tmp_path):
    from advdl.ui import fit_panel

    checkpoint_env(random_checkpoints)
    monkeypatch.setenv("ADVDL_DATA_ROOT", str(tmp_path))  # no MNIST there
    fit_panel.full_training_set.clear()
    try:
        at = run_page("autoencoders")
        assert not at.exception and not [tg for tg in at.toggle if tg.key == "aefit.w.full"]
    finally:
        fit_panel.full_training_set.clear()


def test_where_the_server_has_mnist_the_panel_offers_it(random_checkpoints, checkpoint_env, monkeypatch):
    from conftest import ROOT
    from advdl.ui import fit_panel

    data = ROOT.parent / "shared" / "data"
    if not (data / "MNIST" / "raw").exists():
        pytest.skip("no MNIST beside the checkout (../shared/data)")
    checkpoint_env(random_checkpoints)
    monkeypatch.setenv("ADVDL_DATA_ROOT", str(data))
    fit_panel.full_training_set.clear()
    try:
        at = run_page("autoencoders")
        toggle = at.toggle(key="aefit.w.full")
        assert "55000" in toggle.label or "55,000" in toggle.label
        toggle.set_value(True).run()
        at.button(key="aefit.start").click().run()
        assert at.session_state["aefit.run"].n_train == 49_500  # 55 000 less the 10 % validation share
    finally:
        fit_panel.full_training_set.clear()


def test_the_settings_survive_a_visit_to_another_page(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders")
    at.number_input(key="aefit.w.epochs").set_value(7).run()
    at.select_slider(key="aefit.w.code").set_value(8).run()
    at.switch_page("pages/capsules.py").run()
    assert not at.exception and "aefit.w.epochs" not in at.session_state  # Streamlit dropped the widgets' own state
    at.switch_page("pages/autoencoders.py").run()
    assert not at.exception
    assert at.number_input(key="aefit.w.epochs").value == 7 and at.select_slider(key="aefit.w.code").value == 8
