"""Real or fake? (course outline 5.1.1): twelve digits, half written by people (MNIST test digits)
and half by the GAN's generator; each student marks the ones they think are fake, then the reveal
shows the truth, their score and what the discriminator thought of each."""

import numpy as np
import streamlit as st

from advdl.quiz import N_DIGITS, d_guess, score
from advdl.ui import views
from advdl.ui.i18n import t
from advdl.ui.models import get_model, quiz_round
from advdl.ui.routing import require_shell
from advdl.ui.shell import image_size, presenting
from advdl.ui.views import QuizView
from advdl.viz import upscale

require_shell()

COLUMNS = 6
MARK = "quiz.mark.{}"  # a digit's "fake" checkbox
SHOWN = "quiz.shown"  # the round whose marks the checkboxes hold
REVEALED = "quiz.revealed"  # the round whose answers are shown


def _clear_marks() -> None:
    for i in range(N_DIGITS):
        st.session_state[MARK.format(i)] = False
    st.session_state.pop(REVEALED, None)


def _new_round() -> None:
    view = views.current(QuizView)
    views.update(QuizView(seed=int(np.random.default_rng().integers(0, 10**6)), round=view.round))
    _clear_marks()


def _reveal(view: QuizView) -> None:
    st.session_state[REVEALED] = view


def _on_round() -> None:
    views.update(QuizView(seed=views.current(QuizView).seed, round=int(st.session_state["quiz.round"])))
    _clear_marks()


st.title(t("quiz.title"))
if not presenting():
    st.caption(t("quiz.intro"))
gan = get_model("dcgan")
if gan is not None:
    view = views.current(QuizView)
    if views.take_bad_url(QuizView):
        st.warning(t("common.bad_url"))
    if st.session_state.get(SHOWN) != view:  # another round (a link, a lesson step): unmarked
        _clear_marks()
        st.session_state[SHOWN] = view
    views.publish(view)
    st.session_state["quiz.round"] = view.round
    a, b, c = st.columns([3, 1, 1], vertical_alignment="center")
    a.segmented_control(t("quiz.round"), QuizView.ROUNDS, format_func=lambda r: t(f"quiz.round{r}"), key="quiz.round",
                        on_change=_on_round, required=True, label_visibility="collapsed")
    b.button(t("quiz.new"), key="quiz.new", on_click=_new_round, width="stretch")
    c.markdown(t("quiz.seed", seed=view.seed))

    rnd = quiz_round(gan, view.seed, view.kind)
    revealed = st.session_state.get(REVEALED) == view
    marked = [i for i in range(N_DIGITS) if st.session_state.get(MARK.format(i))]
    result = score(rnd, marked) if revealed else None
    guess = d_guess(rnd)
    size = image_size(84)
    for row in range(0, N_DIGITS, COLUMNS):
        cols = st.columns(COLUMNS)
        for i, col in zip(range(row, row + COLUMNS), cols):
            with col.container(border=True, key=f"quiz-digit-{i}"):
                st.image(upscale(rnd.images[i], size), width=size)
                st.checkbox(t("quiz.fake"), key=MARK.format(i), disabled=revealed)
                if revealed:
                    truth = t("quiz.was_fake") if rnd.fake[i] else t("quiz.was_real")
                    st.markdown(f"{':green' if result.right[i] else ':red'}[{'✓' if result.right[i] else '✗'} {truth}]")
                    st.caption(t("quiz.d_says", p=f"{rnd.realness[i]:.0%}") + (f" · {t('quiz.d_fake')}" if guess[i] else ""))
    st.caption(t(f"quiz.round{view.round}_help"))
    if not revealed:
        st.button(t("quiz.reveal"), key="quiz.reveal", type="primary", on_click=_reveal, args=(view,))
    else:
        n_fake = int(rnd.fake.sum())
        st.success(t("quiz.result", score=result.score, n=N_DIGITS, found=result.found, fakes=n_fake, alarms=result.false_alarms))
        st.info(t("quiz.d_result", right=result.d_right, n=N_DIGITS))
        st.button(t("quiz.again"), key="quiz.again", on_click=_new_round)
    if not presenting():
        with st.expander(t("quiz.how_title")):
            st.markdown(t("quiz.how"))
