"""Start the lab's server with torch and the models loading while it boots.

    python -m advdl.ui.serve [streamlit options]        # what `make run` does

``streamlit run app.py`` imports torch (about 1.3 s of this CUDA build) and loads the models
only when the first browser connects, so the first student waits for all of it. This launcher
imports torch first, then starts a thread that loads the models and computes what the first
lab shows while the server starts and the browser fetches the page, then runs
``streamlit run app.py`` with the options given. The pages find the
models in the same process-wide cache they always use.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"

# Set when the server has stopped: a warm-up still waiting for a first session skips the rest.
_STOPPED = threading.Event()


def _warm_up() -> None:
    try:
        from advdl.ui.models import warm_up
        from advdl.ui.shell import FIRST_RUN_ENDED

        warm_up(first_run=FIRST_RUN_ENDED, stop=_STOPPED)
    except Exception:  # noqa: BLE001 - a missing or damaged checkpoint: the page will say why
        pass


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli  # imports streamlit before the thread needs it

    args = sys.argv[1:] if argv is None else argv
    if not {"--help", "-h", "--version"} & set(args):
        # torch (1.3 s) is imported here, before the server starts, not in the thread: imports
        # hold the interpreter lock, and a server booting and serving the browser its scripts
        # beside them made both slower (the first lab drawn 0.3-0.5 s later from a cold start).
        import advdl.ui.models  # noqa: F401

        # Not a daemon: a server stopped during the warm-up waits the second or two it has left,
        # where a daemon thread inside torch at interpreter exit aborts the process.
        threading.Thread(target=_warm_up, name="advdl-warm-up").start()
    sys.argv = ["streamlit", "run", str(APP), *args]
    try:
        return cli.main()
    finally:
        _STOPPED.set()


if __name__ == "__main__":
    sys.exit(main())
