"""The Reinforcement learning page: a Q-network learns to balance a pole, live.

The engine (``engine.rl``) runs DQN on CartPole: every frame is one compiled call of
``frames`` iterations of many cart-poles at once. The page shows what a teacher
points at: a greedy episode of the current network, replayed in the browser between
server frames (``assets/rl_view.js``); the return curve with its moving average; the
loss, epsilon and mean Q; and the network over a slice of states (pole angle x
angular velocity): its greedy action, i.e. the policy's decision boundary, and its
values.

Values (learning rate, gamma, the epsilon schedule, the target period and tau) apply
without starting over (``DQNState.with_values``: nothing recompiles); the network,
the buffer, the batch, the environments, the loss and the seed start afresh. The
link carries the config's differences from the default preset (``rl=``, see
``rl_frame``). Every per-user value lives in ``st.session_state`` under ``rl_``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from engine import ACTIVATIONS, OPTIMIZERS, EngineError
from engine.rl import PRESETS, SOURCE, DQNConfig, dqn
from playground.core import address, limits, live, session, warmup
from playground.core.controls import lazy_expander, load_menu
from playground.core.export import link_box
from playground.core.flash import flash_shown, show_flash
from playground.rl_frame import (
    FIELDS,
    History,
    check_link,
    cost_refusal,
    curves,
    measured,
    pace_of,
    paced,
    rollout_frame,
    slice_frame,
    starts_afresh,
    stats,
    to_json,
    to_query,
)
from playground.rl_warm import SPEED, SPEEDS, episode_and_return, q_slice, warm

PREFIX = "rl"
ASSET = "rl_view"
ROLLOUT_SECONDS = 1.0  # a new greedy episode (and evaluation) at most this often
TITLES = {"source_dqn": "The source's DQN", "no_target_network": "No target network",
          "no_replay": "No replay buffer", "tiny_epsilon": "Tiny epsilon"}

CONFIG = "rl_config"  # the last good DQNConfig
STATE = "rl_state"  # its DQNState
HISTORY = "rl_history"  # rl_frame.History
PROBE = "rl_probe"  # (rollout id, time, rollout frame, greedy mean return, iteration)
SENT = "rl_sent"  # the rollout id the view has
WIDGETS = "rl_widgets"  # bumped to make every control re-read the config
URL_SEEN = "rl_url_seen"  # the ``rl`` text last applied or written
FAILED = "rl_failed"  # the last controls' dict that could not be applied
DIVERGED = "rl_diverged"
PACE = "rl_pace"  # rl_frame.Pace of the network


# -- the session ---------------------------------------------------------------------------

def config() -> DQNConfig:
    return st.session_state[CONFIG]


def history() -> History:
    return st.session_state[HISTORY]


def reset() -> None:
    """The seed's network again, an empty history; pauses."""
    st.session_state[STATE] = dqn.init(config())
    st.session_state[HISTORY] = History.empty()
    for name in (PROBE, DIVERGED):
        st.session_state.pop(name, None)
    session.set_playing(False)


def apply(new: DQNConfig, afresh: bool = False) -> None:
    """Make ``new`` the config: values keep the run, the rest starts afresh."""
    old = st.session_state.get(CONFIG)
    st.session_state[CONFIG] = new
    if afresh or old is None or STATE not in st.session_state or starts_afresh(old, new):
        reset()
    else:
        st.session_state[STATE] = st.session_state[STATE].with_values(new)
    write_link(new)
    warm(new)


def refusal(c: DQNConfig) -> str | None:
    """Why ``c`` costs this server too much for live frames (None: it fits)."""
    return cost_refusal(c, min(SPEEDS), limits.ASSUMED_FLOPS, limits.CALL_SECONDS)


def bump_widgets() -> None:
    st.session_state[WIDGETS] = st.session_state.get(WIDGETS, 0) + 1


def wkey(name: str) -> str:
    return f"rl_{name}_{st.session_state.get(WIDGETS, 0)}"


# -- the link --------------------------------------------------------------------------------

def write_link(c: DQNConfig) -> None:
    """Put ``c``'s differences into the URL's ``rl`` (only when they changed: each write is
    a history entry), keeping the other parameters."""
    text = to_query(c)
    if st.query_params.get("rl", "") != text:
        if text:
            st.query_params["rl"] = text
        else:
            del st.query_params["rl"]
    st.session_state[URL_SEEN] = text


def follow_link() -> None:
    """On the first visit, the link's config (or the default); on Back or Forward, the
    history entry's. Otherwise the session holds the config and the URL follows it."""
    text = st.query_params.get("rl", "")
    if CONFIG in st.session_state and not (
            text and address.history_navigation() and text != st.session_state.get(URL_SEEN)):
        return
    new, error = check_link(text) if text else (SOURCE, None)
    if not error and (why := refusal(new)):
        new, error = SOURCE, f"The link's setup could not be used: {why}. Showing the default."
    if error:
        session.flash("error", error)
    apply(new, afresh=True)
    bump_widgets()


# -- the sidebar -----------------------------------------------------------------------------

def _load() -> None:
    apply(PRESETS.get(st.session_state["rl_preset"]).config, afresh=True)
    bump_widgets()


def preset_menu() -> None:
    names = PRESETS.names()
    if st.session_state.get("rl_preset") not in names:  # name the preset that runs
        st.session_state["rl_preset"] = next(
            (n for n in names if PRESETS.get(n).config == config()), names[0])
    load_menu("Preset", names, lambda n: TITLES.get(n, n), "rl_preset", "rl_load",
              lambda n: PRESETS.get(n).lesson, st.caption, on_load=_load,
              load_help="Start this preset afresh: a new agent, an empty replay buffer",
              help="\n".join(f"- **{TITLES.get(n, n)}**: {PRESETS.describe(n)}"
                             for n in names))


def _slider(name: str, value: Any) -> Any:
    f = FIELDS[name]
    return st.select_slider(f.label, sorted({*f.options, value}), value=value,
                            key=wkey(name), help=f.help, format_func="{:g}".format)


def _pick(name: str, options: list, value: Any, fmt: Any = str) -> Any:
    f = FIELDS[name]
    options = list(options) + ([value] if value not in options else [])
    return st.selectbox(f.label, options, index=options.index(value), key=wkey(name),
                        help=f.help, format_func=fmt)


def controls(c: DQNConfig) -> dict[str, Any]:
    """The sidebar: the presets, then the values and the structure; returns the fields
    they choose."""
    preset_menu()
    d: dict[str, Any] = {}
    with st.expander("Learning (applies at once)", expanded=True):
        for name in ("learning_rate", "gamma", "eps_start", "eps_end", "eps_decay_steps",
                     "target_period", "tau"):
            d[name] = _slider(name, getattr(c, name))
    with st.expander("Network and replay (starts afresh)", expanded=True):
        d["hidden"] = _pick("hidden", list(FIELDS["hidden"].options), c.hidden,
                            lambda h: ", ".join(map(str, h)) + " units")
        d["activation"] = _pick("activation", ACTIVATIONS.names(), c.activation,
                                  ACTIVATIONS.title)
        d["optimizer"] = _pick("optimizer", OPTIMIZERS.names(), c.optimizer)
        d["loss"] = _pick("loss", list(FIELDS["loss"].options), c.loss)
        for name in ("buffer_size", "batch_size", "n_envs"):
            d[name] = _slider(name, getattr(c, name))
        d["double"] = st.toggle(FIELDS["double"].label, value=c.double, key=wkey("double"),
                                help=FIELDS["double"].help)
        f = FIELDS["seed"]
        d["seed"] = int(st.number_input(f.label, int(f.lo), int(f.hi), c.seed,
                                        key=wkey("seed"), help=f.help))
    return d


def apply_changes(d: dict[str, Any]) -> None:
    """Apply the controls' fields if they changed; a combination the engine refuses
    flashes why and puts the controls back on the last good config."""
    c = config()
    if all(getattr(c, k) == v for k, v in d.items()):
        return
    try:
        new = c.replace(**d)
        why = refusal(new)
        problem = f"Too costly for this server: {why}" if why else None
    except EngineError as err:
        problem = str(err)
    if problem:
        session.flash("error", f"{problem}. The last working setup is kept.")
        bump_widgets()
        if st.session_state.get(FAILED) != d:  # once: the controls then show the good one
            st.session_state[FAILED] = d
            st.rerun()
        return
    st.session_state.pop(FAILED, None)
    apply(new)


# -- training and frames ---------------------------------------------------------------------

def train(count: int, budget: float = limits.CALL_SECONDS) -> None:
    """Train ``count`` iterations, fewer if they would take more than ``budget`` seconds
    (``paced``); divergence pauses and says so."""
    c, state = config(), st.session_state[STATE]
    pace = pace_of(st.session_state.get(PACE), c, limits.ASSUMED_FLOPS)
    count = paced(count, SPEEDS, pace, budget)
    before, t0 = int(state.iteration), time.perf_counter()
    state, log = dqn.train(state, count)
    st.session_state[STATE] = state
    h = history().record(log, before, c.n_envs)
    st.session_state[HISTORY] = h
    st.session_state[PACE] = measured(pace, count, time.perf_counter() - t0)
    if h.diverged():
        session.set_playing(False)
        st.session_state[DIVERGED] = True
        session.flash("error", "Training diverged: the loss or the Q-values became NaN or "
                      "infinite, so training was paused. Lower the learning rate (or use the "
                      "Huber loss), then press Reset.")


def step() -> None:
    train(st.session_state.get("rl_speed", SPEED), limits.STEP_SECONDS)
    st.session_state.pop(PROBE, None)  # show the new network's episode at once


def _toggle() -> None:
    session.set_playing(not session.playing())
    if session.playing() and st.session_state.get(DIVERGED):
        reset()
        session.set_playing(True)


def probe(force: bool = False) -> tuple:
    """A greedy episode and the greedy mean return, renewed at most every
    ``ROLLOUT_SECONDS`` while the network changes."""
    c, state = config(), st.session_state[STATE]
    old = st.session_state.get(PROBE)
    now, iteration = time.perf_counter(), int(state.iteration)
    if old is not None and not force and (now - old[1] < ROLLOUT_SECONDS or old[4] == iteration):
        return old
    rid = (old[0] + 1) if old else 1
    ep, greedy = episode_and_return(state, c, rid, not st.session_state.get(DIVERGED))
    new = (rid, now, rollout_frame(ep, rid, iteration * c.n_envs), greedy, iteration)
    st.session_state[PROBE] = new
    return new


def frame(first: bool) -> dict[str, Any]:
    """What the view draws now (the episode only when the view lacks it)."""
    c, state, h = config(), st.session_state[STATE], history()
    rid, _, episode, greedy, _ = probe()
    data = {"stats": stats(c, int(state.iteration), int(state.updates), h, greedy),
            "curves": curves(h), "playing": session.playing(), "rollout_id": rid,
            "slice": slice_frame(q_slice(state))}
    if first or st.session_state.get(SENT) != rid:
        data["rollout"] = episode
        st.session_state[SENT] = rid
    return data


def toolbar() -> int:
    """Play/Pause, Step, Reset and the speed; returns iterations per frame."""
    playing = session.playing()
    c = st.columns([1.1, 1, 1, 4], vertical_alignment="center")
    c[0].button("Pause" if playing else "Play", on_click=_toggle, type="primary",
                icon=":material/pause:" if playing else ":material/play_arrow:",
                key="rl_play", use_container_width=True)
    c[1].button("Step", on_click=step, key="rl_step", icon=":material/skip_next:",
                use_container_width=True, help="Train one frame's iterations")
    c[2].button("Reset", on_click=reset, key="rl_reset", icon=":material/restart_alt:",
                use_container_width=True, help="The seed's network again; clears the curves")
    return c[3].select_slider(
        "Iterations per frame", SPEEDS, value=SPEED, key="rl_speed",
        help="Each iteration steps every environment once and makes one learning update")


def export(c: DQNConfig) -> None:
    with lazy_expander("Share and export: link, config (JSON)", "rl_export") as open_:
        if not open_:
            return
        query = to_query(c)
        link_box({"rl": query} if query else {})
        st.download_button("Config (JSON)", to_json(c), "nn_playground_dqn.json",
                           "application/json", icon=":material/data_object:", key="rl_dl")


def page() -> None:
    """Everything of the page below its title; then, while playing, its frames: the
    sidebar in the script's run, the rest in a fragment (``live.live_part``: Play and
    Pause rerun only that), a first visit's drawing before other sessions' frames."""
    live.live_part(CONFIG not in st.session_state, _controls, _page, config)


def _controls() -> None:
    """The sidebar, its changes applied."""
    session.use_page(PREFIX)
    follow_link()
    if st.query_params.get("play") == "1":  # a lesson step (or a link) that starts playing
        del st.query_params["play"]
        session.set_playing(True)
    with st.sidebar:
        d = controls(config())
    apply_changes(d)
    write_link(config())  # back from another page: the page's own address


def _page(_: None) -> tuple[Callable[[int], Any], Callable[[Any, bool], None], int]:
    """The toolbar, the first frame, the export; the trainer, drawer and speed."""
    speed = toolbar()
    shown = show_flash()
    note = st.empty()  # the server's warm-up may be compiling the default: wait for it
    data = live.first_frame(lambda _: frame(True), note,
                            warmup.waiting_for(dqn.structure_of(config())))
    placeholder = st.empty()
    key = f"{PREFIX}_{ASSET}"
    live.show(placeholder, ASSET, key, data, True)
    export(config())
    flash_shown(shown)

    def draw(_: Any, first: bool) -> None:
        live.show(placeholder, ASSET, key, frame(first), first)

    return train, draw, speed
