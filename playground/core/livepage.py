"""A live page, described once and run by one runner.

Like TensorFlow Playground's ``State.PROPS`` table that drives its whole URL, a
``LivePage`` is a value: its session prefix, its default, which specs fit, its
sidebar, its probes, its frame builder and its view. ``run`` does the rest for every
live page, the ones to come included: the session and the link, the sidebar and
applying changes, the toolbar, messages, share and export, and the live loop.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

import engine
from engine import ProbeOptions, Spec
from playground.core import controls, limits, live, session, warmup
from playground.core.export import export_section
from playground.core.flash import flash_shown, show_flash

SPEEDS = (1, 2, 5, 10, 25, 50, 100)  # epochs per frame


@dataclass(frozen=True)
class Frame:
    """What a frame builder gets: the session's experiment and state, the trainer's
    result (the probes, or what a custom trainer returns), and the view options."""

    exp: engine.Experiment
    state: engine.TrainState
    result: Any
    view: dict[str, Any]
    first: bool


def points_only(spec: Spec) -> str | None:
    """Why ``spec`` does not belong on a page of points (None when it does)."""
    if engine.DATASETS.get(spec.data.name).family == "sequence":
        return (f"{spec.data.name!r} is a sequence task: open the link on the Sequences and "
                "attention page")
    kinds = sorted({layer.type for layer in spec.model.layers} & set(engine.SEQUENCE_KINDS))
    if kinds:
        return f"its {', '.join(kinds)} layers read sequences, and this page's data are points"
    return None


@dataclass(frozen=True)
class LivePage:
    """One live page.

    Attributes:
        prefix: its session namespace (``session.use_page``).
        default: the setup it opens with.
        sidebar: ``(spec, experiment, hidden sections) -> spec dict``: draws the
            sidebar's controls and returns the spec they describe.
        frame: ``Frame -> dict``: one frame for the view.
        asset: the view's script in ``assets/`` (``live_view``, ``flow_view``, ...).
        probes: what each frame's training call probes.
        fits: why a link's spec does not belong here (None when it does).
        by_steps: frames train optimizer steps rather than epochs.
        speeds, speed, unit: the speed slider's stops, start and unit. The start, 2
            epochs a frame, is about TensorFlow Playground's pace (an epoch a frame at
            up to 60 frames a second): a teacher watching the default network found 50
            too fast to see its boundary form (95% test accuracy by epoch 41).
        toggles: offer "Show test data" and "Discretize output".
        before: widgets above the toolbar; returns view options (may pick a variant).
        view: widgets between the toolbar and the view; returns view options
            (``example`` and ``plane`` go to the probes).
        extra: what the page shows under the view (e.g. the layers' source code).
        variant: another description for some view options (compare mode).
        train: a trainer of its own ``(count, budget) -> result`` (default: the
            session's experiment with ``probes``).
        events: what the view reports (a click), by name: each handler gets the value
            the view sent, before the next run draws anything.
        graph_budget: the most ``limits.graph_weight`` a setup on this page may have
            (what its probes cost to compile sets it).
        padded: train MLPs inside one padded network, so that changing neurons,
            layers, activations or features compiles nothing (``engine.train.padded``):
            True for the Playground's small ones, or a profile's name
            (``engine.train.padding.PROFILES``: "deep" for Gradient flow's stacks).
        warm: for a page with a trainer of its own, what the server's warm-up runs so
            that the page's first frame and Play compile nothing (``warmup.warm``).
        copies: how many copies of its network the page trains at once (the race's
            contestants): the session's limits count them all (``limits.refusal``).
        export_weights: offer the session's weights for download (not where a trainer of
            the page's own trains other networks).
        foreign: reads a link of another tool from the address (the Playground's
            ``tfp``) into the page's own parameters, before the session reads them.
    """

    prefix: str
    default: Spec
    sidebar: Callable[[Spec, engine.Experiment, set[str]], dict]
    frame: Callable[[Frame], dict]
    asset: str
    probes: ProbeOptions = field(default_factory=ProbeOptions)
    fits: Callable[[Spec], str | None] = points_only
    by_steps: bool = False
    speeds: tuple[int, ...] = SPEEDS
    speed: int = 2
    unit: str = "Epochs"
    toggles: bool = False
    before: Callable[[engine.Experiment], dict] | None = None
    view: Callable[[engine.Experiment], dict] | None = None
    extra: Callable[[Spec], None] | None = None
    variant: Callable[[dict], LivePage | None] | None = None
    train: Callable[..., Any] | None = None
    events: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    graph_budget: float = 20.0
    padded: bool | str = False
    warm: Callable[[], None] | None = None
    copies: int = 1
    export_weights: bool = True
    foreign: Callable[[], None] | None = None


def trainer(page: LivePage, view: dict[str, Any]) -> Callable[..., Any]:
    """``(count, budget=...) -> result`` for ``page``: its own, or the session's with
    its probes (the view's example, plane and picture included: traced, no recompile)."""
    if page.train is not None:
        return page.train
    probes = dataclasses.replace(page.probes, **{k: view[k] for k in ("example", "plane",
                                                                      "image") if k in view})
    return functools.partial(session.train_frame, probes=probes, by_steps=page.by_steps)


def run(page: LivePage) -> None:
    """Everything of a live page below its title; then, while playing, its frames.

    The sidebar is drawn in the script's run, the rest in a fragment that Play, Pause
    and the view's own widgets rerun alone (``live.live_part``).

    A session's first visit of the page is ``live.answering`` until the page is drawn:
    playing loops of other sessions wait, so a newcomer's page opens while a classroom
    plays."""
    session.use_page(page.prefix, page.graph_budget, page.padded, page.copies,
                     warmup.plan(page))
    live.live_part(session.get(session.EXPERIMENT) is None, lambda: _controls(page),
                   lambda chosen: _page(chosen[0], dict(chosen[1]), page), session.spec)


def _controls(page: LivePage) -> tuple[LivePage, dict[str, Any]]:
    """The sidebar, its changes applied, and the widgets above the toolbar: the page to
    run (``page`` or its variant) and the view options chosen so far."""
    if page.foreign:
        page.foreign()
    session.ensure_session(page.default, page.fits)
    if st.query_params.get("play") == "1":  # a lesson step (or a link) that starts playing
        del st.query_params["play"]
        session.set_playing(True)
    hidden = session.hidden_sections()
    with controls.preset_text():
        with st.sidebar:
            d = page.sidebar(session.spec(), session.experiment(), hidden)
        session.apply_changes(d)
    view = dict(page.before(session.experiment())) if page.before else {}
    return (page.variant(view) if page.variant else None) or page, view


def _page(active: LivePage, view: dict[str, Any], page: LivePage
          ) -> tuple[Callable[..., Any], Callable[[Any, bool], None], int]:
    """The toolbar, the first frame, what is under the view; the trainer, drawer, speed."""
    hidden = session.hidden_sections()
    train = trainer(active, view)
    speed, toggles = live.toolbar(active.speeds, active.speed, active.unit,
                                  lambda: train(1, budget=limits.STEP_SECONDS),
                                  active.toggles)
    view.update(toggles)
    if active.view:
        view.update(active.view(session.experiment()))
        train = trainer(active, view)
    shown = show_flash()
    note = st.empty()  # the compile note's slot, above the view
    playing = session.playing()
    result = live.first_frame(train, note, warmup.waiting_for(
        warmup.network_key(page, session.experiment())), speed if playing else 0)
    placeholder = st.empty()
    key = f"{active.prefix}_{active.asset}"

    def draw(result: Any, first: bool) -> None:
        frame = active.frame(Frame(session.experiment(), session.train_state(), result,
                                   view, first))
        live.show(placeholder, active.asset, key, frame, first, active.events)

    draw(result, True)  # at once: the slot never stays empty while more is drawn below
    if playing and not session.playing():  # that frame stopped early or diverged: say so
        st.rerun()
    if active.extra:
        active.extra(session.spec())
    if "export" not in hidden:
        export_section(active.export_weights)
    flash_shown(shown)
    return train, draw, speed
