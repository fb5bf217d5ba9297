"""AppTest: the Playground's controls for points placed by hand (the clicks themselves
are tested in Chromium, ``tests/e2e/test_hand_points.py``)."""

from __future__ import annotations

import json

import numpy as np

from engine.data import decode_points
from playground.core import session as S
from tests.ui.apptest import messages, run_page, widget

HAND = {"data": {"name": "hand", "classes": 2}}


def test_a_hand_set_offers_its_controls_and_no_noise_or_count() -> None:
    at = run_page("lab", {"s": json.dumps(HAND)})
    assert not at.exception and not messages(at)
    assert "Noise" not in [s.label for s in at.slider]
    assert "Points" not in [n.label for n in at.number_input]
    assert "Regenerate data" not in [b.label for b in at.button]
    assert widget(at, "selectbox", "Start again from").value == "empty"
    assert at.session_state[S.SPEC].data.name == "hand"


def test_starting_from_a_dataset_copies_its_points_into_the_link() -> None:
    at = run_page("lab", {"s": json.dumps(HAND)})
    widget(at, "selectbox", "Start again from").set_value("xor")
    next(b for b in at.button if b.label == "Start").click()
    at.run()
    assert not at.exception and not messages(at)
    spec = at.session_state[S.SPEC]
    x, y = decode_points(spec.data.points, "classification")
    assert spec.data.name == "hand" and len(x) == 500
    assert set(y.tolist()) == {0, 1}
    # XOR's classes: the sign of x1 * x2 (noise 0.1 flips a few near the axes).
    agree = np.mean((x[:, 0] * x[:, 1] > 0) == (y == 1))
    assert agree > 0.9
    assert len(at.query_params["s"][-1] if isinstance(at.query_params["s"], list)
               else at.query_params["s"]) < 8000


def test_an_empty_plane_waits_for_points_and_says_how_many() -> None:
    at = run_page("lab", {"s": json.dumps(HAND)})
    before = at.session_state[S.SPEC]
    next(b for b in at.button if b.label == "Start").click()  # "an empty plane"
    at.run()
    assert not at.exception
    assert any("0 points placed: add at least 4 more" in m for m in messages(at, "info"))
    assert at.session_state[S.SPEC] == before  # the last trained set stays until then
    assert not at.session_state[S.PLAYING]
