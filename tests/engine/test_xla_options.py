"""Per-network XLA options: narrow networks of points or images compile without
YNNPACK on CPU (``engine.train.xla``), and that changes no result."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import engine
from engine.model import output_layer
from engine.train import xla
from engine.train.compile import Compiled


def _options(name: str, padded: bool | str = False) -> dict | None:
    exp = engine.build(engine.preset(name), padded=padded)
    fns = exp.fns.fns if padded else exp.fns
    return fns.xla


@pytest.mark.parametrize(("name", "padded", "off"), [
    ("tf_playground", False, True),  # 4 and 2 units
    ("tf_playground", True, True),  # the padded network: 8 units a layer
    ("tiny_vgg", False, True),  # 8 filters
    ("vanishing_sigmoid", False, False),  # 32 units: YNNPACK is faster there
    ("vanishing_sigmoid", "deep", False),
    ("mnist_mlp", False, False),  # 128 units
    ("adding_lstm", False, False),  # recurrent: XLA's defaults
])
def test_which_networks_compile_without_ynnpack(name, padded, off):
    off = off and jax.default_backend() == "cpu"  # other compilers do not know the flag
    assert (_options(name, padded) == {"xla_cpu_experimental_ynn_fusion_type": ""}) is off


def test_widest_counts_units_filters_and_the_output_layer():
    exp = engine.build(engine.preset("tf_playground"))
    net = exp.structure.net
    assert xla.widest(net.layers) == 4
    assert xla.widest((*net.layers, output_layer(net))) == 4
    wide = engine.build(engine.preset("tf_playground").updated(
        model={"layers": [{"type": "dense", "units": 17}]}))
    assert xla.compiler_options((*wide.structure.net.layers,
                                 output_layer(wide.structure.net))) is None


def _with_xla_defaults(exp: engine.Experiment) -> Compiled:
    """``exp``'s compiled functions with its training loop jitted without the option."""
    default = Compiled(exp.structure)
    default.train_chunk = jax.jit(default._train_chunk,
                                  static_argnames=("capacity", "by_steps", "probes"))
    return default


def _compiled_text(fns: Compiled, exp: engine.Experiment) -> str:
    state = exp.init()
    return fns.train_chunk.lower(state, exp.dataset.arrays, exp.values, np.int32(1),
                                 capacity=1, by_steps=False, probes=None).compile().as_text()


def test_the_option_reaches_the_compiler():
    """The narrow network's training loop has no YNNPACK fusion; with the option
    removed, the same network's does (so the test can tell)."""
    exp = engine.build(engine.preset("softmax_3class"))
    assert "ynn" not in _compiled_text(exp.fns, exp).lower()
    default = _with_xla_defaults(exp)
    assert "ynn" in _compiled_text(default, exp).lower()


def test_results_equal_xla_defaults():
    """Same spec and seed: the curves and weights with and without YNNPACK agree to
    float32 rounding (the option changes how, not what, XLA computes)."""
    exp = engine.build(engine.preset("softmax_3class"))
    state, chunk = exp.train(exp.init(), 20)
    default = _with_xla_defaults(exp)
    st2, (table, _, rows) = default.run(exp.init(), exp.dataset.arrays, exp.values, 20, 32,
                                        False, None)
    np.testing.assert_allclose(table[: int(rows), 0], chunk.history["train_loss"],
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree_util.tree_leaves(state.params),
                    jax.tree_util.tree_leaves(st2.params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_sweeps_of_narrow_networks_ask_for_wide_vectors():
    """A sweep's configurations lie along the minor axis, where 512-bit vectors pay;
    the network alone keeps XLA's width, and a wide network's sweep its defaults."""
    narrow = engine.build(engine.preset("tf_playground")).fns.xla
    wide = engine.build(engine.preset("mnist_mlp")).fns.xla
    if jax.default_backend() != "cpu":
        assert xla.sweep_options(narrow) is None
        return
    assert "xla_cpu_prefer_vector_width" not in narrow
    assert xla.sweep_options(narrow) == {**narrow, "xla_cpu_prefer_vector_width": "512"}
    assert xla.sweep_options(wide) is None
    sw = engine.sweep([engine.preset("tf_playground")] * 2)
    assert sw.fns.xla == xla.sweep_options(narrow)
