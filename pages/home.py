"""Home: what the lab is, the labs, and a card per shipped model."""

import streamlit as st

from advdl.cards import headline, split_device, test_set_seen
from advdl.checkpoints import train_command
from advdl.models import MODELS
from advdl.ui import lesson_mode
from advdl.ui.course import ADVANCED, COURSE_MAP
from advdl.ui.i18n import lang, t
from advdl.ui.models import get_card
from advdl.ui.routing import require_shell

require_shell()


def _device(name: str) -> str:
    """A card's device ("AMD EPYC, 2 cores", "NVIDIA H200") in the page's language."""
    chip, cores = split_device(name)
    return t("home.device_cores", name=chip, n=cores) if cores else chip


st.title(t("app.title"))
st.write(t("home.intro"))

st.subheader(t("home.labs"))
c1, c2, c3, c4 = st.columns(4)
for col, path, title, blurb in [
    (c1, "pages/gan.py", "nav.gan", "home.gan_blurb"),
    (c2, "pages/gan_training.py", "nav.gtrain", "home.gtrain_blurb"),
    (c3, "pages/autoencoders.py", "nav.ae", "home.ae_blurb"),
    (c4, "pages/capsules.py", "nav.caps", "home.caps_blurb"),
]:
    with col.container(border=True):
        st.page_link(path, label=t(title))
        st.write(t(blurb))

st.subheader(t("home.lessons"))
st.caption(t("home.lessons_help"))
lesson_cols = st.columns(3)
for col, (name, lesson) in zip(lesson_cols, lesson_mode.lessons()):
    with col.container(border=True):
        st.markdown(f"**{lesson.title[lang()]}** · {t('home.lesson_steps', n=len(lesson.steps))}")
        st.caption(" · ".join(s.title[lang()] for s in lesson.steps[:3]) + " …")
        st.button(t("home.lesson_start"), key=f"home.lesson.{name}", on_click=lesson_mode.start, args=(name,), icon=":material/play_arrow:")

st.subheader(t("home.course_map"))
zh = lang() == "zh"
left, right = st.columns([3, 2])
with left:
    st.markdown("\n".join(
        f"- **{c_zh if zh else c_en}**\n" + "\n".join(f"    - {i_zh if zh else i_en}" for i_zh, i_en in items)
        for c_zh, c_en, items in COURSE_MAP
    ))
with right.container(border=True):
    st.markdown(f"**{t('home.advanced')}**")
    for a_zh, a_en, d_zh, d_en, path in ADVANCED:
        st.page_link(path, label=a_zh if zh else a_en, icon=":material/arrow_forward:")
        st.caption(d_zh if zh else d_en)
    with st.expander(t("home.glossary")):
        lesson_mode.glossary(key="glossary")

st.subheader(t("home.models"))
cols = st.columns(3)
for i, name in enumerate(MODELS):
    card = get_card(name)
    with cols[i % 3].container(border=True):
        st.markdown(f"**{t(f'model.{name}')}** · `{name}`")
        if card is None:
            st.caption(t("checkpoint_missing", name=name, cmd=train_command(name)))
            continue
        st.caption(
            f"{t('home.params')}: {card.get('parameters', 0):,} · {t('home.epochs')}: {card.get('epochs', '?')} · "
            f"{t('home.train_time')}: {t('home.minutes', m=round(card.get('wall_time_s', 0) / 60, 1))} · "
            f"{t('home.device')}: {t('home.list_sep').join(_device(d) for d in card.get('devices') or ['?'])}"
        )
        for m in headline(name, card):
            source = f" ({t(m.source)})" if m.source else ""
            st.markdown(f"{t(m.key)}: **{m.ours}** · {t('card.anchor')}: {m.anchor}{source}")
        if not card.get("metrics"):
            st.caption(t("home.no_metrics"))
        if test_set_seen(card):
            st.caption(t("card.test_set_seen"))
