"""scripts/loadtest.py against the test server: two short sessions finish lessons without errors
and time their commits (the full 30-session run is a benchmark, not a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import CHROMIUM, ROOT

pytestmark = pytest.mark.browser


def test_two_sessions_walk_the_lesson_without_errors(app_url, tmp_path):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing")
    out = tmp_path / "load.json"
    # its own process: the script drives Playwright's async API
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "loadtest.py"), "--browser", "--url", app_url, "--sessions", "2", "--duration", "15",
         "--think", "0.3", "--arrival", "1", "--invert-share", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=400,
    )
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert proc.returncode == 0 and result["errors"] == 0, (result["error_samples"], proc.stdout[-2000:])
    assert result["lesson_steps"] >= 4
    assert result["commits"] >= 3 and result["commit_latency_ms"]["p50"] > 0
    assert set(result["by_kind_ms"]) >= {"gan_direction", "ae_strength", "caps_dimension"}
