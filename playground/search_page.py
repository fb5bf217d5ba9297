"""The Hyperparameter search page's controls and run: grid, random and Bayesian search,
each round trained at once.

The sidebar's setup (kept in the URL) with the named lessons, the search in the session
(keys ``hs_...``), the buttons that run rounds, and where each picture goes;
``playground.search`` holds the link's codec, starts the search and draws the pictures.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import streamlit as st

from engine import PRESETS, EngineError, preset
from engine.hyper import HYPERPARAMETERS, Search
from engine.search import STRATEGIES
from engine.sweep_presets import SEARCHES
from playground import search as hs
from playground.core import controls as C
from playground.core import limits
from playground.core.encode import plain
from playground.search import HP_NAMES, LIMITS, NONE, PRESET_NAMES, Setup

INTRO = (
    "A hyperparameter is a setting chosen before training: the learning rate, a penalty's "
    "rate, the width. A search trains several configurations and keeps the one with the "
    "lowest **validation loss**. Each round's candidates train at once, in one compiled, "
    "vectorised call (`jax.vmap`), so a round of 8 costs little more than one network.")
METHODS = """
- **Grid search** tries every point of an even grid. Easy to read, but a 4 x 4 grid over
  two hyperparameters tests only 4 values of each.
- **Random search** draws its points at random. The same 16 trials test 16 different values
  of each hyperparameter, so when one of the two hardly matters (it often does not) random
  search finds a better value of the one that does (Bergstra and Bengio, 2012, *Random
  search for hyper-parameter optimization*). Try it: learning_rate with momentum, which
  plain SGD ignores: [grid](?hp2=momentum&method=grid) against
  [random](?hp2=momentum&method=random).
- **Bayesian search** fits a Gaussian process to the results so far: a smooth guess of the
  loss everywhere, with its uncertainty. Each round tries where the *expected improvement*
  is largest, near the best so far or where the guess is still unsure. It pays when each
  trial is expensive.
"""
TEST_NOTE = (
    "Only the validation split chose anything: it ranked every trial. The test split was "
    "read once, now, for the winner alone, so its numbers are an honest estimate of how the "
    "chosen configuration does on data it has never influenced. Choosing by test loss would "
    "make them optimistic, and so is the winner's validation loss: it is the best of many "
    "noisy results.")
PARAMS = ("preset", "noise", "hp", "lo", "hi", "log", "hp2", "lo2", "hi2", "log2", "method",
          "budget", "round", "epochs", "seed")
"""The page's own link parameters (``search.to_query``); others in the address (a
lesson's, another page's left by Streamlit) are neither read nor dropped."""
GP_NOTE = {
    1: "The GP is fitted to log10 of the validation loss (losses span decades), so its band "
       "is drawn back on the loss scale; expected improvement is in decades of loss. The "
       "band is the fitted curve's uncertainty: the fit takes part of each result for "
       "noise, so a lucky or unlucky trial (the best one, often) may lie outside it.",
    2: "The GP is fitted to log10 of the validation loss (losses span decades): the left map "
       "is its mean, in log10 units; expected improvement is in decades of loss. Circles: "
       "the configurations tried."}


# -- the controls --------------------------------------------------------------------------

def _apply(setup: Setup) -> None:
    """Set every control to ``setup``."""
    ss = st.session_state
    ss.update(hs_preset=setup.preset, hs_noise=float(setup.noise), hs_method=setup.method,
              hs_hp2=setup.axes[1][0] if len(setup.axes) > 1 else NONE,
              **{f"hs_{k}": getattr(setup, k) for k in ("budget", "round", "epochs", "seed")})
    for i, (hp, lo, hi, log) in enumerate(setup.axes):
        s = "2" if i else ""
        ss.update({f"hs_hp{s}": hp, f"hs_lo{s}": float(lo), f"hs_hi{s}": float(hi),
                   f"hs_log{s}": log})


def _reset_range(s: str) -> None:
    hp = st.session_state[f"hs_hp{s}"]
    if hp != NONE:
        _, lo, hi, log = hs.default_axis(hp)
        st.session_state.update({f"hs_lo{s}": lo, f"hs_hi{s}": hi, f"hs_log{s}": log})


def _reset_noise() -> None:
    st.session_state["hs_noise"] = float(preset(st.session_state["hs_preset"]).data.noise)


def _hp_help() -> str:
    return "\n".join(f"- **{HYPERPARAMETERS.title(n)}**: {HYPERPARAMETERS.describe(n)}"
                     for n in HP_NAMES)


def _axis_controls(s: str) -> tuple[str, float, float, bool]:
    hp = st.session_state[f"hs_hp{s}"]
    h = HYPERPARAMETERS.get(hp)
    note = HYPERPARAMETERS.describe(hp)
    if h.structural:
        note += " Slower: each distinct value is a new network, compiled and trained apart."
    st.caption(note)
    c, what = st.columns(2), HYPERPARAMETERS.title(hp).lower()
    lo = c[0].number_input("From", key=f"hs_lo{s}", format="%g", help=f"Lowest {what} tried.")
    hi = c[1].number_input("To", key=f"hs_hi{s}", format="%g", help=f"Highest {what} tried.")
    log = st.toggle("Log scale", key=f"hs_log{s}",
                    help="Space the values evenly in decades (1e-4, 1e-3, ...).")
    return hp, float(lo), float(hi), bool(log)


def _own_params() -> dict[str, str]:
    return {k: v for k, v in st.query_params.to_dict().items() if k in PARAMS}


def _write_params(new: dict[str, str]) -> None:
    """Make ``new`` the page's own parameters, in one write (one history entry)."""
    others = {k: v for k, v in st.query_params.to_dict().items() if k not in PARAMS}
    st.query_params.from_dict({**others, **new})


def _load_lesson() -> None:
    """Put the chosen lesson's setup in the link; the next run applies it."""
    _write_params(hs.to_query(hs.lesson_setup(st.session_state["hs_lesson"])))


OWN_SETUP = ""  # the lesson menu's entry for a setup of no named lesson


def lesson_menu(query: dict[str, str]) -> None:
    """The named searches: "Load" sets every control to one. While the setup (its link
    parameters ``query``) is none of them, the menu says so rather than naming one."""
    ss = st.session_state
    names = SEARCHES.names()
    running = next((n for n in names if hs.to_query(hs.lesson_setup(n)) == query), OWN_SETUP)
    options = names if running != OWN_SETUP else [OWN_SETUP, *names]
    # name the running setup when it changes; a pick not loaded yet stays until then
    if ss.get("hs_menu_for") != query or ss.get("hs_lesson") not in options:
        ss["hs_menu_for"], ss["hs_lesson"] = query, running
    own, why = (("Your own search", "The setup below is this link's or your own") if query
                else ("Default search", "The page's default search, no lesson's"))
    C.load_menu("Lesson", options, lambda n: own if n == OWN_SETUP else SEARCHES.get(n).title,
                "hs_lesson", "hs_load", lambda n: f"{why}. Pick a lesson and press Load to set "
                "it up instead." if n == OWN_SETUP else SEARCHES.get(n).explanation,
                st.caption, own=OWN_SETUP, on_load=_load_lesson)


def controls() -> tuple[Setup, list[str]]:
    """The sidebar's setup, kept in the URL; returns it and the link's errors."""
    ss = st.session_state
    q = _own_params()
    if not q and ss.get("hs_url"):  # back from another page: the setup left there
        q = ss["hs_url"]
    errors: list[str] = []
    if q != ss.get("hs_url") or "hs_preset" not in ss:  # a new link, or widgets forgotten
        setup, errors = hs.parse_query(q)
        _apply(setup)
    with st.sidebar:
        menu = st.container()  # drawn after the controls, so it names this run's setup
        st.subheader("Search setup")
        name = st.selectbox("Network and data", PRESET_NAMES, key="hs_preset",
                            format_func=lambda n: PRESETS.get(n).title, on_change=_reset_noise,
                            help="A Playground preset; a validation split of 20% is added "
                                 "where it has none: the search is decided on it.")
        noise = st.number_input("Data noise", 0.0, 5.0, step=0.05, key="hs_noise")
        st.selectbox("Hyperparameter", HP_NAMES, key="hs_hp", help=_hp_help(),
                     format_func=HYPERPARAMETERS.title,
                     on_change=_reset_range, args=("",))
        axes = [_axis_controls("")]
        st.selectbox("Second hyperparameter", (NONE, *HP_NAMES), key="hs_hp2",
                     format_func=lambda n: "None" if n == NONE else HYPERPARAMETERS.title(n),
                     on_change=_reset_range, args=("2",),
                     help="Optional: search two at once (a map instead of a curve).")
        if ss["hs_hp2"] != NONE:
            axes.append(_axis_controls("2"))
        method = st.selectbox("Method", STRATEGIES.names(), key="hs_method",
                              format_func=STRATEGIES.title, help="\n".join(
                                  f"- **{STRATEGIES.title(m)}**: {STRATEGIES.describe(m)}"
                                  for m in STRATEGIES.names()))
        st.caption(STRATEGIES.describe(method))
        c = st.columns(2)
        budget = c[0].number_input("Budget", *LIMITS["budget"], key="hs_budget",
                                   help="Configurations tried in all.")
        rnd = c[1].number_input("Round size", *LIMITS["round"], key="hs_round",
                                help="Configurations trained at once, in one vmapped call.")
        epochs = c[0].number_input("Epochs each", *LIMITS["epochs"], step=10, key="hs_epochs")
        seed = c[1].number_input("Seed", *LIMITS["seed"], key="hs_seed",
                                 help="Random and Bayesian search draw their points from it.")
    setup = Setup(name, float(noise), tuple(axes), method, int(budget), int(rnd), int(epochs),
                  int(seed))
    new = hs.to_query(setup)
    if new != _own_params():
        _write_params(new)
    ss["hs_url"] = new
    with st.sidebar, menu:
        lesson_menu(new)
    return setup, errors


# -- the run -------------------------------------------------------------------------------

def current(setup: Setup, fresh: bool = False) -> Search | None:
    """The session's search for ``setup`` (a new one if the setup changed or ``fresh``);
    None, with the engine's message shown, when it cannot start."""
    ss = st.session_state
    old, was = ss.get("hs_search"), ss.get("hs_setup")
    if (not fresh and old is not None and was is not None and old.trials
            and dataclasses.replace(was, budget=setup.budget, round=setup.round) == setup
            and setup.budget >= len(old.trials)):
        # Only the budget or the round size moved: the search goes on with its trials
        # (a larger budget continues a finished search).
        ss["hs_setup"] = setup
        ss["hs_search"] = dataclasses.replace(old, budget=setup.budget,
                                              round_size=setup.round, finished=False)
        return ss["hs_search"]
    if fresh or was != setup:
        if not fresh and old is not None and old.trials:
            st.info(f"The setup changed, so a new search starts (the last one's "
                    f"{len(old.trials)} trials are set aside).")
        ss["hs_setup"], ss["hs_search"], ss["hs_problem"], ss["hs_seconds"] = setup, None, None, []
        try:
            ss["hs_search"] = hs.start(setup)
        except EngineError as err:
            ss["hs_problem"] = hs.explain(setup, err)
    if ss["hs_problem"]:
        message, ranges = ss["hs_problem"]
        st.error(plain(message))
        if ranges:
            st.button("Default range", key="hs_default_range", on_click=_default_ranges,
                      help="Every hyperparameter back to its usual range and scale")
    return ss["hs_search"]


def _default_ranges() -> None:
    _reset_range("")
    _reset_range("2")


def advance(search: Search, shown: Any = None) -> Search:
    """One more round, kept in the session (with its time) before anything else runs;
    the same search, with the engine's message shown, if the round cannot train.

    ``shown`` (a placeholder) gets the round's progress bar. Drawing it is a Streamlit
    call, so a click meanwhile (Stop) ends this run there and the round is dropped:
    the session keeps the search as it was."""
    t = time.perf_counter()
    label = f"Round {search.rounds + 1}: training…"

    def progress(share: float) -> None:
        if shown is not None:
            shown.progress(min(max(share, 0.0), 1.0), text=label)

    try:
        search = search.next_round(progress=progress)
    except (EngineError, MemoryError, RuntimeError) as err:  # XLA's errors are these
        st.error(plain(str(err)))
        return search
    st.session_state["hs_search"] = search
    st.session_state["hs_seconds"].append(time.perf_counter() - t)
    return search


def _status(search: Search) -> str:
    n, rounds = hs.planned(search)
    text = (f"**{len(search.trials)} of {n}** configurations tried, in {search.rounds} of "
            f"{rounds} rounds")
    if search.method == "grid" and len(search.space) == 2:
        text += f" (a {round(n ** 0.5)} x {round(n ** 0.5)} grid: the largest within the budget)"
    seconds = st.session_state.get("hs_seconds") or []
    if seconds:
        how = ("in one compiled call per network" if any(
            HYPERPARAMETERS.get(a.name).structural for a in search.space) else "at once")
        text += (f". The last round trained its configurations {how}, in "
                 f"{seconds[-1]:.2g} s ({search.epochs} epochs each).")
    return text + ("" if not search.done else " The search is done.")


def _draw(search: Search, slots: dict, n: int) -> None:
    """Every picture of ``search`` into its slot; ``n`` numbers the drawing in this run."""
    slots["status"].markdown(_status(search))
    if not search.trials:
        slots["picture"].info("Nothing tried yet: press **Run next round** or **Run to the "
                              "end**.")
        return
    one = len(search.space) == 1
    with slots["picture"].container():
        fig = hs.picture_1d(search) if one else hs.picture_2d(search)
        st.plotly_chart(fig, key=f"hs_picture_{n}", config={"displaylogo": False})
        if search.method == "bayesian":
            st.caption(GP_NOTE[len(search.space)])
    best = search.best()
    with slots["best"].container(border=True):
        if best is None:
            st.warning("Every configuration so far diverged: no finite validation loss.")
        else:
            values = ", ".join(f"{HYPERPARAMETERS.title(k).lower()} = {v:.4g}"
                               for k, v in best.values.items())
            acc = ("" if best.val_accuracy is None
                   else f", validation accuracy {best.val_accuracy:.1%}")
            st.markdown(f"**Best so far:** {values}: validation loss {best.val_loss:.4g}"
                        f"{acc} (epoch {best.best_epoch}, round {best.round + 1}).")
            edge = hs.edge_note(search, best.values)
            if edge:
                st.info(edge, icon=":material/open_in_full:")
            st.link_button("Open it on the Playground", hs.playground_link(search),
                           icon=":material/open_in_new:")
    with slots["curves"].container():
        st.plotly_chart(hs.curves(search), key=f"hs_curves_{n}",
                        config={"displaylogo": False})
    number = st.column_config.NumberColumn(format="%.4g")
    with slots["table"].container():
        st.markdown("**Leaderboard** (lowest validation loss first)")
        rows = hs.leaderboard(search)  # as tall as its rows, up to 250 px: no blank ones
        st.dataframe(rows, hide_index=True, height=min(250, 38 + 35 * max(1, len(rows))),
                     column_config={**{a.name: number for a in search.space},
                                    "validation loss": number,
                                    "validation accuracy (%)": st.column_config.NumberColumn(
                                        format="%.1f")})


def _test_metrics(search: Search) -> None:
    """The winner's test split, read once per search (kept in the session)."""
    kept = st.session_state.get("hs_test")
    if kept is None or kept[0] is not search:
        kept = (search, search.test_metrics())
        st.session_state["hs_test"] = kept
    m = kept[1]
    if m is None:
        return
    st.subheader("The best configuration on the test split")
    c = st.columns(4)
    for col, (key, label) in zip(c, (("test_loss", "Test loss"),
                                     ("test_accuracy", "Test accuracy"),
                                     ("val_loss", "Validation loss"),
                                     ("train_loss", "Training loss")), strict=True):
        v = m.get(key)
        col.metric(label, "n/a" if v is None else f"{v:.1%}" if "accuracy" in key
                   else f"{v:.4g}")
    st.caption(TEST_NOTE)


def run(setup: Setup) -> None:
    """The buttons, then every picture; "Run to the end" redraws after each round.

    A click is read from the session before the buttons are drawn, so they are drawn
    once the round is trained, disabled when the search is done (and gone meanwhile)."""
    search = current(setup)
    if search is None:
        return
    ss = st.session_state
    bar = st.empty()
    if ss.get("hs_over"):
        search = current(setup, fresh=True)
        if search is None:
            return
    slots = {k: st.empty() for k in ("status", "picture", "best", "curves", "table")}
    n = 0
    # A round that would hold the server for long is refused before it starts (every
    # round of a search costs about the same); one that trains can be stopped.
    problem = None if search.done else limits.round_refusal(search.round_flops())
    if problem:
        st.error(f"This search is too big for this server: {problem}.")
    if ss.get("hs_stop"):
        st.info(f"Stopped. The round in progress was dropped; the search keeps its "
                f"{search.rounds} finished rounds ({len(search.trials)} configurations).")
    training = (ss.get("hs_step") or ss.get("hs_end")) and not search.done and not problem
    if training:
        with bar.container(horizontal=True):
            st.button("Stop the search", key="hs_stop", help="Drop the round in progress")
            shown = st.empty()
    if ss.get("hs_step") and training:
        search = advance(search, shown)
    while ss.get("hs_end") and training and not search.done:
        shown.info(f"Training round {search.rounds + 1} of {hs.planned(search)[1]}: "
                   f"{min(search.round_size, search.budget - len(search.trials))} "
                   f"configurations at once…")
        search, last = advance(search, shown), search
        if search is last:  # the round failed (and said why)
            break
        if not search.done:
            _draw(search, slots, n)
            n += 1
    with bar.container(horizontal=True):
        st.button("Run next round", key="hs_step", type="primary",
                  disabled=search.done or bool(problem))
        st.button("Run to the end", key="hs_end", disabled=search.done or bool(problem))
        st.button("Start over", key="hs_over")
    _draw(search, slots, n)
    if search.done:
        _test_metrics(search)


def render() -> None:
    """Everything under the page's title."""
    st.caption(INTRO)
    chosen, link_errors = controls()
    for message in link_errors:
        st.error(plain(message))
    with st.expander("Grid, random or Bayesian?"):
        st.markdown(METHODS)
    run(chosen)
