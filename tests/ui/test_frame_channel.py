"""The frame channel (``playground.core.channel``): frames after a run's first go to the
browser over the app's own websocket; only a live session's token from the page's own
origin gets them, and only the latest frames wait for a slow browser."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from playground.core import channel


class Socket:
    """A websocket as the route sees it (Starlette's interface, the parts used)."""

    def __init__(self, token: str = "", origin: str | None = "http://class.example:8501",
                 host: str = "class.example:8501") -> None:
        self.query_params = {"t": token}
        self.headers = {k: v for k, v in (("origin", origin), ("host", host)) if v}
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.sent: list[str] = []
        self.accepted = False
        self.closed: int | None = None

    async def accept(self) -> None:
        self.accepted = True

    async def receive(self) -> dict:
        return await self.inbox.get()

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int = 1000) -> None:
        self.closed = code
        await self.inbox.put({"type": "websocket.disconnect"})

    def leave(self) -> None:  # the browser closes the tab
        self.inbox.put_nowait({"type": "websocket.disconnect"})


@pytest.fixture
def routed(monkeypatch) -> None:
    """A session of its own (its state a plain dict) on a server with the route."""
    monkeypatch.setattr(channel.st, "session_state", {})
    monkeypatch.setattr(channel, "_path", "/api/nnp/frames")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_frames_wait_for_a_listener_and_then_go_to_it() -> None:
    async def main() -> None:
        ch = channel.Channel()
        assert not ch.connected and not ch.push([{"epoch": 1}])  # nobody listens: Streamlit
        socket = Socket()
        serving = asyncio.ensure_future(ch.serve(socket))
        await settle()
        assert ch.connected
        assert ch.push([{"epoch": 2, "grid": "AAE="}])
        await settle()
        assert [json.loads(t) for t in socket.sent] == [[{"epoch": 2, "grid": "AAE="}]]
        socket.leave()
        await asyncio.wait_for(serving, 1)
        assert not ch.connected and not ch.push([{"epoch": 3}])  # back to Streamlit
        assert len(socket.sent) == 1

    asyncio.run(main())


def test_a_slow_browser_gets_the_latest_frames_not_a_backlog() -> None:
    async def main() -> None:
        ch = channel.Channel()
        socket = Socket()
        serving = asyncio.ensure_future(ch.serve(socket))
        await settle()
        for epoch in range(1, 6):  # the script thread pushes faster than the loop sends
            assert ch.push([{"epoch": epoch}])
        await settle()
        assert [json.loads(t) for t in socket.sent] == [[{"epoch": 5}]]
        socket.leave()
        await asyncio.wait_for(serving, 1)

    asyncio.run(main())


def test_a_second_connection_replaces_the_first() -> None:
    async def main() -> None:
        ch = channel.Channel()
        first, second = Socket(), Socket()
        one = asyncio.ensure_future(ch.serve(first))
        await settle()
        two = asyncio.ensure_future(ch.serve(second))
        await settle()
        await asyncio.wait_for(one, 1)  # the first is closed and its sender ends
        assert first.closed is not None and ch.connected
        ch.push([{"epoch": 7}])
        await settle()
        assert first.sent == [] and json.loads(second.sent[0]) == [{"epoch": 7}]
        second.leave()
        await asyncio.wait_for(two, 1)
        assert not ch.connected

    asyncio.run(main())


def test_a_frame_with_nan_is_refused_not_sent_as_invalid_json() -> None:
    ch = channel.Channel()

    async def main() -> None:
        socket = Socket()
        serving = asyncio.ensure_future(ch.serve(socket))
        await settle()
        with pytest.raises(ValueError):
            ch.push([{"loss": math.nan}])
        await settle()
        assert socket.sent == []
        socket.leave()
        await asyncio.wait_for(serving, 1)

    asyncio.run(main())


@pytest.mark.parametrize("case", ["unknown token", "no token", "other site", "no origin"])
def test_the_route_refuses_a_wrong_token_or_another_origin(case: str) -> None:
    ch = channel.Channel()
    channel._channels[ch.token] = ch
    socket = {"unknown token": Socket(token="x" * 43),
              "no token": Socket(),
              "other site": Socket(token=ch.token, origin="https://evil.example"),
              "no origin": Socket(token=ch.token, origin=None)}[case]
    asyncio.run(channel._endpoint(socket))
    assert socket.closed == 1008 and not socket.accepted and not ch.connected


def test_the_route_serves_its_sessions_channel_from_the_same_origin() -> None:
    ch = channel.Channel()
    channel._channels[ch.token] = ch

    async def main() -> None:
        socket = Socket(token=ch.token, origin="http://CLASS.example:8501")
        serving = asyncio.ensure_future(channel._endpoint(socket))
        await settle()
        assert socket.accepted and ch.connected
        ch.push([{"epoch": 1}])
        await settle()
        assert len(socket.sent) == 1
        socket.leave()
        await asyncio.wait_for(serving, 1)

    asyncio.run(main())


def test_a_channel_goes_with_its_session() -> None:
    ch = channel.Channel()
    token = ch.token
    channel._channels[token] = ch
    assert channel._channels.get(token) is ch
    del ch  # the session's state is dropped when the session ends
    assert channel._channels.get(token) is None


def test_tokens_are_long_and_random() -> None:
    tokens = {channel.Channel().token for _ in range(100)}
    assert len(tokens) == 100 and min(len(t) for t in tokens) >= 43


def test_install_puts_the_route_under_the_base_path(monkeypatch) -> None:
    from starlette.routing import WebSocketRoute
    from streamlit import config
    from streamlit.web.server.starlette import starlette_app

    monkeypatch.setattr(starlette_app, "create_streamlit_routes", lambda runtime: ["core"])
    monkeypatch.setattr(channel, "_path", None)
    monkeypatch.setattr(config, "get_option", lambda name: "/school/" if
                        name == "server.baseUrlPath" else None)
    assert channel.install()
    routes = starlette_app.create_streamlit_routes(object())
    assert isinstance(routes[0], WebSocketRoute) and routes[0].path == "/school/api/nnp/frames"
    assert routes[1:] == ["core"] and channel._path == "/school/api/nnp/frames"


def test_frames_are_numbered_in_order_whichever_way_they_go(routed) -> None:
    """A run's first frame goes through Streamlit and names the channel; later frames
    go over the channel once a browser listens. Both are numbered in the order made,
    so the view can drop one that arrives after a newer one."""

    async def main() -> None:
        first = [{"epoch": 1}]
        assert not channel.send(first, first=True)  # Streamlit carries it
        token = first[0]["_channel"]["token"]
        assert first[0]["_channel"]["path"] == "/api/nnp/frames"
        ch = channel._channels[token]
        before = [{"epoch": 2}, {"epoch": 3}]
        assert not channel.send(before, first=False)  # nobody listens yet: Streamlit
        socket = Socket(token=token)
        serving = asyncio.ensure_future(ch.serve(socket))
        await settle()
        later = [{"epoch": 4}]
        assert channel.send(later, first=False)  # over the channel
        await settle()
        sent = json.loads(socket.sent[0])
        seqs = [f["_seq"] for f in (*first, *before, *sent)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        assert "_channel" not in sent[0]
        socket.leave()
        await asyncio.wait_for(serving, 1)

    asyncio.run(main())


def test_without_the_route_frames_are_left_as_they_are(monkeypatch) -> None:
    monkeypatch.setattr(channel.st, "session_state", {})
    monkeypatch.setattr(channel, "_path", None)
    frames = [{"epoch": 1}]
    assert not channel.send(frames, first=True) and not channel.send(frames, first=False)
    assert frames == [{"epoch": 1}]


def test_a_token_opens_one_connection_and_a_new_one_is_named_after(routed) -> None:
    """A used token opens nothing more (a copy of it cannot take the view's frames); a
    rerun's first frame closes the view's socket and names a new token for the view's
    next one; once a connection has gone, the next frame Streamlit carries names a new
    token too."""

    async def main() -> None:
        first = [{"epoch": 1}]
        channel.send(first, first=True)
        token = first[0]["_channel"]["token"]
        mine = Socket(token=token)
        serving = asyncio.ensure_future(channel._endpoint(mine))
        await settle()
        assert mine.accepted
        thief = Socket(token=token)
        await channel._endpoint(thief)  # the same token again, while the view listens
        assert thief.closed == 1008 and not thief.accepted
        assert channel.send([{"epoch": 2}], first=False)
        await settle()
        again = [{"epoch": 3}]
        channel.send(again, first=True)  # a rerun's first frame names a new token
        rerun = again[0]["_channel"]["token"]
        assert rerun != token
        await asyncio.wait_for(serving, 1)  # and the old socket is closed at once:
        assert mine.closed is not None  # a frame on it could overtake the first frame
        assert not channel.send([{"epoch": 4}], first=False)  # Streamlit carries it
        await settle()
        assert len(mine.sent) == 1
        view = Socket(token=rerun)  # the rerun's view (the same or a new one) connects
        serving_view = asyncio.ensure_future(channel._endpoint(view))
        await settle()
        assert view.accepted and channel.send([{"epoch": 5}], first=False)
        view.leave()
        await asyncio.wait_for(serving_view, 1)
        later = [{"epoch": 6}]
        assert not channel.send(later, first=False)  # nobody listens: Streamlit carries it
        fresh = later[0]["_channel"]["token"]
        assert fresh not in (token, rerun) and channel._channels.get(rerun) is None
        pending = [{"epoch": 7}]
        channel.send(pending, first=False)  # its connection may be under way: the same
        assert pending[0]["_channel"]["token"] == fresh
        for old in (token, rerun):
            late = Socket(token=old)
            await channel._endpoint(late)
            assert late.closed == 1008
        ok = Socket(token=fresh)
        serving = asyncio.ensure_future(channel._endpoint(ok))
        await settle()
        assert ok.accepted
        ok.leave()
        await asyncio.wait_for(serving, 1)

    asyncio.run(main())


def test_the_browser_says_what_it_drew_and_a_lagging_one_holds_the_loop(routed) -> None:
    """The view sends the number of each frame it draws; a loop more than
    ``FRAMES_AHEAD`` frames ahead of it waits (``lagging``)."""

    async def main() -> None:
        first = [{"epoch": 0}]
        channel.send(first, first=True)
        socket = Socket(token=first[0]["_channel"]["token"])
        serving = asyncio.ensure_future(channel._endpoint(socket))
        await settle()
        assert not channel.lagging()  # what came before the socket counts as drawn
        for epoch in range(1, channel.FRAMES_AHEAD + 2):
            assert channel.send([{"epoch": epoch}], first=False)
        await settle()
        assert channel.lagging()  # 7 frames sent, none drawn
        drawn = json.loads(socket.sent[-1])[0]["_seq"]
        socket.inbox.put_nowait({"type": "websocket.receive", "text": str(drawn)})
        await settle()
        assert not channel.lagging() and socket.closed is None
        socket.inbox.put_nowait({"type": "websocket.receive", "text": "99999999999"})
        await settle()  # more than was sent: no more than what was sent counts
        assert channel.send([{"epoch": 99}], first=False)
        socket.leave()
        await asyncio.wait_for(serving, 1)
        assert not channel.lagging()  # nobody listens: nothing to wait for

    asyncio.run(main())


def test_a_browser_that_sends_anything_else_is_disconnected() -> None:
    async def main() -> None:
        ch = channel.Channel()
        socket = Socket()
        serving = asyncio.ensure_future(ch.serve(socket))
        await settle()
        socket.inbox.put_nowait({"type": "websocket.receive", "text": "x" * 1000})
        await asyncio.wait_for(serving, 1)
        assert socket.closed == 1008 and not ch.connected and not ch.push([{"epoch": 1}])

    asyncio.run(main())


def test_a_socket_whose_token_was_taken_before_a_first_frame_stays_unused(routed) -> None:
    """A view connects just as the next run's first frame goes through Streamlit (which
    detaches the channel): that socket must not carry frames, or one could reach the
    browser before the first frame and have it dropped as older."""

    async def main() -> None:
        first = [{"epoch": 1}]
        channel.send(first, first=True)
        ch = channel._channels[first[0]["_channel"]["token"]]
        since = ch._connection  # the route took the token ...
        channel.send([{"epoch": 2}], first=True)  # ... and a new run's first frame went
        late = Socket()
        await asyncio.wait_for(ch.serve(late, since), 1)
        assert late.closed == 1008 and not ch.connected
        assert not channel.send([{"epoch": 3}], first=False)  # Streamlit carries it

    asyncio.run(main())
