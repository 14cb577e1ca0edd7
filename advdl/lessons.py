"""Lessons as data: the course chapter's sections as steps through the labs (``lessons/*.toml``).

A step names a page (its URL path), the lab's URL parameters that open the view showing one point
of the outline (read by the lab's view: advdl/ui/views.py, advdl/ui/training_view.py), and a
title and caption in Chinese and English. Plain Python: the lesson mode (advdl/ui/lesson_mode.py)
drives it.

    lesson = load("gan")
    lesson.steps[2].url("zh")   # "/gan?lang=zh&seed=7&dirs=34,20,...&lesson=gan&step=3"

A step that cannot be used (an unknown page or key) is refused with its file and line: strictly
(``parse(..., strict=True)``, the tests) by raising, else by skipping it and saying so in
``Lesson.problems`` (the app shows them and goes on with the other steps).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent / "lessons"
ORDER = ("gan", "autoencoders", "capsules")  # the course's order: 5.1, 5.2, 5.3
LANGS = ("zh", "en")
RESERVED = ("lang", "present", "lesson", "step")  # the app's own URL parameters
# The URL parameters each page's view reads (tests/test_lessons.py checks them against the views).
PAGE_PARAMS: dict[str, frozenset[str]] = {
    "": frozenset(),  # home
    "gan": frozenset({"seed", "z", "dirs"}),
    "gan_training": frozenset({"preset", "speed", "slow", "data", "g_layers", "g_width", "d_layers", "d_width", "noise", "loss",
                               "optimizer", "lr_g", "lr_d", "d_steps", "batch", "seed"}),
    "autoencoders": frozenset({"noise", "nseed", "clean", "strength"}),
    "capsules": frozenset({"rot", "dx", "dy", "scale", "shear", "cls", "range", "dims"}),
    "real_or_fake": frozenset({"seed", "round"}),
}
PAGES = tuple(PAGE_PARAMS)
# The sections a step can bring into view (``focus``): each page's subheaders' anchors.
PAGE_ANCHORS: dict[str, frozenset[str]] = {
    "gan": frozenset({"morph", "invert", "replay"}),
    "autoencoders": frozenset({"recons", "codes", "sweep", "map", "edit"}),
    "capsules": frozenset({"pose", "layers", "perturb", "fig4", "routing", "why"}),
}


class LessonError(ValueError):
    """A lesson file that cannot be used, said in one line (with its file and line)."""


@dataclass(frozen=True)
class Step:
    page: str
    params: dict[str, str]
    title: dict[str, str]
    caption: dict[str, str]
    focus: str | None = None  # a section of the page to bring into view (its anchor)

    def url(self, lang: str, lesson: str | None = None, number: int | None = None) -> str:
        """The path and query that open this step's view in ``lang`` (inside ``lesson`` as its
        step ``number``, counted from 1, when given)."""
        inside = {"lesson": lesson, "step": str(number)} if lesson is not None and number is not None else {}
        return f"/{self.page}?" + urlencode({"lang": lang, **self.params, **inside}, safe=",")


@dataclass(frozen=True)
class Lesson:
    id: str
    title: dict[str, str]
    steps: tuple[Step, ...]
    problems: tuple[str, ...] = field(default=())  # the steps skipped, each "file:line: why"

    def clamp(self, number) -> int | None:
        """The step index (from 0) of a step number from a URL (counted from 1), or None if it
        names no step of this lesson."""
        try:
            n = int(str(number))
        except (TypeError, ValueError):
            return None
        return n - 1 if 1 <= n <= len(self.steps) else None


def _text(entry, where: str) -> dict[str, str]:
    if not isinstance(entry, dict) or set(entry) != set(LANGS) or not all(isinstance(v, str) and v.strip() for v in entry.values()):
        raise LessonError(f"{where}: needs a text in both languages ({', '.join(LANGS)})")
    return dict(entry)


def _lines(text: str) -> list[tuple[int, int]]:
    """Each ``[[steps]]`` table's first and last line (from 1) in the file's text."""
    lines = text.splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*steps\s*\]\]", line)]
    return [(s, (starts[k + 1] - 1) if k + 1 < len(starts) else len(lines)) for k, s in enumerate(starts)]


def _line_of(text: str, span: tuple[int, int], key: str) -> int:
    """The line of ``key = …`` inside a step's table (its header's line if not found)."""
    lines = text.splitlines()
    for n in range(span[0], span[1] + 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[n - 1]) or re.search(rf"[{{,]\s*{re.escape(key)}\s*=", lines[n - 1]):
            return n
    return span[0]


def _step(s, text: str, span: tuple[int, int], name: str) -> Step:
    def fail(key: str, why: str):
        raise LessonError(f"{name}:{_line_of(text, span, key) if key else span[0]}: {why}")

    if not isinstance(s, dict):
        fail("", "a step must be a table")
    unknown = sorted(set(s) - {"page", "params", "title", "caption", "focus"})
    if unknown:
        fail(unknown[0], f"unknown keys {unknown}")
    page = s.get("page")
    if page not in PAGES:
        fail("page", f"page must be one of {list(PAGES)}, not {page!r}")
    params = s.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        fail("params", "params must be strings, as in a URL")
    reserved = sorted(set(params) & set(RESERVED))
    if reserved:
        fail(reserved[0], f"params may not set {', '.join(RESERVED)} (the app's own): {reserved}")
    stray = sorted(set(params) - PAGE_PARAMS[page])
    if stray:
        fail(stray[0], f"unknown params {stray} for page {page!r} (it reads {sorted(PAGE_PARAMS[page])})")
    focus = s.get("focus")
    if focus is not None and focus not in PAGE_ANCHORS.get(page, ()):
        fail("focus", f"focus must be one of page {page!r}'s sections {sorted(PAGE_ANCHORS.get(page, ()))}, not {focus!r}")
    try:
        title = _text(s.get("title"), "title")
        caption = _text(s.get("caption"), "caption")
    except LessonError as exc:
        fail(str(exc).split(":")[0], str(exc))
    return Step(page, dict(params), title, caption, focus)


def parse(text: str, name: str = "lesson", strict: bool = True) -> Lesson:
    """A lesson from a TOML file's text. ``strict``: a step that cannot be used raises; else it is
    skipped and named in ``problems``. A file without an id, a title or any usable step raises."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{name}: not a valid TOML file ({exc})") from None
    steps = raw.get("steps")
    if not isinstance(raw.get("id"), str) or not isinstance(steps, list) or not steps:
        raise LessonError(f"{name}: needs an id and at least one [[steps]]")
    title = _text(raw.get("title"), f"{name}, title")
    spans = _lines(text)
    out, problems = [], []
    for i, s in enumerate(steps):
        try:
            out.append(_step(s, text, spans[i] if i < len(spans) else (1, 1), name))
        except LessonError as exc:
            if strict:
                raise
            problems.append(str(exc))
    if not out:
        raise LessonError(f"{name}: no step can be used ({problems[0]})")
    return Lesson(raw["id"], title, tuple(out), tuple(problems))


def load(name: str, root: Path | None = None, strict: bool = True) -> Lesson:
    path = (root or ROOT) / f"{name}.toml"
    if not re.fullmatch(r"[a-z0-9_]+", name or ""):
        raise LessonError(f"no lesson {name!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LessonError(f"no lesson {name!r} ({exc.strerror})") from None
    lesson = parse(text, path.name, strict=strict)
    if lesson.id != name:
        raise LessonError(f"{path.name}: its id is {lesson.id!r}")
    return lesson


def available(root: Path | None = None) -> list[str]:
    """The lessons, in the course's order (5.1, 5.2, 5.3), then any others by name."""
    names = sorted(p.stem for p in (root or ROOT).glob("*.toml"))
    return [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]


def resolve(name, number, root: Path | None = None) -> tuple[Lesson, int, str | None]:
    """The lesson and step index a URL asks for (``?lesson=…&step=…``), and what was wrong with it:
    ``None``, ``"unknown_lesson"`` (the first lesson's first step is opened instead) or
    ``"bad_step"`` (the lesson's first step). Raises LessonError only when no lesson can be read."""
    try:
        lesson = load(str(name), root, strict=False)
    except LessonError:
        for other in available(root):
            try:
                return load(other, root, strict=False), 0, "unknown_lesson"
            except LessonError:
                continue
        raise LessonError("no lesson can be read") from None
    if number is None:
        return lesson, 0, None
    index = lesson.clamp(number)
    return (lesson, 0, "bad_step") if index is None else (lesson, index, None)


def move(lesson: Lesson, index: int, action: str) -> int:
    """The step index after ``action`` ("next" or "prev"), staying inside the lesson."""
    if action == "next":
        return min(index + 1, len(lesson.steps) - 1)
    if action == "prev":
        return max(index - 1, 0)
    raise ValueError(f"unknown action {action!r}")
