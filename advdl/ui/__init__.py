"""The Streamlit side of advdl: translations, cached model loaders and shared widgets.

This subpackage is the only part of advdl that imports Streamlit.
"""

from .i18n import t  # noqa: F401
