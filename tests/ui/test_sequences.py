"""AppTest of the Sequences and attention page, and its frame builder."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine
from engine import DATASETS, Spec, datasets_of
from engine.blocks import IMAGE_KINDS
from engine.blocks.layer import OPTION_LABELS
from engine.presets import PRESETS, preset, topic_presets
from engine.train import count_compiles
from playground import sequence_frame, sequences
from playground.core import session as S
from playground.core import url
from tests.ui.apptest import (
    messages,
    network_compiles,
    ok,
    opened,
    page_keys,
    run_page,
    widget,
)

TIMEOUT = 180
SQ = page_keys("sq", (S.SPEC, S.EXPERIMENT, S.TRAIN_STATE, S.HISTORY, S.COMPARE))


def page(query: dict[str, str] | None = None) -> AppTest:
    return run_page("sequences", query, TIMEOUT)


def link(spec: Spec) -> dict[str, str]:
    return {"s": url.spec_to_query(spec)}


@pytest.fixture(scope="module")
def default() -> AppTest:
    return page()


def test_default_is_the_transformer_on_reversal(default: AppTest) -> None:
    ok(default)
    assert default.session_state[SQ[S.SPEC]] == preset("reverse_transformer")
    assert S.SPEC not in default.session_state  # the Playground's session is untouched
    assert widget(default, "selectbox", "Task").value == "reverse"
    assert [widget(default, "selectbox", f"Layer {i}").value for i in range(1, 5)] == [
        "embedding", "positional", "transformer", "transformer"]
    assert "Layer 5" not in [w.label for w in default.selectbox]
    offered = set(default.selectbox(key="pg_preset").options)
    assert any(e.label.startswith("Share and export") for e in default.expander)
    assert not default.get("download_button")  # built only once the expander is open
    assert [b.label for b in opened(page(), "sq_export").get("download_button")] == [
        "Spec (JSON)", "Weights (.npz)", "Python script"]
    assert offered == {PRESETS.get(n).title for n in topic_presets("sequences")}


def test_step_trains_one_optimizer_step_of_the_single_model() -> None:
    at = page(link(preset("parity_gru")))
    at.button(key="pg_step").click().run()
    ok(at)
    state = at.session_state[SQ[S.TRAIN_STATE]]
    assert int(state.step) == 1 and int(state.cursor) == 1 and int(state.epoch) == 0
    assert at.session_state[SQ[S.HISTORY]]["train_loss"] == []  # no epoch has ended yet
    assert widget(at, "select_slider", "Steps per frame").value == 4


def test_changing_the_task_fits_the_stack_to_it() -> None:
    at = page()
    widget(at, "selectbox", "Task").set_value("parity").run()  # one answer per sequence
    ok(at)
    spec = at.session_state[SQ[S.SPEC]]
    assert spec.data.name == "parity"
    assert spec.model.layers[-1].type == "pool"
    widget(at, "selectbox", "Task").set_value("adding").run()  # real-valued: no embedding
    ok(at)
    types = [layer.type for layer in at.session_state[SQ[S.SPEC]].model.layers]
    assert types == ["dense", "positional", "transformer", "transformer", "pool"]


def test_a_layer_menu_offers_every_layer_kind_and_its_options() -> None:
    at = page(link(preset("reverse_lstm")))
    assert set(widget(at, "selectbox", "Layer 1").options) == (
        set(engine.LAYERS.names()) - set(IMAGE_KINDS))  # images have a page of their own
    widget(at, "checkbox", "Bidirectional").check().run()
    ok(at)
    assert at.session_state[SQ[S.SPEC]].model.layers[0].opts()["bidirectional"] is True
    widget(at, "number_input", "Units").set_value(12).run()
    ok(at)
    assert at.session_state[SQ[S.SPEC]].model.layers[0].opts()["units"] == 12


def test_layer_options_are_labelled_in_words_not_the_specs_short_names() -> None:
    """A class read "Dim", "Kind" and "Mlp" off the projector (a teacher's review)."""
    at = page(link(sequences.DEFAULT))
    ok(at)
    labels = {w.label for kind in ("number_input", "selectbox", "checkbox")
              for w in getattr(at.sidebar, kind)}
    assert {"Embedding size", "Encoding", "MLP width", "Attention heads",
            "Causal mask"} <= labels, labels
    assert not labels & {"Dim", "Kind", "Mlp", "Heads"}
    for name in engine.LAYERS.names():  # every option of every kind, in words
        for option in engine.LAYERS.get(name).options:
            assert option in OPTION_LABELS, (name, option)


def _stack_button(at: AppTest, name: str) -> Any:
    """The stack editor's button ``name`` ("add", "up2", "remove4", ...)."""
    return next(b for b in at.button if b.key and b.key.startswith(f"pg_sq_{name}_"))


def test_the_stack_editor_adds_moves_and_removes_layers() -> None:
    at = page(link(preset("reverse_transformer")))
    _stack_button(at, "add").click().run()
    ok(at)
    types = [x.type for x in at.session_state[SQ[S.SPEC]].model.layers]
    assert types == ["embedding", "positional", "transformer", "transformer", "dense"]
    _stack_button(at, "up2").click().run()  # the first transformer before the positions
    ok(at)
    types = [x.type for x in at.session_state[SQ[S.SPEC]].model.layers]
    assert types == ["embedding", "transformer", "positional", "transformer", "dense"]
    _stack_button(at, "remove4").click().run()
    ok(at)
    types = [x.type for x in at.session_state[SQ[S.SPEC]].model.layers]
    assert types == ["embedding", "transformer", "positional", "transformer"]
    assert [widget(at, "selectbox", f"Layer {i}").value for i in range(1, 5)] == types


def test_an_impossible_stack_shows_what_to_change_and_keeps_the_last_good_one() -> None:
    at = page(link(preset("reverse_lstm")))
    widget(at, "selectbox", "Layer 1").set_value("pool").run()  # reversal needs every step
    assert not at.exception
    assert any("one output per time step" in m for m in messages(at))
    assert at.session_state[SQ[S.SPEC]] == preset("reverse_lstm")


def test_compare_mode_trains_four_models_side_by_side() -> None:
    at = page(link(preset("adding_lstm")))
    at.toggle(key="sq_compare_mode").set_value(True).run()  # compiles, under its note
    ok(at)
    with count_compiles(all_threads=True) as box:  # AppTest runs the page in a thread
        at.button(key="pg_step").click().run()
    ok(at)
    # the first Step compiled none of the four networks (it waited 10-30 s, no note)
    network = network_compiles(box["names"])
    assert network == [], network
    models = at.session_state[SQ[S.COMPARE]]["models"]
    assert list(models) == ["rnn", "lstm", "gru", "transformer"]
    assert all(int(m["state"].epoch) == 1 for m in models.values())
    at.button(key="pg_reset").click().run()
    ok(at)
    assert SQ[S.COMPARE] not in at.session_state or all(
        int(m["state"].epoch) == 0 for m in at.session_state[SQ[S.COMPARE]]["models"].values())


@pytest.mark.parametrize("task", datasets_of("sequence"))
def test_compare_stacks_build_for_every_task(task: str) -> None:
    kind = DATASETS.get(task)
    spec = Spec.from_dict({"data": {"name": task, "n": 100}})
    for name, layers in sequences.compare_stacks(spec, kind.tokens, kind.per_token).items():
        d = spec.to_dict()
        d["model"]["layers"] = layers
        engine.build(Spec.from_dict(d))  # raises if the stack does not fit the task
        assert any(x["type"] == name for x in layers)


# -- the frame builder ------------------------------------------------------------------

def _frame(spec: Spec, example: int = 2):
    exp = engine.build(spec)
    state, chunk = exp.train_steps(exp.init(), 2 * exp.steps_per_epoch,
                                   dataclasses.replace(sequences.PROBES, example=example))
    hist = {k: list(v) for k, v in chunk.history.items() if k.endswith("loss")}
    frame = sequence_frame.make_seq_frame(exp, chunk.probes, int(state.epoch), hist, example)
    json.dumps(frame)  # JSON-able
    return exp, frame


def test_frame_of_a_transformer_has_every_head_and_masked_targets() -> None:
    exp, frame = _frame(preset("reverse_transformer"))
    t = exp.dataset.arrays.x_test.shape[1]
    assert frame["T"] == t and len(frame["tokens"]) == t
    assert [len(a["heads"]) for a in frame["attention"]] == [4, 4]
    # the stack's numbering, and the block's as the preset's text counts them
    assert [a["name"] for a in frame["attention"]] == [
        "Transformer block 1 of 2 (layer 3)", "Transformer block 2 of 2 (layer 4)"]
    head = np.frombuffer(base64.b64decode(frame["attention"][0]["heads"][0]), np.uint8)
    assert head.size == t * t
    # each row of attention sums to one, so its bytes sum to about 255
    assert np.allclose(head.reshape(t, t).sum(-1), 255, atol=t)
    assert frame["targets"][:7] == [None] * 7 and None not in frame["targets"][7:]
    assert frame["right"][:7] == [None] * 7
    x = np.asarray(exp.dataset.arrays.x_test[2])
    assert frame["tokens"] == [exp.dataset.sequence.vocab[int(i)] for i in x]


def test_frame_of_an_lstm_has_states_cells_and_gradient_per_step() -> None:
    exp, frame = _frame(preset("adding_lstm"))
    t = exp.dataset.arrays.x_test.shape[1]
    assert frame["attention"] == [] and len(frame["states"]) == 1 and len(frame["cells"]) == 1
    assert len(base64.b64decode(frame["states"][0]["h"])) == 16 * t  # (units, T)
    assert frame["cells"][0]["units"] == 16 and frame["cells"][0]["name"] == "Layer 1: lstm"
    assert len(base64.b64decode(frame["cells"][0]["c"])) == 16 * t
    assert len(frame["grad"]) == t and max(frame["grad"]) > 0
    assert frame["per_token"] is False and len(frame["preds"]) == 1


def test_fit_stack_rules() -> None:
    stack = [{"type": "embedding", "dim": 8}, {"type": "lstm", "units": 8, "sequences": False},
             {"type": "pool"}]
    assert sequences.fit_stack(stack, tokens=True, per_token=True) == [
        {"type": "embedding", "dim": 8}, {"type": "lstm", "units": 8, "sequences": True}]
    assert sequences.fit_stack(stack[:2], tokens=False, per_token=False) == [
        {"type": "dense", "units": 8, "activation": "linear"},
        {"type": "lstm", "units": 8, "sequences": False}]
    assert sequences.fit_stack([{"type": "attention"}], tokens=True, per_token=False)[-1] == {
        "type": "pool", "mode": "mean"}


def test_a_link_for_another_page_is_refused_with_a_message() -> None:
    at = page(link(preset("tf_playground")))
    assert not at.exception
    assert at.session_state[SQ[S.SPEC]] == sequences.DEFAULT
    assert any("not a sequence task" in m for m in messages(at))


def test_the_page_shows_the_code_of_the_layers_in_the_stack(default: AppTest) -> None:
    assert not default.code  # built only once its expander is open
    code = [c.value for c in opened(page(), sequences.SOURCES_OPEN).code]
    assert any(c.startswith("def transformer_block(") for c in code)
    assert any(c.startswith("def attention(") for c in code)
    assert any(c.startswith("def sinusoidal_table(") for c in code)
    assert not any(c.startswith("def lstm_cell(") for c in code)  # not in this stack
    lstm = page(link(preset("adding_lstm")))
    assert any(c.value.startswith("def lstm_cell(")
               for c in opened(lstm, sequences.SOURCES_OPEN).code)


def test_loss_and_output_can_be_chosen(default: AppTest) -> None:
    assert {"Output activation", "Loss"} <= {s.label for s in default.selectbox}


def test_a_review_is_shown_from_its_first_word_not_its_front_padding() -> None:
    spec = preset("rt_transformer").updated(data={"n": 200})
    exp = engine.build(spec)
    _, chunk = exp.train(exp.init(), 0, dataclasses.replace(sequences.PROBES, example=0))
    x = np.asarray(exp.dataset.arrays.x_test[0])
    words = int(np.count_nonzero(x))
    frame = sequence_frame.make_seq_frame(exp, chunk.probes, 0, {}, 0)
    assert frame["T"] == words and len(frame["tokens"]) == words
    assert "<pad>" not in frame["tokens"] and len(frame["grad"]) == words
    heads = frame["attention"][0]["heads"]
    assert len(base64.b64decode(heads[0])) == words * words  # maps cut to the words too
