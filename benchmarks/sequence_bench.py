"""Training steps per second of a transformer and an LSTM on string reversal.

The engine's presets ``reverse_transformer`` (embedding 32, 2 blocks, 4 heads) and
``reverse_lstm`` (64 units), batch 32, against the same models in PyTorch eager
(``benchmarks/torch_seq.py``) when a Python with torch is available: this one, or the
one given by ``--torch-python``. Also the sequence page's live frame: one epoch
trained plus the attention/state probes of one example, and the probes alone.

    python benchmarks/sequence_bench.py [--torch-python /path/to/python] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

import engine
from engine.model import featurize
from engine.presets import preset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.reference import reference_figures

MODELS = {"transformer": "reverse_transformer", "lstm": "reverse_lstm"}
FRAME_STEPS = 2  # optimizer steps per live frame


def _best(fn, repeats: int = 5) -> float:
    """Fastest of ``repeats`` timed calls of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def engine_figures(name: str) -> dict[str, float]:
    """Steps/s fused (metrics each epoch), steps/s alone, and frame times in ms."""
    exp = engine.build(preset(name))
    state = exp.init()
    state, _ = exp.train(state, 2)  # compile
    epochs, per_epoch = 5, exp.steps_per_epoch
    box = {"state": state}

    def fused():
        box["state"], _ = exp.train(box["state"], epochs)

    fused_s = _best(fused, 3) / (epochs * per_epoch)

    # The training steps alone, as PyTorch's loop does them: one jitted scan of the
    # engine's own update over an epoch of batches, no per-epoch evaluation.
    fns, data = exp.fns, exp.dataset.arrays
    h = featurize(fns.s.net, data.x_train, data.mean, data.std)
    n = per_epoch * exp.spec.batch_size
    hb = h[:n].reshape(per_epoch, -1, *h.shape[1:])
    yb = data.y_train[:n].reshape(per_epoch, -1, *data.y_train.shape[1:])
    keys = jax.random.split(jax.random.PRNGKey(0), per_epoch)

    @jax.jit
    def steps(carry):
        def one(c, batch):
            params, opt_state, mstate, t = c
            params, opt_state, mstate = fns.update(params, opt_state, mstate, t, *batch,
                                                   exp.values)
            return (params, opt_state, mstate, t + 1), None
        return jax.lax.scan(one, carry, (hb, yb, keys))[0]

    carry = [(state.params, state.opt_state, state.model_state, state.step)]
    jax.block_until_ready(steps(carry[0]))

    def alone():
        carry[0] = jax.block_until_ready(steps(carry[0]))

    alone_s = _best(alone) / per_epoch
    # What the sequence page asks for: one example's maps and states, no grid, no
    # per-layer gradient norms.
    probe = engine.ProbeOptions(sequence=True, resolution=0, neuron_resolution=0,
                                gradients=False)
    exp.train(box["state"], 1, probe)
    exp.train_steps(box["state"], FRAME_STEPS, probe)
    epoch_frame_s = _best(lambda: exp.train(box["state"], 1, probe))
    probe_s = _best(lambda: exp.train(box["state"], 0, probe))
    # The page's frames: a few steps (and, when an epoch ends, its metrics), never a
    # whole epoch; each measured frame continues from the last one.
    frames = []
    for _ in range(2 * per_epoch):
        t0 = time.perf_counter()
        box["state"], _ = exp.train_steps(box["state"], FRAME_STEPS, probe)
        frames.append(time.perf_counter() - t0)
    return {"fused_steps_per_s": round(1 / fused_s, 1), "steps_per_s": round(1 / alone_s, 1),
            "frame_ms": round(1000 * float(np.median(frames)), 1),
            "frame_p90_ms": round(1000 * float(np.percentile(frames, 90)), 1),
            "epoch_frame_ms": round(1000 * epoch_frame_s, 1),
            "probe_ms": round(1000 * probe_s, 1), "steps_per_epoch": per_epoch}


def torch_figures(python: str | None) -> dict | None:
    """PyTorch eager steps/s from ``torch_seq.py`` run by ``python`` (None: unavailable)."""
    return reference_figures("torch_seq.py", ["--steps", "200"], python)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-python", default=None,
                    help="a Python interpreter with torch installed (default: this one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result: dict = {"device": str(jax.devices()[0])}
    torch = torch_figures(args.torch_python)
    for model, name in MODELS.items():
        r = engine_figures(name)
        if torch is not None:
            r["torch_steps_per_s"] = torch[model]
            r["ratio"] = round(r["steps_per_s"] / torch[model], 2)
            r["fused_ratio"] = round(r["fused_steps_per_s"] / torch[model], 2)
        result[model] = r
    if torch is not None:
        result["torch"] = torch["torch"]
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"device: {result['device']}; batch 32, reversal of 6 digits (T = 13)")
    for model in MODELS:
        r = result[model]
        line = (f"{model:12s} engine {r['steps_per_s']:7.1f} steps/s alone, "
                f"{r['fused_steps_per_s']:7.1f} fused with per-epoch metrics")
        if "ratio" in r:
            line += (f"; PyTorch eager {r['torch_steps_per_s']:6.1f}: {r['ratio']:.2f}x "
                     f"({r['fused_ratio']:.2f}x fused; goal 3x)")
        print(line)
        print(f"{'':12s} live frame ({FRAME_STEPS} steps + attention/state probes): median "
              f"{r['frame_ms']:.1f} ms, 90th percentile {r['frame_p90_ms']:.1f} ms (goal: under "
              f"10 ms); probes alone {r['probe_ms']:.1f} ms; a whole epoch "
              f"({r['steps_per_epoch']} steps) {r['epoch_frame_ms']:.1f} ms")
    if torch is None:
        print("PyTorch: not available (pass --torch-python to compare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
