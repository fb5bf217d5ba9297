"""The gradient-flow presets show what they claim, at initialisation.

The ratio is the full-batch gradient norm of the first dense layer over that of the
last hidden dense layer (``Probes.grad_norm``), as the issue asks.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.presets import PRESETS, preset


def first_over_last_hidden(name: str) -> float:
    exp = engine.build(preset(name))
    state = exp.init()
    norms = exp.probe(state, resolution=8, neuron_resolution=4).grad_norm
    dense = [i for i, p in enumerate(state.params) if "w" in p][:-1]  # hidden dense layers
    return float(norms[dense[0]] / norms[dense[-1]])


@pytest.mark.parametrize(("name", "low", "high"), [
    ("vanishing_sigmoid", 0.0, 1e-2),  # the first layer gets < 1% of the last's gradient
    ("exploding_normal_init", 10.0, np.inf),  # and here more than 10x
    ("healthy_he_relu", 0.05, 20.0),  # within a factor of about 20 either way
])
def test_gradient_presets_cross_their_thresholds(name, low, high):
    assert name in PRESETS
    ratio = first_over_last_hidden(name)
    assert low < ratio < high, ratio
