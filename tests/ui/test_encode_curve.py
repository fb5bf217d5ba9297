"""The loss curve sent to the live views (``playground.core.encode.curve``)."""

from __future__ import annotations

import math

import numpy as np

from playground.core.encode import CURVE_POINTS, curve, floats, unfloats


def _history(n: int) -> dict[str, list[float]]:
    return {"train_loss": [1.0 / (i + 1) for i in range(n)],
            "test_loss": [float("nan") if i == n // 2 else 2.0 / (i + 1) for i in range(n)],
            "val_loss": [float("nan")] * n}


def _decoded(c: dict) -> dict:
    return {k: unfloats(v) if isinstance(v, dict) else v for k, v in c.items()}


def test_a_long_history_is_downsampled_to_its_first_and_last_epochs():
    n = 10_000
    sent = curve(_history(n), stop_epoch=None)
    assert set(sent["train"]) == {"__f32"}  # base64 float32, not a JSON list of floats
    c = _decoded(sent)
    assert 2 < len(c["train"]) <= CURVE_POINTS
    assert len(c["test"]) == len(c["train"])
    assert c["train"][0] == 1.0 and math.isclose(c["train"][-1], 1.0 / n, rel_tol=1e-6)
    assert all(a >= b for a, b in zip(c["train"], c["train"][1:], strict=False))
    assert c["val"] == []  # a split without values is not drawn
    assert c["stop_at"] is None
    assert c["epochs"] == n  # the x axis's end label


def test_a_short_history_is_sent_whole_with_gaps_and_the_stopping_epoch():
    c = _decoded(curve(_history(11), stop_epoch=6))
    assert len(c["train"]) == 11
    assert c["test"][5] is None  # NaN becomes a gap, not a JSON error
    assert c["stop_at"] == 0.5
    assert curve({"train_loss": []}, None)["train"] == []


def test_floats_keep_float32_values_and_gaps():
    values = [0.5, float("nan"), float("inf"), -3.25, 1e-7]
    assert unfloats(floats(values)) == [0.5, None, None, -3.25, float(np.float32(1e-7))]
    assert unfloats(floats([])) == []


def test_a_growing_history_keeps_the_points_it_drew():
    """Frame after frame the same epochs are drawn (no shimmer on a noisy curve), the
    last one too, and never more than ``CURVE_POINTS``."""
    rng = np.random.default_rng(0)
    losses = rng.random(5_000).tolist()
    before = None
    for n in range(2_000, 2_100):
        c = unfloats(curve({"train_loss": losses[:n]}, None)["train"])
        assert len(c) <= CURVE_POINTS and c[0] == np.float32(losses[0])
        assert c[-1] == np.float32(losses[n - 1])
        if before is not None:  # every drawn point but the last is drawn again
            assert c[:len(before) - 1] == before[:-1]
        before = c
