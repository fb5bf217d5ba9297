"""What a change of the setup does to training (``playground.core.restart``): a new
weight penalty or clipping picked in the menus trains on from the current weights; a
new optimizer or learning-rate schedule starts over and says why; a new network starts
over silently; a whole setup arriving (a lesson's next step, a link) starts over."""

from __future__ import annotations

import jax
import numpy as np

import engine
from engine.lessons import load_lesson
from engine.presets import preset
from playground import lesson_bar
from playground.core import address, restart
from playground.core import session as S
from tests.ui.apptest import messages, ok, run_page, widget

DEFAULT = preset("tf_playground")


def _epoch(at) -> int:
    return int(at.session_state[S.TRAIN_STATE].epoch)


def _params(at) -> list:
    return jax.tree_util.tree_leaves(jax.device_get(at.session_state[S.TRAIN_STATE].params))


def _stepped():
    at = run_page("lab")
    at.button(key="pg_step").click().run()
    ok(at)
    assert _epoch(at) == 1
    return at


def test_a_new_penalty_or_clipping_trains_on_from_the_current_weights():
    at = _stepped()
    for label, kind, value in (("selectbox", "Regularisation", "l1"),
                               ("selectbox", "Regularisation", "l2"),
                               ("number_input", "Clip gradient norm", 1.0)):
        trained = _params(at)
        widget(at, label, kind).set_value(value).run()
        ok(at)
        assert messages(at, "info") == [], (kind, value)
        assert _epoch(at) == 1 and len(at.session_state[S.HISTORY]["train_loss"]) == 1
        assert all(np.array_equal(a, b) for a, b in zip(_params(at), trained, strict=True))
        at.button(key="pg_step").click().run()  # and it trains on, under the new rule
        ok(at)
        assert _epoch(at) == 2
        at.button(key="pg_reset").click().run()
        at.button(key="pg_step").click().run()
    spec = at.session_state[S.SPEC]
    assert spec.regularization.kind == "l2" and spec.optimizer.clip_norm == 1.0


def test_the_rate_shown_is_the_latest_epochs_never_a_stale_one():
    """The view's learning rate (``S.RATE``) is the one the latest epoch began with; a
    new rate while paused hides it until an epoch has trained at the new rate."""
    at = _stepped()
    rate = np.float32(DEFAULT.optimizer.learning_rate)
    assert at.session_state[S.RATE] == rate
    widget(at, "number_input", "Clip gradient norm").set_value(1.0).run()
    assert at.session_state[S.RATE] == rate  # not the rate's business: still shown
    widget(at, "select_slider", "Learning rate").set_value(0.1).run()
    ok(at)
    assert _epoch(at) == 1 and S.RATE not in at.session_state
    at.button(key="pg_step").click().run()
    assert at.session_state[S.RATE] == np.float32(0.1)


def test_a_new_optimizer_or_schedule_starts_over_and_says_why():
    for label, value, why in (("Optimizer", "adam", "new optimizer"),
                              ("Learning-rate schedule", "cosine", "schedule counts")):
        at = _stepped()
        widget(at, "selectbox", label).set_value(value).run()
        ok(at)
        assert _epoch(at) == 0 and at.session_state[S.HISTORY]["train_loss"] == []
        notes = messages(at, "info")
        assert len(notes) == 1 and why in notes[0] and "Press Play" in notes[0], notes
    untrained = run_page("lab")  # nothing trained yet: nothing to explain
    widget(untrained, "selectbox", "Optimizer").set_value("adam").run()
    ok(untrained)
    assert messages(untrained, "info") == []


def test_a_new_network_starts_over_without_a_note():
    at = _stepped()
    widget(at, "number_input", "Layer 1 neurons").set_value(5).run()
    ok(at)
    assert _epoch(at) == 0 and messages(at, "info") == []


def test_a_lessons_next_step_starts_over_though_only_the_penalty_changed():
    """Over-fitting's step 3 (an L2 penalty) to step 4 (none, early stopping): the step
    is an experiment of its own, from its first epoch (a review: it trained on from step
    3's weights with step 3's early-stopping monitor)."""
    lesson = load_lesson("overfitting")
    at = run_page("lab", lesson_bar.step_query(lesson, 2, None))
    ok(at)
    assert at.session_state[S.SPEC].regularization.kind == "l2"
    at.button(key="pg_step").click().run()
    assert _epoch(at) == 1
    at.query_params.update(lesson_bar.step_query(lesson, 3, None))  # as Next or a link does
    at.run()
    ok(at)
    spec = at.session_state[S.SPEC]
    assert spec.regularization.kind == "none" and spec.early_stopping.patience == 50
    assert _epoch(at) == 0 and at.session_state[S.HISTORY]["train_loss"] == []


def test_an_echo_of_a_lesson_steps_address_keeps_the_next_edit_and_its_training():
    """A lesson step opened on purpose (``address.expect``), then a sidebar edit: a
    rerun carrying the step's address again (the browser one update behind) is an echo,
    not a link, so the edit and the trained network stay (a review: the purpose
    lingered, and the echo undid the edit and reset training)."""
    lesson = load_lesson("overfitting")
    query = lesson_bar.step_query(lesson, 2, None)
    at = run_page("lab", query)
    at.session_state[address.EXPECTED] = query["s"]  # as lesson_bar.go leaves it
    at.run()
    at.button(key="pg_step").click().run()
    widget(at, "select_slider", "Learning rate").set_value(0.1).run()
    ok(at)
    assert _epoch(at) == 1 and at.query_params["s"] != [query["s"]]
    at.query_params["s"] = query["s"]  # the echo
    at.run()
    ok(at)
    assert at.session_state[S.SPEC].optimizer.learning_rate == 0.1 and _epoch(at) == 1


def test_the_rules_on_experiments():
    base = engine.build(DEFAULT)  # the same data as the others (as the app keeps it)
    l1 = base.with_spec(DEFAULT.updated(regularization={"kind": "l1", "rate": 0.01}))
    adam = base.with_spec(DEFAULT.updated(optimizer={"name": "adam"}))
    reseeded = base.with_spec(DEFAULT.updated(seed=DEFAULT.seed + 1))
    assert restart.needed(None, base)
    assert not restart.needed(base, l1, edit=True) and not restart.needed(l1, base, edit=True)
    assert restart.needed(base, l1) and restart.needed(l1, base)  # a setup arriving whole
    faster = base.with_spec(DEFAULT.updated(optimizer={"learning_rate": 0.3}))
    assert not restart.needed(base, faster, edit=True)  # a new rate in the sidebar...
    assert restart.needed(base, faster)  # ...but a link's (or a lesson step's) starts over
    assert not restart.needed(base, base.with_spec(DEFAULT))  # the same setup again
    assert restart.needed(base, adam) and restart.needed(base, reseeded)
    assert restart.note(base, adam, trained=True) == restart.OPTIMIZER_NOTE
    assert restart.note(base, adam, trained=False) is None
    assert restart.note(base, reseeded, trained=True) is None  # a new seed: plain to see
    assert restart.needed(base, engine.build(DEFAULT))  # new data (another draw of it)
