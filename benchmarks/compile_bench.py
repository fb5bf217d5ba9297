"""Where a live page's first call goes: tracing, lowering, XLA's compile, unpacking.

For each network the app's warm-up compiles the longest (Gradient flow's padded
networks, 30 masked layers of 32 or 64; the Playground's padded one; their defaults),
in a fresh process with JAX's compilation cache off, it times the steps of the first
training call with the page's probes, then a frame's call (5 epochs and the probes):

- ``trace_s``: JAX traces the Python (``jit(...).trace``);
- ``lower_s``: to StableHLO; ``compile_s``: XLA's compile;
- ``layout_s``: working out how the packed result unpacks (``Compiled.layout``);
- ``frame_ms``: a frame's call once compiled (median of 3 x 20).

The engine alone: without the app's XLA flag (``playground.core.xla_flags``).

    python benchmarks/compile_bench.py [--json] [--only flow_padded_32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NETWORKS = {
    "flow_padded_32": ("flow", "deep", 32),
    "flow_padded_64": ("flow", "deep", 64),
    "flow_default": ("flow", False, 0),
    "playground_padded": ("lab", True, 0),
    "playground_default": ("lab", False, 0),
}


def measure(page: str, padded: bool | str, units: int) -> dict:
    """The timings of one network, in this process (see the module's docstring)."""
    import jax
    import numpy as np

    jax.config.update("jax_enable_compilation_cache", False)
    import engine
    from playground import flow, lab

    live = {"flow": flow, "lab": lab}[page].PAGE
    spec = live.default
    if units:
        d = spec.to_dict()
        for layer in d["model"]["layers"]:
            layer["units"] = units
        spec = engine.Spec.from_dict(d)
    exp = engine.build(spec, padded=padded)
    state = exp.init()
    fns = exp.fns
    if padded:
        state, values, data, fns = (fns.pad_state(state), fns.values(exp.values),
                                    fns.data(exp.dataset.arrays), fns.fns)
    else:
        values, data = exp.values, exp.dataset.arrays
    probes = live.probes
    out = {}
    t = time.perf_counter()
    traced = fns.train_chunk.trace(state, data, values, np.int32(5), capacity=8,
                                   by_steps=False, probes=probes)
    out["trace_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lowered = traced.lower()
    out["lower_s"] = time.perf_counter() - t
    t = time.perf_counter()
    call = lowered.compile()
    out["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fns.layout(state, data, values, 8, probes)
    out["layout_s"] = time.perf_counter() - t
    jax.block_until_ready(call(state, data, values, np.int32(5)))
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(20):
            state, flat = call(state, data, values, np.int32(5))
        jax.block_until_ready(flat)
        runs.append((time.perf_counter() - t) / 20 * 1000)
    out["frame_ms"] = statistics.median(runs)
    return {k: round(v, 2) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated names of " + ", ".join(NETWORKS))
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(*NETWORKS[args.child])))
        return 0
    names = [n for n in args.only.split(",") if n] or list(NETWORKS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NN_PLAYGROUND_XLA_FLAGS": "off"}
    result = {}
    for name in names:
        done = subprocess.run([sys.executable, __file__, "--child", name], env=env,
                              capture_output=True, text=True, check=True, cwd=ROOT)
        result[name] = json.loads(done.stdout.strip().splitlines()[-1])
        if not args.json:
            r = result[name]
            first = r["trace_s"] + r["lower_s"] + r["compile_s"] + r["layout_s"]
            print(f"{name:20s} first call {first:5.1f} s (trace {r['trace_s']}, lower "
                  f"{r['lower_s']}, compile {r['compile_s']}, layout {r['layout_s']}); "
                  f"a frame {r['frame_ms']} ms")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
