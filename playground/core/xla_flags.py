"""XLA flags for the app's server process: operations run in order, not side by side.

XLA:CPU's default, concurrency-optimized scheduler orders each compiled function's
independent operations so that its thread pool can run them side by side. A live
page's frame is a chunk of epochs and then its probes (the output grid, every
neuron's grid, gradient statistics): microsecond-sized kernels, for which waking,
spinning and parking the pool's threads costs more CPU than the parallelism saves. On
a classroom server the CPU is what runs out, so the app's process schedules in order
(depth first). Measured on this project's 2-core machine, wall / CPU of the whole
process per frame, without and with the flag:

- the Playground's default network, 50 epochs and its probes: 2.4-2.8 / 3.7-4.1 ms
  -> 2.2-2.4 / 2.3-2.5 ms (the same process pinned to one core: 2.2 / 2.2);
- Gradient flow's default, 5 epochs: 4.1 / 5.4 -> 3.5-3.7 / 4.1-4.3 ms;
- Sequences' ``reverse_lstm``, one epoch: 30 / 39 -> 25 / 31 ms;
- what gets slower: Images' ``shapes_cnn`` (21.5 -> 22.7 ms wall, CPU the same). The
  64-configuration sweep of ``benchmarks/sweep_bench.py`` on one device got slower when
  its configurations were vmapped (0.32 -> 0.43 s); since a sweep of MLPs runs
  configuration-minor (``engine.train.sweep_minor``) it is faster with the flag: medians
  of 9 runs, 3 processes each way (2026-12-02), 0.210-0.217 -> 0.166-0.197 s wall and
  0.24 -> 0.19-0.22 s of CPU.

The flag is process-wide: ``jax.jit(compiler_options=...)`` accepts it per function,
but XLA builds the same schedule either way (checked with jaxlib 0.10.2), so it goes into
``XLA_FLAGS`` before JAX's first computation. The engine alone (``import engine``)
keeps XLA's defaults. An unknown flag in ``XLA_FLAGS`` aborts the process, so a child
process tries it with this jaxlib first. A flag the user already set in
``XLA_FLAGS`` stays as the user set it (``...scheduler=true`` restores the default);
``NN_PLAYGROUND_XLA_FLAGS=off`` adds none (the tests' processes: their results must
not depend on which test first ran the app).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import MutableMapping

SCHEDULER = "xla_cpu_enable_concurrency_optimized_scheduler"
ENV = "NN_PLAYGROUND_XLA_FLAGS"  # "off": add none
FLAGS = (f"--{SCHEDULER}=false",)
"""What the app's process adds to ``XLA_FLAGS``."""

_TRY = "import jax.numpy as jnp; jnp.zeros(1).block_until_ready()"
_LOCK = threading.Lock()  # the first visitors' script runs arrive together: one probe


@functools.cache
def known(flag: str) -> bool:
    """Whether this jaxlib's XLA accepts ``flag`` (tried in a child process on the CPU,
    once per process: about a second)."""
    env = {**os.environ, "XLA_FLAGS": flag, "JAX_PLATFORMS": "cpu"}
    try:
        done = subprocess.run([sys.executable, "-c", _TRY], env=env, capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _initialized() -> bool:
    """Whether JAX's backends exist already (then new flags would have no effect)."""
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # a JAX without it: assume the worst
        return True


def apply(environ: MutableMapping[str, str] | None = None) -> tuple[str, ...]:
    """Add ``FLAGS`` to ``XLA_FLAGS`` in ``environ`` (default: this process's), leaving
    any flag the user set alone; returns the flags added.

    Adds nothing once JAX has computed anything in this process (the flags are read
    then), nor a flag this jaxlib does not know.
    """
    env = os.environ if environ is None else environ
    with _LOCK:
        if env.get(ENV, "").lower() == "off" or (environ is None and _initialized()):
            return ()
        current = env.get("XLA_FLAGS", "")
        names = {token.split("=")[0] for token in current.split()}
        added = tuple(flag for flag in FLAGS
                      if flag.split("=")[0] not in names and known(flag))
        if added:
            env["XLA_FLAGS"] = " ".join((current, *added)).strip()
        return added
