"""The app's XLA flags (``playground.core.xla_flags``): the server process schedules
XLA's operations in order; a user's own flags and unknown flags are respected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp

from playground.core import xla_flags

ROOT = Path(__file__).resolve().parents[2]
FLAG = xla_flags.FLAGS[0]


def test_the_flag_is_added_once_after_the_users_own():
    env = {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    assert xla_flags.apply(env) == (FLAG,)
    assert env["XLA_FLAGS"] == f"--xla_cpu_enable_fast_math=false {FLAG}"
    assert xla_flags.apply(env) == ()  # already there
    assert env["XLA_FLAGS"].count(xla_flags.SCHEDULER) == 1
    longer = {"XLA_FLAGS": f"--{xla_flags.SCHEDULER}_of_another_kind=1"}  # not the same flag
    assert xla_flags.apply(longer) == (FLAG,)


def test_a_users_setting_of_the_flag_and_the_off_switch_win():
    mine = {"XLA_FLAGS": f"--{xla_flags.SCHEDULER}=true"}
    assert xla_flags.apply(mine) == () and mine["XLA_FLAGS"] == f"--{xla_flags.SCHEDULER}=true"
    off = {xla_flags.ENV: "off"}
    assert xla_flags.apply(off) == () and "XLA_FLAGS" not in off


def test_an_unknown_flag_is_never_added():
    """An unknown flag in XLA_FLAGS aborts a process: it is tried in a child first."""
    assert xla_flags.known(FLAG)
    assert not xla_flags.known("--xla_cpu_no_such_flag_at_all=true")


def test_nothing_changes_once_jax_has_computed(monkeypatch):
    jnp.zeros(1).block_until_ready()
    monkeypatch.delenv(xla_flags.ENV, raising=False)
    before = os.environ.get("XLA_FLAGS")
    assert xla_flags.apply() == ()
    assert os.environ.get("XLA_FLAGS") == before


_SCHEDULE = """
import hashlib, numpy as np
from playground.core import xla_flags
added = xla_flags.apply()
import engine
exp = engine.build(engine.preset("tf_playground"))
probes = engine.ProbeOptions(resolution=100, neuron_resolution=20)
text = exp.fns.train_chunk.lower(exp.init(), exp.dataset.arrays, exp.values, np.int32(50),
                                 capacity=64, by_steps=False, probes=probes).compile().as_text()
print(len(added), hashlib.sha256(text.encode()).hexdigest())
"""


def _schedule(off: bool) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", xla_flags.ENV)}
    if off:
        env[xla_flags.ENV] = "off"
    done = subprocess.run([sys.executable, "-c", _SCHEDULE], cwd=ROOT, check=True, timeout=300,
                          env={**env, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"},
                          capture_output=True, text=True)
    return tuple(done.stdout.split()[-2:])


def test_the_servers_process_compiles_with_the_flag():
    """A process that applies the flags before its first computation compiles the
    Playground's frame with another schedule than XLA's default (the flag reached the
    compiler); the same process with the flags off compiles XLA's default."""
    with_flag, default = _schedule(off=False), _schedule(off=True)
    assert with_flag[0] == "1" and default[0] == "0"
    assert with_flag[1] != default[1]


def test_first_visits_arriving_together_probe_once(monkeypatch):
    """Streamlit runs the first visitors' scripts in threads at once: one child process."""
    import threading
    import time

    calls = []

    def slow_run(*args, **kwargs):
        calls.append(args)
        time.sleep(0.2)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(xla_flags.subprocess, "run", slow_run)
    xla_flags.known.cache_clear()
    envs = [{} for _ in range(8)]
    try:
        threads = [threading.Thread(target=xla_flags.apply, args=(env,)) for env in envs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        xla_flags.known.cache_clear()
    assert len(calls) == 1
    assert all(env["XLA_FLAGS"] == FLAG for env in envs)
