"""The server's warm-up (``playground.core.warmup``): after it, a visitor's first frame,
Step and Play compile nothing, on every live page.

Compilations are counted with ``engine.train.count_compiles`` after emptying this process's
caches of compiled networks, so that no earlier test's compilation can stand in for the
warm-up's.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import jax
import pytest
from streamlit.testing.v1 import AppTest

import engine
from engine.train import compile as compile_module
from engine.train import count_compiles
from playground.core import warmup
from playground.core.plan import native_key
from tests.ui.apptest import network_compiles

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("lab", "flow", "sequences", "images", "race")  # the order of pages_of_the_app()


def _forget_compiled() -> None:
    compile_module._compiled.clear()
    jax.clear_caches()


def _join_warm_up() -> None:
    """Wait for the warm-up's thread to end while the test's stand-ins are in place:
    after them it would compile for real, into the process's exit."""
    for thread in threading.enumerate():
        if thread.name == "nn-playground-warmup":
            thread.join(60)
            assert not thread.is_alive()


def _visit(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", PAGES)
def test_after_the_warm_up_a_visitor_compiles_nothing(name):
    page = warmup.pages_of_the_app()[PAGES.index(name)]
    assert page.frame.__module__.startswith(f"playground.{name[:4]}")
    _forget_compiled()
    with count_compiles() as cold:
        warmup.warm(page)
    assert cold["compiles"] > 0  # the caches really were empty
    with count_compiles(all_threads=True) as box:  # AppTest runs the page in a thread
        at = _visit(name)  # the first frame
        at.button(key="pg_step").click().run()  # Step: one epoch or step, as Play's frames
        assert not at.exception, at.exception
    # The network's functions were all compiled by the warm-up (small eager operations
    # of the frame builders, milliseconds each, may still compile).
    network = network_compiles(box["names"])
    assert network == [], network


def test_without_the_warm_up_the_first_visit_compiles():
    """The control: the count above can see a compilation."""
    _forget_compiled()
    with count_compiles(all_threads=True) as box:
        _visit("flow")
    assert network_compiles(box["names"])


def test_the_warm_up_starts_once_and_a_visitor_waits_for_its_network(monkeypatch):
    monkeypatch.delenv(warmup.ENV, raising=False)
    monkeypatch.setattr(warmup, "_started", False)
    monkeypatch.setattr(warmup, "_pending", {})
    monkeypatch.setattr(warmup, "_done", {"pages": 0, "of": 0})
    gate = threading.Event()
    warmed: list[str] = []

    def slow_warm(page):
        gate.wait(30)
        warmed.append(page.prefix)

    monkeypatch.setattr(warmup, "warm", slow_warm)
    monkeypatch.setattr(warmup, "warm_inits", lambda *args: None)  # (seconds of compiles)
    pages = warmup.pages_of_the_app()
    # a page with an engine of its own (Reinforcement learning's) comes after them
    others = [("rl", lambda: (gate.wait(30), warmed.append("rl")))]
    assert warmup.start(pages, others)
    assert not warmup.start(pages, others)  # once per process
    structure = engine.build(pages[0].default).structure
    event = warmup.waiting_for(structure)
    assert event is not None and not event.is_set()  # a visitor now waits for it
    assert warmup.waiting_for("rl") is not None
    assert "of 6 pages ready" in warmup.progress()
    gate.set()
    assert event.wait(30)
    assert warmup.waiting_for(structure) is None
    assert all(e.wait(30) for e in list(warmup._pending.values()))  # the thread is done
    assert warmup.progress() == "6 of 6 pages ready" and len(warmed) == 6
    assert warmed[-1] == "rl" and warmup.waiting_for("rl") is None
    _join_warm_up()
    # the Optimizer race trains the Playground's default in a sweep of its own: warmed
    # too, not taken for the Playground's (its first visit compiled 11 s, measured)
    assert warmed.count("race") == 1 and warmed.count("pg") == 1
    assert warmup.waiting_for(engine.build(engine.preset("logistic_regression")).structure) is None


def test_the_warm_up_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(warmup, "_started", False)
    monkeypatch.setenv(warmup.ENV, "off")
    assert not warmup.start_app()


def test_a_visitor_waits_for_the_warm_up_at_most_its_bound(monkeypatch):
    """A warm-up that never finishes (stuck, or slower than its bound) delays a visitor
    by at most ``WAIT_SECONDS``; then the page compiles and draws on its own."""
    page = warmup.pages_of_the_app()[1]  # Gradient flow
    stuck = threading.Event()
    monkeypatch.setattr(warmup, "_pending", {engine.build(page.default).structure: stuck})
    monkeypatch.setattr(warmup, "WAIT_SECONDS", 1.0)
    t0 = time.perf_counter()
    at = _visit("flow")
    assert time.perf_counter() - t0 >= 1.0  # it waited ...
    assert not at.exception and not at.error  # ... then drew the page
    assert at.button(key="pg_step") is not None


def test_the_warm_up_compiles_the_playgrounds_other_batch_sizes_and_more_points():
    """Batch sizes 11-32 train in a second padded network, more than 512 points in a
    third: the warm-up compiles them too, so no batch size of TensorFlow Playground's
    range, and no number of points up to 2,048, compiles for a visitor."""
    page = warmup.pages_of_the_app()[PAGES.index("lab")]
    _forget_compiled()
    warmup.warm(page)
    warmup.warm_inits(page)
    for batch, n in ((20, 500), (3, 500), (32, 500), (10, 550), (7, 2000)):
        with count_compiles() as box:
            exp = engine.build(page.default.updated(batch_size=batch, data={"n": n}),
                               padded=True)
            probes = warmup.frame_probes(page, exp)
            state, _ = exp.train(exp.init(), 0, probes)
            exp.train(state, 1, probes)
        network = network_compiles(box["names"])
        assert network == [], (batch, n, network)


def test_no_full_garbage_collection_after_each_run_and_the_warm_up_settles():
    """Streamlit's collection after every script run held the interpreter most of a
    second per click with the engine loaded; it is off, and what the warm-up leaves is
    frozen out of the collector's walks."""
    import gc
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    try:
        warmup.settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_after_the_warm_up_gradient_flows_stack_edits_compile_nothing():
    """Depth, width (either capacity), activation and residual connections on Gradient
    flow: the first frame of each edit compiles none of the network's functions."""
    page = warmup.pages_of_the_app()[PAGES.index("flow")]
    _forget_compiled()
    warmup.warm(page)
    warmup.warm_inits(page)  # its 64-unit network and the initialisers' draws
    at = _visit("flow")
    edits = [("number_input", "Hidden layers", 14), ("number_input", "Neurons per layer", 48),
             ("selectbox", "Activation", "relu"), ("toggle", "Residual connections", True)]
    for kind, label, value in edits:
        widget = next(w for w in getattr(at, kind) if w.label == label)  # this run's
        with count_compiles(all_threads=True) as box:
            widget.set_value(value).run()
            assert not at.exception and not at.error, (label, at.exception)
        network = network_compiles(box["names"])
        assert network == [], (label, network)
    spec = at.session_state["gf_spec"]  # the page's namespaced key (session.key)
    assert len(spec.model.layers) == 14 and spec.model.layers[0].opts()["units"] == 48
    assert spec.model.layers[1].opts()["activation"] == "relu"
    assert spec.model.layers[1].opts()["residual"]


def test_gradient_flow_pads_only_the_networks_the_warm_up_compiles():
    """Its 30-layer padded network takes about 21 s to compile: the default trains in
    its own network (the warm-up compiles it), an edited stack padded, and a stack of
    another optimizer (not in the plan) in its own network, compiled in seconds; back
    to the default's optimizer, it trains padded again."""
    page = warmup.pages_of_the_app()[PAGES.index("flow")]
    plan = warmup.plan(page)
    default = engine.build(page.default, padded=page.padded)
    assert default.padded_structure in plan.padded and len(plan.padded) == 2  # two widths
    assert plan.native == {native_key(default)}
    at = _visit("flow")
    assert at.session_state["gf_experiment"].padded_structure is None  # the default's own
    next(w for w in at.number_input if w.label == "Hidden layers").set_value(14).run()
    assert at.session_state["gf_experiment"].padded_structure in plan.padded
    for name, padded in (("adam", False), ("sgd", True)):
        next(w for w in at.selectbox if w.label == "Optimizer").set_value(name).run()
        assert not at.exception and not at.error
        exp = at.session_state["gf_experiment"]
        assert exp.spec.optimizer.name == name and len(exp.spec.model.layers) == 14
        assert (exp.padded_structure is not None) == padded, name


def test_the_playgrounds_default_trains_natively_and_its_edits_padded():
    """A padded epoch costs several times the real network's (264 against 46 us of CPU
    for the default): the default, which the warm-up compiles as it is, trains in its
    own network; any edited small MLP in the padded one, which the warm-up compiles
    too, so the edit compiles nothing."""
    page = warmup.pages_of_the_app()[PAGES.index("lab")]
    plan = warmup.plan(page)
    assert plan.padded is None  # any small MLP trains padded
    _forget_compiled()
    warmup.warm(page)
    warmup.warm_inits(page)
    at = _visit("lab")
    exp = at.session_state["pg_experiment"]
    assert exp.padded_structure is None and native_key(exp) in plan.native
    assert exp.spec == page.default
    # the network, or the data's size (a real network compiles per number of rows):
    # each trains padded, and compiles nothing
    for kind, label, value in (("number_input", "Layer 1 neurons", 6),
                               ("slider", "Training share", 0.7),
                               ("number_input", "Points", 600)):
        at = _visit("lab")
        with count_compiles(all_threads=True) as box:
            next(w for w in getattr(at, kind) if w.label == label).set_value(value).run()
            at.button(key="pg_step").click().run()
            assert not at.exception and not at.error
        exp = at.session_state["pg_experiment"]
        assert exp.padded_structure is not None, label
        assert exp.spec != page.default
        network = network_compiles(box["names"])
        assert network == [], (label, network)
    # a value (the learning rate) keeps the default's own network
    at2 = _visit("lab")
    next(w for w in at2.select_slider if w.label == "Learning rate").set_value(0.1).run()
    assert at2.session_state["pg_experiment"].padded_structure is None


def test_after_the_warm_up_no_optimizer_penalty_or_schedule_compiles():
    """A teacher who switched the Playground to Adam waited 6-7 s for its padded network,
    to momentum 11.5 s, to RMSprop 6 s: the warm-up compiles Adam's network (AdamW's
    too), momentum's (Nesterov's too) and RMSprop's (Adagrad's too), so every optimizer
    of the menu compiles nothing. The weight penalty and the learning-rate schedule are
    traced in the default's padded network: picking any compiles nothing, with no
    warm-up of its own."""
    page = warmup.pages_of_the_app()[PAGES.index("lab")]
    menus = warmup.menu_variants(page.default)
    assert [s.optimizer.name for s in menus] == ["adam", "momentum", "rmsprop"]
    default = engine.build(page.default, padded=True).structure
    assert all(engine.build(m, padded=True).structure != default for m in menus)
    _forget_compiled()
    warmup.warm(page)
    warmup.warm(page, page.default, padded=True)  # as ``warm_inits`` does first
    warmup.warm_menus(page)
    picks = [("Optimizer", "adam", menus[0]),
             ("Optimizer", "adamw", page.default.updated(optimizer={"name": "adamw"})),
             ("Optimizer", "momentum", menus[1]),
             ("Optimizer", "nesterov", page.default.updated(optimizer={"name": "nesterov"})),
             ("Optimizer", "rmsprop", menus[2]),
             ("Optimizer", "adagrad", page.default.updated(optimizer={"name": "adagrad"})),
             ("Regularisation", "l2", page.default.updated(regularization={"kind": "l2"})),
             ("Regularisation", "l1", page.default.updated(regularization={"kind": "l1"})),
             ("Learning-rate schedule", "cosine", page.default.updated(
                 optimizer={"schedule": {"name": "cosine"}}))]
    for label, value, spec in picks:
        at = _visit("lab")
        with count_compiles(all_threads=True) as box:
            next(w for w in at.selectbox if w.label == label).set_value(value).run()
            at.button(key="pg_step").click().run()
            assert not at.exception and not at.error
        exp = at.session_state["pg_experiment"]
        assert exp.spec.optimizer.name == spec.optimizer.name, label
        assert exp.structure == engine.build(spec, padded=True).structure, (label, value)
        network = network_compiles(box["names"])
        assert network == [], (label, value, network)


def test_gradient_flows_controls_span_its_padded_profile():
    from engine.train.padding import PROFILES
    from playground import flow
    deep = PROFILES["deep"]
    assert deep.depth == flow.MAX_DEPTH and deep.units[-1] == flow.MAX_WIDTH
    assert flow.PAGE.padded == "deep"


RL_FUNCTIONS = {"dqn_frames", "_rollout", "greedy_returns", "_q_slice"}


def test_after_the_warm_up_the_rl_pages_first_frame_step_and_play_compile_nothing(
        monkeypatch):
    """Reinforcement learning has an engine of its own: the warm-up compiles its
    default's first frame and every speed's loop (Play's first), so a visitor's first
    frame, Step and a change of speed compile none of them."""
    from playground import rl_page, rl_warm

    monkeypatch.setattr(rl_warm, "_warmed", set())
    _forget_compiled()
    with count_compiles(all_threads=True) as cold:
        rest = rl_warm.warm_default()  # Play's speed here, the others in ``rest``
        rest.join(240)
    warmed = {n.removeprefix("jit(").rstrip(")") for n in cold["names"]}
    assert warmed >= RL_FUNCTIONS, warmed  # the caches really were empty
    assert rl_warm.warm_default() is None  # once per process
    with count_compiles(all_threads=True) as box:
        at = AppTest.from_file(str(ROOT / "pages" / "rl.py"), default_timeout=240)
        at.run()
        at.button(key="rl_step").click().run()
        for speed in rl_warm.SPEEDS:
            at.select_slider(key="rl_speed").set_value(speed).run()
            at.button(key="rl_step").click().run()
        assert not at.exception and not at.error, at.exception
    assert int(at.session_state[rl_page.STATE].iteration) == (
        rl_warm.SPEED + sum(rl_warm.SPEEDS))  # every Step trained
    again = [n for n in box["names"] if n.removeprefix("jit(").rstrip(")") in RL_FUNCTIONS]
    assert again == [], again


def test_an_rl_visitor_during_the_warm_up_waits_for_it_and_leaves_it_the_work(monkeypatch):
    """A first visit while the server's warm-up has the RL default still to do waits
    for that very entry (at most its bound, here 1 s) and does not claim the network
    for a compile of its own, which would leave the warm-up nothing to do."""
    from playground import rl_warm

    stuck = threading.Event()
    monkeypatch.setattr(warmup, "_pending", {rl_warm.warm_key(): stuck})
    monkeypatch.setattr(warmup, "WAIT_SECONDS", 1.0)
    monkeypatch.setattr(rl_warm, "_warmed", set())
    monkeypatch.delenv(warmup.ENV, raising=False)  # the page's own background compile on
    monkeypatch.setattr(warmup, "_started", True)  # (and no real warm-up started here)
    t0 = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "pages" / "rl.py"), default_timeout=240)
    at.run()
    assert time.perf_counter() - t0 >= 1.0  # it waited for the warm-up's entry ...
    assert not at.exception and not at.error  # ... then drew the page
    assert rl_warm.warm_key() not in rl_warm._warmed  # the warm-up's to compile


def test_the_apps_warm_up_keys_are_what_each_page_waits_for(monkeypatch):
    """``start_app`` (both ways the app starts) registers an entry per page; the race's
    and the RL page's are their own, and are the keys their first frames wait for."""
    from playground import race, rl_warm

    gate = threading.Event()
    monkeypatch.delenv(warmup.ENV, raising=False)
    monkeypatch.setattr(warmup, "_started", False)
    monkeypatch.setattr(warmup, "_pending", {})
    monkeypatch.setattr(warmup, "_done", {"pages": 0, "of": 0})
    monkeypatch.setattr(warmup, "warm", lambda *args, **kw: gate.wait(30))
    monkeypatch.setattr(warmup, "warm_inits", lambda *args: None)
    monkeypatch.setattr(rl_warm, "warm_default", lambda: gate.wait(30))
    assert warmup.start_app()
    try:
        playground = warmup.waiting_for(engine.build(race.PAGE.default).structure)
        racing = warmup.waiting_for(warmup.page_key(
            race.PAGE, engine.build(race.PAGE.default).structure))
        rl = warmup.waiting_for(rl_warm.dqn.structure_of(rl_warm.SOURCE))
        assert None not in (playground, racing, rl)
        assert len({id(playground), id(racing), id(rl)}) == 3
    finally:
        gate.set()
    assert all(e.wait(30) for e in list(warmup._pending.values()))
    _join_warm_up()


def test_a_visitor_waits_for_a_padded_network_the_warm_up_is_compiling(monkeypatch):
    """An edit during the warm-up that needs the padded network it is compiling right
    then (here the Playground's batch-32 one) waits for it instead of compiling it
    beside it; the key is the padded network's, for every network that trains in it.
    One still queued is not waited for (``_compiling`` marks it only while it runs)."""
    page = warmup.pages_of_the_app()[PAGES.index("lab")]
    spec = page.default.updated(batch_size=30)
    padded = engine.build(spec, padded=True)
    key = warmup.network_key(page, padded)
    assert key == padded.padded_structure != padded.structure
    assert warmup.network_key(page, engine.build(page.default)) == engine.build(
        page.default).structure  # a network that trains as it is: its own structure
    edited = engine.build(spec.updated(model={"layers": [
        {"type": "dense", "units": 3, "activation": "relu"}]}), padded=True)
    assert warmup.network_key(page, edited) == key  # the same padded network
    monkeypatch.setattr(warmup, "_pending", {})
    assert warmup.waiting_for(key) is None  # queued, not running: nobody waits
    inside, release = threading.Event(), threading.Event()
    probes = warmup.frame_probes

    def slow(page, exp):
        inside.set()
        release.wait(30)
        return probes(page, exp)

    monkeypatch.setattr(warmup, "frame_probes", slow)
    thread = threading.Thread(target=warmup.warm, args=(page, spec), kwargs={"padded": True})
    thread.start()
    try:
        assert inside.wait(60)
        event = warmup.waiting_for(key)
        assert event is not None and not event.is_set()
    finally:
        release.set()
        thread.join(240)
    assert not thread.is_alive() and event.is_set() and warmup.waiting_for(key) is None
