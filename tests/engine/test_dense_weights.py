"""A dense layer's first weights (``engine.blocks.initializers.dense_weights``): the
same to the bit as the initialiser's own draw, with no kernel compiled per shape."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from engine.blocks.initializers import FLAT, INITIALIZERS, dense_weights, warm_draws
from engine.train import count_compiles

SHAPES = [(1, 1), (2, 32), (7, 5), (32, 1), (33, 17), (64, 64), (3, 8)]


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_dense_weights_are_the_initialisers_own_draw(name):
    ini = INITIALIZERS.get(name)
    for seed in (0, 11):
        key = jax.random.split(jax.random.PRNGKey(seed))[1]
        for shape in SHAPES:
            want = np.asarray(ini.weights(key, shape, np.float32))
            got = np.asarray(dense_weights(name, key, *shape))
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {shape}")


def test_a_new_shape_compiles_nothing_and_a_big_one_is_drawn_as_before():
    warm_draws()
    key = jax.random.PRNGKey(5)
    with count_compiles() as box:
        for width in range(40, 64):
            for name in INITIALIZERS.names():
                dense_weights(name, key, width, width - 3)
    assert box["names"] == []
    big = (FLAT // 8 + 1, 8)  # over FLAT elements: the initialiser itself
    np.testing.assert_array_equal(
        np.asarray(dense_weights("he_normal", key, *big)),
        np.asarray(INITIALIZERS.get("he_normal").weights(key, big, np.float32)))


def test_inside_jit_the_initialiser_is_traced_as_before():
    key = jax.random.PRNGKey(2)
    traced = jax.jit(lambda k: dense_weights("glorot_uniform", k, 6, 4))(key)
    np.testing.assert_array_equal(np.asarray(traced), np.asarray(
        INITIALIZERS.get("glorot_uniform").weights(key, (6, 4), np.float32)))


def test_a_concrete_key_inside_a_trace_draws_the_same():
    """A key captured from outside a jitted function is concrete inside its trace."""
    key = jax.random.PRNGKey(4)
    inside = jax.jit(lambda: dense_weights("he_normal", key, 3, 4))()
    np.testing.assert_array_equal(np.asarray(inside), np.asarray(
        INITIALIZERS.get("he_normal").weights(key, (3, 4), np.float32)))
    shape = jax.eval_shape(lambda: dense_weights("lecun_uniform", key, 5, 2))
    assert shape.shape == (5, 2) and shape.dtype == np.float32
