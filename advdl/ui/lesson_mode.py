"""The lesson mode: a lesson (advdl/lessons.py) driven from the keyboard through the labs.

``?lesson=gan&step=3`` (any page) opens that step: its lab in the step's view, under a step bar
with the step's title and caption. → / PageDown and ← / PageUp (a presentation clicker) move
between steps, Esc leaves the lesson and keeps the lab as it is (the sidebar offers the way back).
``app.py`` calls :func:`drive` between ``st.navigation`` and the page's run, so that a step opens
its page and view before the page draws.

While a lesson runs, its id and step stay in the URL beside the lab's own parameters (a student
opening the teacher's link lands on the same step).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st

from advdl.lessons import PAGE_PARAMS, Lesson, LessonError, available, load, move, resolve
from advdl.ui import scrub, views
from advdl.ui.course import GLOSSARY
from advdl.ui.i18n import lang, t
from advdl.ui.training_view import TrainingView

ACTIVE = "lesson.active"  # the running lesson's step: (lesson id, step index), or None
LEFT = "lesson.left"  # the step that Esc left, to come back to
GO = "lesson.go"  # a step asked for by a button's callback: (lesson id, step index)
NOTICE = "lesson.notice"  # what was wrong with the link that opened the lesson (shown once)

# What holds each page's view in the session (a step opens its page in the step's own view:
# these are forgotten so that the page reads the step's URL), and its drag sliders' keys (reset,
# so that what the browser last committed there does not override the step).
FORGET = {
    "gan": ((views.GanView.KEY,), ("gan.dirs",)),
    "gan_training": ((TrainingView.KEY, "gtrain.w.data"), ()),
    "autoencoders": ((views.AeView.KEY,), ("ae.strength", "ae.edit")),
    "capsules": ((views.CapsView.KEY,), ("caps.dims",)),
    "real_or_fake": ((views.QuizView.KEY,), ()),
    "": ((), ()),
}


@dataclass(frozen=True)
class Here:
    lesson: Lesson
    index: int

    @property
    def step(self):
        return self.lesson.steps[self.index]


@st.cache_resource(show_spinner=False, max_entries=16, ttl=60)
def _lesson(name: str) -> Lesson:
    """A lesson file, read once a minute at most (a teacher editing one sees it soon)."""
    return load(name, strict=False)


@functools.cache
def _components():
    # registered at first use, as the scrubbers are (the server reads the manifests first)
    return scrub.register("lesson_keys", "", None, "lesson_keys.js")


def _params(here: Here) -> dict[str, str]:
    kept = {k: v for k, v in st.query_params.to_dict().items() if k in ("lang", "present")}
    return {**kept, **here.step.params, "lesson": here.lesson.id, "step": str(here.index + 1)}


def _open(here: Here, pages: dict, current: str, link: bool = False) -> None:
    """Make ``here`` the running step: its page in its view (switching page if needed). ``link``:
    asked for by the URL, which keeps its own view of the step's page if it has one (a teacher's
    shared link after they moved a slider opens what they showed)."""
    ss = st.session_state
    before = ss.get(ACTIVE)
    ss[ACTIVE] = (here.lesson.id, here.index)
    ss.pop(LEFT, None)
    step = here.step
    try:
        prev = _lesson(before[0]).steps[before[1]] if before else None
    except (LessonError, IndexError):
        prev = None
    # the next step on the same page in the same view keeps the lab as the teacher left it (a
    # GAN trained a few steps to show the next point); any other step opens its own view
    if not (prev is not None and prev.page == step.page == current and prev.params == step.params):
        keys, scrubbers = FORGET.get(step.page, ((), ()))
        for key in keys:
            ss.pop(key, None)
        for key in scrubbers:
            scrub.reset(key)
    own = link and step.page == current and bool(set(st.query_params.to_dict()) & PAGE_PARAMS.get(step.page, set()))
    if own:
        st.query_params.update({"lesson": here.lesson.id, "step": str(here.index + 1)})
        return
    st.query_params.from_dict(_params(here))
    if step.page != current:
        st.switch_page(pages[step.page], query_params=_params(here))  # raises: the run starts again there


def _running() -> Here | None:
    active = st.session_state.get(ACTIVE)
    if not active:
        return None
    try:
        lesson = _lesson(active[0])
        return Here(lesson, min(active[1], len(lesson.steps) - 1))
    except LessonError:
        st.session_state[ACTIVE] = None
        return None


def _go(name: str, index: int) -> None:
    st.session_state[GO] = (name, index)


def start(name: str) -> None:
    """A button's callback: open lesson ``name`` at its first step."""
    _go(name, 0)


def lessons() -> list[tuple[str, Lesson]]:
    """The lessons that can be read, in the course's order."""
    out = []
    for name in available():
        try:
            out.append((name, _lesson(name)))
        except LessonError:
            continue
    return out


def _on_key() -> None:
    """The keys component's callback (before the run, so that the run draws the new step)."""
    action = scrub.state("lesson.keys", ("action",)).get("action")
    here = _running()
    if here is None:
        return
    if action == "leave":
        _leave()
    elif action in ("next", "prev"):
        _go(here.lesson.id, move(here.lesson, here.index, action))


def _leave() -> None:
    ss = st.session_state
    ss[LEFT], ss[ACTIVE] = ss.get(ACTIVE), None
    for k in ("lesson", "step"):
        st.query_params.pop(k, None)


def drive(pages: dict, current: str) -> None:
    """Open the step a link, a key or a button asks for, and draw the step bar while a lesson
    runs. ``pages``: the app's pages by URL path; ``current``: the URL path of the page about to
    run."""
    ss = st.session_state
    target, link = ss.pop(GO, None), False
    asked = st.query_params.get("lesson")
    if target is None and asked is not None:
        active = ss.get(ACTIVE)
        if not active or (active[0], str(active[1] + 1)) != (asked, st.query_params.get("step")):
            try:
                lesson, index, notice = resolve(asked, st.query_params.get("step"))
            except LessonError as exc:
                st.error(t("lesson.broken", why=str(exc)))
                return
            ss[NOTICE] = notice
            target, link = (lesson.id, index), notice is None
    if target is not None:
        try:
            lesson = _lesson(target[0])
        except LessonError as exc:
            st.error(t("lesson.broken", why=str(exc)))
            return
        _open(Here(lesson, max(0, min(target[1], len(lesson.steps) - 1))), pages, current, link)
    here = _running()
    if here is None:
        _back_button()
        return
    with st.container(key="lesson-keys"):  # no height of its own (LESSON_CSS)
        _components()(key="lesson.keys", data=scrub.send({"at": f"{here.lesson.id}:{here.index}", "focus": here.step.focus}),
                      on_action_change=_on_key)
    if here.step.page == current:  # the lesson's id and step stay in the URL beside the lab's
        for k, v in (("lesson", here.lesson.id), ("step", str(here.index + 1))):
            if st.query_params.get(k) != v:
                st.query_params[k] = v
    _bar(here)


# While a lesson runs on a projector, the step's title stands in for the lab's own (the page's h1),
# so that the lab's first figure still fits a 1280 x 720 screen under the step bar.
LESSON_CSS = """
.st-key-lesson-keys { display: none; }
[data-testid="stLayoutWrapper"]:has(> .st-key-lesson-bar) { position: sticky; top: 3.75rem; z-index: 99; }
.st-key-lesson-bar { background: var(--st-background-color, #fff); box-shadow: 0 -4rem 0 0 var(--st-background-color, #fff); }
.st-key-lesson-bar [data-testid="stMarkdownContainer"] p { margin-bottom: 0; }
"""
PRESENT_CSS = '[data-testid="stMainBlockContainer"] h1 { display: none; }'


def _bar(here: Here) -> None:
    from advdl.ui.shell import presenting

    ss = st.session_state
    n = len(here.lesson.steps)
    step = here.step
    code = lang()
    st.html(f"<style>{LESSON_CSS}{PRESENT_CSS if presenting() else ''}</style>")
    with st.container(key="lesson-bar", border=True, gap="small"):
        notice = ss.pop(NOTICE, None)
        if notice:
            st.warning(t(f"lesson.{notice}"))
        for problem in here.lesson.problems:
            st.warning(t("lesson.skipped", why=problem))
        a, b, c, d, e = st.columns([2, 14, 2, 4, 4], vertical_alignment="center", gap="small")
        a.button("←", key="lesson.prev", help=t("lesson.prev"), disabled=here.index == 0, on_click=_go,
                 args=(here.lesson.id, here.index - 1), width="stretch")
        ss["lesson.pick"] = here.index
        b.selectbox(t("lesson.pick"), range(n), key="lesson.pick", label_visibility="collapsed",
                    format_func=lambda i: f"{i + 1} / {n} · {here.lesson.steps[i].title[code]}",
                    on_change=lambda: _go(here.lesson.id, int(ss["lesson.pick"])))
        c.button("→", key="lesson.next", help=t("lesson.next"), disabled=here.index == n - 1, on_click=_go,
                 args=(here.lesson.id, here.index + 1), width="stretch")
        with d.popover(t("home.glossary"), width="stretch"):
            glossary()
        e.button(t("lesson.leave"), key="lesson.leave", help=t("lesson.leave_help"), on_click=_leave, width="stretch")
        st.markdown(step.caption[code])
        link = f"`?lesson={here.lesson.id}&step={here.index + 1}`"
        if presenting():  # the class reads the short link off the projector
            st.caption(t("lesson.students", link=link))
        else:
            st.caption(f"{here.lesson.title[code]} · {t('lesson.step_of', n=here.index + 1, total=n)} · "
                       + t("lesson.keys_help", link=link))


def _back_button() -> None:
    left = st.session_state.get(LEFT)
    if not left:
        return
    try:
        lesson = _lesson(left[0])
    except LessonError:
        return
    with st.sidebar:
        st.button(t("lesson.back", lesson=lesson.title[lang()], n=left[1] + 1), key="lesson.back", on_click=_go, args=tuple(left),
                  icon=":material/school:")


def glossary(key: str = "lesson-glossary") -> None:
    """The outline's terms in both languages (by design: the class learns both)."""
    with st.container(key=key):
        st.table({"中文": [g[0] for g in GLOSSARY], "English": [g[1] for g in GLOSSARY]})
