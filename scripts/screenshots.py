"""Screenshots of every lab for the README and docs/, redone whenever the labs change.

    python scripts/screenshots.py                 # docs/img/<lab>-<lang>[-present].webp
    python scripts/screenshots.py --labs gan --langs en --no-present

Starts the lab as `make run` does, on the shipped checkpoints, and opens each lab in Debian's
Chromium at 1280 x 720 in both languages, with presentation mode off and on. Chinese needs a CJK
font in the browser's system (Debian: `apt-get install fonts-noto-cjk`); without one the script
stops rather than write screenshots of boxes. The images are WebP (a third of a PNG's bytes).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from browserkit import CHROMIUM, CHROMIUM_ARGS, ROOT, lab_checkpoints, start_server, wait_idle

LABS = {"home": "", "gan": "gan", "gan_training": "gan_training", "real_or_fake": "real_or_fake", "autoencoders": "autoencoders",
        "capsules": "capsules", "lesson": "capsules?lesson=capsules&step=2"}  # a lesson's step: the step bar over a lab
OUT = ROOT / "docs" / "img"


def has_cjk_font() -> bool:
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(out.strip())


def shoot(url: str, labs: list[str], langs: list[str], presents: list[bool], out: Path, settle_ms: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        jobs = [(lab, lang, present) for lab in labs for lang in langs for present in presents]
        for lab, lang, present in tqdm(jobs, desc="screenshots"):
            ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN" if lang == "zh" else "en-US")
            page = ctx.new_page()
            path = LABS[lab]
            page.goto(f"{url}/{path}{'&' if '?' in path else '?'}lang={lang}" + ("&present=1" if present else ""))
            wait_idle(page, timeout=120_000)
            page.wait_for_timeout(settle_ms)  # charts and images drawn after the run ends
            png = page.screenshot(type="png")
            path = out / f"{lab}-{lang}{'-present' if present else ''}.webp"
            Image.open(io.BytesIO(png)).convert("RGB").save(path, "WEBP", quality=88, method=6)
            written.append(path)
            ctx.close()
        browser.close()
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--labs", nargs="+", choices=list(LABS), default=list(LABS))
    p.add_argument("--langs", nargs="+", choices=["zh", "en"], default=["zh", "en"])
    p.add_argument("--no-present", action="store_true", help="presentation mode off only")
    p.add_argument("--out", type=Path, default=OUT, help=f"where the images go (default: {OUT.relative_to(ROOT)})")
    p.add_argument("--settle-ms", type=int, default=2500, help="wait after the page is idle (default: 2500)")
    a = p.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    if "zh" in a.langs and not has_cjk_font():
        print("no CJK font: the Chinese screenshots would show boxes (apt-get install fonts-noto-cjk)", file=sys.stderr)
        return 1
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(lab_checkpoints(Path(tmp) / "ckpt"), Path(tmp) / "server.log")
        try:
            written = shoot(url, a.labs, a.langs, [False] if a.no_present else [False, True], a.out, a.settle_ms)
        finally:
            proc.terminate()
            proc.wait(10)
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
