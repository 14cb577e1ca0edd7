"""Every user-facing string exists in Chinese and English, and every key the code uses exists."""

from __future__ import annotations

import re

from advdl.ui.i18n import LANGS, STRINGS
from conftest import ROOT


def test_every_string_has_both_languages():
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGS), key
        assert all(entry[lang].strip() for lang in LANGS), key
        # the same placeholders in both languages
        names = [sorted(re.findall(r"\{(\w+)", entry[lang])) for lang in LANGS]
        assert names[0] == names[1], key


def test_both_locale_files_have_the_same_keys():
    import tomllib

    from advdl.ui.i18n import LOCALES

    tables = {lang: tomllib.loads((LOCALES / f"{lang}.toml").read_text(encoding="utf-8")) for lang in LANGS}
    assert set(tables["zh"]) == set(tables["en"]), set(tables["zh"]) ^ set(tables["en"])
    assert all(isinstance(v, str) for table in tables.values() for v in table.values())
    assert set(STRINGS) == set(tables["zh"])


def test_every_key_is_used_somewhere():
    # a key is used when the code names it whole, or builds it at run time from a prefix in an
    # f-string (f"gtrain.preset.{name}"); a key no code can reach is dead text
    files = [*ROOT.glob("pages/*.py"), ROOT / "app.py", *ROOT.glob("advdl/**/*.py"), *ROOT.glob("advdl/ui/frontend/*.js")]
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    literals = set(re.findall(r"""["']([\w.]+)["']""", text))
    prefixes = set(re.findall(r"""f["']([\w.]+)\{""", text))
    unused = [k for k in STRINGS if k not in literals and not any(k.startswith(p) for p in prefixes)]
    assert not unused, unused


def test_chinese_strings_are_chinese():
    for key, entry in STRINGS.items():
        # Chinese characters, or Chinese punctuation alone (a list's separator "、")
        assert any("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" for ch in entry["zh"]), key


def test_every_key_used_in_the_code_exists():
    used = set()
    for path in [*ROOT.glob("pages/*.py"), ROOT / "app.py", *ROOT.glob("advdl/ui/*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["'](?=\s*[,)])""", path.read_text(encoding="utf-8")))
    assert used, "no t('...') calls found"
    missing = sorted(k for k in used if k not in STRINGS)
    assert not missing, missing


def test_keys_built_at_run_time_exist():
    from advdl import checkpoints, digits
    from advdl.models import AUTOENCODERS
    from advdl.ui.digit_input import SOURCES

    from advdl.cards import HEADLINES
    from advdl.models import MODELS

    keys = [f"input.{s}" for s in (*SOURCES, "shared")] + [f"nav.{ns}" for ns in ("gan", "ae", "caps")] + [f"ae.noise.{k}" for k in digits.NOISE_KINDS] + [f"ae.{n}" for n in AUTOENCODERS]
    keys += [f"model.{n}" for n in MODELS] + [f"card.{m}" for ms in HEADLINES.values() for m in ms]
    keys += [f"anchor.{n}.{a.metric}" for n, spec in MODELS.items() for a in spec.anchors]
    for mod, base in ((digits, digits.DigitError), (checkpoints, checkpoints.CheckpointError)):
        keys += [cls.code for cls in vars(mod).values() if isinstance(cls, type) and issubclass(cls, base)]
    assert len(keys) > 15
    assert [k for k in keys if k not in STRINGS] == []
