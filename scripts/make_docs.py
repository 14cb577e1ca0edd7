#!/usr/bin/env python
"""Write the figures the documentation shows from the files that hold them, never by hand.

    python scripts/make_docs.py            # rewrite the generated parts
    python scripts/make_docs.py --check    # exit 1 if a generated part is out of date

Generated parts sit between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` markers:
``models`` in README.md, from the checkpoint cards and the registry's bars.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from advdl import checkpoints
from advdl.cards import FORMATS, test_set_seen
from advdl.models import MODELS

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTIONS = {
    "cnn": "CNN baseline",
    "ae_plain": "plain autoencoder 784-32-784",
    "ae_deep": "deep autoencoder 784-128-64-32-64-128-784",
    "ae_conv": "convolutional autoencoder, the course's layers",
    "ae_denoise": "denoising autoencoder",
    "dcgan": "DCGAN",
    "capsnet": "CapsNet",
}
SHOWN = {  # the figures of each model's row: the bars' metrics and a few more
    "cnn": ("test_accuracy", "restyled_accuracy"),
    "capsnet": ("test_accuracy", "restyled_accuracy"),
    "dcgan": ("confident_share", "class_share_min", "class_share_max", "frechet_ratio"),
}
TABLE_FORMATS = {**FORMATS, "test_accuracy": ("{:.2%}", ""), "class_share_min": ("{:.1%}", ""), "class_share_max": ("{:.1%}", "")}


def fmt(metric: str, value) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    spec, unit = TABLE_FORMATS.get(metric, ("{:g}", ""))
    return spec.format(value) + unit


def models_table(root: Path | None = None) -> str:
    rows = ["| model | bars (advdl/models) | shipped (scripts/evaluate.py) | made | recipe |", "| --- | --- | --- | --- | --- |"]
    for name, spec in MODELS.items():
        try:
            card = checkpoints.read_card(name, root)
        except checkpoints.CheckpointError:
            rows.append(f"| {DESCRIPTIONS[name]} (`{name}`) | {'; '.join(map(str, spec.bars))} | not shipped | | |")
            continue
        m = card.get("metrics", {})
        metrics = SHOWN.get(name, tuple(b.metric for b in spec.bars))
        shown = ", ".join(f"{k} {fmt(k, m.get(k))}" for k in metrics)
        verdict = "meets its bars" if m.get("meets_bar") else "**misses a bar**"
        made = f"{card.get('epochs')} epochs on {' + '.join(card.get('devices') or ['?'])}"
        if test_set_seen(card):
            made += "; the test set was seen (card: validation)"
        recipe = (card.get("recipe") or {}).get("path", "—")
        params = f"{card.get('parameters', 0) / 1e6:.2f} M params"
        rows.append(f"| {DESCRIPTIONS[name]} (`{name}`, {params}) | {'; '.join(map(str, spec.bars))} | {shown}: {verdict} | {made} | `{recipe}` |")
    return "\n".join(rows) + "\n"


def replace_part(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"make_docs.py: no <!-- {name}:begin/end --> markers")
    return pattern.sub(lambda mo: mo.group(1) + body + mo.group(2), text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only check that the generated parts are up to date")
    a = p.parse_args(argv)
    readme = ROOT / "README.md"
    old = readme.read_text(encoding="utf-8")
    new = replace_part(old, "models", models_table())
    if a.check:
        if new != old:
            print("README.md: the models table is out of date; run python scripts/make_docs.py", file=sys.stderr)
            return 1
        return 0
    if new != old:
        readme.write_text(new, encoding="utf-8")
        print("wrote README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
