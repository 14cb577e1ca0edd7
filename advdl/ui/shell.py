"""The classroom shell's switches: presentation mode for projectors.

Presentation mode (sidebar switch, or ``?present=1`` in the URL) enlarges type and images and
hides notes and secondary controls, so that a lab fits a 1280 x 720 projector.
"""

from __future__ import annotations

import threading

import streamlit as st

# Set when a session's script run has ended (app.py). The launcher's warm-up waits for it before
# the work that no first drawing needs, so that this work does not take the CPU from the first
# student's page while it loads.
FIRST_RUN_ENDED = threading.Event()

PRESENT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding: 1.5rem 1.5rem 3rem; max-width: 100%; }
h1 { font-size: 2.2rem !important; }
</style>
"""


def presenting() -> bool:
    return bool(st.session_state.get("present", False))


def image_size(base: int) -> int:
    """An image's display size in pixels: larger when presenting."""
    return int(base * 1.3) if presenting() else base


def apply_presentation_style() -> None:
    if presenting():
        st.html(PRESENT_CSS)
