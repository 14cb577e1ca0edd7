"""The protocol client of the load generator (scripts/stclient.py) against a small app
(tests/apps/protocol_app.py): it finds widgets by key, commits a slider, switches a page, reruns a
fragment and a timed one, and sees an exception element; and the server drops a misbehaving
client while another session goes on."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from browserkit import start_server
from conftest import run_async as run
from stclient import ProtocolError, Session

pytestmark = pytest.mark.slow  # a server of its own

APP = Path(__file__).parent / "apps" / "protocol_app.py"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("protocol")
    proc, url = start_server(tmp, tmp / "server.log", app=APP)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()




def test_widgets_by_key_a_slider_commit_and_untouched_widgets(app):
    async def lesson():
        s = Session(app)
        first = await s.open("first")
        assert first.texts[0] == "value=3 name=a" and not first.exceptions and first.status == 0
        assert {w.key for w in s.widgets.values()} >= {"value", "name", "boom", "n"}
        assert set(s.pages) == {"", "second"} and s.page_hash == s.pages[""]  # the default page's path is ""
        moved = await s.set("value", 7)
        assert "value=7 name=a" in moved.texts and "full_runs=2" in moved.texts
        named = await s.set("name", "b")
        assert "value=7 name=b" in named.texts  # the slider keeps its value
        assert "working" in (await s.click("slow")).texts and "working" not in named.texts  # a spinner, while it showed
        with pytest.raises(ProtocolError, match="no option"):
            await s.set("name", "c")
        with pytest.raises(ProtocolError, match="no widget with key 'nope'"):
            await s.set("nope", 1)
        await s.close()

    run(lesson())


def test_a_fragment_reruns_alone_and_a_button_triggers_once(app):
    async def lesson():
        s = Session(app)
        await s.open("first")
        part = await s.set("n", 5)
        assert part.fragment and part.status == 3  # FINISHED_FRAGMENT_RUN_SUCCESSFULLY
        assert part.texts == ["n=5 part_runs=2"]  # the fragment only: no full_runs line
        boom = await s.click("boom")
        assert boom.exceptions and "boom" in boom.exceptions[0]
        after = await s.rerun()  # the trigger is not sent again
        assert not after.exceptions and "n=5 part_runs=3" in after.texts
        await s.close()

    run(lesson())


def test_page_switch_and_a_timed_fragment(app):
    async def lesson():
        s = Session(app)
        await s.open("first")
        second = await s.switch_page("second")
        assert "second page" in second.texts and "a notice" in second.texts and s.page_hash == s.pages["second"]
        assert list(s.auto_reruns.values()) == [0.5]
        ticks = [await s.auto_rerun() for _ in range(3)]
        assert [r.texts for r in ticks] == [["ticks=2"], ["ticks=3"], ["ticks=4"]]
        with pytest.raises(ProtocolError, match="no page"):
            await s.switch_page("third")
        await s.close()

    run(lesson())


def test_a_misbehaving_client_is_dropped_and_the_others_go_on(app):
    """A text frame, a truncated protobuf, an unknown widget id, a widget value over the size limit:
    the server closes that client's connection (or ignores what it cannot use) and another session
    keeps running."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    async def lesson():
        good = Session(app)
        await good.open("first")
        ws_url = good.ws_url
        outcomes = {}
        for name in ("text frame", "truncated protobuf", "unknown widget id", "huge value"):
            bad = Session(app)
            await bad.open("first")
            if name == "text frame":
                await bad.conn.send("hello")
            elif name == "truncated protobuf":
                msg = BackMsg()
                msg.rerun_script.query_string = "x" * 100
                await bad.conn.send(msg.SerializeToString()[:7])
            elif name == "unknown widget id":
                await bad.rerun(extra=[WidgetState(id="$$ID-0-nothing", int_value=3)])
            else:
                big = WidgetState(id=bad.widget("value").id)
                big.string_value = "x" * (300 * 1024 * 1024)  # over the server's 200 MB message limit
                try:
                    await bad.conn.send(BackMsg(rerun_script={"widget_states": {"widgets": [big]}}).SerializeToString())
                except websockets.ConnectionClosed:
                    pass
            await asyncio.sleep(0.5)
            outcomes[name] = bad.disconnected
            still = await good.set("value", len(outcomes))
            assert f"value={len(outcomes)} name=a" in still.texts and not still.exceptions, name
            await bad.close()
        assert outcomes["text frame"] and outcomes["truncated protobuf"] and outcomes["huge value"]
        # a widget id it does not know is a state the server ignores, not a reason to drop it
        assert not outcomes["unknown widget id"]
        fresh = Session(app)
        assert (await fresh.open("first")).texts[0] == "value=3 name=a"
        await fresh.close()
        await good.close()
        assert ws_url.endswith("/_stcore/stream")

    run(lesson())
