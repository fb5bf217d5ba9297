"""What one session may ask of the server, and pacing training to a time budget.

A link is enough to ask for any network the engine accepts: 32 dense layers of
512 units on 10,000 points, 10,000 sequences of length 1,000. One visitor must not
take the server's memory or its cores from thirty others, so the app refuses a
setup beyond these limits (saying what to lower) and trains the rest in calls of
about ``CALL_SECONDS`` each, so that Pause, Reset, leaving the page or closing the
tab take effect within that time. The estimates come from ``Experiment.cost``
(shapes only: nothing is built on the device before the check).

The limits are sized so that every preset and the pages' defaults run freely
(a test checks it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import engine

MAX_PARAMS = 4_000_000
"""Trainable parameters of one network (the source material's MNIST CNN has 2.8 M)."""

MAX_MEMORY_BYTES = 400 * 2**20
"""Device memory one session's training may need (``Cost.memory_bytes``)."""

MAX_EVAL_FLOPS = 40e9
"""Arithmetic of one evaluation of every split (done at each epoch's end, in one call)."""

CALL_SECONDS = 0.25
"""Target wall time of one compiled training call while playing (one drawn frame)."""

STEP_SECONDS = 2.0
"""Target wall time of the Step button's call (one epoch, or what fits)."""

ASSUMED_FLOPS = 3e10
"""Operations per second assumed before the first call of a network is timed."""

ROUND_FLOPS = 3e11
"""Arithmetic of one round of a hyperparameter search (every configuration it trains):
about 10 s at ``ASSUMED_FLOPS``, during which the page cannot be stopped."""

GRID_FLOPS = 1e9
"""Arithmetic of the output and neuron grids a frame draws: a wide, deep network draws
them coarser (a 6 x 256 network: 38 x 38 instead of 100 x 100)."""


# What a layer adds to the compiled program (its weight in ``graph_weight``): compiling
# grows faster than linearly with the number of layers, and 32 dense layers with batch
# norm took 88 s and 7.5 GB to compile on the Playground (a link needs no click).
GRAPH_WEIGHTS = {"dense": 1.0, "batch_norm": 1.0, "layer_norm": 0.5, "dropout": 0.25,
                 "activation": 0.25, "conv2d": 2.0, "max_pool": 0.5, "avg_pool": 0.5,
                 "global_avg_pool": 0.25, "flatten": 0.25, "embedding": 0.5,
                 "positional": 0.25, "rnn": 2.0, "lstm": 3.0, "gru": 3.0, "attention": 3.0,
                 "transformer": 5.0, "pool": 0.25}


def graph_weight(spec: engine.Spec) -> float:
    """How much compiling ``spec``'s network costs, in rough layer units (a normalised
    dense layer counts double, a bidirectional recurrent layer twice its cell)."""
    total = 0.0
    for layer in spec.model.layers:
        opts = layer.opts()
        w = GRAPH_WEIGHTS.get(layer.type, 1.0)
        w += 1.0 if opts.get("norm", "none") != "none" else 0.0
        total += w * (2 if opts.get("bidirectional") else 1)
    return total


def refusal(exp: engine.Experiment, graph_budget: float = float("inf"),
            copies: int = 1) -> str | None:
    """Why ``exp`` is too big for one session, with what to lower; None if it fits.

    ``graph_budget`` bounds ``graph_weight`` (each page draws its own probes, so each
    sets its own). ``copies``: how many such networks the page trains at once (the
    Optimizer race's contestants): memory and evaluation count them all.
    """
    weight = graph_weight(exp.spec)
    if weight > graph_budget:
        return (f"this network is too deep for this page to compile quickly ({weight:g} "
                f"layer units; at most {graph_budget:g}, a normalised dense layer counting "
                "2 and a transformer block 5): use fewer layers")
    cost = exp.cost
    if cost.params > MAX_PARAMS:
        return (f"this network has {cost.params:,} parameters; one session may train at most "
                f"{MAX_PARAMS:,}: use fewer or narrower layers")
    if cost.memory_bytes * copies > MAX_MEMORY_BYTES:
        what = f"{copies} copies of this setup" if copies > 1 else "this setup"
        return (f"training {what} needs about {cost.memory_bytes * copies / 2**20:,.1f} MB; one "
                f"session may use {MAX_MEMORY_BYTES / 2**20:,.0f} MB: lower the batch size, "
                "the number of points or sequences, the sequence length or the layers' width")
    eval_flops = cost.eval_examples * cost.forward_flops * copies
    if eval_flops > MAX_EVAL_FLOPS:
        return (f"evaluating this setup after each epoch takes about {eval_flops / 1e9:,.1f} "
                f"billion operations; one session may use {MAX_EVAL_FLOPS / 1e9:,.0f}: use "
                "fewer points or sequences, shorter sequences or a smaller network")
    return None


def data_refusal(spec: engine.Spec, raw: engine.RawData | None = None) -> str | None:
    """Why ``spec``'s pictures are too many or too large for one session, checked
    before any is drawn (``refusal`` needs the built experiment, and a link's 25,000
    pictures of 64 x 64 took 0.8 GB and 5 s of CPU to make before it refused them);
    None if they fit. The same bytes as ``refusal`` counts for the data alone, so it
    refuses nothing ``refusal`` would accept."""
    need = engine.planned_data_bytes(spec, raw)
    if need is None or need <= MAX_MEMORY_BYTES:
        return None
    return (f"its pictures need about {need / 2**20:,.1f} MB; one session may use "
            f"{MAX_MEMORY_BYTES / 2**20:,.0f} MB: use fewer pictures or a smaller size")


def round_refusal(flops: float) -> str | None:
    """Why a search round of ``flops`` operations is too big, with what to lower."""
    if flops <= ROUND_FLOPS:
        return None
    return (f"one round of this search needs about {flops / 1e9:,.0f} billion operations "
            f"(about {flops / ASSUMED_FLOPS:,.0f} s on this server); a round may use "
            f"{ROUND_FLOPS / 1e9:,.0f} billion: lower the epochs, the round size, the width "
            "(units) or raise the smallest batch size")


def fit_probes(exp: engine.Experiment, probes: engine.ProbeOptions,
               copies: int = 1) -> engine.ProbeOptions:
    """``probes`` with grids no finer than ``GRID_FLOPS`` allows for this network
    (``copies``: networks probed in the same call, e.g. a race's contestants)."""
    forward = max(exp.cost.forward_flops * copies, 1.0)
    side = int((GRID_FLOPS / forward) ** 0.5)
    if probes.resolution <= side and probes.neuron_resolution <= side:
        return probes
    return dataclasses.replace(probes, resolution=min(probes.resolution, max(side, 16)),
                               neuron_resolution=min(probes.neuron_resolution, max(side, 8)))


@dataclass(frozen=True)
class Plan:
    """How much the next call trains: ``count`` epochs, or steps when ``by_steps``."""

    count: int
    by_steps: bool
    paced: bool  # fewer than asked for, to stay within the call's time budget


def plan(exp: engine.Experiment, count: int, by_steps: bool,
         seconds_per_step: float | None, seconds: float = CALL_SECONDS) -> Plan:
    """Fit a call of ``count`` epochs (or steps) into ``seconds``.

    ``seconds_per_step`` is the measured pace of this network (None before its
    first timed call: then the cost estimate's). Epochs become fewer epochs, or
    steps when even one epoch is too long.
    """
    if count <= 0:
        return Plan(count, by_steps, False)
    if seconds_per_step is None:
        seconds_per_step = exp.cost.step_flops / ASSUMED_FLOPS + 2e-6
    per_epoch = exp.steps_per_epoch
    want = count if by_steps else count * per_epoch
    afford = max(1, int(seconds / max(seconds_per_step, 1e-9)))
    if want <= afford:
        return Plan(count, by_steps, False)
    if not by_steps and per_epoch <= afford:
        return Plan(afford // per_epoch, False, True)
    return Plan(afford, True, True)


def update_pace(old: float | None, seconds: float, steps: int) -> float:
    """The pace after a call of ``steps`` steps that took ``seconds``.

    A call that compiled (or met a slow moment) is far slower than the next: a rise
    is only half taken, a fall fully, so one slow call costs at most one small frame.
    """
    new = seconds / max(steps, 1)
    return new if old is None or new <= old else (old + new) / 2
