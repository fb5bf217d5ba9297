"""The loss curve sent to the live views (``playground.core.encode.curve``)."""

from __future__ import annotations

import math

import numpy as np

from playground.core.encode import CURVE_POINTS, curve, floats, per_unit_bytes, unfloats


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


def test_each_unit_gets_its_own_scale_above_a_floor():
    """Thumbnails: a weak neuron beside a strong one still spans the colours; one under
    2% of the strongest stays pale; all zeros, NaN and inf stay neutral or clipped."""
    grid = np.zeros((2, 2, 4))
    grid[..., 0] = [[0.0, 20.0], [-10.0, 5.0]]  # strong
    grid[..., 1] = [[0.0, 0.5], [-0.25, 0.1]]  # 40 times weaker
    grid[..., 2] = [[0.0, 0.04], [0.0, 0.0]]  # under the floor: 0.4 of 255-128 at most
    grid[..., 3] = [[np.nan, np.inf], [0.0, 0.0]]
    out = per_unit_bytes(grid)
    assert out[0, 1, 0] == 255 and out[0, 1, 1] == 255  # each its own largest value
    # half its largest, drawn at sqrt(1/2) of the colour: small values stay in sight
    assert out[1, 0, 0] == out[1, 0, 1] == round(128 - 127 * math.sqrt(0.5))
    assert out[0, 1, 2] == round(128 + 127 * math.sqrt(0.04 / (0.02 * 20)))
    assert out[0, 0, 3] == 128 and out[0, 1, 3] == 255 and out[1, 1, 3] == 128
    assert np.all(per_unit_bytes(np.zeros((3, 3, 2))) == 128)
