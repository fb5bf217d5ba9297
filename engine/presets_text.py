"""Presets on real movie reviews (``engine.data.reviews``): the Sequences page's text models.

Kept out of ``presets.py`` for size; ``presets.py`` calls ``register`` at its end, so
these follow the other sequence presets in menu order. The accuracies quoted are what
``tests/engine/test_reviews.py`` checks on the held-out test split.
"""

from __future__ import annotations

from typing import Any

from engine.registry import Registry


def _reviews(name: str, n: int, layers: list[dict[str, Any]],
             learning_rate: float) -> dict[str, Any]:
    """Reviews split 80 / 20 into training and test, Adam and batches of 32."""
    return {"data": {"name": name, "n": n, "noise": 0.0, "train_fraction": 0.8},
            "model": {"layers": layers},
            "optimizer": {"name": "adam", "learning_rate": learning_rate}, "batch_size": 32}


def _bilstm(dim: int, units: int) -> list[dict[str, Any]]:
    return [{"type": "embedding", "dim": dim},
            {"type": "lstm", "units": units, "bidirectional": True, "sequences": False}]


def register(presets: Registry, preset: Any) -> None:
    """Add the review presets to ``presets``; ``preset`` is ``engine.presets.Preset``."""
    presets.register("rt_bilstm", preset(
        "BiLSTM reads movie-review sentences",
        _reviews("rt_sentences", 8_530, _bilstm(16, 16), 0.003),
        3,
        "Real one-sentence reviews from Rotten Tomatoes, as ids of the 5,000 most frequent "
        "words. One LSTM reads each sentence forwards, another backwards, and a dense head "
        "reads both final states: about 74% of unseen sentences right after 3 epochs. "
        "Then it starts memorising: training accuracy climbs, test accuracy does not.",
        topic="sequences",
    ), "Embedding and a bidirectional LSTM on Rotten Tomatoes sentences.")
    presets.register("imdb_bilstm", preset(
        "BiLSTM on IMDB reviews (the source material's setup)",
        _reviews("imdb", 5_000, _bilstm(32, 32), 0.003),
        3,
        "Whole IMDB reviews cut to their last 200 words, as in the Keras example: a "
        "bidirectional LSTM over a 10,000-word vocabulary. Longer texts say more: about "
        "79% of held-out reviews right after 3 epochs, from only 4,000 training reviews; "
        "raise Sequences towards 20,000 for more.",
        topic="sequences",
    ), "Embedding and a bidirectional LSTM on 5,000 IMDB reviews cut to 200 words.")
    presets.register("rt_transformer", preset(
        "Transformer on movie-review sentences",
        _reviews("rt_sentences", 8_530,
                 [{"type": "embedding", "dim": 32}, {"type": "positional"},
                  {"type": "transformer", "heads": 2, "mlp": 64},
                  {"type": "pool", "mode": "mean"}], 0.001),
        3,
        "The same sentences through one transformer block and a mean over the words. "
        "Attention lets every word look at every other at once, but with 7,000 sentences "
        "it learns no better than the BiLSTM (about 71% after 3 epochs): watch which "
        "words the heads attend to.",
        topic="sequences",
    ), "Embedding, positions, one transformer block and mean pooling on Rotten Tomatoes.")
