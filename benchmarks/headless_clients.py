"""Sessions without a browser: Streamlit's own protocol, spoken by a script.

A classroom's browsers run on thirty laptops, not on the server. On this 2-core machine
Chromium needs a core or more for one playing session, so browsers beside the server
measure them as much as it. A ``Client`` here is what the server sees of a browser:
Streamlit's websocket (``/_stcore/stream``, protobuf ``BackMsg`` and ``ForwardMsg``),
the page's first run, a click on Play (a fragment rerun with the button's trigger), and
the live view's frame channel (``playground/core/channel.py``), on which it reports
every frame as drawn, as ``assets/common.js`` does after painting it. It paints
nothing: the server's work per frame is all there is to measure.

    python benchmarks/headless_clients.py --sessions 8 --seconds 10   # a fresh server
    python benchmarks/headless_clients.py --sessions 30 --replicas 2  # ./dev classroom

Streamlit's protocol is its own internals (checked with 1.67); ``instant.py --parts headless``
uses this for the classroom figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_CHANNEL = re.compile(r'"_channel":\s*\{"path":\s*"([^"]+)",\s*"token":\s*"([^"]+)"\}')


@dataclass
class Client:
    """One browserless session of the app at ``url`` (``http://host:port``), on ``path``'s
    page (``/``: the Playground). ``frames``: frames received and reported drawn;
    ``first``: seconds from the page's request until its Play button arrived."""

    url: str
    path: str = "/"
    cookie: str = ""  # sent with every request: a load balancer's route (``nnp_route=...``),
    # set by the page's answer as a browser's would be
    frames: int = 0
    channel_frames: int = 0  # of ``frames``, those that came on the frame channel
    first: float | None = None
    played: float | None = None  # seconds from the Play click to the first frame
    _play: tuple[str, str] | None = None  # the Play button's widget id, its fragment
    _page_hash: str = ""
    _channel: tuple[str, str] | None = None
    _stream: object = field(default=None, repr=False)
    _tasks: list = field(default_factory=list, repr=False)

    @property
    def _origin(self) -> str:
        return self.url

    @property
    def _headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie} if self.cookie else {}

    def _ws(self, path: str) -> str:
        return "ws" + self.url[len("http"):] + path

    async def open(self, timeout: float = 120.0) -> None:
        """Open the page (its HTML first, as a browser does: a load balancer's answer
        may set the route cookie) and wait until its Play button is there."""
        t0 = time.perf_counter()
        await asyncio.to_thread(self._get_page)
        self._stream = await websockets.connect(
            self._ws("/_stcore/stream"), subprotocols=["streamlit"],
            origin=self._origin, max_size=2**26, additional_headers=self._headers)
        self._tasks.append(asyncio.ensure_future(self._read_stream()))
        await self._rerun(page_name=self.path.strip("/"))
        deadline = time.perf_counter() + timeout
        while self._play is None:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no Play button on {self.path} in {timeout} s")
            await asyncio.sleep(0.02)
        self.first = time.perf_counter() - t0

    def _get_page(self) -> None:
        request = urllib.request.Request(self.url + self.path, headers=self._headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                if name.strip() == "nnp_route" and value:
                    self.cookie = f"nnp_route={value}"

    async def play(self) -> None:
        """Click Play: the fragment reruns with the button's trigger."""
        widget, fragment = self._play
        t0 = time.perf_counter()
        await self._rerun(trigger=widget, fragment=fragment)
        start = self.frames
        while self.frames == start:
            await asyncio.sleep(0.01)
        self.played = time.perf_counter() - t0

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._stream is not None:
            await self._stream.close()

    async def _rerun(self, page_name: str = "", trigger: str | None = None,
                     fragment: str = "") -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self._page_hash
        state.page_name = page_name
        state.fragment_id = fragment
        if trigger:
            w = state.widget_states.widgets.add()
            w.id, w.trigger_value = trigger, True
        await self._stream.send(msg.SerializeToString())

    async def _read_stream(self) -> None:
        async for data in self._stream:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self._page_hash = msg.new_session.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element, msg.delta.fragment_id)

    def _element(self, element, fragment: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "button" and element.button.label in ("Play", "Pause"):
            self._play = (element.button.id, fragment)
        elif kind == "bidi_component":
            found = _CHANNEL.search(element.bidi_component.json)
            if found:
                self.frames += 1
                self._report(element.bidi_component.json)
                if found.groups() != self._channel:
                    self._channel = found.groups()
                    self._tasks.append(asyncio.ensure_future(self._listen(*found.groups())))

    async def _listen(self, path: str, token: str) -> None:
        async with websockets.connect(self._ws(f"{path}?t={token}"), origin=self._origin,
                                      max_size=2**26, additional_headers=self._headers
                                      ) as socket:
            self._frames_socket = socket
            async for text in socket:
                frames = json.loads(text)
                self.frames += len(frames)
                self.channel_frames += len(frames)
                for frame in frames:
                    if "_seq" in frame:
                        await socket.send(str(frame["_seq"]))

    def _report(self, text: str) -> None:
        """A frame that came through Streamlit is drawn too: its number is reported on
        the channel once that is open (the view does the same)."""
        seq = re.search(r'"_seq":\s*(\d+)', text)
        socket = getattr(self, "_frames_socket", None)
        if seq and socket is not None:
            self._tasks.append(asyncio.ensure_future(socket.send(seq.group(1))))


class Classroom:
    """``sessions`` browserless clients that open ``path`` one after another and play,
    on an event loop of their own thread (the caller may drive a browser meanwhile);
    ``cookies``: one per session, sent with its requests (a load balancer's routes):

        with Classroom(url, 8) as room:
            before = room.frames(); time.sleep(10); after = room.frames()
    """

    def __init__(self, url: str, sessions: int, path: str = "/",
                 cookies: list[str] | None = None) -> None:
        self.clients = [Client(url, path, cookie) for cookie in cookies or [""] * sessions]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Classroom:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(600)
        except BaseException:
            self.__exit__()
            raise
        return self

    async def _start(self) -> None:
        for client in self.clients:
            await client.open()
            await client.play()

    def frames(self) -> list[int]:
        """Frames each session has received (and reported drawn) so far."""
        return [c.frames for c in self.clients]

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)


@contextlib.contextmanager
def classroom_server(replicas: int, cores: set[int] | None = None):
    """``python -m playground.classroom`` (``replicas`` app servers behind nginx, the
    warm-up off) on a free port, its processes on ``cores`` (None: any); yields its URL
    and the replicas' process ids."""
    from benchmarks.live_fps import ROOT, free_port

    port = free_port()
    env = {**os.environ, "NN_PLAYGROUND_WARMUP": "off", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "playground.classroom", "--replicas", str(replicas),
             "--port", str(port), "--address", "127.0.0.1"], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
        try:
            while "replicas" not in (log.seek(0) or log.read()):
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(log.read()[-2000:])
                time.sleep(0.2)
            pids = [pid for pid, cmd in children(proc.pid).items()
                    if "playground.serve" in cmd]
            yield f"http://127.0.0.1:{port}", pids
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def _nginx_cpu() -> float:
    """CPU seconds of every nginx process on this machine so far (Linux)."""
    from benchmarks.instant import cpu_seconds

    total = 0.0
    for p in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{p}/comm").read_text().strip() == "nginx":
                total += cpu_seconds(int(p))
    return total


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines (Linux)."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == pid:
                found[int(entry)] = Path(f"/proc/{entry}/cmdline").read_text().replace(
                    "\0", " ")
    return found


def main() -> None:
    from benchmarks.instant import cpu_seconds
    from benchmarks.live_fps import app_server

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--path", default="/")
    ap.add_argument("--replicas", type=int, default=0, help="serve with "
                    "playground.classroom's replicas behind nginx (0: one server)")
    args = ap.parse_args()
    with contextlib.ExitStack() as stack:
        if args.replicas:
            url, pids = stack.enter_context(classroom_server(args.replicas))
        else:
            url, proc = stack.enter_context(app_server(with_process=True))
            pids = [proc.pid]
        room = stack.enter_context(Classroom(url, args.sessions, args.path))
        time.sleep(3.0)  # all playing, settled
        before, t0 = room.frames(), time.perf_counter()
        c0, n0 = [cpu_seconds(p) for p in pids], _nginx_cpu()
        time.sleep(args.seconds)
        dt = time.perf_counter() - t0
        cpu = [cpu_seconds(p) - c for p, c in zip(pids, c0, strict=True)]
        proxy = _nginx_cpu() - n0
        fps = [(b - a) / dt for a, b in zip(before, room.frames(), strict=True)]
        print(json.dumps({
            "machine": f"{os.cpu_count()} cores; the clients on the same machine",
            "servers": len(pids), "sessions": args.sessions,
            "frames_per_s_each": [round(f, 1) for f in fps],
            "frames_per_s_min": round(min(fps), 1),
            "frames_per_s_median": round(statistics.median(fps), 1),
            "server_cpu_ms_per_frame": round(1000 * sum(cpu) / max(sum(fps) * dt, 1), 2),
            "server_cores_each": [round(c / dt, 2) for c in cpu],
            "nginx_cpu_ms_per_frame": round(1000 * proxy / max(sum(fps) * dt, 1), 3),
            "opened_s": [round(c.first, 2) for c in room.clients],
            "frames_move_s": [round(c.played, 2) for c in room.clients]}))


if __name__ == "__main__":
    main()
