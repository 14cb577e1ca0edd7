"""Every user-facing string, in simplified Chinese and English, behind one function ``t``.

The strings live in ``locales/zh.toml`` and ``locales/en.toml``, one key per entry. The language
lives in ``st.session_state["lang"]`` (set from the sidebar and the URL by ``app.py``). A key
that is missing in either language is a bug; ``tests/test_i18n.py`` checks both files, that
every key used in the code exists, and that every key is used.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import streamlit as st

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_NAMES = {"zh": "中文", "en": "English"}

LOCALES = Path(__file__).resolve().parent / "locales"


def _load(folder: Path = LOCALES) -> dict[str, dict[str, str]]:
    """``{key: {"zh": ..., "en": ...}}`` from ``locales/<lang>.toml``."""
    tables = {code: tomllib.loads((folder / f"{code}.toml").read_text(encoding="utf-8")) for code in LANGS}
    keys = dict.fromkeys(k for table in tables.values() for k in table)
    return {k: {code: tables[code][k] for code in LANGS if k in tables[code]} for k in keys}


STRINGS: dict[str, dict[str, str]] = _load()


def lang() -> str:
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, **fmt) -> str:
    """The string ``key`` in the current language, formatted with ``fmt``."""
    entry = STRINGS[key]
    text = entry[lang()]
    return text.format(**fmt) if fmt else text
