"""Optimizer families (``engine.blocks.optimizers.FAMILIES``): a padded network picks
an optimizer within its family by a traced index, and each member must step exactly as
optax's own optimizer of that name does, from a state ``widen`` and ``narrow`` carry
across unchanged."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from engine.blocks.optimizers import (
    FAMILIES,
    OPTIMIZERS,
    OptimizerValues,
    family_key,
    family_of,
    make_optimizer,
    structure_optimizer,
)

VALUES = OptimizerValues(*(jnp.float32(x) for x in
                           (0.05, 0.9, 0.8, 0.99, 1e-8, 0.9, 0.05, 0.0)))
MEMBERS = [(family, i, name) for family in FAMILIES for i, name in enumerate(family.names)]


def _params(key: int) -> list[dict]:
    k1, k2 = jax.random.split(jax.random.PRNGKey(key))
    return [{"w": jax.random.normal(k1, (3, 4)), "b": jax.random.normal(k2, (4,))}]


def _leaves(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


@pytest.mark.parametrize(("family", "index", "name"), MEMBERS,
                         ids=[name for _, _, name in MEMBERS])
def test_each_member_steps_exactly_as_optax_does(family, index, name):
    own = make_optimizer(name, VALUES, VALUES.learning_rate)
    key = family_key(name)
    params = _params(0)
    state = own.init(params)
    wide = family.widen(name, state)
    shared = structure_optimizer(key, jnp.int32(index), VALUES, VALUES.learning_rate)
    assert jax.tree_util.tree_structure(wide) == jax.tree_util.tree_structure(
        shared.init(params))

    @jax.jit
    def step_own(g, s, p):
        u, s = make_optimizer(name, VALUES, VALUES.learning_rate).update(g, s, p)
        return optax.apply_updates(p, u), s

    @jax.jit
    def step_family(g, s, p, i):
        u, s = structure_optimizer(key, i, VALUES, VALUES.learning_rate).update(g, s, p)
        return optax.apply_updates(p, u), s

    p1 = p2 = params
    for t in range(6):
        grads = _params(t + 1)
        p1, state = step_own(grads, state, p1)
        p2, wide = step_family(grads, wide, p2, jnp.int32(index))
    for a, b in zip(_leaves(p1), _leaves(p2), strict=True):
        np.testing.assert_array_equal(a, b)
    back = family.narrow(name, wide)
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(state)
    for a, b in zip(_leaves(state), _leaves(back), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(_leaves(p1)[0], _leaves(params)[0])  # it did step


def test_an_infinite_weight_stays_infinite_under_adam_as_in_optax():
    params = [{"w": jnp.array([jnp.inf, 1.0]), "b": jnp.zeros(2)}]
    grads = [{"w": jnp.array([0.5, 0.5]), "b": jnp.zeros(2)}]
    family = family_of("adam")
    opt = structure_optimizer(family_key("adam"), jnp.int32(0), VALUES, VALUES.learning_rate)
    u, _ = opt.update(grads, family.widen("adam", make_optimizer(
        "adam", VALUES, VALUES.learning_rate).init(params)), params)
    assert np.isfinite(np.asarray(u[0]["w"])).all()  # not NaN from 0 x inf


def test_families_are_disjoint_optimizers_and_their_keys_name_them():
    names = [n for f in FAMILIES for n in f.names]
    assert len(names) == len(set(names)) and set(names) <= set(OPTIMIZERS.names())
    for f in FAMILIES:
        assert {family_key(n) for n in f.names} == {family_key(f.names[0])}
        assert family_of(family_key(f.names[0])) is f
    assert family_key("sgd") == "sgd" and family_of("sgd") is None


@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9999])
@pytest.mark.parametrize("name", ["adagrad", "rmsprop"])
def test_the_accumulator_family_is_optax_on_zero_tiny_huge_and_infinite_gradients(name, decay):
    """Its update is written out (optax's two whole rules cost 1.45x): every branch held
    to optax's, bit for bit, state included. A weight's gradient 0 for its first steps
    keeps Adagrad's sum at 0, where its step is 0 (``t > 0``)."""
    values = VALUES._replace(decay=jnp.float32(decay))
    family = family_of(name)
    index = jnp.int32(family.names.index(name))
    own = make_optimizer(name, values, values.learning_rate)
    params = [{"w": jnp.zeros(5), "b": jnp.zeros(2)}]
    grads = [np.array([0.0, 1e-30, 3.0, -1e20, 0.5]), np.array([0.0, 0.0, 2.0, 1e-3, 0.5]),
             np.array([0.0, 0.0, -2.0, 1.0, np.inf]), np.array([0.0, 4.0, 0.0, 1.0, 0.5])]
    state = own.init(params)
    if name == "adagrad":  # a sum of 0, as a padded network's unused weights start
        state = jax.tree_util.tree_map(jnp.zeros_like, state)
    wide = family.widen(name, state)
    fam = structure_optimizer(family_key(name), index, values, values.learning_rate)
    for g in grads:
        g = [{"w": jnp.float32(g), "b": jnp.float32(g[:2])}]
        u1, state = jax.jit(own.update)(g, state, params)
        u2, wide = jax.jit(fam.update)(g, wide, params)
        for a, b in zip(_leaves((u1, state)), _leaves((u2, family.narrow(name, wide))),
                        strict=True):
            np.testing.assert_array_equal(a, b)
