"""The Optimizer race: one network, several optimizers or learning rates, trained at once.

Every contestant starts from the same weights on the same data and differs only in
its optimizer and learning rate. They train together in one compiled call
(``engine.sweep``: a vmap over contestants), so a frame of eight networks costs
about what one network's does. The page draws a small decision boundary per
contestant, the loss curves overlaid and a leaderboard; under the view, the loss
landscape around a contestant's weights with its path on it (``landscape.py``).

Contestants travel in the link as ``race=sgd:0.03,adam:0.003`` beside the network's
``s``; any change of the setup starts the race again (a race is only fair from the
same start).
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np
import streamlit as st

import engine
from engine import OPTIMIZERS, EngineError, Spec
from engine.presets import preset
from engine.sweep_presets import RACES, race_specs
from playground import lab_frame, landscape
from playground.core import controls as C
from playground.core import limits, session
from playground.core.encode import curve, plain
from playground.core.livepage import Frame, LivePage, points_only
from playground.core.session import wkey
from playground.lab import network_section
from playground.race_link import (
    CONTESTANTS,
    DEFAULT_RACE,
    MAX_CONTESTANTS,
    Contestants,
    contestants,
    label,
    set_contestants,
)

PREFIX = "race"
TILE_RESOLUTION = 48  # side of each contestant's output grid
PROBES = engine.ProbeOptions(resolution=TILE_RESOLUTION, neuron_resolution=0, gradients=False)
SPEEDS = (1, 2, 5, 10, 25, 50)
TRAJECTORY = 120  # parameter snapshots kept per race (for the loss landscape)
TRAJECTORY_BYTES = 48 * 2**20  # ... and at most this much host memory for them
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#17becf")
MENU_RACE = "pg_menu_race"  # the contestants the race menu last named
OWN_RACE = ""  # the race menu's entry for contestants of no named race


# -- the sidebar --------------------------------------------------------------------------

def race_menu() -> None:
    """The named races: "Load" sets the network and the contestants. While the race that
    runs is none of them (a link's or the user's own), the menu says so rather than
    naming a race that is not running."""
    names = RACES.names()
    cs = session.get(CONTESTANTS)
    running = next((n for n in names if RACES.get(n).contestants == cs), OWN_RACE)
    options = names if running != OWN_RACE else [OWN_RACE, *names]
    # name the running race when it changes; a pick not loaded yet stays until then
    if session.get(MENU_RACE) != cs or session.value("race_preset") not in options:
        session.put(MENU_RACE, cs)
        session.set_widget("race_preset", running)
    if C.load_menu("Race", options, lambda n: (
            "Your own race" if n == OWN_RACE else RACES.get(n).title), "race_preset",
            "race_load", lambda n: "The contestants below are this link's or your own. Pick "
            "a named race and press Load to race it instead." if n == OWN_RACE
            else RACES.get(n).explanation, st.caption, own=OWN_RACE):
        race, before = RACES.get(session.value("race_preset")), session.get(CONTESTANTS)
        set_contestants(race.contestants)
        if session.apply_spec(preset(race.base)):
            session.drop(session.RACE)  # Load starts afresh, the race running included
            session.bump_widgets()
            st.rerun()
        set_contestants(before)  # refused (said why): the race that ran stays whole


def contestants_section(cs: Contestants) -> Contestants:
    """Optimizers side by side (each at its own rate), or one optimizer at several rates."""
    same = len({name for name, _ in cs}) == 1 and len(cs) > 1
    modes = ("Optimizers", "Learning rates")
    mode = st.radio("Compare", modes, index=int(same), horizontal=True,
                    key=wkey("race_mode"), help="Several optimizers, each at its own rate; "
                    "or one optimizer at several learning rates")
    names = OPTIMIZERS.names()
    if mode == "Learning rates":
        name = C.pick("Optimizer", names, cs[0][0], "race_opt",
                      help=OPTIMIZERS.describe(cs[0][0]), format_func=OPTIMIZERS.title)
        was = sorted({lr for _, lr in cs})
        options = sorted(set(C.LEARNING_RATES) | set(was))
        rates = st.multiselect("Learning rates", options, default=was, key=wkey("race_lrs"),
                               max_selections=MAX_CONTESTANTS,
                               help="Each is one contestant, from the same weights")
        if same and name == cs[0][0] and sorted(rates) == was:
            return cs  # nothing moved: a link's order (or a repeated rate) stays as it is
        return tuple((name, float(lr)) for lr in sorted(rates)) or cs
    # Pills: every optimizer in sight, the racing ones lit (a multiselect's box clipped
    # its chips to three, "Nesterov mo..."); there are fewer than MAX_CONTESTANTS.
    chosen = st.pills("Optimizers", names, selection_mode="multi", default=list(
        dict.fromkeys(n for n, _ in cs)), key=wkey("race_opts"),
        format_func=OPTIMIZERS.title, help="Each is one contestant, from the same weights")
    if not chosen:
        st.warning("Pick at least one optimizer: until then the race keeps its contestants.")
    # A link's race may hold one optimizer twice (two rates): each contestant keeps its
    # own slider; an optimizer just added joins at a rate that suits it.
    kept = [(n, lr) for n, lr in cs if n in chosen]
    kept += [(n, OPTIMIZERS.get(n).usual_rate) for n in chosen
             if n not in {m for m, _ in kept}]
    out = []
    for i, (name, lr) in enumerate(kept[:MAX_CONTESTANTS]):
        twin = sum(n == name for n, _ in kept[:i])
        title = f"{OPTIMIZERS.title(name)} learning rate" + (f" ({twin + 1})" if twin else "")
        out.append((name, float(st.select_slider(
            title, sorted(set(C.LEARNING_RATES) | {lr}), value=lr,
            key=wkey(f"race_lr_{name}_{twin}"), help=OPTIMIZERS.describe(name)))))
    return tuple(out) or cs


def hyper_section(d: dict) -> dict:
    """What every contestant shares besides the network: the values of their optimizers
    (momentum, RMSprop's decay, Adam's betas, AdamW's weight decay: only those some
    contestant uses), regularisation and the weight seed (the optimizer and its rate
    are the race's)."""
    opt = dict(d["optimizer"])
    used = {f for name, _ in contestants() for f in OPTIMIZERS.get(name).hparams.values()}
    C.optimizer_values(opt, used, "race_", owners=True)
    reg = dict(d["regularization"])
    reg["kind"] = st.selectbox("Regularisation", list(C.PENALTIES),
                               index=list(C.PENALTIES).index(reg["kind"]),
                               format_func=C.PENALTIES.get, help=C.PENALTY_WHAT,
                               key=wkey("race_reg"))
    reg["rate"] = st.select_slider("Regularisation rate",
                                   sorted(set(C.REG_RATES) | {reg["rate"]}),
                                   value=reg["rate"], key=wkey("race_regrate"))
    seed = st.number_input("Weight seed", 0, 2**31 - 1, int(d["seed"]), key=wkey("race_seed"),
                           help="Every contestant starts from this seed's weights")
    return {"optimizer": opt, "regularization": reg, "seed": seed}


def sidebar(spec: Spec, exp: engine.Experiment, hidden: set[str]) -> dict:
    """The race menu, the contestants, then data, network and shared values."""
    cs = contestants()  # the link's race first: the menu names the race that runs
    menu = st.container()  # drawn after the contestants, so it names this run's race
    with st.expander("Contestants", expanded=True):
        new = contestants_section(cs)
    if new != cs:
        try:  # every contestant must make a valid spec before the race changes
            for name, lr in new:
                spec.updated(optimizer={"name": name, "learning_rate": lr})
            set_contestants(new)
        except EngineError as err:
            st.error(plain(f"{err}. The last race is kept."))
    if "presets" not in hidden:
        with menu:
            race_menu()
    d = C.sections(spec.to_dict(), [
        ("data", "Data", C.data_section),
        ("network", "Hidden layers", network_section),
        ("training", "Shared training values", hyper_section),
    ], hidden)
    try:  # the data menu also offers 1-D sets, which the tiles cannot draw
        problem = fits(Spec.from_dict(d))
    except EngineError:
        problem = None  # the session says what is wrong with the values
    if problem:
        st.error(plain(f"This race cannot run: {problem}. The last setup is kept."))
        return spec.to_dict()
    return d


# -- training -----------------------------------------------------------------------------

def _race() -> dict[str, Any]:
    """The session's race for the current setup and contestants (a new one when either
    changed, or after Reset)."""
    spec, cs = session.spec(), contestants()
    race = session.get(session.RACE)
    if race is None or race["key"] != (spec, cs):
        specs = [spec.updated(optimizer={"name": n, "learning_rate": lr}) for n, lr in cs]
        sw = engine.sweep(specs)
        exp = session.experiment()
        race = {"key": (spec, cs), "sweep": sw, "states": sw.init(), "pace": None,
                "history": [{k: [] for k in session.HISTORY_KEYS} for _ in cs],
                "trajectory": [], "snap_every": 1, "frames": 0, "landscape": None,
                "probes": limits.fit_probes(exp, PROBES, sw.fns.capacity),
                "keep": max(0, min(TRAJECTORY, TRAJECTORY_BYTES // max(
                    1, 4 * exp.cost.params * len(cs))))}
        session.put(session.RACE, race)
    return race


def _snapshot(race: dict[str, Any]) -> None:
    """Keep the contestants' weights every few frames: at most ``TRAJECTORY``
    snapshots and ``TRAJECTORY_BYTES`` in all (a big network keeps fewer, or none)."""
    race["frames"] += 1
    if race["frames"] % race["snap_every"] or race["keep"] < 3:
        return
    n = race["sweep"].n  # the padding copies are not kept
    race["trajectory"].append((int(race["states"].epoch.max()), jax.device_get(
        jax.tree_util.tree_map(lambda x: x[:n], race["states"].params))))
    if len(race["trajectory"]) > race["keep"]:  # halve: every other one, then sparser
        race["trajectory"] = race["trajectory"][::2]
        race["snap_every"] *= 2


def train(count: int, budget: float = limits.CALL_SECONDS) -> engine.Probes:
    """Train every contestant ``count`` epochs, or fewer epochs or some steps when that
    would take more than ``budget`` seconds (``limits.plan`` at the race's measured
    pace), and return their probes (leading axis: contestants). When none can go on
    (stopped or diverged), pauses and says so; training again starts a new race."""
    race = _race()
    sw = race["sweep"]
    done = np.asarray(race["states"].monitor.stopped) | np.asarray(
        race["states"].monitor.diverged)
    if count and bool(done[: sw.n].all()):  # Play or Step after the end: race again
        session.drop(session.RACE)
        race = _race()
    exp = session.experiment()
    pace = race["pace"]
    if pace is None:  # before the first timed call: the cost estimate, every copy counted
        pace = sw.fns.capacity * exp.cost.step_flops / limits.ASSUMED_FLOPS + 2e-6
    plan = limits.plan(exp, count, False, pace, budget)
    t0 = time.perf_counter()
    before = np.asarray(race["states"].step)[: sw.n]
    states, chunk = sw.train(race["states"], plan.count, probes=race["probes"],
                             by_steps=plan.by_steps)
    # the most any contestant moved (one that stopped or diverged does not move)
    steps = int(np.max(np.asarray(states.step)[: sw.n] - before))
    if steps > 0:
        race["pace"] = limits.update_pace(race["pace"], time.perf_counter() - t0, steps)
    race["states"] = states
    for i, hist in enumerate(race["history"]):
        trained = chunk.history["trained"][i]
        for k in hist:
            hist[k].extend(np.asarray(chunk.history[k][i])[trained].tolist())
    if count:
        _snapshot(race)
    done = np.asarray(states.monitor.stopped) | np.asarray(states.monitor.diverged)
    if count and bool(done[: sw.n].all()) and session.playing():
        session.set_playing(False)
        session.flash("info", "Every contestant has stopped (early stopping) or diverged: "
                      "training is paused. Press Play to race again from the start.")
    return chunk.probes


# -- frames -------------------------------------------------------------------------------

def standing(states: Any) -> dict[str, np.ndarray]:
    """Each contestant's epoch and whether it diverged or stopped, on the host in one
    transfer: indexing the device arrays contestant by contestant dispatched a gather
    each (with the configurations split across several devices, most of a frame)."""
    epoch, diverged, stopped = jax.device_get(
        (states.epoch, states.monitor.diverged, states.monitor.stopped))
    return {"epoch": epoch, "diverged": diverged, "stopped": stopped}


def leaderboard(race: dict[str, Any], now: dict[str, np.ndarray] | None = None,
                ) -> list[dict[str, Any]]:
    """Contestants ranked by validation loss (training loss without a validation split);
    diverged ones last. ``now``: the race's ``standing``, if the caller has it."""
    cs, now = race["key"][1], now or standing(race["states"])
    rows = []
    for i, (name, lr) in enumerate(cs):
        m = session.current_metrics(race["history"][i])
        by = m["val_loss"] if m["val_loss"] is not None else m["train_loss"]
        rows.append({"index": i, "name": label(name, lr), "color": COLORS[i % len(COLORS)],
                     "train_loss": m["train_loss"], "val_loss": m["val_loss"],
                     "test_loss": m["test_loss"], "train_accuracy": m["train_accuracy"],
                     "test_accuracy": m["test_accuracy"],
                     "diverged": bool(now["diverged"][i]),
                     "stopped": bool(now["stopped"][i]), "by": by})
    return sorted(rows, key=lambda r: (r["diverged"], r["by"] is None,
                                       r["by"] if r["by"] is not None else 0.0))


def render(f: Frame) -> dict[str, Any]:
    """The race's frame: a tile per contestant, the curves and the leaderboard."""
    race, exp = _race(), f.exp
    cs, now = race["key"][1], standing(race["states"])
    out = np.asarray(f.result.output)
    tiles = []
    for i, (name, lr) in enumerate(cs):
        grid = lab_frame.output_grid(exp, out[i])
        tiles.append({"name": label(name, lr), "color": COLORS[i % len(COLORS)], **grid,
                      "diverged": bool(now["diverged"][i]), "epoch": int(now["epoch"][i]),
                      "loss": session.current_metrics(race["history"][i])["train_loss"]})
    frame: dict[str, Any] = {
        "mode": lab_frame.mode_of(exp), "res": int(out.shape[1]), "dim": 2,
        "epoch": int(now["epoch"][: len(cs)].max()), "tiles": tiles,
        "curves": [{"color": COLORS[i % len(COLORS)], "name": label(*c),  # one curve each
                    **{k: v for k, v in curve(race["history"][i], None).items()
                       if k in ("train", "val")}} for i, c in enumerate(cs)],
        "leaders": leaderboard(race, now), "points_id": f"race-{id(exp.dataset)}",
        "show_test": False, "discretize": False,
        "has_val": bool(exp.dataset.arrays.x_val.shape[0]),
    }
    if f.first:
        frame["points"] = lab_frame.points(exp)
    return frame


def fits(spec: Spec) -> str | None:
    """A race runs on 2-D points (the tiles draw the plane)."""
    problem = points_only(spec)
    if problem:
        return problem
    if engine.DATASETS.get(spec.data.name).family != "points" or \
            engine.DATASETS.get(spec.data.name).input_dim != 2:
        return "the race draws each contestant over the 2-D plane: pick a 2-D point dataset"
    return None


def landscape_section(spec: Spec) -> None:
    """The loss landscape under the view (``landscape.section``)."""
    landscape.section(spec, label, COLORS)


def warm() -> None:
    """Compile the default race's first frame and Play (``LivePage.warm``)."""
    sw = engine.sweep(race_specs(DEFAULT_RACE))
    states, _ = sw.train(sw.init(), 0, probes=PROBES)
    sw.train(states, 1, probes=PROBES)


PAGE = LivePage(prefix=PREFIX, default=preset(RACES.get(DEFAULT_RACE).base), sidebar=sidebar,
                frame=render, asset="race_view", probes=PROBES, fits=fits, speeds=SPEEDS,
                speed=5, train=train, extra=landscape_section, graph_budget=20.0, warm=warm,
                copies=MAX_CONTESTANTS, export_weights=False)
