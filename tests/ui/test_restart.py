"""What a change of the setup does to training (``playground.core.restart``): a new
weight penalty or clipping trains on from the current weights; a new optimizer or
learning-rate schedule starts over and says why; a new network starts over silently."""

from __future__ import annotations

import jax
import numpy as np

import engine
from engine.presets import preset
from playground.core import restart
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


def test_the_rules_on_experiments():
    base = engine.build(DEFAULT)  # the same data as the others (as the app keeps it)
    l1 = base.with_spec(DEFAULT.updated(regularization={"kind": "l1", "rate": 0.01}))
    adam = base.with_spec(DEFAULT.updated(optimizer={"name": "adam"}))
    reseeded = base.with_spec(DEFAULT.updated(seed=DEFAULT.seed + 1))
    assert restart.needed(None, base)
    assert not restart.needed(base, l1) and not restart.needed(l1, base)
    assert restart.needed(base, adam) and restart.needed(base, reseeded)
    assert restart.note(base, adam, trained=True) == restart.OPTIMIZER_NOTE
    assert restart.note(base, adam, trained=False) is None
    assert restart.note(base, reseeded, trained=True) is None  # a new seed: plain to see
    assert restart.needed(base, engine.build(DEFAULT))  # new data (another draw of it)
