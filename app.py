"""advdl: the lab's entry point and router.

    streamlit run app.py

Sets the page, the language (sidebar, kept in the URL as ?lang=zh|en) and the navigation.
"""

# pandas and pyarrow are imported whole before any page runs: plotly and Streamlit take a pandas
# they find in sys.modules as usable, and a chart drawn while another thread was still importing
# it (the launcher's warm-up, or a session opening the raw-latent table) failed with "partially
# initialized module 'pandas'". A run that gets here while the import is under way waits for it.
import pandas  # noqa: F401
import pyarrow  # noqa: F401
import streamlit as st

from advdl.ui import lesson_mode
from advdl.ui.i18n import DEFAULT_LANG, LANG_NAMES, LANGS, t
from advdl.ui.shell import FIRST_RUN_ENDED, apply_presentation_style

st.set_page_config(page_title="advdl", page_icon="🧪", layout="wide")

# Language: the URL wins on first load; the sidebar switch writes it back to the URL. It lives
# under a plain key ("lang"), since Streamlit drops widget keys when the page changes.
if "lang" not in st.session_state:
    wanted = st.query_params.get("lang", DEFAULT_LANG)
    st.session_state["lang"] = wanted if wanted in LANGS else DEFAULT_LANG
if "present" not in st.session_state:
    st.session_state["present"] = st.query_params.get("present") == "1"
st.session_state["lang_choice"] = st.session_state["lang"]
st.session_state["present_choice"] = st.session_state["present"]


def _set_lang() -> None:
    st.session_state["lang"] = st.session_state["lang_choice"]


def _set_present() -> None:
    st.session_state["present"] = st.session_state["present_choice"]


with st.sidebar:
    st.radio(t("app.language"), LANGS, format_func=LANG_NAMES.get, key="lang_choice", on_change=_set_lang, horizontal=True)
    st.toggle(t("app.present"), key="present_choice", on_change=_set_present, help=t("app.present_help"))
st.query_params["lang"] = st.session_state["lang"]
if st.session_state["present"]:
    st.query_params["present"] = "1"
else:
    st.query_params.pop("present", None)
apply_presentation_style()

home = st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", url_path="start", default=True)


def _home_alias() -> None:
    # The default page is served at "/" and its own url_path answers "Page not found" (while
    # staying reserved), so "/home" is a hidden page that opens it, keeping ?lang= and ?present=.
    st.switch_page(home, query_params=st.query_params.to_dict())


pages = [
    home,
    st.Page(_home_alias, title=t("nav.home"), url_path="home", visibility="hidden"),
    st.Page("pages/gan.py", title=t("nav.gan"), icon=":material/casino:", url_path="gan"),
    st.Page("pages/gan_training.py", title=t("nav.gtrain"), icon=":material/model_training:", url_path="gan_training"),
    st.Page("pages/real_or_fake.py", title=t("nav.quiz"), icon=":material/quiz:", url_path="real_or_fake"),
    st.Page("pages/autoencoders.py", title=t("nav.ae"), icon=":material/compress:", url_path="autoencoders"),
    st.Page("pages/capsules.py", title=t("nav.caps"), icon=":material/pill:", url_path="capsules"),
]
try:
    page = st.navigation(pages)
    by_path = {("" if p is home else p.url_path): p for p in pages}
    lesson_mode.drive(by_path, "" if page is home else page.url_path)  # a lesson's step bar, above the lab
    page.run()
finally:
    FIRST_RUN_ENDED.set()  # the launcher's warm-up now does what no first drawing needs
