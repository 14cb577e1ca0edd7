"""advdl: the lab's entry point and router.

    streamlit run app.py

Sets the page, the language (sidebar, kept in the URL as ?lang=zh|en) and the navigation.
"""

import streamlit as st

from advdl.ui.i18n import DEFAULT_LANG, LANG_NAMES, LANGS, t

st.set_page_config(page_title="advdl", page_icon="🧪", layout="wide")

# Language: the URL wins on first load; the sidebar switch writes it back to the URL. It lives
# under a plain key ("lang"), since Streamlit drops widget keys when the page changes.
if "lang" not in st.session_state:
    wanted = st.query_params.get("lang", DEFAULT_LANG)
    st.session_state["lang"] = wanted if wanted in LANGS else DEFAULT_LANG
st.session_state["lang_choice"] = st.session_state["lang"]


def _set_lang() -> None:
    st.session_state["lang"] = st.session_state["lang_choice"]


with st.sidebar:
    st.radio(t("app.language"), LANGS, format_func=LANG_NAMES.get, key="lang_choice", on_change=_set_lang, horizontal=True)
st.query_params["lang"] = st.session_state["lang"]

pages = [
    st.Page("pages/home.py", title=t("nav.home"), icon="🏠", url_path="home", default=True),
    st.Page("pages/gan.py", title=t("nav.gan"), icon="🎲", url_path="gan"),
    st.Page("pages/autoencoders.py", title=t("nav.ae"), icon="🗜️", url_path="autoencoders"),
    st.Page("pages/capsules.py", title=t("nav.caps"), icon="💊", url_path="capsules"),
]
st.navigation(pages).run()
