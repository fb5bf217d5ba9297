"""The Reinforcement learning page's pieces without Streamlit: the controls' table, the
link, the history of a run and the frame the view draws.

``FIELDS`` describes every number of a ``engine.rl.DQNConfig`` a user may set once:
its label, its menu, the range a link may ask for and whether changing it starts the
run afresh (the engine's ``DQNStructure``, and the seed). The sidebar and the link
both derive from it. A link carries only the config's differences from the default
preset, as compact JSON (``rl={"learning_rate":0.01}``).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from engine import EngineError, SpecError
from engine.rl import SOURCE, DQNConfig, DQNLog, QSlice, cartpole, dqn
from engine.untrusted import parse_json
from playground.core.encode import CURVE_POINTS, b64, finite, symmetric_bytes, unit_bytes

AVERAGE_OF = 100  # episodes in the moving average (CartPole-v1 is solved at 475 over 100)
SOLVED = 475.0
MAX_EPISODES = 100_000  # returns kept per run (older ones are thinned beyond that)
MAX_LINK = 2000  # characters of a link's ``rl`` parameter
SLICE_RESOLUTION = 41
OMEGA_MAX = 2.0  # rad/s: the slice's angular velocities


class Field(NamedTuple):
    """One setting of the page: its control and what a link may ask for."""

    label: str
    options: tuple  # the control's menu (a link's value joins it)
    lo: float  # a link's range (inclusive)
    hi: float
    kind: type  # int, float, bool or str (hidden: a tuple of ints)
    fresh: bool  # changing it starts the run afresh
    help: str


_INT_HI = 10_000_000
FIELDS: dict[str, Field] = {
    "learning_rate": Field("Learning rate", (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1),
                           1e-7, 1.0, float, False,
                           "The optimizer's step size. Too large and the Q-values blow up."),
    "gamma": Field("Discount gamma", (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999), 0.0, 1.0,
                   float, False, "How much a reward one step later is worth: the agent plans "
                   "about 1 / (1 - gamma) steps ahead."),
    "eps_start": Field("Epsilon at the start", (0.0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0),
                       0.0, 1.0, float, False, "The share of random actions at first."),
    "eps_end": Field("Epsilon at the end", (0.0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2), 0.0, 1.0,
                     float, False, "The share of random actions once the schedule is over."),
    "eps_decay_steps": Field("Epsilon decay (environment steps)",
                             (1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000), 1, _INT_HI,
                             int, False, "Epsilon falls linearly over this many steps."),
    "target_period": Field("Target network update period (updates)",
                           (1, 10, 50, 100, 200, 500, 1000), 1, _INT_HI, int, False,
                           "Every this many learning updates the target network takes the "
                           "online one's weights (1: no target network)."),
    "tau": Field("Target mixing tau", (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0), 1e-6, 1.0,
                 float, False, "1 copies the online network at each target update; below 1 "
                 "blends it in (Polyak averaging)."),
    "buffer_size": Field("Experience buffer size", (64, 256, 1000, 5000, 10_000, 50_000, 100_000),
                         1, 200_000, int, True, "Transitions remembered; each update learns "
                         "from a random batch of them."),
    "batch_size": Field("Batch size", (16, 32, 64, 128, 256), 1, 1024, int, True,
                        "Transitions per learning update."),
    "hidden": Field("Hidden layers", ((16,), (32,), (64,), (128,), (32, 32), (64, 64),
                                      (128, 128)), 1, 512, tuple, True,
                    "The Q-network's hidden units (4 state values in, 2 Q-values out)."),
    "loss": Field("Loss", tuple(dqn.LOSSES), 0, 0, str, True,
                  "Squared error (as the source material) or Huber (linear for errors "
                  "beyond 1: large TD errors pull less)."),
    "double": Field("Double DQN", (False, True), 0, 1, bool, True,
                    "Choose the next action with the online network, score it with the "
                    "target one: less overestimation."),
    "n_envs": Field("Environments at once", (1, 2, 4, 8, 16, 32), 1, 64, int, True,
                    "Cart-poles stepped together (vmap) each iteration."),
    "optimizer": Field("Optimizer", (), 0, 0, str, True, "The optimizer of the Q-network."),
    "activation": Field("Activation", (), 0, 0, str, True, "The hidden units' activation."),
    "seed": Field("Seed", (), 0, 2**31 - 1, int, True, "Weights, environments, exploration."),
    "learning_starts": Field("Learning starts (environment steps)", (), 0, _INT_HI, int, False,
                             "Steps of acting before the first update."),
    "train_every": Field("Train every (iterations)", (), 1, 1000, int, False,
                         "Iterations between learning updates."),
    "init": Field("Initializer", (), 0, 0, str, True, "The weights' initializer."),
}
MAX_LAYERS = 4


def _checked(name: str, value: Any) -> Any:
    """A link's ``value`` for field ``name``, of the right type and in range."""
    f = FIELDS[name]
    if f.kind is tuple:
        if (not isinstance(value, list) or not 1 <= len(value) <= MAX_LAYERS
                or not all(type(u) is int and f.lo <= u <= f.hi for u in value)):
            raise SpecError(name, f"must be a list of 1 to {MAX_LAYERS} whole numbers from "
                                  f"{int(f.lo)} to {int(f.hi)}")
        return tuple(value)
    if f.kind is bool or f.kind is str:
        if type(value) is not f.kind:
            raise SpecError(name, f"must be {'true or false' if f.kind is bool else 'a name'}")
        return value
    number = type(value) is int or (f.kind is float and type(value) is float)
    if not number or not math.isfinite(value) or not f.lo <= value <= f.hi:
        what = (f"a whole number from {int(f.lo)} to {int(f.hi)}" if f.kind is int else
                f"a number from {f.lo:g} to {f.hi:g}")
        raise SpecError(name, f"must be {what}")
    return f.kind(value)


def config_from(d: dict[str, Any], base: DQNConfig = SOURCE) -> DQNConfig:
    """``base`` with the fields in ``d`` (from a link or the controls), each checked.

    Raises:
        SpecError: an unknown field, a value of the wrong type or out of range, or a
            combination ``DQNConfig`` refuses; the message names the field.
    """
    if not isinstance(d, dict):
        raise SpecError("", "must be a JSON object of settings")
    for name in d:
        if name not in FIELDS:
            raise SpecError(str(name)[:30], f"is not a setting; choose from: "
                                            f"{', '.join(FIELDS)}")
    return base.replace(**{name: _checked(name, v) for name, v in d.items()})


def differences(config: DQNConfig, base: DQNConfig = SOURCE) -> dict[str, Any]:
    """The fields of ``config`` that differ from ``base`` (JSON-able)."""
    return {name: list(v) if isinstance(v, tuple) else v for name in FIELDS
            if (v := getattr(config, name)) != getattr(base, name)}


def to_query(config: DQNConfig) -> str:
    """The link's ``rl`` parameter of ``config`` ("" for the default)."""
    diff = differences(config)
    return json.dumps(diff, separators=(",", ":")) if diff else ""


def from_query(text: str) -> DQNConfig:
    """The config a link's ``rl`` parameter describes.

    Raises:
        EngineError: why it cannot be used (too long, not JSON, a bad field).
    """
    if len(text) > MAX_LINK:
        raise SpecError("rl", f"is {len(text)} characters long; at most {MAX_LINK}")
    return config_from(parse_json(text, what="the link's setup", max_chars=MAX_LINK))


def to_json(config: DQNConfig) -> str:
    """Every field of ``config`` as indented JSON (the export)."""
    return json.dumps({k: list(v) if isinstance(v, tuple) else v
                       for k, v in dataclasses.asdict(config).items()}, indent=2)


def starts_afresh(old: DQNConfig, new: DQNConfig) -> bool:
    """Whether going from ``old`` to ``new`` changes the structure or the seed."""
    return any(getattr(old, n) != getattr(new, n) for n, f in FIELDS.items() if f.fresh)


# -- the run's history ----------------------------------------------------------------------

@dataclass(frozen=True)
class History:
    """What the curves show, as NumPy arrays.

    Attributes:
        ret_at, ret: ``(episodes,)``: the environment step each episode ended at, its
            return.
        at: ``(frames,)``: the environment step at the end of each trained chunk.
        loss, epsilon, mean_q: ``(frames,)``: each chunk's mean loss (NaN without an
            update), last epsilon and mean ``max_a Q``.
    """

    ret_at: np.ndarray
    ret: np.ndarray
    at: np.ndarray
    loss: np.ndarray
    epsilon: np.ndarray
    mean_q: np.ndarray

    @staticmethod
    def empty() -> History:
        return History(*(np.zeros(0, np.float64) for _ in range(6)))

    def record(self, log: DQNLog, iteration_before: int, n_envs: int) -> History:
        """This history with a ``train`` call's log appended."""
        frames = len(log.loss)
        if not frames:
            return self
        done = ~np.isnan(log.returns)  # (frames, E)
        rows = np.nonzero(done)[0]
        ret_at = np.concatenate([self.ret_at, (iteration_before + rows + 1.0) * n_envs])
        ret = np.concatenate([self.ret, log.returns[done]])
        if len(ret) > MAX_EPISODES:  # thin the older half
            half = len(ret) // 2
            keep = np.r_[np.arange(0, half, 2), np.arange(half, len(ret))]
            ret_at, ret = ret_at[keep], ret[keep]
        learned = ~np.isnan(log.loss)
        loss = float(np.mean(log.loss[learned])) if learned.any() else math.nan
        return History(ret_at, ret,
                       np.append(self.at, (iteration_before + frames) * n_envs),
                       np.append(self.loss, loss), np.append(self.epsilon, log.epsilon[-1]),
                       np.append(self.mean_q, float(np.mean(log.mean_q))))

    def diverged(self) -> bool:
        """The last chunk's loss or Q-values are NaN or infinite."""
        return bool(len(self.at) and (not np.isfinite(self.mean_q[-1])
                                      or np.isinf(self.loss[-1])))

    def average(self) -> float | None:
        """The mean return of the last ``AVERAGE_OF`` episodes (None before any)."""
        return float(np.mean(self.ret[-AVERAGE_OF:])) if len(self.ret) else None


def _pick(n: int, points: int = CURVE_POINTS) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, points)).astype(int)) if n else np.zeros(0, int)


def _rounded(a: np.ndarray, digits: int = 4) -> list:
    return finite(np.round(np.asarray(a, np.float64), digits))


def curves(h: History) -> dict[str, Any]:
    """The curves, downsampled: returns (dots and their moving average) and the per-chunk
    loss, epsilon and mean Q, each against environment steps."""
    n = len(h.ret)
    c = np.cumsum(np.r_[0.0, h.ret])
    lo = np.maximum(np.arange(1, n + 1) - AVERAGE_OF, 0)
    avg = (c[1:] - c[lo]) / (np.arange(1, n + 1) - lo) if n else np.zeros(0)
    i, j = _pick(n), _pick(len(h.at))
    return {"ret_at": _rounded(h.ret_at[i], 0), "ret": _rounded(h.ret[i], 1),
            "avg": _rounded(avg[i], 1), "at": _rounded(h.at[j], 0),
            "loss": _rounded(h.loss[j], 6), "epsilon": _rounded(h.epsilon[j], 4),
            "mean_q": _rounded(h.mean_q[j], 3)}


def slice_frame(qs: QSlice) -> dict[str, Any]:
    """The Q-value heatmaps: ``max_a Q`` (0..255 over its range) and the advantage of
    pushing right, ``Q(s, right) - Q(s, left)`` (128 = equal), rows up in omega."""
    mq = np.asarray(qs.max_q, np.float64)
    ok = np.isfinite(mq)
    lo, hi = (float(mq[ok].min()), float(mq[ok].max())) if ok.any() else (0.0, 1.0)
    gap = np.asarray(qs.q[..., 1] - qs.q[..., 0], np.float64)
    return {"res": len(qs.theta), "theta_max": float(np.degrees(qs.theta[-1])),
            "omega_max": float(qs.theta_dot[-1]), "q": b64(unit_bytes(mq, lo, hi)),
            "q_lo": lo, "q_hi": hi, "gap": b64(symmetric_bytes(gap)),
            "policy": b64(np.asarray(qs.policy, np.uint8))}


def rollout_frame(ep: cartpole.Episode, rid: int, at_step: int) -> dict[str, Any]:
    """A greedy episode for the animation: the states visited (x, theta, omega) and the
    actions, cut at the episode's end."""
    n = int(np.asarray(ep.alive).sum())
    obs = np.asarray(ep.obs[:n + 1], np.float64)  # (n + 1, 4)
    return {"id": rid, "at": int(at_step), "ret": float(ep.ret),
            "x": _rounded(obs[:, 0]), "theta": _rounded(obs[:, 2]),
            "omega": _rounded(obs[:, 3]), "action": np.asarray(ep.actions[:n]).tolist(),
            "x_max": cartpole.X_THRESHOLD, "theta_max": math.degrees(cartpole.THETA_THRESHOLD),
            "capped": n >= cartpole.MAX_STEPS}


def stats(config: DQNConfig, iteration: int, updates: int, h: History,
          greedy: float | None) -> dict[str, Any]:
    """The numbers above the view."""
    return {"steps": iteration * config.n_envs, "iteration": iteration, "updates": updates,
            "episodes": len(h.ret), "average": h.average(), "solved": SOLVED,
            "epsilon": float(h.epsilon[-1]) if len(h.epsilon) else config.eps_start,
            "loss": float(h.loss[-1]) if len(h.loss) else None,
            "mean_q": float(h.mean_q[-1]) if len(h.mean_q) else None, "greedy": greedy}


def check_link(text: str) -> tuple[DQNConfig, str | None]:
    """The link's config, or the default and one message saying why not."""
    try:
        return from_query(text), None
    except EngineError as err:
        return SOURCE, f"The link's setup could not be used ({err}). Showing the default."


# -- what a frame may cost -------------------------------------------------------------------

def iteration_flops(c: DQNConfig) -> float:
    """About how many arithmetic operations one iteration of ``c`` takes: every
    environment's action (a forward pass each) and, every ``train_every`` iterations, a
    learning update (forward passes of the online and target networks over a batch, and
    the backward pass, about two forward passes)."""
    sizes = (len(cartpole.OBS_NAMES), *c.hidden, dqn.N_ACTIONS)
    params = sum(a * b + b for a, b in itertools.pairwise(sizes))
    passes = 5 if c.double else 4  # double DQN: the online network on the next states too
    return 2.0 * params * (c.n_envs + passes * c.batch_size / c.train_every)


def cost_refusal(c: DQNConfig, iterations: int, flops_per_s: float, seconds: float
                 ) -> str | None:
    """Why ``c`` is too costly for a live page whose slowest frame trains ``iterations``
    iterations within ``seconds`` at ``flops_per_s`` (None: it fits), with what to
    lower."""
    need = iteration_flops(c) * iterations / flops_per_s
    if need <= seconds:
        return None
    return (f"a frame of {iterations} iterations of this network would take about "
            f"{need:.1f} s of this server, at most {seconds:g} s: lower the hidden layers' "
            "units, the batch size or the number of environments, or raise train every")


class Pace(NamedTuple):
    """Seconds an iteration of a network took (``pace_key``): measured, else estimated
    (``iteration_flops`` at the server's assumed speed); and the counts of iterations
    already run once (a count's first call may compile: not measured)."""

    key: tuple
    seconds: float
    seen: frozenset[int] = frozenset()


def pace_key(c: DQNConfig) -> tuple:
    """What an iteration's time depends on: the network and how often it learns (not
    the values, which a slider changes while playing and which compile nothing)."""
    return dqn.structure_of(c), c.train_every


def pace_of(stored: Pace | None, c: DQNConfig, flops_per_s: float) -> Pace:
    """``stored`` if it is ``c``'s, else a pace estimated from ``c``'s arithmetic."""
    if stored is not None and stored.key == pace_key(c):
        return stored
    return Pace(pace_key(c), iteration_flops(c) / flops_per_s)


def paced(count: int, speeds: tuple[int, ...], pace: Pace, seconds: float) -> int:
    """The iterations a call trains: ``count``, or the largest of ``speeds`` (each
    compiled) below it that fits ``seconds`` at ``pace``; at least the smallest speed.
    A costly network's frames so stay short (as ``limits.plan`` keeps the other
    pages'), and a click is answered."""
    fits = [s for s in speeds if s <= count and s * pace.seconds <= seconds]
    return max(fits) if fits else min(speeds)


def measured(pace: Pace, count: int, took: float) -> Pace:
    """``pace`` after ``count`` iterations took ``took`` seconds."""
    seconds = took / count if count in pace.seen and count > 0 else pace.seconds
    return pace._replace(seconds=seconds, seen=pace.seen | {count})
