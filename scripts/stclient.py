"""A client of Streamlit's own protocol: one websocket session on ``/_stcore/stream`` that sends
``BackMsg`` reruns and reads ``ForwardMsg`` deltas as a browser tab does, at a tiny fraction of
a browser's CPU (``scripts/loadtest.py`` runs a class of them in one asyncio process).

What it does as the browser does (the messages were compared with Chromium's, captured from its
websocket): the first run names the page by its URL path with the query string and no widget
states; later runs carry the page's script hash, the widget states, the query string as the app
last set it (``page_info_changed``), and a fragment's id when the widget that changed lives in a
fragment (the delta that drew it says which). Widgets are found by their ``key`` (a keyed
widget's id ends with it). A button is a one-run trigger. A ``run_every`` fragment's timer
(``auto_rerun``) is kept and can be fired as the browser's timer fires it.

Like a browser it first loads the page's HTML (its cookies kept: behind scripts/replicas.py's
nginx the cookie keeps the session on one replica, and ``replicas`` records which answered).

Where it differs, on purpose: it sends only the widgets it has set (the server keeps the others'
values, as it does for a browser's untouched widgets: tests/test_stclient.py checks it), caches
no message (every run's deltas come in full, a browser's first visit), and fetches the ``/media``
files a page shows only when asked (``fetch_media``).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class ProtocolError(RuntimeError):
    """The session cannot do what was asked (no such widget or page, the connection gone)."""


@dataclass
class Widget:
    """A widget as the last run drew it: its id, element type and proto, and its fragment."""

    id: str
    kind: str  # the Element oneof: "slider", "selectbox", "button", "bidi_component", ...
    proto: object
    fragment_id: str = ""

    @property
    def key(self) -> str | None:
        key = self.id.split("-", 2)[-1] if self.id.startswith("$$ID-") else None
        return None if key == "None" else key


@dataclass
class Run:
    """One rerun as the client saw it: seconds from sending it to its ``script_finished``, the
    runs that ended early for a rerun, the exceptions drawn, and the bytes received."""

    seconds: float
    status: int
    early: int = 0
    exceptions: list[str] = field(default_factory=list)
    bytes: int = 0
    fragment: bool = False
    texts: list[str] = field(default_factory=list)  # the markdown, alerts and spinners drawn, in order
    metrics: dict[str, str] = field(default_factory=dict)  # st.metric: label -> value
    captions: list[str] = field(default_factory=list)  # the images' captions


class Session:
    """One browser tab's worth of the protocol. ``await Session(url).open("capsules", "lang=en")``."""

    def __init__(self, base_url: str, timeout: float = 90.0) -> None:
        self.base = base_url.rstrip("/")
        self.ws_url = self.base.replace("http://", "ws://").replace("https://", "wss://") + "/_stcore/stream"
        self.timeout = timeout
        self.conn = None
        self.widgets: dict[str, Widget] = {}  # by id, from the deltas of the runs so far
        self.states: dict[str, WidgetState] = {}  # what this client has set, sent with every run
        self.pages: dict[str, str] = {}  # url path -> page script hash (the navigation message)
        self.page_hash = ""
        self.query = ""
        self.auto_reruns: dict[str, float] = {}  # fragment id -> seconds between the browser's reruns
        self.media: set[str] = set()  # /media/... urls the page showed
        self.fetched: set[str] = set()  # the files fetch() read: a browser keeps them
        self.cookies: dict[str, str] = {}
        self.replicas: set[str] = set()  # the X-Advdl-Replica headers seen (behind the proxy)
        self.disconnected = False
        self.errors: list[str] = []  # what went wrong outside a timed run (a disconnect, a missing page)
        self._finished: asyncio.Queue = asyncio.Queue()
        self._exceptions: list[str] = []
        self._texts: list[str] = []
        self._metrics: dict[str, str] = {}
        self._captions: list[str] = []
        self._bytes = 0
        self._reader: asyncio.Task | None = None
        self._closing = False

    # ----------------------------------------------------------------------------- connection
    async def connect(self) -> None:
        import websockets

        # no size limit (a page's first messages are megabytes), no client pings (the library
        # answers the server's), binary frames only (what the browser sends)
        self.conn = await websockets.connect(self.ws_url, max_size=None, ping_interval=None, open_timeout=self.timeout,
                                             additional_headers=self._headers())
        self._answered(self.conn.response.headers.get_all("Set-Cookie"), self.conn.response.headers.get("X-Advdl-Replica"))
        self._reader = asyncio.ensure_future(self._read())

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _answered(self, set_cookies, replica: str | None) -> None:
        for c in set_cookies or []:
            name, _, rest = c.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0].strip()
        if replica:
            self.replicas.add(replica)

    async def load_html(self, page: str = "", query: str = "") -> int:
        """GET the page's HTML as a browser's address bar does (keeping its cookies); bytes read."""
        def get():
            req = urllib.request.Request(f"{self.base}/{page}" + (f"?{query}" if query else ""), headers=self._headers())
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return len(r.read()), r.headers.get_all("Set-Cookie"), r.headers.get("X-Advdl-Replica")

        size, cookies, replica = await asyncio.to_thread(get)
        self._answered(cookies, replica)
        return size

    async def close(self) -> None:
        self._closing = True
        if self.conn is not None:
            await self.conn.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def open(self, page: str = "", query: str = "") -> Run:
        """Connect and make the first run of ``page`` (its url path; "" the default page)."""
        if self.conn is None:
            await self.load_html(page, query)
            await self.connect()
        self.query = query
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string, cs.page_name = query, page
        self._context(cs, page)
        return await self._send(msg)

    def _context(self, cs, page: str) -> None:
        cs.context_info.timezone, cs.context_info.locale = "UTC", "en-US"
        cs.context_info.url = f"{self.base}/{page}"

    async def _read(self) -> None:
        import websockets

        while True:
            try:
                raw = await self.conn.recv()
            except websockets.ConnectionClosed:
                self.disconnected = True
                if not self._closing:
                    self.errors.append("disconnected")
                self._finished.put_nowait(None)
                return
            if isinstance(raw, str):  # the server speaks binary only
                continue
            self._bytes += len(raw)
            self._on(ForwardMsg.FromString(raw))

    def _on(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta":
            d = msg.delta
            if d.WhichOneof("type") == "new_element":
                self._element(d.new_element, d.fragment_id)
            elif d.WhichOneof("type") == "new_transient":  # a spinner, shown while a block runs
                for el in d.new_transient.elements:
                    self._element(el, d.fragment_id)
        elif kind == "script_finished":
            self._finished.put_nowait(msg.script_finished)
        elif kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fid, None)
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "ref_hash":  # a cached message this client never announced: should not happen
            self.errors.append("a cached-message reference")

    def _element(self, el, fragment_id: str) -> None:
        which = el.WhichOneof("type")
        if which == "exception":
            self._exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
            return
        if which == "markdown":
            self._texts.append(el.markdown.body)
            return
        if which in ("alert", "spinner"):  # st.info / warning / error, st.spinner: kept among the texts
            self._texts.append(el.alert.body if which == "alert" else el.spinner.text)
            return
        if which == "metric":
            self._metrics[el.metric.label] = el.metric.body
            return
        if which == "imgs":
            self.media.update(i.url for i in el.imgs.imgs if i.url.startswith("/media/"))
            self._captions.extend(i.caption for i in el.imgs.imgs if i.caption)
            return
        proto = getattr(el, which)
        wid = getattr(proto, "id", "")
        if isinstance(wid, str) and wid.startswith("$$ID-"):
            self.widgets[wid] = Widget(wid, which, proto, fragment_id)

    # ----------------------------------------------------------------------------- runs
    async def _send(self, msg: BackMsg, fragment: bool = False) -> Run:
        if self.disconnected:
            raise ProtocolError("the connection is closed")
        del msg.rerun_script.cached_message_hashes[:]
        self._exceptions, self._texts, self._metrics, self._captions, self._bytes = [], [], {}, [], 0
        while not self._finished.empty():
            self._finished.get_nowait()
        t0 = time.perf_counter()
        await self.conn.send(msg.SerializeToString())
        early = 0
        deadline = t0 + self.timeout
        while True:
            status = await asyncio.wait_for(self._finished.get(), max(0.01, deadline - time.perf_counter()))
            if status is None:
                raise ProtocolError("disconnected during a run")
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                early += 1
                continue
            if status in DONE:
                return Run(time.perf_counter() - t0, status, early, list(self._exceptions), self._bytes, fragment, list(self._texts),
                           dict(self._metrics), list(self._captions))

    async def rerun(self, fragment_id: str = "", auto: bool = False, extra: list[WidgetState] | None = None) -> Run:
        """A rerun with this client's widget states (and ``extra`` ones for this run only, the
        triggers); of one fragment when ``fragment_id`` is given."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string, cs.page_script_hash = self.query, self.page_hash
        cs.widget_states.widgets.extend([*self.states.values(), *(extra or [])])
        if fragment_id:
            cs.fragment_id, cs.is_auto_rerun = fragment_id, auto
        self._context(cs, "")
        return await self._send(msg, fragment=bool(fragment_id))

    def widget(self, key: str) -> Widget:
        """The widget with this ``key`` on the page as last drawn."""
        for w in self.widgets.values():
            if w.key == key:
                return w
        raise ProtocolError(f"no widget with key {key!r} on the page (keys: {sorted(k for w in self.widgets.values() if (k := w.key))})")

    async def set(self, key: str, value) -> Run:
        """Give widget ``key`` a value as its control would (a slider's number, an option's label,
        a toggle's bool, a component's state dict) and rerun, as the browser does on a change."""
        w = self.widget(key)
        s = WidgetState(id=w.id)
        if w.kind == "slider":
            s.double_array_value.data[:] = list(value) if isinstance(value, (list, tuple)) else [float(value)]
        elif w.kind in ("selectbox", "radio"):
            options = list(w.proto.options)
            if str(value) not in options:
                raise ProtocolError(f"{key!r} has no option {value!r} (options: {options})")
            s.string_value = str(value)
        elif w.kind == "button_group":
            s.string_array_value.data[:] = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        elif w.kind == "multiselect":
            s.string_array_value.data[:] = [str(v) for v in value]
        elif w.kind == "number_input":
            if isinstance(value, int) and not isinstance(value, bool):
                s.int_value = value
            else:
                s.double_value = float(value)
        elif w.kind == "checkbox":
            s.bool_value = bool(value)
        elif w.kind in ("text_input", "text_area"):
            s.string_value = str(value)
        elif w.kind == "bidi_component":
            s.json_value = json.dumps(value)
        else:
            raise ProtocolError(f"setting a {w.kind} ({key!r}) is not supported")
        self.states[w.id] = s
        return await self.rerun(fragment_id=w.fragment_id)

    async def click(self, key: str) -> Run:
        """Press button ``key``: a trigger for one run."""
        w = self.widget(key)
        s = WidgetState(id=w.id, trigger_value=True)
        return await self.rerun(fragment_id=w.fragment_id, extra=[s])

    async def switch_page(self, path: str, query: str | None = None) -> Run:
        """Open another page of the app by its url path, as a click in the navigation does."""
        if path not in self.pages:
            raise ProtocolError(f"no page {path!r} (pages: {sorted(self.pages)})")
        self.page_hash = self.pages[path]
        if query is not None:
            self.query = query
        self.widgets = {}
        self.states = {}  # the browser forgets a page's widgets when it leaves it
        self.auto_reruns = {}
        return await self.rerun()

    async def auto_rerun(self, fragment_id: str | None = None) -> Run:
        """Fire a ``run_every`` fragment's timer (the only one, or ``fragment_id``'s)."""
        if fragment_id is None:
            if not self.auto_reruns:
                raise ProtocolError("no fragment reruns on a timer on this page")
            fragment_id = next(iter(self.auto_reruns))
        return await self.rerun(fragment_id=fragment_id, auto=True)

    async def fetch(self, path: str) -> int:
        """GET ``path`` (relative to the app, as a page's script would: ``app/static/...``) once per
        session, as a browser's cache keeps a file; bytes read (0 when already fetched)."""
        if path in self.fetched:
            return 0
        self.fetched.add(path)

        def get() -> int:
            req = urllib.request.Request(f"{self.base}/{path.lstrip('/')}", headers=self._headers())
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                self._answered(None, r.headers.get("X-Advdl-Replica"))
                return len(r.read())

        try:
            return await asyncio.to_thread(get)
        except OSError as exc:
            self.errors.append(f"fetch {path}: {exc!r}"[:200])
            return 0

    async def fetch_media(self, limit: int | None = None) -> int:
        """GET the /media files the page showed (as a browser loads its images); bytes read."""
        urls = sorted(self.media)[:limit]
        self.media = set()

        def get(u: str) -> int:
            req = urllib.request.Request(self.base + urllib.parse.quote(u, safe="/.?=&-_"), headers=self._headers())
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                self._answered(None, r.headers.get("X-Advdl-Replica"))
                return len(r.read())

        sizes = await asyncio.gather(*(asyncio.to_thread(get, u) for u in urls), return_exceptions=True)
        for u, s in zip(urls, sizes):
            if isinstance(s, Exception):
                self.errors.append(f"media {u}: {s!r}"[:200])
        return sum(s for s in sizes if isinstance(s, int))
