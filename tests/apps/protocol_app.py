"""A small two-page app for tests/test_stclient.py: keyed widgets, a fragment, a timed fragment,
a button that raises, one that shows a spinner, and markdown that says what the script saw."""

import time

import streamlit as st


def first():
    value = st.slider("Value", 0, 10, 3, key="value")
    name = st.selectbox("Name", ["a", "b"], key="name")
    st.markdown(f"value={value} name={name}")
    if st.button("Boom", key="boom"):
        raise RuntimeError("boom")
    if st.button("Slow", key="slow"):
        with st.spinner("working"):  # shown after half a second
            time.sleep(0.8)

    @st.fragment
    def part():
        n = st.number_input("N", 0, 100, 1, key="n")
        st.session_state["part_runs"] = st.session_state.get("part_runs", 0) + 1
        st.markdown(f"n={n} part_runs={st.session_state.part_runs}")

    part()
    st.session_state["full_runs"] = st.session_state.get("full_runs", 0) + 1
    st.markdown(f"full_runs={st.session_state.full_runs}")


def second():
    st.markdown("second page")
    st.info("a notice")

    @st.fragment(run_every=0.5)
    def ticking():
        st.session_state["ticks"] = st.session_state.get("ticks", 0) + 1
        st.markdown(f"ticks={st.session_state.ticks}")

    ticking()


st.navigation([st.Page(first, title="First", url_path="first", default=True),
               st.Page(second, title="Second", url_path="second")]).run()
