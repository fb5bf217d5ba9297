"""Environment steps and learning updates per second of the fused DQN loop on CartPole.

The engine's ``source_dqn`` preset (``engine.rl``: 8 cart-poles stepped at once with
``vmap``, one learning update per iteration, all in one ``lax.scan``), and the same
with one environment (one update per environment step, the reference's ratio),
against a straightforward PyTorch DQN: gymnasium's ``CartPole-v1``, one environment,
eager updates, the same network (4 -> 64 ReLU -> 2), Adam 0.001, squared error,
batch 64, a NumPy ring buffer of 10,000, the target copied every 100 updates. The
reference runs in whatever Python has torch and gymnasium (``--torch-python``,
default ``/work/torchvenv/bin/python`` when it exists, else this one), in a
subprocess of the same run, on one thread (faster than two here). Goal: at least
10x the reference's environment steps/s.

    python benchmarks/rl_bench.py [--json] [--frames 2000] [--torch-python PY]
    python benchmarks/rl_bench.py --torch [--steps 3000]   # the reference alone (JSON)

Only the standard library is imported at the top: the reference mode runs without JAX.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

TORCH_PYTHON = "/work/torchvenv/bin/python"
LEARNING_STARTS, BATCH, CAPACITY, TARGET_PERIOD = 1000, 64, 10_000, 100


def torch_figures(steps: int, seed: int = 0) -> dict:
    """The PyTorch reference: env steps/s while learning (one update per step) and
    while only acting (the network picks actions, no updates)."""
    import gymnasium as gym
    import numpy as np
    import torch
    from torch import nn

    # One thread: at these sizes extra threads only add synchronisation, and on a busy
    # 2-core machine two spinning threads made each update ~100x slower (31 ms vs 0.33).
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    q = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
    target = copy.deepcopy(q)
    opt = torch.optim.Adam(q.parameters(), lr=1e-3)
    buf = {"obs": np.zeros((CAPACITY, 4), np.float32), "next": np.zeros((CAPACITY, 4), np.float32),
           "action": np.zeros(CAPACITY, np.int64), "reward": np.zeros(CAPACITY, np.float32),
           "terminal": np.zeros(CAPACITY, np.float32)}
    box = {"obs": obs, "pos": 0, "size": 0, "updates": 0, "t": 0}

    def act(eps: float) -> int:
        if rng.random() < eps:
            return int(rng.integers(2))
        with torch.no_grad():
            return int(q(torch.as_tensor(box["obs"])).argmax())

    def learn() -> None:
        idx = rng.integers(0, box["size"], BATCH)
        o, n = torch.as_tensor(buf["obs"][idx]), torch.as_tensor(buf["next"][idx])
        with torch.no_grad():
            y = torch.as_tensor(buf["reward"][idx]) + 0.99 * (
                1 - torch.as_tensor(buf["terminal"][idx])) * target(n).max(1).values
        q_taken = q(o).gather(1, torch.as_tensor(buf["action"][idx])[:, None])[:, 0]
        loss = nn.functional.mse_loss(q_taken, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        box["updates"] += 1
        if box["updates"] % TARGET_PERIOD == 0:
            target.load_state_dict(q.state_dict())

    def run(n: int, learning: bool) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            eps = max(0.05, 1.0 - box["t"] / 10_000)
            a = act(eps)
            nxt, r, terminated, truncated, _ = env.step(a)
            p = box["pos"]
            buf["obs"][p], buf["next"][p], buf["action"][p] = box["obs"], nxt, a
            buf["reward"][p], buf["terminal"][p] = r, float(terminated)
            box["pos"], box["size"] = (p + 1) % CAPACITY, min(box["size"] + 1, CAPACITY)
            box["obs"] = env.reset()[0] if terminated or truncated else nxt
            box["t"] += 1
            if learning:
                learn()
        return time.perf_counter() - t0

    acting_s = run(LEARNING_STARTS, learning=False)
    learning_s = run(steps, learning=True)
    per_s = round(steps / learning_s)
    return {"env_steps_per_s": per_s, "updates_per_s": per_s,
            "acting_env_steps_per_s": round(LEARNING_STARTS / acting_s),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def engine_figures(config, frames: int, repeats: int = 3) -> dict:
    """The fused loop's env steps/s and updates/s (best of ``repeats`` calls of
    ``frames`` iterations, after a compiling call that also fills the buffer)."""
    import jax

    from engine.rl import dqn

    state, _ = dqn.train(dqn.init(config), frames)
    best, updates = float("inf"), 0
    for _ in range(repeats):
        before = int(state.updates)
        t0 = time.perf_counter()
        state, _ = dqn.train(state, frames)
        jax.block_until_ready(state.params)
        seconds = time.perf_counter() - t0
        if seconds < best:
            best, updates = seconds, int(state.updates) - before
    return {"n_envs": config.n_envs, "env_steps_per_s": round(frames * config.n_envs / best),
            "updates_per_s": round(updates / best), "frame_ms": round(1000 * best, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--frames", type=int, default=2000, help="iterations per compiled call")
    ap.add_argument("--torch", action="store_true", help="run the PyTorch reference only")
    ap.add_argument("--steps", type=int, default=3000, help="reference steps while learning")
    ap.add_argument("--torch-python", default=None)
    args = ap.parse_args()
    if args.torch:
        print(json.dumps(torch_figures(args.steps)))
        return 0

    import jax

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.reference import reference_figures
    from engine.rl import preset

    python = args.torch_python or (TORCH_PYTHON if os.path.exists(TORCH_PYTHON) else None)
    source = preset("source_dqn")
    result: dict = {"device": str(jax.devices()[0]), "cpus": os.cpu_count(),
                    "machine": platform.processor() or platform.machine(),
                    "fused": engine_figures(source, args.frames),
                    "fused_one_env": engine_figures(source.replace(n_envs=1), args.frames)}
    ref = reference_figures("rl_bench.py", ["--torch", "--steps", str(args.steps)], python)
    if ref is not None:
        result["torch"] = ref
        for name in ("fused", "fused_one_env"):
            r = result[name]
            r["env_steps_ratio"] = round(r["env_steps_per_s"] / ref["env_steps_per_s"], 1)
            r["updates_ratio"] = round(r["updates_per_s"] / ref["updates_per_s"], 1)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"device: {result['device']}, {result['cpus']} CPUs ({result['machine']}); "
          f"{args.frames} iterations per compiled call")
    for name, label in (("fused", "engine, 8 envs"), ("fused_one_env", "engine, 1 env")):
        r = result[name]
        line = (f"{label:16s} {r['env_steps_per_s']:9,} env steps/s, {r['updates_per_s']:8,} "
                f"updates/s ({r['frame_ms']:.1f} ms a call)")
        if ref is not None:
            line += f": {r['env_steps_ratio']}x / {r['updates_ratio']}x PyTorch"
        print(line)
    if ref is None:
        print("PyTorch reference: not available (pass --torch-python)")
    else:
        print(f"{'PyTorch eager':16s} {ref['env_steps_per_s']:9,} env steps/s, "
              f"{ref['updates_per_s']:8,} updates/s (one update a step; acting alone "
              f"{ref['acting_env_steps_per_s']:,} steps/s; torch {ref['torch']}, "
              f"{ref['threads']} threads)")
        print(f"goal: 10x the environment steps/s: {result['fused']['env_steps_ratio']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
