"""Many configurations at once: a sweep against the same configurations one by one.

64 learning rates (log-spaced, 1e-3 to 1) of the Playground's default network
(TensorFlow Playground's: circle data, 2 -> 4 -> 2 -> 1 tanh, batch 10, SGD), each
trained 300 epochs:

- ``batched``: all 64 in one ``engine.sweep`` call (compiled beforehand; the fastest
  of 7 runs);
- ``sequential``: one after another through the same engine (``Experiment.train``,
  compiled beforehand; changing the learning rate compiles nothing; the fastest of 2);
- ``speedup_64``: the ratio of the two throughputs (goal: 20x);
- ``search_seconds``: a fresh 8 x 8 grid search over learning rate and L2 rate,
  64 configurations x 300 epochs, compile included (goal: at most 10 s).

A sweep splits its configurations across devices (``jax.sharding``); on a CPU, each
core becomes a device with ``--xla_force_host_platform_device_count``, which this
script sets to the machine's cores unless ``XLA_FLAGS`` names a count already or
``--one-device`` is given. One network alone cannot use a second core, so the
one-after-another reference is the same either way. The figure on one device comes
too (``speedup_64_one_device``, from a child process).

    python benchmarks/sweep_bench.py [--json] [--configs 64] [--epochs 300] [--one-device]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

_COUNT = "--xla_force_host_platform_device_count"
if (__name__ == "__main__" and "--one-device" not in sys.argv
        and _COUNT not in os.environ.get("XLA_FLAGS", "")):
    # Before JAX starts: its CPU backend reads XLA_FLAGS once.
    _CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_COUNT}={_CORES}"

import jax  # noqa: E402
import numpy as np  # noqa: E402

import engine  # noqa: E402
from engine.hyper import Search, axis  # noqa: E402

BASE = engine.preset("tf_playground")


def _specs(n: int) -> list[engine.Spec]:
    return [BASE.updated(optimizer={"learning_rate": float(lr)})
            for lr in np.geomspace(1e-3, 1.0, n)]


def batched_seconds(n: int, epochs: int, repeats: int = 7) -> float:
    """Fastest wall time of training all ``n`` configurations at once."""
    sw = engine.sweep(_specs(n))
    sw.train(sw.init(), epochs)  # compile
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        states, _ = sw.train(sw.init(), epochs)
        jax.block_until_ready(states.params)
        best = min(best, time.perf_counter() - t0)
    return best


def sequential_seconds(n: int, epochs: int, repeats: int = 2) -> float:
    """Fastest wall time of training the ``n`` configurations one after another."""
    specs = _specs(n)
    exp = engine.build(specs[0])
    exp.train(exp.init(), epochs)  # compile
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for spec in specs:
            exp = exp.with_spec(spec)
            state, _ = exp.train(exp.init(), epochs)
        jax.block_until_ready(state.params)
        best = min(best, time.perf_counter() - t0)
    return best


def search_seconds(epochs: int) -> tuple[float, dict]:
    """Wall time of a fresh 64-point grid search (compile included), and its best."""
    base = BASE.updated(data={"val_fraction": 0.2})
    t0 = time.perf_counter()
    search = Search.start(base, [axis("learning_rate"), axis("l2_rate")], method="grid",
                          budget=64, round_size=64, epochs=epochs)
    while not search.done:
        search = search.next_round()
    seconds = time.perf_counter() - t0
    best = search.best()
    return seconds, {"values": best.values, "val_loss": round(best.val_loss, 4)}


def one_device(n: int, epochs: int) -> dict:
    """``batched`` and ``sequential`` again in a child process whose CPU is one device."""
    env = {**os.environ, "XLA_FLAGS": " ".join(
        t for t in os.environ.get("XLA_FLAGS", "").split() if not t.startswith(_COUNT))}
    out = subprocess.run([sys.executable, __file__, "--one-device", "--configs", str(n),
                          "--epochs", str(epochs)], env=env, capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--configs", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--one-device", action="store_true",
                    help="leave the CPU one device (no search; no child process)")
    args = ap.parse_args()
    n, epochs = args.configs, args.epochs
    batched = batched_seconds(n, epochs)
    sequential = sequential_seconds(n, epochs)
    if args.one_device:
        print(json.dumps({"devices": len(jax.devices()), f"speedup_{n}": sequential / batched,
                          "batched_s": batched, "sequential_s": sequential}))
        return 0
    search_s, best = search_seconds(epochs)
    one = one_device(n, epochs) if len(jax.devices()) > 1 else None
    result = {
        "device": str(jax.devices()[0]), "devices": len(jax.devices()), "configs": n,
        "epochs": epochs, "batched_s": round(batched, 3), "sequential_s": round(sequential, 3),
        "batched_config_epochs_per_s": round(n * epochs / batched),
        "sequential_config_epochs_per_s": round(n * epochs / sequential),
        f"speedup_{n}": round(sequential / batched, 2), "search_seconds": round(search_s, 2),
        "search_best": best,
        f"speedup_{n}_one_device": round(one[f"speedup_{n}"], 2) if one else None,
        "sequential_s_one_device": round(one["sequential_s"], 3) if one else None,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"device: {result['device']} x {result['devices']}; {n} configurations x {epochs} "
          "epochs of the Playground's default network")
    print(f"all at once:    {batched:6.2f} s ({result['batched_config_epochs_per_s']:,} "
          "configuration-epochs/s)")
    print(f"one after another: {sequential:6.2f} s "
          f"({result['sequential_config_epochs_per_s']:,}/s)")
    print(f"speed-up: {result[f'speedup_{n}']:.1f}x (goal 20x)")
    if one:
        print(f"on one device instead of {result['devices']}: {one['batched_s']:.2f} s "
              f"against {one['sequential_s']:.2f} s, {one[f'speedup_{n}']:.1f}x")
    print(f"8 x 8 grid search, {epochs} epochs each, compile included: {search_s:.1f} s "
          f"(goal: at most 10 s); best {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
