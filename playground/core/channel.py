"""Frames straight to the browser: a websocket route of the app's own beside Streamlit's.

A playing loop sent every frame through Streamlit: its component call took 1.3 ms of
the script thread's CPU a frame, and its event loop and websocket about 0.9 ms more
(measured on the default Playground, 2-core machine), before the browser's React
render. A frame is only data for the view's own canvas code, so the first frame of a
script run still goes through Streamlit (it mounts the view with its callbacks, and it
names this channel), and the frames after it are pushed here: one ``json.dumps`` and
one socket. Without the route (``streamlit run streamlit_app.py`` alone, as on
Streamlit Community Cloud) or before the browser has connected, frames go through
Streamlit as before.

What the route trusts: nothing from the browser. It accepts a connection only with a
token of a live session's channel (256 random bits, sent only to that session's
browser, inside frames Streamlit carries) and only from the page's own origin. A token
opens one connection: once used it is gone, and each script run's first frame names a
new one (its view's connection replaces the last), so a token seen later (a copied
page, a log) opens nothing, and nobody else can take over a view's connection. The
route sends that session's frames and reads one thing, the number of each frame the
browser draws (a browser that sends anything else is disconnected). Behind a load
balancer it needs the same sticky sessions as Streamlit's own websocket
(``deploy/nginx.conf`` routes every path alike); a proxy that rewrites ``Host`` makes it
refuse every connection, and frames then go through Streamlit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

ROUTE = "api/nnp/frames"
_SESSION_KEY = "_nnp_channel"
_channels: weakref.WeakValueDictionary[str, Channel] = weakref.WeakValueDictionary()
_path: str | None = None  # the route's path once ``install`` added it; None: no channel


class Channel:
    """One browser session's frame channel (held by its session state: it goes with it),
    for the one live view its page draws (``livepage.run`` draws one a page).

    ``push`` is called from the session's script thread; the route's coroutine sends on
    the server's event loop. Only the latest frames wait to be sent: a browser that
    reads slower than the server trains skips frames rather than falling behind."""

    def __init__(self) -> None:
        self.token = ""
        self.renew()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._socket: Any = None
        self._waiting: str | None = None
        self._connection = 0
        # Numbers start at the clock's milliseconds: a later session's frames (a server
        # restarted under an open page) number above an earlier one's, which sends at
        # most 40 frames a second.
        self._sequence = time.time_ns() // 1_000_000
        self._drawn = self._sequence  # the last frame the browser says it drew (``_seq``)

    def stamp(self, frames: list[dict[str, Any]]) -> None:
        """Number ``frames`` (``_seq``) in the order the session made them, whichever way
        they go: a frame pushed here just before the script's rerun can reach the browser
        after the rerun's first frame (through Streamlit, on another socket), and the
        view drops a frame older than one it has (``player`` in ``assets/common.js``)."""
        for frame in frames:
            self._sequence += 1
            frame["_seq"] = self._sequence

    def renew(self) -> None:
        """A new token for the next connection; the last one opens nothing more (the
        route also forgets a token it accepts)."""
        _channels.pop(self.token, None)
        self.token = secrets.token_urlsafe(32)
        _channels[self.token] = self

    @property
    def connected(self) -> bool:
        """Whether a browser listens now."""
        return self._loop is not None

    def behind(self) -> int:
        """How many frames the listening browser has not drawn yet (0: none listens)."""
        return self._sequence - self._drawn if self.connected else 0

    def drew(self, text: str) -> bool:
        """Note the browser's word that it drew frame ``text`` (its ``_seq``); False for
        anything else (the only thing a view sends)."""
        if len(text) > 16 or not text.isdigit():
            return False
        self._drawn = max(self._drawn, min(int(text), self._sequence))
        return True

    def push(self, frames: list[dict[str, Any]]) -> bool:
        """Send ``frames`` (JSON-able, finite: ``live.sent``) to the listening browser;
        False, sending nothing, if none listens (then send them through Streamlit).

        Raises:
            ValueError: a frame holds NaN or infinity (JSON has none).
        """
        with self._lock:
            loop, wake = self._loop, self._wake
            if loop is None or wake is None:
                return False
            self._waiting = json.dumps(frames, separators=(",", ":"), allow_nan=False)
        try:
            loop.call_soon_threadsafe(wake.set)
        except RuntimeError:  # the server's loop has closed
            return False
        return True

    async def serve(self, socket: Any, since: int | None = None) -> None:
        """Send this channel's frames on ``socket`` (accepted) until either side closes.
        ``since``: the connection count when its token was taken; if a run's first frame
        has detached since (``detach``), the socket is closed unused: a frame on it
        could overtake that first frame."""
        wake = asyncio.Event()
        with self._lock:
            refused = since is not None and since != self._connection
            if not refused:
                self._connection += 1
                mine, old = self._connection, self._socket
                self._loop, self._wake, self._socket = asyncio.get_running_loop(), wake, socket
                self._drawn = self._sequence  # frames before this socket count as drawn
        if refused:
            await _close(socket, 1008)
            return
        if old is not None:  # one socket per session: the newest view's
            await _close(old)
        closed = asyncio.ensure_future(self._read(socket))
        # The reader's end wakes the sender too: one Event to await per frame, rather
        # than a new task and an ``asyncio.wait`` of two (the event loop's CPU a frame,
        # default Playground, means of three runs: 0.69 -> 0.63 ms).
        closed.add_done_callback(lambda _: wake.set())
        try:
            while True:
                await wake.wait()
                wake.clear()
                if closed.done():
                    break
                with self._lock:
                    text, self._waiting = self._waiting, None
                if text is not None:
                    await socket.send_text(text)
        except Exception:  # a socket closed mid-send: frames go through Streamlit again
            pass
        finally:
            closed.cancel()
            with self._lock:
                if self._connection == mine:
                    self._loop = self._wake = self._socket = None
        await _close(socket, 1008)  # (it may be closed already: then nothing happens)

    async def _read(self, socket: Any) -> None:
        """Read what the browser sends until it closes the socket: the number of each
        frame it draws (``drew``). Anything else ends the connection."""
        while True:
            message = await socket.receive()
            text = message.get("text")
            if message.get("type") != "websocket.receive" or not (
                    isinstance(text, str) and self.drew(text)):
                return

    def detach(self) -> None:
        """Send nothing more on the current socket, and close it: a run's first frame
        goes through Streamlit, and a frame after it on the old socket could reach the
        browser first and have it dropped as older (it may carry what only first frames
        do: the data points). Frames go through Streamlit until the view connects again
        with the token the first frame names."""
        with self._lock:
            loop, socket = self._loop, self._socket
            self._connection += 1
            self._loop = self._wake = self._socket = self._waiting = None
        if loop is not None and socket is not None:
            with contextlib.suppress(RuntimeError):  # the server's loop has closed
                loop.call_soon_threadsafe(asyncio.ensure_future, _close(socket))


async def _close(socket: Any, code: int = 1000) -> None:
    with contextlib.suppress(Exception):  # closed already
        await socket.close(code=code)


def _same_origin(headers: Any) -> bool:
    """Whether a websocket's ``Origin`` names the page's own host and port (a browser
    sends it: another site's page must not read a session's frames, even with its
    token). The scheme is not compared: behind a TLS proxy the server sees http."""
    origin, host = headers.get("origin"), headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc.lower() == host.lower()


async def _endpoint(socket: Any) -> None:
    token = socket.query_params.get("t", "")
    channel = _channels.get(token) if _same_origin(socket.headers) else None
    if channel is None:
        await socket.close(code=1008)  # policy violation: refused before it is accepted
        return
    _channels.pop(token, None)  # one connection per token
    since = channel._connection
    await socket.accept()
    await channel.serve(socket, since)


def install() -> bool:
    """Add the channel's route to the Streamlit server this process starts (call it
    before the server starts: ``playground.serve``), under ``server.baseUrlPath``.
    False, adding nothing, where Streamlit's server differs from the one this was
    written for (internals, checked with 1.67): frames then go through Streamlit."""
    try:
        from starlette.routing import WebSocketRoute
        from streamlit import config
        from streamlit.web.server.starlette import starlette_app
        routes = starlette_app.create_streamlit_routes
    except (ImportError, AttributeError):
        return False

    def with_channel(runtime: Any) -> list[Any]:
        global _path
        base = str(config.get_option("server.baseUrlPath") or "").strip("/")
        path = "/" + "/".join(p for p in (base, ROUTE) if p)
        _path = path  # before any session: the server builds its routes as it starts
        return [WebSocketRoute(path, _endpoint), *routes(runtime)]

    starlette_app.create_streamlit_routes = with_channel
    return True


FRAMES_AHEAD = 6
"""Frames a playing loop may send beyond what its browser has drawn (``lagging``)."""


def lagging() -> bool:
    """Whether this session's browser is more than ``FRAMES_AHEAD`` frames behind: a
    slow laptop draws fewer frames than the server would train, and those it would drop
    cost the server's CPU, which a classroom shares. The loop then waits for it."""
    channel = st.session_state.get(_SESSION_KEY) if _path is not None else None
    return isinstance(channel, Channel) and channel.behind() > FRAMES_AHEAD


def send(frames: list[dict[str, Any]], first: bool) -> bool:
    """Send ``frames`` of this session's view: True if they went over its channel.

    Otherwise (no route, no browser listening, or a run's ``first`` frame, which
    Streamlit must carry: it mounts the view) Streamlit carries them, and they name the
    channel (``_channel``: path and token). A run's first frame names a new token: the
    view may be a new one (another page, a layout that moved it), and the connection it
    opens replaces the last, so frames always go to the view on screen. So does a frame
    after a connection was lost. Every frame is numbered (``Channel.stamp``)."""
    if _path is None:
        return False
    channel = st.session_state.get(_SESSION_KEY)
    if not isinstance(channel, Channel):
        channel = st.session_state[_SESSION_KEY] = Channel()
    channel.stamp(frames)
    if not first and channel.push(frames):
        return True
    if first:
        channel.detach()
    if first or (not channel.connected and channel.token not in _channels):
        channel.renew()
    frames[0]["_channel"] = {"path": _path, "token": channel.token}
    return False
