"""How often each playing session draws a frame: the server's cores shared among them.

Every playing loop (``live.loop``) of every session in this process paces itself
here, alike, so that none starves the others and a newcomer's page still opens.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable

FRAME_SECONDS = 1 / 40  # pace: at most 40 frames a second

CPU_SHARE = 0.75
"""The share of the server's cores that playing sessions take together; the rest answers
clicks, newcomers and the browsers' requests."""

CORES = max(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1), 1)

OVERHEAD = 1.35
"""The server's CPU for a frame over what its loop's own thread spends on it, until
``PROCESS`` has measured XLA's part: the event loop sending the frame, XLA's threads
running its computation. Measured on the default Playground, one session, the server
pinned to one core (per-thread CPU from ``/proc``): 3.95 ms a frame, of which 2.95 in
the loop's thread, 0.2-0.3 in XLA's."""

SENDING = 1.15
"""``OVERHEAD`` without XLA's threads (measured apart): the event loop's share, 0.14-0.48
ms a frame against the loop thread's 2.9 (30 and 1 sessions, pinned to one core)."""

MAX_RATE = float(CORES)
"""XLA's threads run on the process's cores: at most this many CPU seconds a second."""


def xla_threads_cpu() -> float:
    """CPU seconds so far of this process's XLA threads (named ``tf_...``: the pools that
    run a computation while its caller waits), from ``/proc`` (0 where there is none)."""
    total = 0
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                with open(f"/proc/self/task/{tid}/comm") as fh:
                    if not fh.read().startswith("tf_"):
                        continue
                with open(f"/proc/self/task/{tid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK") if total else 0.0


class ProcessLoad:
    """What a frame costs the server (``cost``): its loop thread's CPU times ``SENDING``,
    plus its share of what XLA's own threads spent meanwhile, in proportion to the time
    the loop waited in its engine calls. XLA's CPU per second waited (``rate``) is
    measured over windows of ``WINDOW`` seconds while loops play; before the first, a
    frame costs its thread's CPU times ``OVERHEAD``.

    JAX runs a computation on XLA's pool while the caller waits, so a thread's CPU alone
    would charge a convolution page's frame a fortieth of its cost, and its sessions
    would take the cores from everyone; shared out by the time each loop waited, the
    pool's CPU goes mostly to the heavy page's frames, not alike to every session.
    ``clock``: the XLA threads' CPU seconds (a test's)."""

    WINDOW = 1.0

    def __init__(self, clock: Callable[[], float] = xla_threads_cpu) -> None:
        self.rate: float | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._start: tuple[float, float] | None = None  # (wall, XLA CPU) of the window
        self._waited = 0.0  # the loops' seconds in engine calls in the window
        self._last = 0.0  # wall time of the last charge

    def cost(self, thread_cpu: float, engine_wall: float, now: float | None = None) -> float:
        """Note a loop's chunk of frames (``thread_cpu`` seconds of its thread's CPU,
        ``engine_wall`` seconds waited in engine calls); returns its cost in seconds."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            if self._start is None or now - self._last > self.WINDOW:  # (none played)
                self._start, self._waited = (now, self._clock()), 0.0
            self._last = now
            self._waited += engine_wall
            wall, cpu = self._start
            if now - wall >= self.WINDOW and self._waited > 0:
                xla = self._clock()
                rate = min((xla - cpu) / self._waited, MAX_RATE)
                self.rate = rate if self.rate is None else 0.5 * (self.rate + rate)
                self._start, self._waited = (now, xla), 0.0
            if self.rate is None:
                return OVERHEAD * thread_cpu
            return SENDING * thread_cpu + self.rate * engine_wall


PROCESS = ProcessLoad()


def frame_period(cost_s: float, playing: int, cores: int = CORES) -> float:
    """Seconds from one frame's start to the next: at most 1 / FRAME_SECONDS frames a
    second, and ``playing`` sessions whose frames cost the server ``cost_s`` seconds of
    CPU each use at most ``CPU_SHARE`` of ``cores`` together. Each session's frame rate
    adapts to the load alike."""
    return max(FRAME_SECONDS, cost_s * max(playing, 1) / (CPU_SHARE * cores))


class FrameClock:
    """What a loop's frames cost: ``cost`` (server CPU seconds a frame, ``frame_period``'s
    measure) and ``wall`` (seconds a frame takes, for ``frames_per_message``), smoothed
    over frames; 0 until the first frames are measured.

    The cost is the loop thread's own CPU time and XLA's for it (``ProcessLoad``), not
    the frames' wall time: with many sessions on a few cores, a frame's wall time includes
    the other sessions' frames run meanwhile, so pacing by it slowed every session
    further the more played (8 sessions on one core kept it 46% busy for a 75% share,
    19-21 frames/s each)."""

    def __init__(self, load: ProcessLoad | None = None) -> None:
        self.cost = self.wall = 0.0
        self._load = PROCESS if load is None else load
        self._t0 = self._c0 = self._engine = 0.0

    def start(self) -> None:
        self._t0, self._c0, self._engine = time.perf_counter(), time.thread_time(), 0.0

    def engine(self, seconds: float) -> None:
        """Note ``seconds`` spent in an engine call (training) since ``start``."""
        self._engine += seconds

    def stop(self, frames: int) -> float:
        """Note ``frames`` made since ``start``; returns the wall seconds since then."""
        wall = time.perf_counter() - self._t0
        spent = time.thread_time() - self._c0
        cost = self._load.cost(spent, self._engine) / max(frames, 1)
        per_frame = wall / max(frames, 1)
        if self.wall == 0.0:
            self.cost, self.wall = cost, per_frame
        else:
            self.cost = 0.8 * self.cost + 0.2 * cost
            self.wall = 0.8 * self.wall + 0.2 * per_frame
        return wall


MAX_FRAMES_PER_MESSAGE = 4
BATCH_SECONDS = 0.05
"""Most work (seconds) a message's frames take together. Streamlit answers a click only
at the loop's next message: the loop sends at once when one waits (``live._click_waiting``),
and without that check (other Streamlit internals) a batch would delay it this much
more."""


def frames_per_message(playing: int, work_s: float, cores: int = CORES) -> int:
    """How many frames a playing loop sends in one message, given that ``playing``
    sessions play and a frame takes ``work_s`` seconds (0: not measured yet): one while
    the sessions fit the cores; under load more, at most ``MAX_FRAMES_PER_MESSAGE``
    and ``BATCH_SECONDS`` of work, which the browser plays a frame period apart.

    A message costs about the same whatever it carries: on the server Streamlit's
    component call, queue, event loop and websocket; in the browser Streamlit's
    rendering, which a message's later frames skip. Measured with the default
    Playground, the browsers on the same 2 cores (``benchmarks/instant.py``; 2 runs
    before, 6 after): 4 sessions drew 10.7-13.9 -> 15.1-20.1 frames/s each on average,
    8 sessions 4.8 -> 6.3-9.5; per frame sent, the server's CPU went 7.5-10.0 -> 6.3-9.9
    ms (within this machine's noise: the gain is mostly the browsers')."""
    if work_s <= 0:
        return 1
    fit = int(BATCH_SECONDS / work_s)
    return max(1, min(MAX_FRAMES_PER_MESSAGE, -(-playing // cores), fit))
