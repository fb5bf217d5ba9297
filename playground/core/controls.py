"""Controls several pages share, every menu built from the engine's registries.

Each section draws its widgets from the current spec dict (read only) and returns
the part of the spec it describes; the page merges the parts. Widget keys carry a
version (``session.wkey``): loading a preset or a link, or refusing a value, bumps it
so every widget re-reads the spec. A link may carry any value the engine accepts,
so sliders and number boxes widen to hold it (``slider``, ``number``).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st

from engine import (
    ACTIVATIONS,
    DATASETS,
    FEATURES,
    INITIALIZERS,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    datasets_of,
)
from engine.data import HAND, HAND_REGRESSION
from engine.presets import PRESETS, preset, topic_presets
from playground.core import session
from playground.core.session import wkey
from playground.core.url import merge

LEARNING_RATES = (1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def _options_with(options: tuple, value: Any) -> list:
    return sorted({*options, value})


def hidden(name: str | None) -> bool:
    """Whether the link hides control ``name`` (``url.CONTROLS``, a feature's name)."""
    return name is not None and name in session.hidden_sections()


def slider(label: str, lo: float, hi: float, value: float, step: float | None = None, *,
           key: str, container: Any = st, hide: str | None = None, **kw) -> Any:
    """A slider over ``[lo, hi]`` widened to hold ``value``: a link may carry any value
    the engine accepts, and a widget must show it, never refuse it or change it.
    ``hide``: the control's name in a link's ``hide`` list; hidden, it keeps ``value``."""
    if hidden(hide):
        return value
    return container.slider(label, min(lo, value), max(hi, value), value, step,
                            key=wkey(key), **kw)


def number(label: str, lo: float, hi: float, value: float, step: float | None = None, *,
           key: str, container: Any = st, hide: str | None = None, **kw) -> Any:
    """A number box over ``[lo, hi]`` widened to hold ``value`` (see ``slider``)."""
    if hidden(hide):
        return value
    return container.number_input(label, min(lo, value), max(hi, value), value, step,
                                  key=wkey(key), **kw)


def pick(label: str, names: list[str], value: str, key: str, container: Any = st,
         hide: str | None = None, **kw) -> str:
    """A selectbox over ``names`` showing ``value``, keyed by the widget version
    (``hide``: see ``slider``)."""
    if hidden(hide):
        return value
    return container.selectbox(label, names, index=names.index(value) if value in names
                               else 0, key=wkey(key), **kw)


def explain(text: str, container: Any = st) -> None:
    """A caption of teaching text, unless the link hides the explanations (``text``)."""
    if not hidden("text"):
        container.caption(text)



@contextlib.contextmanager
def lazy_expander(label: str, key: str) -> Iterator[bool]:
    """An expander whose content is built only while it is open: ``with
    lazy_expander(...) as open_:`` then draw only ``if open_``. Opening it reruns the
    page (a playing page plays on); closed, a first visit's browser draws none of its
    content (a code block there alone fetched and parsed Streamlit's 1.5 MB syntax
    highlighter). ``key``: the session key of whether it is open (Streamlit 1.67's
    stateful expanders)."""
    box = st.expander(label, key=key, on_change="rerun")
    with box:
        yield bool(box.open)


def sections(d: dict, parts: list[tuple[str, str, Any]], hidden: set[str] = frozenset(),
             expanded: tuple[str, ...] = ()) -> dict:
    """Draw each ``(name, title, section)`` not in ``hidden`` in an expander; return
    ``d`` with every section's patch merged in."""
    for name, title, draw in parts:
        if name in hidden:
            continue
        with st.expander(title, expanded=name in expanded):
            d = merge(d, draw(d))
    return d


def data_section(d: dict) -> dict:
    """Dataset, noise, splits, batch, points and classes: a patch of the spec dict.

    Picking a dataset of another task (classification <-> regression) sets the output
    and loss back to auto, so they follow.
    """
    data = dict(d["data"])
    patch: dict[str, Any] = {"data": data}
    table = data["name"] in datasets_of("table")
    names = list(datasets_of("points")) + ([data["name"]] if table else [])
    old = data["name"]
    if hidden("problem"):  # the link fixes the task: offer only its datasets
        names = [n for n in names if DATASETS.get(n).task == DATASETS.get(old).task]
    data["name"] = pick("Dataset", names, data["name"], "dataset", hide="dataset",
                        format_func=DATASETS.title,
                        help="TensorFlow Playground's sets, more, or an uploaded CSV")
    kind = DATASETS.get(data["name"])
    if old != data["name"] and DATASETS.get(old).task != kind.task:
        patch["model"], patch["loss"] = {"output_activation": "auto"}, "auto"
    points = kind.family == "points"
    if points and kind.input_dim == 1:
        data["features"] = [f for f in data["features"] if FEATURES.get(f).needs_dim == 1] \
            or ["x1"]
    if points:
        explain(DATASETS.describe(data["name"]))
    c = st.columns(2)
    # An uploaded table and points placed by hand have no noise and no count to choose.
    generated = points and data["name"] not in (HAND, HAND_REGRESSION)
    if generated:
        data["noise"] = slider("Noise", 0.0, 0.5, float(data["noise"]), 0.05, key="noise",
                               container=c[0], hide="noise")
    data["train_fraction"] = slider("Training share", 0.1, 0.9, float(data["train_fraction"]),
                                    0.05, key="train", container=c[1], hide="train_share")
    c = st.columns(2)
    patch["batch_size"] = number("Batch size", 1, 1000, int(d["batch_size"]), key="batch",
                                 container=c[0], hide="batch_size", help="1 = one example "
                                 "at a time; larger than the training set = full-batch GD")
    if generated:
        data["n"] = number("Points", 20, 5000, int(data["n"]), 50, key="n", container=c[1])
    if points and kind.multiclass:
        data["classes"] = st.slider("Classes", 2, 10, int(data["classes"]), key=wkey("classes"))
    c = st.columns(2)
    data["val_fraction"] = slider("Validation share", 0.0, 0.4, float(data["val_fraction"]),
                                  0.05, key="val", container=c[0])
    data["standardize"] = c[1].checkbox("Standardise", bool(data["standardize"]),
                                        key=wkey("std"))
    if generated and st.button("Regenerate data", icon=":material/casino:",
                               key=wkey("regen"), help="New random points (a new data seed)"):
        data["seed"] = int(data["seed"]) + 1
        session.bump_widgets()
    return patch


def _or_auto(registry: Any) -> Callable[[str], str]:
    """A menu's labels: "auto" as it is, every other entry by its registry title."""
    return lambda n: "auto" if n == "auto" else registry.title(n)


def output_section(d: dict) -> dict:
    """Output activation, loss and the default initialiser: a patch of the spec dict."""
    model = d["model"]
    auto = ["auto", *ACTIVATIONS.names()]
    return {
        "model": {
            "output_activation": pick("Output activation", auto, model["output_activation"],
                                      "outact", help="auto: sigmoid for two classes, softmax "
                                      "for more, linear for regression",
                                      format_func=_or_auto(ACTIVATIONS)),
            "init": pick("Weight initialiser", INITIALIZERS.names(), model["init"], "init",
                         help=INITIALIZERS.describe(model["init"]),
                         format_func=INITIALIZERS.title)},
        "loss": pick("Loss", ["auto", *LOSSES.names()], d["loss"], "loss",
                     help="auto: cross-entropy for classes, MSE for regression",
                     format_func=_or_auto(LOSSES)),
    }


PENALTIES = {"none": "None", "l1": "L1", "l2": "L2"}  # the Regularisation menu's words
PENALTY_WHAT = ("A cost on large weights, added to the loss. L1 adds rate x the sum of "
                "|w|: it pushes unneeded weights all the way to 0. L2 adds rate x half the "
                "sum of w\u00b2: it shrinks every weight a little each step (weight decay). "
                "The losses shown are the data's alone, without the penalty.")
PENALTY_HELP = PENALTY_WHAT + (" Switching it trains on from the current weights, as a new "
                               "learning rate does.")
STEPS_HELP = ("Counted in optimizer steps (one batch each), not epochs: an epoch is the "
              "training points / batch size steps.")
WARMUP_HELP = ("The rate climbs from near 0 to its full value over this many steps, then "
               "the schedule runs. " + STEPS_HELP)


BETA_HELP = ("β₁: how slowly Adam's running mean of the gradient forgets (0.9: about the "
             "last 10 steps). β₂: the same for the mean of the squared gradient, which "
             "scales each weight's step (0.999: about the last 1,000). Kingma and Ba, 2015.")
RHO_HELP = ("How slowly RMSprop's running mean of the squared gradient forgets (0.9: about "
            "the last 10 steps); each weight's step is divided by its square root. "
            "Hinton's lecture 6e, 2012.")


OWNERS = {"momentum": " (Momentum, Nesterov)", "decay": " (RMSprop)", "b1": " (Adam, AdamW)",
          "weight_decay": " (AdamW)"}  # whose value each is, where several optimizers race


def optimizer_values(opt: dict, used: set[str], key: str = "", owners: bool = False) -> None:
    """The controls of the optimizer values in ``used`` (spec fields: momentum, RMSprop's
    decay, Adam's β₁ and β₂, AdamW's weight decay), written into ``opt``; widget keys
    start with ``key``; ``owners``: each label names whose value it is (the race)."""
    def tag(field: str) -> str:
        return OWNERS[field] if owners else ""

    if "momentum" in used:
        opt["momentum"] = slider(f"Momentum{tag('momentum')}", 0.0, 0.99,
                                 float(opt["momentum"]), 0.01, key=f"{key}mom")
    if "decay" in used:
        opt["decay"] = slider(f"Decay ρ{tag('decay')}", 0.0, 0.999, float(opt["decay"]),
                              0.001, key=f"{key}rho", help=RHO_HELP, format="%.4f")
    if "b1" in used:  # side by side, within their spec fields' bounds
        c = st.columns(2)
        opt["b1"] = c[0].number_input(f"β₁{tag('b1')}", 0.0, 0.9999, float(opt["b1"]), 0.01,
                                      key=wkey(f"{key}b1"), format="%.4f", help=BETA_HELP)
        opt["b2"] = c[1].number_input(f"β₂{tag('b1')}", 0.0, 0.99999, float(opt["b2"]),
                                      0.001, key=wkey(f"{key}b2"), format="%.5f",
                                      help=BETA_HELP)
    if "weight_decay" in used:
        opt["weight_decay"] = st.number_input(
            f"Weight decay{tag('weight_decay')}", 0.0, 1.0, float(opt["weight_decay"]), 1e-4,
            key=wkey(f"{key}wd"), format="%.4f")


def in_epochs(sched: dict, per_epoch: int) -> str:
    """The schedule's steps in epochs (a teacher's review: a cosine decay of 1,000 steps
    ended in 40 epochs, half a second of Play, while every other control counts epochs)."""
    shown = [("Warm-up", sched["warmup_steps"])] if sched["warmup_steps"] else []
    if sched["name"] != "constant":
        shown.append(("Decay", sched["decay_steps"]))
    def epochs(steps: int) -> str:
        n = steps / per_epoch
        return f"{n:,.0f}" if n >= 100 else f"{n:.3g}"

    parts = " \u00b7 ".join(f"{name} {steps:,} steps \u2248 {epochs(steps)} epochs"
                            for name, steps in shown)
    return f"{parts} (an epoch is {per_epoch:,} steps here)."


def training_section(d: dict) -> dict:
    """Optimizer, learning rate and schedule, regularisation, clipping, early stopping
    and the weight seed: a patch of the spec dict."""
    opt = dict(d["optimizer"], schedule=dict(d["optimizer"]["schedule"]))
    opt["name"] = pick("Optimizer", OPTIMIZERS.names(), opt["name"], "opt",
                        help=OPTIMIZERS.describe(opt["name"]), format_func=OPTIMIZERS.title)
    if not hidden("learning_rate"):
        opt["learning_rate"] = st.select_slider(
            "Learning rate", _options_with(LEARNING_RATES, opt["learning_rate"]),
            value=opt["learning_rate"], key=wkey("lr"))
    chosen = OPTIMIZERS.get(opt["name"])
    if chosen.bounded and opt["learning_rate"] >= 30 * chosen.usual_rate:  # 0.1 for Adam
        # RMSprop has no bias correction: while its average is young, up to lr/sqrt(1-ρ)
        times = 1 / math.sqrt(1 - opt["decay"]) if "decay" in chosen.hparams.values() else 1
        by = "the learning rate" if times == 1 else f"{times:.3g} times the learning rate"
        st.caption(f"{OPTIMIZERS.title(opt['name'])} moves each weight by up to about {by} "
                   f"every step, whatever the gradient's size: at {opt['learning_rate']:g}, "
                   f"jumps of up to about {opt['learning_rate'] * times:.2g}. It usually "
                   f"trains at about {chosen.usual_rate:g}.")
    optimizer_values(opt, set(chosen.hparams.values()))
    sched = opt["schedule"]
    sched["name"] = pick("Learning-rate schedule", SCHEDULES.names(), sched["name"], "sched",
                          help=SCHEDULES.describe(sched["name"]), format_func=SCHEDULES.title)
    c = st.columns(2)
    sched["warmup_steps"] = number("Warm-up steps", 0, 100_000, int(sched["warmup_steps"]), 50,
                                   key="warm", container=c[0], help=WARMUP_HELP)
    if sched["name"] != "constant":
        sched["decay_steps"] = number("Decay steps", 1, 1_000_000, int(sched["decay_steps"]),
                                      100, key="dsteps", container=c[1], help=STEPS_HELP)
        if sched["name"] in ("step", "exponential"):
            sched["decay_rate"] = slider("Decay rate", 0.01, 1.0, float(sched["decay_rate"]),
                                         0.01, key="drate")
    if sched["warmup_steps"] or sched["name"] != "constant":
        st.caption(in_epochs(sched, session.experiment().steps_per_epoch))
    reg = dict(d["regularization"])
    reg["kind"] = pick("Regularisation", list(PENALTIES), reg["kind"], "reg",
                       hide="regularization", format_func=PENALTIES.get, help=PENALTY_HELP)
    if not hidden("regularization_rate"):
        reg["rate"] = st.select_slider(
            "Regularisation rate", _options_with(REG_RATES, reg["rate"]), value=reg["rate"],
            key=wkey("regrate"))
    c = st.columns(2, vertical_alignment="bottom")  # labels of 2 and 3 lines: boxes level
    opt["clip_norm"] = number("Clip gradient norm", 0.0, 1000.0, float(opt["clip_norm"]), 0.5,
                              key="clip", container=c[0], help="0 = no clipping")
    es = dict(d["early_stopping"])
    es["patience"] = number("Early-stopping patience", 0, 10_000, int(es["patience"]), 10,
                            key="pat", container=c[1], help="Epochs without validation "
                            "improvement; 0 = off. Needs a validation share.")
    seed = st.number_input("Weight seed", 0, 2**31 - 1, int(d["seed"]), key=wkey("seed"))
    return {"optimizer": opt, "regularization": reg, "early_stopping": es, "seed": seed}



def load_menu(label: str, options: list[str], title: Callable[[str], str], key: str,
              load_key: str, text: Callable[[str], str], show: Callable[[str], Any],
              own: str | None = None, on_load: Callable[[], None] | None = None,
              help: str | None = None, load_help: str | None = None) -> bool:
    """A menu of named setups over the sidebar's whole width (a long title stays
    readable), its Load button, then ``text`` of the choice shown by ``show``.
    ``own``: the entry for a setup of no
    name, whose Load is off. Returns whether Load was pressed (``on_load``: its
    callback, run before the next run; ``help`` and ``load_help``: the menu's and the
    button's tooltips)."""
    name = st.selectbox(label, options, format_func=title, key=key, help=help)
    pressed = st.button("Load", key=load_key, disabled=name == own, on_click=on_load,
                        help=load_help)
    show(text(name))
    return pressed


NOT_RUNNING = "*Not the setup on screen: Load sets this preset up.*"
OWN_SETUP = ""  # the preset menu's entry while the setup running is no preset
OWN_TEXT = ("*The network on screen is no preset: a lesson's, a link's or your own edit "
            "of one. Pick a preset and press Load to set it up instead.*")
MENU_SPEC = "pg_menu_spec"  # the spec the preset menu last named
MENU_DRAWN = "pg_menu_drawn"  # the entry it showed when last drawn
_run = threading.local()  # this script run's slot for the preset's text (``preset_text``)


def _running_preset(names: list[str]) -> str:
    """The preset among ``names`` that is the running spec, or ``OWN_SETUP``."""
    running = session.spec()
    return next((n for n in names if preset(n) == running), OWN_SETUP)


def _described(name: str, names: list[str]) -> str:
    """A preset's explanation, marked when the page runs something else (an edit since,
    or a link's setup): a student must not read it as a description of the network
    shown. The menu's own entry (its name a run behind an edit) says which preset
    runs, if one does."""
    if name == OWN_SETUP:
        name = _running_preset(names)
        if name == OWN_SETUP:
            return OWN_TEXT
    text = PRESETS.get(name).explanation
    return text if preset(name) == session.spec() else f"{NOT_RUNNING} {text}"


def _text_slot(name: str, names: list[str]) -> None:
    _run.preset = (st.empty(), name, names)


@contextlib.contextmanager
def preset_text() -> Iterator[None]:
    """Around a live page's sidebar and the applying of its changes: the preset menu's
    text (``preset_menu``) is written at the end, against the spec the page then runs.
    A change of values applies after the sidebar is drawn, without a rerun, so a text
    written with the menu said "the preset" of a setup that had just left it."""
    _run.preset = None
    yield  # a rerun (an exception) leaves the slot unwritten: the next run draws it
    slot, _run.preset = getattr(_run, "preset", None), None
    if slot is not None:
        explain(_described(slot[1], slot[2]), slot[0])


def preset_menu(topic: str = "playground") -> None:
    """A menu of one topic's presets; "Load" makes the chosen one the setup. The menu
    names the setup running whenever that changes (a lesson's step, a link, Load, an
    edit): the preset it is, or "Your own setup"; a pick not loaded yet stays. A change
    of values applies after the menu is drawn, without a rerun: a pick or a Load in the
    next run is the user's and stays (then the menu only learns the new spec)."""
    names = topic_presets(topic)
    running = _running_preset(names)
    options = names if running != OWN_SETUP else [OWN_SETUP, *names]
    ss = st.session_state
    touched = ss.get("pg_preset") != session.get(MENU_DRAWN) or ss.get("pg_load_preset")
    if session.get(MENU_SPEC) != session.spec() or session.value("pg_preset") not in options:
        session.put(MENU_SPEC, session.spec())
        if not touched or session.value("pg_preset") not in options:
            session.set_widget("pg_preset", running)
    pressed = load_menu("Preset", options, lambda n: "Your own setup" if n == OWN_SETUP
                        else PRESETS.get(n).title, "pg_preset", "pg_load_preset",
                        lambda n: n, lambda n: _text_slot(n, names), own=OWN_SETUP)
    name = ss["pg_preset"]
    session.put(MENU_DRAWN, name)
    # (Load is off for the own entry; a forged click on it loads nothing)
    if pressed and name != OWN_SETUP and session.apply_spec(preset(name)):
        session.bump_widgets()
        st.rerun()
