"""Many configurations at once: a sweep against the same configurations one by one.

64 learning rates (log-spaced, 1e-3 to 1) of the Playground's default network
(TensorFlow Playground's: circle data, 2 -> 4 -> 2 -> 1 tanh, batch 10, SGD), each
trained 300 epochs:

- ``batched``: all 64 in one ``engine.sweep`` call (compiled beforehand);
- ``sequential``: one after another through the same engine (``Experiment.train``,
  compiled beforehand; changing the learning rate compiles nothing);
- ``speedup_64``: the ratio of the two throughputs (goal: 20x);
- ``search_seconds``: a fresh 8 x 8 grid search over learning rate and L2 rate,
  64 configurations x 300 epochs, compile included (goal: at most 10 s).

    python benchmarks/sweep_bench.py [--json] [--configs 64] [--epochs 300]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

import engine
from engine.hyper import Search, axis

BASE = engine.preset("tf_playground")


def _specs(n: int) -> list[engine.Spec]:
    return [BASE.updated(optimizer={"learning_rate": float(lr)})
            for lr in np.geomspace(1e-3, 1.0, n)]


def batched_seconds(n: int, epochs: int, repeats: int = 3) -> float:
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


def sequential_seconds(n: int, epochs: int) -> float:
    """Wall time of training the ``n`` configurations one after another."""
    specs = _specs(n)
    exp = engine.build(specs[0])
    exp.train(exp.init(), epochs)  # compile
    t0 = time.perf_counter()
    for spec in specs:
        exp = exp.with_spec(spec)
        state, _ = exp.train(exp.init(), epochs)
    jax.block_until_ready(state.params)
    return time.perf_counter() - t0


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--configs", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=300)
    args = ap.parse_args()
    n, epochs = args.configs, args.epochs
    batched = batched_seconds(n, epochs)
    sequential = sequential_seconds(n, epochs)
    search_s, best = search_seconds(epochs)
    result = {
        "device": str(jax.devices()[0]), "devices": len(jax.devices()), "configs": n,
        "epochs": epochs, "batched_s": round(batched, 3), "sequential_s": round(sequential, 3),
        "batched_config_epochs_per_s": round(n * epochs / batched),
        "sequential_config_epochs_per_s": round(n * epochs / sequential),
        f"speedup_{n}": round(sequential / batched, 2), "search_seconds": round(search_s, 2),
        "search_best": best,
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
    print(f"8 x 8 grid search, {epochs} epochs each, compile included: {search_s:.1f} s "
          f"(goal: at most 10 s); best {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
