"""The lessons (lessons/*.toml): every step opens a lab in a view its URL state can read, with a
title and caption in both languages."""

from __future__ import annotations

import pytest

from advdl.lessons import LessonError, available, load, parse


def _bad(page: str, params: dict) -> bool:
    """Whether the page's own view reader finds something it cannot read in ``params``."""
    from advdl.ui.training_view import TrainingView
    from advdl.ui.views import AeView, CapsView, GanView

    readers = {"gan": lambda p: GanView.from_query_params(p, 100), "autoencoders": AeView.from_query_params,
               "capsules": CapsView.from_query_params, "gan_training": TrainingView.from_query_params}
    return bool(page in readers and readers[page](params)[1])


def test_the_chapter_has_a_lesson_per_section_in_the_course_order():
    assert available() == ["gan", "autoencoders", "capsules"]
    for name in available():
        lesson = load(name)
        assert 6 <= len(lesson.steps) <= 12, (name, len(lesson.steps))


@pytest.mark.parametrize("name", ["gan", "autoencoders", "capsules"])
def test_every_step_opens_a_view_its_lab_can_read(name):
    from advdl.ui.views import AeView, CapsView, GanView

    lesson = load(name)
    for i, step in enumerate(lesson.steps, 1):
        assert not _bad(step.page, step.params), (name, i, step.params)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in step.title["zh"] + step.caption["zh"]), (name, i)
        assert step.url("en").startswith(f"/{step.page}?lang=en")
    # the steps differ: a lesson does not show one view twice with the same title
    assert len({(s.page, tuple(sorted(s.params.items())), s.title["en"]) for s in lesson.steps}) == len(lesson.steps)
    # what the views read back is what the step asked for (nothing silently dropped)
    for step in lesson.steps:
        view_cls = {"gan": GanView, "autoencoders": AeView, "capsules": CapsView}.get(step.page)
        if view_cls is not None:
            view = (view_cls.from_query_params(step.params, 100) if view_cls is GanView else view_cls.from_query_params(step.params))[0]
            written = view.to_query_params()
            assert all(written.get(k, v) == v or (k == "seed" and v == "0") for k, v in step.params.items()), (step.params, written)


def test_a_step_url_carries_the_language_and_the_view():
    step = load("gan").steps[2]
    assert step.url("zh") == "/gan?lang=zh&seed=7&dirs=34,20,20,20,20,20,20,20"


@pytest.mark.parametrize("text, message", [
    ("id = 'x'\n", "at least one [[steps]]"),
    ("id = 'x'\ntitle = {zh='a', en='b'}\n[[steps]]\npage = 'nowhere'\n", "page must be one of"),
    ("id = 'x'\ntitle = {zh='a', en='b'}\n[[steps]]\npage = 'gan'\ntitle = {en='b'}\ncaption = {zh='c', en='d'}\n", "both languages"),
    ("id = 'x'\ntitle = {zh='a', en='b'}\n[[steps]]\npage = 'gan'\nparams = {seed = 3}\n", "params must be strings"),
    ("id = 'x'\ntitle = {zh='a', en='b'}\n[[steps]]\npage = 'gan'\nparams = {lang = 'en'}\n", "may not set lang"),
    ("id = 'x'\ntitle = {zh='a', en='b'}\n[[steps]]\npage = 'gan'\nlayout = 1\n", "unknown keys ['layout']"),
    ("id = [\n", "not a valid TOML file"),
])
def test_a_broken_lesson_is_refused_in_one_line(text, message):
    with pytest.raises(LessonError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(text, "x.toml")


def test_a_missing_lesson_says_so(tmp_path):
    with pytest.raises(LessonError, match="no lesson 'nope'"):
        load("nope", tmp_path)


@pytest.mark.parametrize("name", ["gan", "autoencoders", "capsules"])
def test_every_step_renders_its_page_without_a_message_about_the_link(name, random_checkpoints, checkpoint_env):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    checkpoint_env(random_checkpoints)
    for i, step in enumerate(load(name).steps, 1):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params.update({"lang": "zh", **step.params})
        at.run()
        at.switch_page(f"pages/{step.page}.py").run()
        assert not at.exception, (name, i, [e.value for e in at.exception])
        assert not [w for w in at.warning if "链接" in w.value], (name, i, [w.value for w in at.warning])
