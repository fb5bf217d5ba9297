"""``python -m engine bench``: the engine against plain NumPy (and PyTorch eager).

Runs DESIGN.md's reference workloads ("playground default": 2-4-2-1 tanh,
batch 10; "playground big": six hidden layers of 8, batch 30; 250 training
points, SGD 0.03) through the engine and through the NumPy reference in
``benchmarks/``, interleaved in one process so that both see the same machine,
and reports ratios, not absolute timings. Also: the cost of one UI frame
(train 1 epoch + 100x100 decision grid + probes, host transfer included),
compile time after an architecture change, and the number of recompilations
when hyperparameter values change (the goal is 0).
"""

from __future__ import annotations

import platform
import statistics
import time
from typing import Any

import jax

from benchmarks import torch_mlp
from benchmarks.workloads import WORKLOADS, Workload, make_points, numpy_epochs_per_second
from engine.experiment import Experiment, build
from engine.spec import Spec
from engine.train import count_compiles

CHUNK = 1024  # epochs per compiled call when measuring throughput

GOALS = {"ratio_vs_numpy": 10.0, "frame_ms_big": 2.0, "recompiles": 0, "compile_s": 0.5}


def workload_spec(w: Workload, **data: Any) -> Spec:
    """The engine spec of a reference workload: TF Playground's circle and network."""
    return Spec.from_dict({
        "data": {"name": "circle", "n": w.n_points, "noise": 0.0,
                 "train_fraction": w.train_fraction, **data},
        "model": {"layers": [{"type": "dense", "units": u, "activation": "tanh"}
                             for u in w.sizes[1:-1]],
                  "output_activation": "tanh", "init": "tf_playground"},
        "loss": "half_mse", "optimizer": {"name": "sgd", "learning_rate": w.lr},
        "batch_size": w.batch_size})


def _engine_rate(exp: Experiment, state, seconds: float) -> float:
    """Best epochs/s over repeated compiled calls of CHUNK epochs within ``seconds``."""
    best, t_end = 0.0, time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        exp.train(state, CHUNK)
        best = max(best, CHUNK / (time.perf_counter() - t0))
        if time.perf_counter() > t_end:
            return best


def _frame_ms(exp: Experiment, state, frames: int = 60) -> float:
    """Median ms of one UI frame: 1 epoch + 100x100 grid + probes, to host memory."""
    state, _ = exp.train(state, 1, probes=True)  # compile
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        state, _ = exp.train(state, 1, probes=True)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run_benchmark(seconds: float = 2.0, rounds: int = 3) -> dict[str, Any]:
    """Run every measurement; returns a JSON-able report (see module docstring)."""
    report: dict[str, Any] = {
        "device": str(jax.devices()[0]), "jax": jax.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "torch": torch_mlp.available(),
    }
    exps = {k: build(workload_spec(w)) for k, w in WORKLOADS.items()}
    states = {k: e.init() for k, e in exps.items()}
    for k, e in exps.items():  # compile outside the timed region
        e.train(states[k], CHUNK)
    engine_r = {k: 0.0 for k in WORKLOADS}
    numpy_r = {k: 0.0 for k in WORKLOADS}
    torch_r = {k: 0.0 for k in WORKLOADS}
    slot = seconds / rounds
    for _ in range(rounds):  # interleaved, so both see the same machine load
        for k, w in WORKLOADS.items():
            engine_r[k] = max(engine_r[k], _engine_rate(exps[k], states[k], slot))
            numpy_r[k] = max(numpy_r[k], numpy_epochs_per_second(w, slot))
    if report["torch"]:
        for k, w in WORKLOADS.items():
            x, y = make_points(w.n_points, 0)
            n = w.n_train
            torch_r[k] = torch_mlp.epochs_per_second(list(w.sizes), x[:n], y[:n],
                                                     w.batch_size, w.lr, seconds=slot)
    for k in WORKLOADS:
        report[f"engine_epochs_per_s_{k}"] = round(engine_r[k], 1)
        report[f"numpy_epochs_per_s_{k}"] = round(numpy_r[k], 1)
        report[f"ratio_vs_numpy_{k}"] = round(engine_r[k] / numpy_r[k], 2)
        if report["torch"]:
            report[f"torch_epochs_per_s_{k}"] = round(torch_r[k], 1)
            report[f"ratio_vs_torch_{k}"] = round(engine_r[k] / torch_r[k], 2)
    report["frame_ms_small"] = round(_frame_ms(exps["small"], states["small"]), 3)
    report["frame_ms_big"] = round(_frame_ms(exps["big"], states["big"]), 3)

    # Changing values (learning rate; then noise, regularisation rate, momentum) must
    # reuse the compiled functions: count backend compilations while doing it.
    big = exps["big"]
    d = big.spec.to_dict()
    d["optimizer"]["learning_rate"] = 0.1
    with count_compiles() as lr_change:
        e2 = big.with_spec(Spec.from_dict(d))
        e2.train(e2.init(), 1, probes=True)
        e2.train(e2.init(), CHUNK)
    report["recompiles_on_lr_change"] = lr_change["compiles"]
    d["data"]["noise"] = 0.3
    d["optimizer"].update(momentum=0.5, schedule={"name": "constant", "warmup_steps": 10})
    d["seed"] = 7
    with count_compiles() as other_change:
        e3 = big.with_spec(Spec.from_dict(d))
        e3.train(e3.init(), 1, probes=True)
    report["recompiles_on_value_changes"] = other_change["compiles"]

    # An architecture the process has not seen: time to its first frame.
    new_arch = Workload("new", (2, 7, 7, 7, 1), 30, 0.03)
    t0 = time.perf_counter()
    e4 = build(workload_spec(new_arch))
    s4 = e4.init()
    e4.train(s4, 1, probes=True)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    e4.train(s4, 1, probes=True)
    report["compile_s_new_architecture"] = round(first - (time.perf_counter() - t0), 3)
    report["goals"] = GOALS
    return report


def format_report(r: dict[str, Any]) -> str:
    """The report as aligned text with the goals beside the figures."""
    def mark(ok: bool) -> str:
        return "ok  " if ok else "MISS"

    lines = [f"device {r['device']}  jax {r['jax']}  python {r['python']}", ""]
    lines.append(f"{'workload':<10}{'engine ep/s':>14}{'numpy ep/s':>13}{'ratio':>8}"
                 + (f"{'torch ep/s':>13}{'ratio':>8}" if r["torch"] else ""))
    for k in WORKLOADS:
        line = (f"{k:<10}{r[f'engine_epochs_per_s_{k}']:>14,.0f}"
                f"{r[f'numpy_epochs_per_s_{k}']:>13,.0f}{r[f'ratio_vs_numpy_{k}']:>7.1f}x")
        if r["torch"]:
            line += f"{r[f'torch_epochs_per_s_{k}']:>13,.0f}{r[f'ratio_vs_torch_{k}']:>7.1f}x"
        lines.append(line)
    g = GOALS
    lines += [
        "",
        f"{mark(min(r['ratio_vs_numpy_small'], r['ratio_vs_numpy_big']) >= g['ratio_vs_numpy'])}"
        f" engine >= {g['ratio_vs_numpy']:.0f}x NumPy on both workloads",
        f"{mark(r['frame_ms_big'] <= g['frame_ms_big'])} UI frame, big net: "
        f"{r['frame_ms_big']:.2f} ms (goal <= {g['frame_ms_big']} ms; small net "
        f"{r['frame_ms_small']:.2f} ms)",
        f"{mark(r['recompiles_on_lr_change'] == 0)} recompiles when the learning rate "
        f"changes: {r['recompiles_on_lr_change']} (other values: "
        f"{r['recompiles_on_value_changes']})",
        f"{mark(r['compile_s_new_architecture'] <= g['compile_s'])} compile after an "
        f"architecture change: {r['compile_s_new_architecture']:.2f} s "
        f"(goal <= {g['compile_s']} s)",
    ]
    return "\n".join(lines)


__all__ = ["format_report", "run_benchmark", "workload_spec"]


