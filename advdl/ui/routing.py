"""Make deep links to a lab work on a fresh server.

Streamlit keeps a process-wide flag for apps that have a ``pages/`` folder: until some run calls
``st.navigation``, it runs the page named in the URL directly ("multipage v1"), skipping
``app.py`` and so the language, the shell and the navigation. A teacher's shared link to
``/gan?lang=en`` would then open a Chinese page with the wrong sidebar, until someone opened ``/``.
The first import of ``advdl.ui`` in the server process clears that flag and, if the current run
is such a direct run, reruns it, which now goes through ``app.py``. Sessions that started their
first run before the flag was cleared (several students opening links at once) are caught by
:func:`require_shell`, which every page calls: a run without the shell's state is rerun.
"""

from __future__ import annotations


def _clear_pages_flag() -> bool:
    """Clear Streamlit's process-wide "multipage v1" flag; True if it was set."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this machinery has nothing to fix
        return False
    was_set = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False
    return was_set


def ensure_entrypoint_routing() -> None:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    if _clear_pages_flag() and get_script_run_ctx(suppress_warning=True) is not None:
        import streamlit as st

        st.rerun()


def require_shell() -> None:
    """Called at the top of every page: if ``app.py`` did not run before this page in this
    session (a direct run that raced the flag above), rerun through it. Bounded, so that a
    Streamlit that routes differently can never loop. A run that has the shell's state is never
    rerun here: that would drop a button's click."""
    import streamlit as st

    _clear_pages_flag()
    if "lang" in st.session_state:
        return
    tries = st.session_state.get("_shell_reruns", 0)
    if tries < 3:
        st.session_state["_shell_reruns"] = tries + 1
        st.rerun()
