"""Every page under AppTest: it renders without an exception, with models and without."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import ae_panel, component_payload, run_page, vega_lite_errors

from advdl.models import MODELS

PAGES = ["home", "gan", "gan_training", "autoencoders", "capsules"]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_models(page, random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_page_without_checkpoints_says_how_to_train(page, tmp_path, checkpoint_env):
    checkpoint_env(tmp_path)  # an empty checkpoint folder
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    if page == "home":  # a card per model that says how to train it
        assert not at.error
        captions = " ".join(c.value for c in at.caption)
        for name in MODELS:
            assert f"The checkpoint of model {name} is missing" in captions and f"--model {name}" in captions, name
    elif page == "gan_training":  # it needs no checkpoint
        assert not at.error
    else:
        assert at.error and all("scripts/train.py --model" in e.value for e in at.error)


def test_language_switch_changes_the_text(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("home", lang="en")
    english = at.title[0].value
    at.sidebar.radio(key="lang_choice").set_value("zh").run()
    chinese = at.title[0].value
    assert english != chinese and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


def test_unknown_language_in_url_falls_back(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("home", lang="klingon")
    assert not at.exception and at.session_state["lang"] == "zh"


def test_autoencoder_page_shows_four_reconstructions_at_every_strength(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders")
    panel = ae_panel(at)
    assert panel["label"] == "Strength" and panel["values"][panel["index"]] == 0.5  # the course's noise factor
    steps = len(panel["values"])
    assert steps == 21 and len(panel["frames"]) == steps and all(len(f) == 5 for f in panel["frames"])
    assert panel["captions"][0][0] == "Noisy input" and panel["captions"][0][1].startswith("Plain")
    # every step has the four reconstructions' scores, and one best among them
    assert all(sum("PSNR" in m for m in row) == 4 for row in panel["metrics"])
    assert all(sum("★" in c for c in row) == 1 for row in panel["captions"])
    assert panel["frames"][0] != panel["frames"][-1]  # no noise and full noise differ
    before = panel["metrics"]
    at.selectbox(key="ae.noise").set_value("occlusion").run()
    assert not at.exception and ae_panel(at)["metrics"] != before
    # the browser's release at 0.9 moves the committed strength: the sweep's marker follows
    at.session_state["ae.strength"] = {"commit": {"epoch": 0, "indices": [18]}}
    at.run()
    assert not at.exception and ae_panel(at)["index"] == 18
    # the clean digit fed in: every step shows the same input, so the same reconstructions
    at.toggle(key="ae.clean").set_value(True).run()
    panel = ae_panel(at)
    assert not at.exception and panel["captions"][0][0] != "Noisy input"
    assert all(step == panel["frames"][0] for step in panel["frames"]) and len(set(map(tuple, panel["metrics"]))) == 1


def test_capsule_page_reads_a_sample_and_rotates(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("capsules")
    assert at.metric[0].label == "CapsNet reads (capsule length)"
    before = at.get("vega_lite_chart")[0].proto.spec  # the capsule lengths
    at.slider(key="caps.rotation").set_value(45).run()
    assert not at.exception and at.get("vega_lite_chart")[0].proto.spec != before
    assert at.get("download_button")[0].proto.label == "Download Figure 4 (PNG)"


def test_a_damaged_checkpoint_disables_only_its_part(random_checkpoints, checkpoint_env, tmp_path):
    import shutil

    root = tmp_path / "ck"
    shutil.copytree(random_checkpoints, root)
    weights = root / "ae_conv" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    checkpoint_env(root)
    at = run_page("autoencoders")
    assert not at.exception
    assert len(at.error) == 1 and "ae_conv" in at.error[0].value
    panel = ae_panel(at)  # the three autoencoders left, at every strength
    assert all(sum("PSNR" in m for m in row) == 3 for row in panel["metrics"]) and len(panel["frames"][0]) == 4


def test_gan_new_digit_changes_the_seed_and_the_sliders(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("gan")
    seed0 = at.number_input(key="gan.seed").value
    at.button(key="gan.new").click().run()
    seed1 = at.number_input(key="gan.seed").value
    assert not at.exception and seed1 != seed0
    assert at.metric[0].label == "Discriminator: probability real"


def test_autoencoder_page_shows_codes_map_and_editor(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders")
    subheaders = [h.value for h in at.subheader]
    from advdl.ui.i18n import STRINGS

    assert {"Codes", STRINGS["ae.map"]["en"], "Edit the code"} <= set(subheaders)
    assert not at.exception


def test_home_cards_show_the_numbers_of_the_shipped_cards(monkeypatch):
    from advdl import checkpoints
    from advdl.cards import headline

    monkeypatch.delenv("ADVDL_CHECKPOINTS", raising=False)
    at = run_page("home")
    text = " ".join(m.value for m in at.markdown)
    shipped = checkpoints.available()
    assert shipped
    for name in shipped:
        card = checkpoints.read_card(name)
        for m in headline(name, card):
            assert f"**{m.ours}**" in text, (name, m)
            assert m.ours != "—", f"{name} is shipped without its measured {m.key}"


def _gan_page(query: dict):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"lang": "en", **query})
    at.run()
    at.switch_page("pages/gan.py").run()
    return at


def test_gan_view_comes_from_the_url(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = _gan_page({"seed": "5", "dirs": ",".join(["20"] * 7 + ["25"])})
    assert not at.exception
    assert at.number_input(key="gan.seed").value == 5
    assert at.session_state["gan.view"].dirs == (20, 20, 20, 20, 20, 20, 20, 25)
    assert [s["index"] for s in component_payload(at.get("bidi_component")[0])["sliders"]] == [20] * 7 + [25]
    assert "Part of the link could not be read" not in " ".join(w.value for w in at.warning)


@pytest.mark.parametrize("query", [{"seed": "abc"}, {"seed": "-3", "dirs": "1,2"}, {"z": "%%%"}, {"z": "AAAA", "dirs": "x,y,z,1,2,3,4,5"}])
def test_gan_url_garbage_falls_back(random_checkpoints, checkpoint_env, query):
    checkpoint_env(random_checkpoints)
    at = _gan_page(query)
    assert not at.exception and not at.error
    assert at.number_input(key="gan.seed").value == 0
    assert "Part of the link could not be read; the lab opens with its defaults there." in [w.value for w in at.warning]


def test_gan_view_survives_a_visit_to_another_lab(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("gan")
    at.number_input(key="gan.seed").set_value(77).run()
    at.session_state["gan.dirs"] = {"commit": {"epoch": 1, "indices": [20, 20, 33, 20, 20, 20, 20, 20]}}
    at.run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/gan.py").run()
    assert not at.exception
    assert at.number_input(key="gan.seed").value == 77
    assert at.session_state["gan.view"].dirs[2] == 33 and at.query_params["seed"] in ("77", ["77"])


def test_gan_inversion_loads_into_the_sliders(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("gan")
    at.button(key="gan.invert_go").click().run()
    assert not at.exception
    assert at.button(key="gan.use_latent").label == "Load into the sliders"
    assert at.session_state["gan.view"].z is None
    at.button(key="gan.use_latent").click().run()
    assert not at.exception
    view = at.session_state["gan.view"]
    found = at.session_state["gan.inversion"][1].latent
    assert view.z is not None and np.allclose(view.latent(found.size), found, atol=5e-3) and "z" in at.query_params


def test_an_inversion_waits_for_a_free_slot_and_says_when_the_server_is_busy(random_checkpoints, checkpoint_env, monkeypatch):
    from advdl.ui.models import _heavy_slots

    checkpoint_env(random_checkpoints)
    monkeypatch.setenv("ADVDL_HEAVY_WAIT_S", "0.3")
    at = run_page("gan")
    slots = _heavy_slots()
    assert slots.acquire(blocking=False)  # another session's inversion holds the only slot
    try:
        at.button(key="gan.invert_go").click().run()
    finally:
        slots.release()
    assert not at.exception
    assert any("The server is busy" in w.value for w in at.warning)
    assert "gan.inversion" not in at.session_state
    at.button(key="gan.invert_go").click().run()  # the slot is free again
    assert not at.exception and "gan.inversion" in at.session_state


def test_gan_commit_of_a_direction_slider_moves_the_digit_and_the_url(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("gan")
    epoch = component_payload(at.get("bidi_component")[0])["epoch"]
    at.session_state["gan.dirs"] = {"commit": {"epoch": epoch, "indices": [20, 20, 33, 20, 20, 20, 20, 20]}}  # the browser's release
    at.run()
    assert not at.exception
    assert at.query_params["dirs"] in ("20,20,33,20,20,20,20,20", ["20,20,33,20,20,20,20,20"])
    assert component_payload(at.get("bidi_component")[0])["sliders"][2]["index"] == 33
    view = at.session_state["gan.view"]
    assert view.seed == 0 and view.z is None and view.dirs[2] == 33  # the base latent stays; the offset moved
    # A new digit puts the sliders back at the centre, although the browser still holds the
    # commit it made for the old one (and sends it with every rerun).
    at.button(key="gan.new").click().run()
    assert not at.exception
    assert [s["index"] for s in component_payload(at.get("bidi_component")[0])["sliders"]] == [20] * 8
    assert at.session_state["gan.view"].dirs == (20,) * 8 and at.query_params["dirs"] in ("20,20,20,20,20,20,20,20", ["20,20,20,20,20,20,20,20"])


def test_gan_morph_follows_the_chosen_classes(random_checkpoints, checkpoint_env, monkeypatch):
    import numpy as np

    from advdl.gan_tools import LatentBank
    from advdl.ui.i18n import STRINGS

    # random weights label nothing with confidence: give each class a latent of its own
    monkeypatch.setattr(LatentBank, "pick", lambda self, cls, i=0: np.random.default_rng(cls).standard_normal(100).astype(np.float32))
    checkpoint_env(random_checkpoints)
    at = run_page("gan")

    def strip():
        return [img.url for el in at.get("image") for img in el.proto.imgs if img.caption == STRINGS["gan.strip"]["en"]]

    first = strip()
    assert len(first) == 1
    at.selectbox(key="gan.from_cls").set_value(3).run()
    assert not at.exception and strip() != first
    again = strip()
    at.selectbox(key="gan.to_cls").set_value(8).run()
    assert not at.exception and strip() != again


def test_a_digit_picked_in_one_lab_is_offered_in_another(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("autoencoders")
    at.selectbox(key="ae.sample_class").set_value(3).run()
    at.switch_page("pages/capsules.py").run()
    radio = at.radio(key="caps.source")
    assert "shared" in radio.options or "Digit from another lab" in radio.options
    radio.set_value("shared").run()
    assert not at.exception
    assert any("Autoencoders" in c.value for c in at.caption)


def test_presentation_mode_hides_the_notes(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("capsules")
    assert any("Course notes" in e.label for e in at.expander)
    at = run_page("home")
    at.sidebar.toggle(key="present_choice").set_value(True).run()
    at.switch_page("pages/capsules.py").run()
    assert not at.exception and at.session_state["present"] is True
    assert not any("Course notes" in e.label for e in at.expander)


def _scrubber_payload(at, n: int = 0) -> dict:
    return component_payload(at.get("bidi_component")[n])


def test_capsule_lab_shows_accuracy_under_rotation_from_the_cards(random_checkpoints, checkpoint_env, tmp_path):
    import shutil

    from advdl.checkpoints import update_metrics

    root = tmp_path / "ck"
    shutil.copytree(random_checkpoints, root)
    curve = {str(a): round(1 - abs(a) / 100, 3) for a in range(-60, 61, 15)}
    update_metrics("capsnet", {"rotated_accuracy": curve}, root)
    update_metrics("cnn", {"rotated_accuracy": {k: v - 0.05 for k, v in curve.items()}}, root)
    checkpoint_env(root)
    at = run_page("capsules")
    at.slider(key="caps.rotation").set_value(45).run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    pose = [f for f in specs if f.get("title") in ("Rotation (degrees)", "Scale", "Shear (degrees)")]
    assert len(pose) == 1 and pose[0]["title"] == "Rotation (degrees)"  # no "why capsules" figures in these cards: rotation alone
    curves, marked = pose[0]["layer"]
    points = curves["data"]["values"]
    assert [p["series"] for p in points[:: len(curve)]] == ["CapsNet", "CNN baseline"]
    assert [p["y"] for p in points if p["series"] == "CapsNet"] == [curve[str(a)] for a in range(-60, 61, 15)]
    assert marked["mark"]["type"] == "rule" and marked["data"]["values"] == [{"x": 45.0}]  # the current rotation is marked


def _why(caps_parts: float, cnn_parts: float, both: tuple[float, float]) -> dict:
    def one(keep: float, named: float) -> dict:
        return {"why_capsules": {
            "samples": 10000, "scaled_accuracy": {"0.6": 0.9, "0.8": 0.99, "1.2": 0.99, "1.4": 0.95},
            "sheared_accuracy": {"-40": 0.5, "-20": 0.97, "20": 0.97, "40": 0.5},
            "overlap": {"pairs": 10000, "max_shift_px": 2, "both_named": named, "one_named": 0.9},
            "parts": {"images": 10000, "original": {"score_of_original": 0.9, "still_original": 0.99},
                      "halves_swapped": {"score_of_original": keep, "still_original": 0.2},
                      "quadrants_moved": {"score_of_original": keep, "still_original": 0.2}}}}
    return {"capsnet": one(caps_parts, both[0]), "cnn": one(cnn_parts, both[1])}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_capsule_lab_why_capsules_says_who_is_ahead(random_checkpoints, checkpoint_env, tmp_path, lang):
    """The overlap and parts tabs with the student's digit, the cards' figures and a verdict per
    experiment: here the CNN keeps less of its confidence on moved parts (so it is ahead there)
    and the CapsNet names both overlapping digits more often."""
    import shutil

    from advdl.checkpoints import update_metrics

    root = tmp_path / "ck"
    shutil.copytree(random_checkpoints, root)
    for name, m in _why(caps_parts=0.3, cnn_parts=0.15, both=(0.4, 0.2)).items():
        update_metrics(name, m, root)
    checkpoint_env(root)
    at = run_page("capsules", lang=lang)
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    if lang == "en":
        assert "On overlapping digits (both named): the CapsNet is ahead, 40.0 % against the CNN's 20.0 %." in text
        assert "On rearranged parts" in text and "the CNN is ahead, 0.17 against the CapsNet's 0.33" in text
        assert "CapsNet 0.90 → 0.30 → 0.30, CNN 0.90 → 0.15 → 0.15" in text
        assert "Under scaling (0.6 to 1.4): even" in text
        assert "Decoded from capsule" in " ".join(i.caption for img in at.get("image") for i in img.proto.imgs)
    else:
        assert "重叠数字（两个都认出）：CapsNet 领先，40.0 %，CNN 为 20.0 %。" in text
        assert "CNN 领先，0.17，CapsNet 为 0.33" in text
    other = at.selectbox(key="why.other")
    assert other.value != int(at.metric[0].value)  # a sample of another class than the digit read
    other.set_value(int(at.metric[0].value) - 1 if int(at.metric[0].value) else 1).run()
    assert not at.exception


def test_capsule_lab_why_capsules_with_an_empty_digit_and_without_figures(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("capsules")
    assert any("python scripts/evaluate.py --why-only" in i.value for i in at.info)  # no figures in these cards
    at.session_state["digit"] = {"image": np.zeros((28, 28), np.float32), "from": "ae"}
    at.run()
    at.radio(key="caps.source").set_value("shared").run()
    assert not at.exception
    assert sum("Draw a digit first" in i.value for i in at.info) == 2  # the overlap and the parts tabs


def test_capsule_lab_sample_rotate_commit_and_figure4(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("capsules")
    at.selectbox(key="caps.sample_class").set_value(4).run()
    at.slider(key="caps.rotation").set_value(30).run()
    before = _scrubber_payload(at)
    assert len(before["sliders"]) == 16 and before["sliders"][2]["index"] == 20
    at.session_state["caps.dims"] = {"commit": {"epoch": before["epoch"], "indices": [20, 20, 35] + [20] * 13}}  # the browser's release
    at.run()
    after = _scrubber_payload(at)
    assert not at.exception
    assert after["sliders"][2]["index"] == 35
    # the other dimensions' filmstrips are now rendered around the committed value
    assert after["sliders"][0]["frames"] != before["sliders"][0]["frames"]
    assert at.query_params["rot"] in ("30", ["30"]) and at.query_params["dims"] in (",".join(["20", "20", "35"] + ["20"] * 13), [",".join(["20", "20", "35"] + ["20"] * 13)])
    at.button(key="caps.reset").click().run()  # the browser still holds its commit
    assert not at.exception and [s["index"] for s in _scrubber_payload(at)["sliders"]] == [20] * 16 and "dims" not in at.query_params
    download = at.get("download_button")[0].proto
    assert download.label == "Download Figure 4 (PNG)"



def test_gan_raw_table_is_drawn_only_while_open_and_applies(random_checkpoints, checkpoint_env):
    """The 10 x 10 table of the latent's dimensions is not sent while its expander is closed
    (the lab's first drawing then needs neither pandas nor the table's scripts); opened, it shows
    the latent, and applying it makes the table's (rounded) values the digit's latent."""
    import numpy as np

    checkpoint_env(random_checkpoints)
    at = run_page("gan")
    assert not at.exception
    assert any(e.label == "All 100 latent dimensions" for e in at.expander)
    assert len(at.dataframe) == 0 and not [b for b in at.button if b.key == "gan.raw_apply"]
    at.session_state["gan.raw_open"] = True  # the student opens the expander
    at.run()
    assert not at.exception and len(at.dataframe) == 1
    z = at.session_state["gan.view"].latent(100)
    shown = np.asarray(at.dataframe[0].value, dtype=np.float32)
    assert shown.shape == (10, 10) and np.allclose(shown.reshape(-1), np.round(z, 2), atol=1e-6)
    at.button(key="gan.raw_apply").click().run()
    assert not at.exception
    view = at.session_state["gan.view"]
    # the latent is the URL's (float16: what a shared link shows is what this student sees)
    assert view.z is not None and np.allclose(view.latent(z.size), np.round(z, 2), atol=2e-3)
    from advdl.urlstate import decode_latent

    assert np.array_equal(decode_latent(at.query_params["z"], z.size), view.latent(z.size))


def test_autoencoder_view_comes_from_the_url_and_goes_back_into_it(random_checkpoints, checkpoint_env):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    checkpoint_env(random_checkpoints)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"lang": "en", "noise": "occlusion", "strength": "0.9"})
    at.run()
    at.switch_page("pages/autoencoders.py").run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="ae.noise").value == "occlusion" and ae_panel(at)["index"] == 18
    at.toggle(key="ae.clean").set_value(True).run()
    assert at.query_params["clean"] in ("1", ["1"]) and at.query_params["noise"] in ("occlusion", ["occlusion"])
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/autoencoders.py").run()  # the view survives a visit to another lab
    assert at.toggle(key="ae.clean").value is True and at.selectbox(key="ae.noise").value == "occlusion"
    bad = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    bad.query_params.update({"lang": "en", "noise": "fog"})
    bad.run()
    bad.switch_page("pages/autoencoders.py").run()
    assert not bad.exception and "Part of the link could not be read" in " ".join(w.value for w in bad.warning)


def test_the_capsule_list_names_the_predicted_class_and_follows_a_choice(random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page("capsules", lang="zh")
    box = at.selectbox(key="caps.cls")
    assert box.value == -1 and "预测" in box.format_func(box.value)  # shown as a choice, not as an empty list
    box.set_value(3).run()
    assert at.session_state["caps.view"].cls == 3 and at.query_params["cls"] == "3"
    at.selectbox(key="caps.cls").set_value(-1).run()
    assert at.session_state["caps.view"].cls is None and "cls" not in at.query_params
    assert not at.exception


def test_capsule_lab_says_so_when_no_capsule_is_long(random_checkpoints, checkpoint_env):
    """Random weights give every capsule a length near 0: a notice instead of a confident-looking
    answer; the shipped CapsNet on its sample 7 (a long capsule) gives none."""
    from advdl import checkpoints

    checkpoint_env(random_checkpoints)
    at = run_page("capsules")
    assert not at.exception and any("Every capsule is short" in i.value for i in at.info)
    if "capsnet" not in checkpoints.available(checkpoints.ROOT / "checkpoints"):
        return
    checkpoint_env(checkpoints.ROOT / "checkpoints")
    at = run_page("capsules")
    assert not at.exception and not any("Every capsule is short" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["autoencoders", "capsules"])  # the GAN lab's need a trained GAN: test_charts.py
def test_every_chart_a_lab_draws_is_a_valid_vega_lite_spec(page, random_checkpoints, checkpoint_env):
    checkpoint_env(random_checkpoints)
    at = run_page(page)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert not at.exception and specs
    assert {i: vega_lite_errors(s) for i, s in enumerate(specs) if vega_lite_errors(s)} == {}

