"""The Streamlit side of advdl: translations, cached model loaders and shared widgets.

This subpackage is the only part of advdl that imports Streamlit.
"""

from .routing import ensure_entrypoint_routing

ensure_entrypoint_routing()

from .i18n import t  # noqa: E402, F401
