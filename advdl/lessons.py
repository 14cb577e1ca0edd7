"""Lessons as data: the course chapter's sections as steps through the labs (``lessons/*.toml``).

A step names a page (its URL path), the lab's URL parameters that open the view showing one point
of the outline (read by the lab's view: advdl/ui/views.py, advdl/ui/training_view.py), and a
title and caption in Chinese and English. Plain Python: the lesson mode's page drives it.

    lesson = load("gan")
    lesson.steps[2].url("zh")   # "/gan?lang=zh&seed=7&dirs=34,20,..."
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent / "lessons"
PAGES = ("", "gan", "gan_training", "autoencoders", "capsules")  # the app's url paths ("": home)
LANGS = ("zh", "en")


class LessonError(ValueError):
    """A lesson file that cannot be used, said in one line."""


@dataclass(frozen=True)
class Step:
    page: str
    params: dict[str, str]
    title: dict[str, str]
    caption: dict[str, str]

    def url(self, lang: str) -> str:
        """The path and query that open this step's view in ``lang``."""
        return f"/{self.page}?" + urlencode({"lang": lang, **self.params}, safe=",")


@dataclass(frozen=True)
class Lesson:
    id: str
    title: dict[str, str]
    steps: tuple[Step, ...]


def _text(entry, where: str) -> dict[str, str]:
    if not isinstance(entry, dict) or set(entry) != set(LANGS) or not all(isinstance(v, str) and v.strip() for v in entry.values()):
        raise LessonError(f"{where}: needs a text in both languages ({', '.join(LANGS)})")
    return dict(entry)


def parse(text: str, name: str = "lesson") -> Lesson:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{name}: not a valid TOML file ({exc})") from None
    steps = raw.get("steps")
    if not isinstance(raw.get("id"), str) or not isinstance(steps, list) or not steps:
        raise LessonError(f"{name}: needs an id and at least one [[steps]]")
    out = []
    for i, s in enumerate(steps, 1):
        where = f"{name}, step {i}"
        unknown = set(s) - {"page", "params", "title", "caption"}
        if unknown:
            raise LessonError(f"{where}: unknown keys {sorted(unknown)}")
        if s.get("page") not in PAGES:
            raise LessonError(f"{where}: page must be one of {list(PAGES)}, not {s.get('page')!r}")
        params = s.get("params", {})
        if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
            raise LessonError(f"{where}: params must be strings, as in a URL")
        if {"lang", "present", "lesson", "step"} & set(params):
            raise LessonError(f"{where}: params may not set lang, present, lesson or step")
        out.append(Step(s["page"], dict(params), _text(s.get("title"), f"{where}, title"), _text(s.get("caption"), f"{where}, caption")))
    return Lesson(raw["id"], _text(raw.get("title"), f"{name}, title"), tuple(out))


def load(name: str, root: Path = ROOT) -> Lesson:
    path = root / f"{name}.toml"
    try:
        lesson = parse(path.read_text(encoding="utf-8"), path.name)
    except OSError as exc:
        raise LessonError(f"no lesson {name!r} ({exc.strerror})") from None
    if lesson.id != name:
        raise LessonError(f"{path.name}: its id is {lesson.id!r}")
    return lesson


def available(root: Path = ROOT) -> list[str]:
    """The lessons, in the course's order (5.1, 5.2, 5.3)."""
    order = ["gan", "autoencoders", "capsules"]
    names = sorted(p.stem for p in root.glob("*.toml"))
    return [n for n in order if n in names] + [n for n in names if n not in order]
