"""Start the lab's server with torch and the models loading while it boots.

    python -m advdl.ui.serve [streamlit options]        # what `make run` does

``streamlit run app.py`` imports torch (slow to import, this CUDA build) and loads the models
only when the first browser connects, so the first student waits for all of it. This launcher
imports torch first, then starts a thread that loads the models and computes what the first
lab shows while the server starts and the browser fetches the page, then runs
``streamlit run app.py`` with the options given. The pages find the
models in the same process-wide cache they always use. When the warm-up ends, the thread hands
back the memory it no longer needs: the heap it freed, and the pages of the CUDA libraries that
torch's CUDA build maps but a CPU-only lab never runs (:func:`release_library_pages`).
"""

from __future__ import annotations

import ctypes
import re
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
    finally:
        from advdl.ui.models import trim_heap

        trim_heap()  # the warm-up's temporaries, which glibc would otherwise keep
        release_library_pages()  # here, off the first session's path (docs/performance.md: memory)


# The CUDA libraries of torch's CUDA build (nvidia/*, libtorch_cuda): mapped when torch is
# imported, never run by the lab, which computes on the CPU.
UNUSED_LIBRARIES = re.compile(r"/nvidia/|/libtorch_cuda[^/]*\.so|/libc10_cuda\.so|/libcusparseLt")
_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")
_MADV_DONTNEED = 4


def read_mappings(smaps: str = "/proc/self/smaps") -> list[dict]:
    """The memory mappings of ``smaps``: start and end address, permissions, path, and each of
    its sizes (Rss, Anonymous, ...) in bytes."""
    mappings, current = [], None
    with open(smaps) as f:
        for line in f:
            line = line.rstrip("\n")
            m = _MAPPING.match(line)
            if m:
                current = {"start": int(m[1], 16), "end": int(m[2], 16), "perms": m[3], "path": m[4]}
                mappings.append(current)
            elif current is not None and line.endswith(" kB"):
                key, _, value = line.partition(":")
                current[key] = int(value.split()[0]) * 1024
    return mappings


def release_library_pages(pattern: re.Pattern = UNUSED_LIBRARIES, smaps: str = "/proc/self/smaps") -> int:
    """Unmap the resident pages of the libraries whose path matches ``pattern``; returns the bytes
    released (0 where /proc or madvise is missing).

    A kernel that caches files in large folios maps a library's pages many at a time, so
    importing torch leaves hundreds of MB of CUDA library code resident in a process that never runs
    it. Only mappings that the process cannot have changed are released: not writable, and no
    page of them copied on write (``Anonymous: 0``). Such pages are the file's own bytes: if
    anything ever touches them again, the kernel maps them again from the page cache.
    """
    try:
        mappings = read_mappings(smaps)
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    released = 0
    for m in mappings:
        if (pattern.search(m["path"]) and "w" not in m["perms"] and m.get("Anonymous", 1) == 0
                and m.get("Rss", 0) > 0 and madvise(m["start"], m["end"] - m["start"], _MADV_DONTNEED) == 0):
            released += m["Rss"]
    return released


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli  # imports streamlit before the thread needs it

    args = sys.argv[1:] if argv is None else argv
    if not {"--help", "-h", "--version"} & set(args):
        # torch is imported here, before the server starts, not in the thread: imports hold the
        # interpreter lock, and a server booting and serving the browser its scripts beside them
        # made both slower (a later first drawing in bench.py's cold start).
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
