"""Sequence models through the whole engine: data, shapes, masked losses, training."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine import SEQUENCE_KINDS, ProbeOptions, Spec, SpecError
from engine.presets import preset
from engine.train import count_compiles
from engine.train.metrics import example_hits


def _spec(task: str, layers: list[dict], n: int = 400, **extra) -> Spec:
    return Spec.from_dict({"data": {"name": task, "n": n, **extra.pop("data", {})},
                           "model": {"layers": layers},
                           "optimizer": {"name": "adam", "learning_rate": 0.01},
                           "batch_size": 32, **extra})


# Every sequence layer kind, in a stack that fits a task; (task, layers).
STACKS = {
    "embedding": ("sentiment", [{"type": "embedding", "dim": 8}, {"type": "pool"}]),
    "positional": ("copy", [{"type": "embedding", "dim": 8},
                            {"type": "positional", "kind": "learned"}]),
    "rnn": ("sine_wave", [{"type": "rnn", "units": 8}]),
    "lstm": ("adding", [{"type": "lstm", "units": 8, "sequences": False}]),
    "gru": ("parity", [{"type": "gru", "units": 8, "sequences": False,
                        "bidirectional": True}]),
    "attention": ("recall", [{"type": "embedding", "dim": 8},
                             {"type": "attention", "heads": 2, "causal": True},
                             {"type": "pool", "mode": "last"}]),
    "transformer": ("reverse", [{"type": "embedding", "dim": 8}, {"type": "positional"},
                                {"type": "transformer", "heads": 2, "mlp": 16}]),
    "pool": ("sentiment", [{"type": "lstm", "units": 8}, {"type": "pool", "mode": "max"}]),
}


def test_every_sequence_kind_has_a_stack():
    assert set(STACKS) == set(SEQUENCE_KINDS)


@pytest.mark.parametrize("kind", sorted(STACKS))
def test_every_sequence_kind_trains(kind):
    task, layers = STACKS[kind]
    exp = engine.build(_spec(task, layers))
    _, chunk = exp.train(exp.init(), 15)
    loss = chunk.history["train_loss"]
    assert chunk.history["trained"].all() and np.isfinite(loss).all()
    assert loss[-1] < loss[0]


# A transformer solving reversal (issue 4: >= 95% token accuracy) is the
# reverse_transformer preset's check in test_training.PRESET_CHECKS.


def test_lstm_beats_a_simple_rnn_on_the_adding_problem():
    """Issue 4: same data, same budget, same width: the LSTM's loss is far lower."""
    loss = {}
    for cell in ("rnn", "lstm"):
        spec = _spec("adding", [{"type": cell, "units": 16, "sequences": False}], n=2000,
                     data={"length": 50})
        loss[cell] = engine.run(spec, 30).metrics["test_loss"]
    assert loss["lstm"] < 0.1 * loss["rnn"]
    assert loss["rnn"] > 0.1  # about the variance of the sum: it learned nothing long-range


def test_masked_steps_do_not_count_in_loss_or_accuracy():
    exp = engine.build(_spec("reverse", [{"type": "lstm", "units": 8}]))
    y = np.asarray(exp.dataset.arrays.y_train)
    assert (y[:, :7] == -1).all() and (y[:, 7:] >= 0).all()  # L = 6: the first 7 steps
    fns = exp.fns
    z = jnp.asarray(np.random.default_rng(0).normal(size=(*y.shape, 8)), jnp.float32)
    o = jnp.exp(z) / jnp.sum(jnp.exp(z), -1, keepdims=True)
    got = np.asarray(fns.example_losses(z, o, jnp.asarray(y)))
    p = np.asarray(o)[:, 7:, :]
    want = -np.log(np.take_along_axis(p, y[:, 7:, None], -1)[..., 0]).mean(-1)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    hits = np.asarray(example_hits(exp.structure.net.head, o, jnp.asarray(y)))
    np.testing.assert_allclose(hits, (p.argmax(-1) == y[:, 7:]).mean(-1), rtol=1e-6)


@pytest.mark.parametrize(("task", "layers", "field", "text"), [
    ("spiral", [{"type": "lstm"}], "model.layers[0].type", "sequence"),
    ("parity", [{"type": "gru", "units": 8}], "model.layers[0]", "one output per sequence"),
    ("reverse", [{"type": "gru", "units": 8, "sequences": False}], "model.layers[0]",
     "one output per time step"),
    ("adding", [{"type": "embedding"}, {"type": "pool"}], "model.layers[0].type", "no tokens"),
    ("reverse", [{"type": "embedding", "dim": 6}, {"type": "attention", "heads": 4}],
     "model.layers[1].heads", ""),
])
def test_impossible_stacks_are_spec_errors(task, layers, field, text):
    with pytest.raises(SpecError) as info:
        engine.build(_spec(task, layers))
    assert info.value.field == field
    assert text in str(info.value)


def test_token_ids_become_one_hot_without_an_embedding():
    exp = engine.build(_spec("parity", [{"type": "gru", "units": 4, "sequences": False}]))
    assert exp.structure.net.one_hot
    assert exp.structure.net.in_shape == (8, 2)
    _, chunk = exp.train(exp.init(), 3)
    assert np.isfinite(chunk.history["train_loss"]).all()


def test_same_seed_same_curves_and_no_recompile_for_a_new_learning_rate():
    spec = _spec("reverse", STACKS["transformer"][1])
    a = engine.run(spec, 4).history["train_loss"]
    b = engine.run(spec, 4).history["train_loss"]
    np.testing.assert_array_equal(a, b)
    d = spec.to_dict()
    d["optimizer"]["learning_rate"] = 0.001
    exp = engine.build(Spec.from_dict(d))
    state = exp.init()
    exp.train(state, 1)
    with count_compiles() as box:
        exp.with_spec(spec).train(state, 2)
    assert box["compiles"] == 0


# --- probes of one example ------------------------------------------------------------------

def _probe(spec: Spec, epochs: int = 3, example: int = 0):
    exp = engine.build(spec)
    options = ProbeOptions(resolution=0, neuron_resolution=0, sequence=True, example=example)
    state, chunk = exp.train(exp.init(), epochs, probes=options)
    return exp, state, chunk.probes.sequence


def test_attention_probe_has_every_layer_and_head_and_rows_sum_to_one():
    layers = [{"type": "embedding", "dim": 8},
              {"type": "attention", "heads": 2, "causal": True},
              {"type": "transformer", "heads": 4, "mlp": 16}]
    exp, _, seq = _probe(_spec("copy", layers))
    t = exp.dataset.arrays.x_test.shape[1]
    assert [a.shape for a in seq.attention] == [(2, t, t), (4, t, t)]
    for a in seq.attention:
        np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.triu(seq.attention[0], k=1) == 0)  # causal: no step sees the future
    assert np.any(np.triu(seq.attention[1], k=1) > 0)  # the transformer block is not causal


def test_recurrent_states_and_cells_over_time():
    layers = [{"type": "lstm", "units": 6, "bidirectional": True},
              {"type": "gru", "units": 5, "sequences": False}]
    exp, _, seq = _probe(_spec("parity", layers))
    t = exp.dataset.arrays.x_test.shape[1]
    assert [h.shape for h in seq.hidden] == [(t, 12), (t, 5)]
    assert [c.shape for c in seq.cell] == [(t, 12)]
    assert np.all(np.abs(seq.hidden[0]) <= 1.0)  # h = o * tanh(c)


def test_input_gradient_and_output_match_a_direct_computation():
    spec = _spec("adding", [{"type": "rnn", "units": 8, "sequences": False}])
    exp, state, seq = _probe(spec, example=5)
    net, data = exp.structure.net, exp.dataset.arrays
    x, y = data.x_test[5][None], data.y_test[5][None]

    def loss(x):
        z, o, _, _ = engine.model.apply_network(net, state.params, state.model_state, x,
                                                exp.values, key=None, train=False)
        return jnp.sum(exp.fns.example_losses(z, o, y))

    g = np.asarray(jax.grad(loss)(x))[0]  # (T, 2)
    np.testing.assert_allclose(seq.input_grad, np.linalg.norm(g, axis=-1), rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(seq.output, exp.predict(state, x)[0], rtol=1e-5)
    assert seq.input_grad[-1] > seq.input_grad[0]  # a simple RNN forgets the distant past


def test_the_probed_example_is_a_value_not_a_recompile():
    spec = _spec("reverse", [{"type": "lstm", "units": 8}])
    exp, state, first = _probe(spec, epochs=1, example=0)
    with count_compiles() as box:
        _, chunk = exp.train(state, 1, probes=ProbeOptions(resolution=0, neuron_resolution=0,
                                                           sequence=True, example=7))
    assert box["compiles"] == 0
    assert not np.allclose(chunk.probes.sequence.output, first.output)


def test_sequence_task_names_do_not_shadow_point_datasets():
    assert not set(engine.datasets_of("sequence")) & set(engine.datasets_of("points"))


def test_probes_without_gradients_skip_them_and_keep_the_rest():
    exp = engine.build(_spec("reverse", [{"type": "lstm", "units": 8}]))
    state = exp.init()
    options = ProbeOptions(resolution=0, neuron_resolution=0, sequence=True)
    _, full = exp.train(state, 0, probes=options)
    _, light = exp.train(state, 0, probes=dataclasses.replace(options, gradients=False))
    assert light.probes.grad_norm is None and light.probes.grad_hist is None
    assert full.probes.grad_norm is not None
    np.testing.assert_allclose(light.probes.sequence.output, full.probes.sequence.output)
    np.testing.assert_allclose(light.probes.weight_norm, full.probes.weight_norm)


def test_predict_step_and_confusion_matrix_take_token_sequences():
    exp = engine.build(preset("reverse_transformer"))
    state = exp.init()
    x = np.asarray(exp.dataset.arrays.x_test[:5])
    out = exp.predict(state, x)  # int token ids into the embedding
    assert out.shape == (5, x.shape[1], 8)
    y = np.asarray(exp.dataset.arrays.y_test[:5])
    moved = exp.step(state, x, y)
    assert int(moved.step) == 1
    cm = exp.confusion_matrix(state)
    n_targets = int((np.asarray(exp.dataset.arrays.y_test) >= 0).sum())
    assert cm.shape == (8, 8) and cm.sum() == n_targets  # every step with a target, once


def test_l2_shrinks_recurrent_and_embedding_weights_too():
    layers = [{"type": "embedding", "dim": 8}, {"type": "lstm", "units": 8}]
    def gradient(rate: float):
        spec = _spec("reverse", layers, regularization={"kind": "l2", "rate": rate})
        exp = engine.build(spec)
        state = exp.init()
        h, y = exp.dataset.arrays.x_train[:32], exp.dataset.arrays.y_train[:32]
        return exp, jax.grad(lambda p: exp.fns.objective(
            p, state.model_state, h, y, exp.values, None, True)[0])(state.params)

    _, plain = gradient(0.0)
    exp, shrunk = gradient(1.0)
    grads = {0.0: plain, 1.0: shrunk}
    for layer, name in ((0, "table"), (1, "wx"), (1, "wh")):
        diff = np.asarray(grads[1.0][layer][name] - grads[0.0][layer][name])
        np.testing.assert_allclose(diff, np.asarray(exp.init().params[layer][name]), rtol=1e-4,
                                   atol=1e-6)  # d(0.5 w^2)/dw = w
    np.testing.assert_allclose(grads[1.0][1]["b"], grads[0.0][1]["b"])  # biases untouched
