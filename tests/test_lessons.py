"""The lessons (lessons/*.toml) and the lesson mode: every step opens a lab in a view its URL state
can read, with a title and caption in both languages; links, keys and buttons move between steps."""

from __future__ import annotations

import re

import pytest

from advdl.lessons import PAGE_ANCHORS, PAGE_PARAMS, ROOT as LESSONS, LessonError, available, load, move, parse, resolve
from conftest import ROOT

HEAD = "id = 'x'\ntitle = {zh='课', en='Lesson'}\n"
STEP = "[[steps]]\npage = 'gan'\ntitle = {zh='甲', en='A'}\ncaption = {zh='乙', en='B'}\n"


def _reader(page: str):
    from advdl.ui.training_view import TrainingView
    from advdl.ui.views import AeView, CapsView, GanView, QuizView

    return {"gan": lambda p: GanView.from_query_params(p, 100), "autoencoders": AeView.from_query_params,
            "capsules": CapsView.from_query_params, "gan_training": TrainingView.from_query_params,
            "real_or_fake": QuizView.from_query_params}.get(page)


def test_the_chapter_has_a_lesson_per_section_in_the_course_order():
    assert available() == ["gan", "autoencoders", "capsules"]
    for name in available():
        lesson = load(name)
        assert 6 <= len(lesson.steps) <= 12, (name, len(lesson.steps))
        assert not lesson.problems


@pytest.mark.parametrize("name", ["gan", "autoencoders", "capsules"])
def test_every_step_opens_a_view_its_lab_can_read(name):
    lesson = load(name)
    for i, step in enumerate(lesson.steps, 1):
        reader = _reader(step.page)
        if reader is not None:
            assert not reader(step.params)[1], (name, i, step.params)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in step.title["zh"] + step.caption["zh"]), (name, i)
        assert step.url("en").startswith(f"/{step.page}?lang=en")
    # the steps differ: a lesson does not show one view twice with the same title
    assert len({(s.page, tuple(sorted(s.params.items())), s.title["en"]) for s in lesson.steps}) == len(lesson.steps)
    # what the views read back is what the step asked for (nothing silently dropped)
    for step in lesson.steps:
        reader = _reader(step.page)
        if reader is not None and step.page != "gan_training":
            written = reader(step.params)[0].to_query_params()
            assert all(written.get(k, v) == v or (k == "seed" and v == "0") for k, v in step.params.items()), (step.params, written)


def test_the_gan_lesson_plays_real_or_fake_in_both_rounds():
    rounds = [s.params.get("round") for s in load("gan").steps if s.page == "real_or_fake"]
    assert rounds == ["1", "2"]


def test_each_page_reads_the_parameters_a_lesson_may_give_it():
    # a parameter the lessons may set is one the page's view reports as unreadable when garbled
    for page, names in PAGE_PARAMS.items():
        reader = _reader(page)
        if reader is None:
            assert not names, page
            continue
        for name in names - {"slow"}:  # a switch: "1" or off
            assert reader({name: "\u00a7garbage"})[1], (page, name)
    assert _reader("gan_training")({"slow": "1"})[0].slow
    # and a parameter it does not read is ignored by the view (so the lesson file must not give it)
    assert not _reader("capsules")({"seed": "3"})[1]


def test_every_focus_is_a_section_of_its_page():
    for page, anchors in PAGE_ANCHORS.items():
        text = (ROOT / "pages" / f"{page}.py").read_text(encoding="utf-8")
        assert set(re.findall(r'st\.subheader\(.*anchor="([\w-]+)"', text)) == set(anchors), page
    focused = [s.focus for name in available() for s in load(name).steps if s.focus]
    assert len(focused) >= 6


def test_a_step_url_carries_the_language_the_view_and_the_step():
    step = load("gan").steps[3]
    assert step.url("zh") == "/gan?lang=zh&seed=7&dirs=34,20,20,20,20,20,20,20"
    assert step.url("en", "gan", 4) == "/gan?lang=en&seed=7&dirs=34,20,20,20,20,20,20,20&lesson=gan&step=4"


@pytest.mark.parametrize("text, message", [
    ("id = 'x'\n", "at least one [[steps]]"),
    (HEAD + "[[steps]]\npage = 'nowhere'\n", "x.toml:4: page must be one of"),
    (HEAD + "[[steps]]\npage = 'gan'\ntitle = {en='b'}\ncaption = {zh='c', en='d'}\n", "x.toml:5: title: needs a text in both languages"),
    (HEAD + "[[steps]]\npage = 'gan'\nparams = {seed = 3}\n", "x.toml:5: params must be strings"),
    (HEAD + "[[steps]]\npage = 'gan'\nparams = {lang = 'en'}\n", "x.toml:5: params may not set"),
    (HEAD + "[[steps]]\npage = 'gan'\n\nlayout = 1\n", "x.toml:6: unknown keys ['layout']"),
    (HEAD + STEP + "params = { seed = '1', rot = '45' }\n", "x.toml:7: unknown params ['rot'] for page 'gan'"),
    (HEAD + STEP + "focus = 'fig4'\n", "x.toml:7: focus must be one of page 'gan''s sections"),
    ("id = [\n", "not a valid TOML file"),
])
def test_a_broken_lesson_is_refused_with_its_file_and_line(text, message):
    with pytest.raises(LessonError, match=re.escape(message)):
        parse(text, "x.toml")


def test_a_broken_step_is_skipped_and_named_when_not_strict():
    text = HEAD + STEP + STEP.replace("'gan'", "'nowhere'") + STEP.replace("title", "tytle", 1)
    lesson = parse(text, "x.toml", strict=False)
    assert len(lesson.steps) == 1
    assert [p.split(":")[1] for p in lesson.problems] == ["8", "13"]  # the second step's page, the third's stray key
    with pytest.raises(LessonError, match="no step can be used"):
        parse(HEAD + STEP.replace("'gan'", "'nowhere'"), "x.toml", strict=False)


def test_a_missing_lesson_says_so(tmp_path):
    with pytest.raises(LessonError, match="no lesson 'nope'"):
        load("nope", tmp_path)
    with pytest.raises(LessonError, match="no lesson"):
        load("../gan", LESSONS)


@pytest.mark.parametrize("name, step, index, notice", [
    ("capsules", "2", 1, None), ("capsules", None, 0, None), ("capsules", "0", 0, "bad_step"), ("capsules", "99", 0, "bad_step"),
    ("capsules", "two", 0, "bad_step"), ("nope", "3", 0, "unknown_lesson"), ("../etc", "1", 0, "unknown_lesson"),
])
def test_a_link_opens_its_step_or_the_first_one_with_a_notice(name, step, index, notice):
    lesson, got, said = resolve(name, step)
    assert (got, said) == (index, notice)
    assert lesson.id == (name if notice != "unknown_lesson" else "gan")


def test_moving_stays_inside_the_lesson():
    lesson = load("capsules")
    last = len(lesson.steps) - 1
    assert [move(lesson, 0, "prev"), move(lesson, 0, "next"), move(lesson, last, "next"), move(lesson, last, "prev")] == [0, 1, last, last - 1]
    with pytest.raises(ValueError):
        move(lesson, 0, "sideways")


# -- the lesson mode in the app (AppTest: the keyboard's component is driven in the browser tests)

def _app(query: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query)
    return at.run()


def _bar_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


# Each lesson twice, the languages alternating by step and swapped the second time: together they
# render every step in both languages; the first half alone (make test-fast) renders every step once
# and both languages.
@pytest.mark.parametrize("half", [0, pytest.param(1, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", ["gan", "autoencoders", "capsules"])
def test_every_step_renders_its_page_and_caption_in_both_languages(name, half, random_checkpoints, checkpoint_env, every_run_through_app):
    checkpoint_env(random_checkpoints)
    lesson = load(name)
    for i, step in enumerate(lesson.steps, 1):
        for lang in [("zh", "en")[(i + half) % 2]]:
            at = _app({"lang": lang, "lesson": name, "step": str(i)})
            assert not at.exception, (name, i, [e.value for e in at.exception])
            assert step.caption[lang] in _bar_text(at), (name, lang, i)
            assert not [w for w in at.warning if "链接" in w.value or "link" in w.value], (name, i, [w.value for w in at.warning])
            assert at.query_params.get("lesson") == name and at.query_params.get("step") == str(i), at.query_params
            assert at.selectbox(key="lesson.pick").value == i - 1


def test_a_step_opens_its_view_and_the_buttons_move_between_steps(random_checkpoints, checkpoint_env, every_run_through_app):
    checkpoint_env(random_checkpoints)
    at = _app({"lang": "en", "lesson": "gan", "step": "4"})  # the GAN lab, direction 1 far out
    assert at.session_state["gan.view"].seed == 7 and at.session_state["gan.view"].dirs[0] == 34
    assert at.query_params["dirs"] == "34,20,20,20,20,20,20,20"
    at.button(key="lesson.next").click().run()  # step 5: "real or fake?", round 2
    assert not at.exception
    assert at.session_state["lesson.active"] == ("gan", 4)
    assert at.session_state["quiz.view"].round == 2
    assert at.query_params["step"] == "5" and at.query_params["round"] == "2"
    at.button(key="lesson.prev").click().run()
    assert at.session_state["lesson.active"] == ("gan", 3) and at.session_state["gan.view"].dirs[0] == 34
    at.selectbox(key="lesson.pick").set_value(0).run()
    assert at.session_state["lesson.active"] == ("gan", 0) and at.session_state["gan.view"].dirs[0] == 20
    assert not at.exception


def test_leaving_keeps_the_lab_and_the_sidebar_leads_back(random_checkpoints, checkpoint_env, every_run_through_app):
    checkpoint_env(random_checkpoints)
    at = _app({"lang": "en", "lesson": "capsules", "step": "2"})  # rotated by 45 degrees
    at.button(key="lesson.leave").click().run()
    assert not at.exception
    assert "lesson" not in at.query_params and "step" not in at.query_params
    assert at.query_params["rot"] == "45" and at.session_state["caps.view"].angle == 45  # the lab as it was
    assert load("capsules").steps[1].caption["en"] not in _bar_text(at)
    at.button(key="lesson.back").click().run()
    assert at.session_state["lesson.active"] == ("capsules", 1) and at.query_params["step"] == "2"


def test_a_broken_link_opens_a_first_step_with_a_notice(random_checkpoints, checkpoint_env, every_run_through_app):
    checkpoint_env(random_checkpoints)
    at = _app({"lang": "en", "lesson": "capsules", "step": "42"})
    assert not at.exception and at.session_state["lesson.active"] == ("capsules", 0)
    assert any("no such step" in w.value for w in at.warning)
    at = _app({"lang": "zh", "lesson": "<script>", "step": "1"})
    assert not at.exception and at.session_state["lesson.active"] == ("gan", 0)
    assert any("没有这个课程" in w.value for w in at.warning)


def test_the_home_page_starts_each_lesson(random_checkpoints, checkpoint_env, every_run_through_app):
    checkpoint_env(random_checkpoints)
    at = _app({"lang": "en"})
    at.button(key="home.lesson.autoencoders").click().run()
    assert not at.exception
    assert at.session_state["lesson.active"] == ("autoencoders", 0)
    assert load("autoencoders").steps[0].caption["en"] in _bar_text(at)


def test_a_shared_link_keeps_the_view_the_teacher_moved_to(random_checkpoints, checkpoint_env, every_run_through_app):
    checkpoint_env(random_checkpoints)
    at = _app({"lang": "en"})
    at.query_params.update({"lesson": "gan", "step": "4", "seed": "9", "dirs": "20,20,30,20,20,20,20,20"})
    at.switch_page("pages/gan.py").run()  # /gan?…&lesson=gan&step=4, after the teacher moved on from the step's view
    assert not at.exception
    assert at.session_state["lesson.active"] == ("gan", 3)
    assert at.session_state["gan.view"].seed == 9 and at.session_state["gan.view"].dirs[2] == 30
    assert at.query_params["step"] == "4" and at.query_params["seed"] == "9"
    at.button(key="lesson.prev").click().run()  # a step by the bar opens that step's own view
    assert at.session_state["gan.view"].seed == 7 and at.query_params["step"] == "3"


def test_the_app_skips_a_broken_step_and_says_so(random_checkpoints, checkpoint_env, every_run_through_app, tmp_path, monkeypatch):
    import advdl.lessons
    from advdl.ui import lesson_mode

    checkpoint_env(random_checkpoints)
    text = (LESSONS / "capsules.toml").read_text(encoding="utf-8")
    broken = text.replace('page = "capsules"', 'page = "nowhere"', 1)  # the first step
    (tmp_path / "capsules.toml").write_text(broken, encoding="utf-8")
    monkeypatch.setattr(advdl.lessons, "ROOT", tmp_path)
    lesson_mode._lesson.clear()
    try:
        at = _app({"lang": "en", "lesson": "capsules", "step": "1"})
        assert not at.exception
        line = broken.splitlines().index('page = "nowhere"') + 1
        assert any(f"capsules.toml:{line}: page must be one of" in w.value and "could not be used" in w.value for w in at.warning)
        shipped = load("capsules", LESSONS)
        assert shipped.steps[1].caption["en"] in _bar_text(at)  # the lesson goes on from the next step
        assert at.selectbox(key="lesson.pick").format_func(0).startswith(f"1 / {len(shipped.steps) - 1} ·")
    finally:
        lesson_mode._lesson.clear()
