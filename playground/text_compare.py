"""Pretrained features against a network trained from scratch, on the same sentences.

A logistic-regression head on the frozen MiniLM sentence embeddings
(``engine.text.head``) and the ``rt_bilstm`` preset (an embedding and a bidirectional
LSTM learning words from nothing) train on the same Rotten Tomatoes sentences and are
tested on the same held-out ones; a typed sentence gets both models' verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

import engine
from engine.data.words import Vocabulary, encode_text
from engine.presets import preset
from engine.text.head import init_head, predict_head, train_head
from playground.core.encode import plain

N_SENTENCES = 2000  # 1,600 to train on, 400 to test: little data, where transfer shines
HEAD_STEPS, HEAD_CHUNK, HEAD_LR = 200, 20, 0.01
BILSTM_EPOCHS = 5
STATE = "tx_compare"  # this session's trained pair


def spec() -> engine.Spec:
    """The BiLSTM's setup, on the comparison's sentences."""
    return preset("rt_bilstm").updated(data={"n": N_SENTENCES})


@st.cache_resource(show_spinner="Embedding 2,000 review sentences with the pretrained "
                   "model (once per server, about 10 s)...")
def embedded(_model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The comparison's training and test embeddings and labels (once per server)."""
    s = spec()
    train, y_train, test, y_test = engine.DATASETS.get(s.data.name).split_texts(s.data)
    return _model.embed(list(train)), y_train, _model.embed(list(test)), y_test


HEAD_SHARE = 0.1
"""The progress bar's share for the head (a second); the BiLSTM's compile and epochs
take the rest (about 50 s on a 2-core CPU)."""


def train_both(model: Any, chart: Any,
               progress: Callable[[float, str], Any] = lambda f, text: None
               ) -> dict[str, Any]:
    """Train the head and the BiLSTM, drawing both test accuracies as they go and
    telling ``progress(fraction done, what runs now)`` before each part; the result
    keeps what it told (``"stages"``)."""
    stages: list[tuple[float, str]] = []

    def stage(done: float, text: str) -> None:
        stages.append((done, text))
        progress(done, text)

    x_train, y_train, x_test, y_test = embedded(model)
    rows: list[dict[str, Any]] = []
    stage(0.0, "Training the head on the pretrained sentence embeddings...")
    head = init_head(x_train.shape[1], HEAD_LR)
    for k in range(HEAD_STEPS // HEAD_CHUNK):
        head, log = train_head(head, x_train, y_train, x_test, y_test, HEAD_CHUNK, HEAD_LR)
        rows.append({"progress (share of training)": (k + 1) / (HEAD_STEPS // HEAD_CHUNK),
                     "model": "pretrained + head", "test accuracy":
                     float(log.test_accuracy[-1])})
        chart.line_chart(rows, x="progress (share of training)", y="test accuracy",
                         color="model")
    exp = engine.build(spec())
    state = exp.init()
    for epoch in range(BILSTM_EPOCHS):
        stage(HEAD_SHARE + (1 - HEAD_SHARE) * epoch / BILSTM_EPOCHS,
              f"Training the BiLSTM from scratch: epoch {epoch + 1} of {BILSTM_EPOCHS}"
              + (" (compiling first: the longest)" if epoch == 0 else "") + "...")
        state, _ = exp.train(state, 1)
        rows.append({"progress (share of training)": (epoch + 1) / BILSTM_EPOCHS,
                     "model": "BiLSTM from scratch",
                     "test accuracy": float(exp.metrics(state)["test_accuracy"])})
        chart.line_chart(rows, x="progress (share of training)", y="test accuracy",
                         color="model")
    stage(1.0, "Both trained.")
    head_acc = rows[HEAD_STEPS // HEAD_CHUNK - 1]["test accuracy"]
    lstm = [r["test accuracy"] for r in rows if r["model"] == "BiLSTM from scratch"]
    return {"head": head.head, "exp": exp, "state": state, "rows": rows,
            "head_accuracy": head_acc, "bilstm_accuracy": lstm[-1],
            "bilstm_best": max(lstm), "stages": stages}


def verdicts(result: dict[str, Any], model: Any, text: str, embedding: np.ndarray) -> None:
    """Both models' P(positive) for the typed sentence."""
    exp: engine.Experiment = result["exp"]
    info = exp.dataset.sequence
    encoded = encode_text(text, Vocabulary(info.vocab), info.in_shape[0])
    p_lstm = float(exp.predict(result["state"], encoded.ids[None])[0, -1])
    p_head = float(predict_head(result["head"], embedding[None])[0])
    c = st.columns(2)
    for col, name, p in ((c[0], "Pretrained + head", p_head), (c[1], "BiLSTM", p_lstm)):
        verdict = "positive" if p >= 0.5 else "negative"
        col.metric(f"{name}: this sentence is", verdict, f"P(positive) = {p:.2f}",
                   delta_color="off", delta_arrow="off")  # a probability, not a change
    if encoded.unknown:
        st.caption(plain(f"{encoded.unknown} of its words are not in the BiLSTM's "
                         "5,000-word vocabulary (the pretrained model splits unknown words "
                         "into known pieces)."))


def section(model: Any, text: str, embedding: np.ndarray) -> None:
    """The comparison: a button to train both, the curves, the scores, the verdicts."""
    st.subheader("Pretrained features against a BiLSTM trained from scratch")
    st.caption(f"Both learn from the same {int(N_SENTENCES * 0.8):,} Rotten Tomatoes "
               f"sentences and are tested on the same {int(N_SENTENCES * 0.2):,} others. "
               "The head is one logistic-regression neuron on the frozen 384-number sentence "
               "embedding; the BiLSTM learns its word vectors from nothing.")
    chart = st.empty()
    if st.button("Train both", icon=":material/model_training:", key="tx_train_both"):
        bar = st.progress(0.0, text="Preparing the sentences...")  # about 50 s: say what
        # runs and how far along
        try:
            st.session_state[STATE] = train_both(
                model, chart, lambda done, text: bar.progress(done, text=text))
        finally:
            bar.empty()
    result = st.session_state.get(STATE)
    if result is None:
        return
    chart.line_chart(result["rows"], x="progress (share of training)", y="test accuracy",
                     color="model")
    c = st.columns(2)
    c[0].metric("Pretrained + head, test accuracy", f"{result['head_accuracy']:.1%}")
    c[1].metric("BiLSTM, test accuracy", f"{result['bilstm_accuracy']:.1%}",
                f"peak {result['bilstm_best']:.1%} mid-training", delta_color="off",
                delta_arrow="off")  # not a score to pick by: it is read on the test set
    verdicts(result, model, text, embedding)
