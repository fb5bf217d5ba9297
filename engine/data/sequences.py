"""Sequence tasks: small sequence-learning problems, generated offline with numpy.

Each task is a classic toy problem for recurrent and attention models: transducing a
digit string (copy, reverse, sort), associative recall, parity, running counts,
next-step prediction of a sine wave, a tiny sentiment grammar with negation, and
Hochreiter & Schmidhuber's adding problem. ``generate_task`` checks the arguments against
the task's bounds and returns a ``SequenceData``: inputs, targets and a mask saying which
targets count in the loss and the accuracy.

Every generator is deterministic given a ``np.random.Generator`` and draws the same
random numbers whatever the noise level, so moving the noise slider perturbs the same
sequences instead of reshuffling them. Noise means the standard deviation of Gaussian
input noise for ``sine_wave`` and the probability of flipping a label for ``sentiment``; the
other tasks are exact and ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from engine.data.base import DATASETS, DataArrays, Dataset, RawData, SequenceInfo, split_sizes
from engine.errors import SpecError
from engine.registry import Registry


@dataclass(frozen=True)
class SequenceData:
    """A batch of generated sequences.

    Attributes:
        x: inputs: int32 ``(n, T)`` token ids in ``[0, len(vocab))`` for token tasks,
            float32 ``(n, T, d)`` for real-valued ones.
        y: targets: int32 class ids ``0..len(classes)-1`` (classification) or float32
            values (regression); ``(n, T)`` for per-token tasks, ``(n,)`` otherwise.
        mask: float32, same shape as ``y``: 1 where the target counts in the loss and the
            accuracy, 0 where it does not (there ``y`` holds a placeholder 0).
        vocab: display name of each input token id (empty for real-valued inputs).
        classes: display name of each output class (empty for regression).
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    vocab: tuple[str, ...]
    classes: tuple[str, ...]


GenerateSequence = Callable[[np.random.Generator, int, int, int, float], SequenceData]


@dataclass(frozen=True)
class SequenceTaskKind:
    """A sequence task generator and what it produces.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        per_token: targets at every time step ``(n, T)`` (masked) rather than one per
            sequence ``(n,)``.
        tokens: inputs are token ids ``(n, T)`` (True) or real vectors ``(n, T, d)``.
        input_dim: ``d`` for real-valued inputs, 0 for token tasks.
        generate: ``(rng, n, length, symbols, noise) -> SequenceData``.
        length: ``(min, default, max)`` of the ``length`` argument (its meaning is per
            task: digits, pairs, bits, words or time steps).
        symbols: ``(min, default, max)`` of the alphabet size ``symbols``; ``(0, 0, 0)``
            when the task has no alphabet to choose (the argument is then ignored).
    """

    task: str
    per_token: bool
    tokens: bool
    input_dim: int
    generate: GenerateSequence
    length: tuple[int, int, int]
    symbols: tuple[int, int, int] = (0, 0, 0)
    family: ClassVar[str] = "sequence"

    def build(self, spec: Any, raw: RawData | None = None) -> Dataset:
        """A sequence task's data, split in order (the generators draw i.i.d. sequences).

        Per-token class targets outside the mask become -1 ("no target here"), so the
        arrays keep the points' layout and training needs no separate mask.
        """
        kind = self
        n = int(spec.n)
        sizes = split_sizes(n, spec.train_fraction, spec.val_fraction)
        seq = generate_task(spec.name, spec.seed, n, spec.length or kind.length[1],
                            spec.symbols or kind.symbols[1], float(spec.noise))
        classify = kind.task == "classification"
        y = np.where(seq.mask > 0, seq.y, -1) if classify else seq.y
        y = y.astype(np.int32 if classify else np.float32)
        x = seq.x.astype(np.int32 if kind.tokens else np.float32)
        n_train, n_val, _ = sizes
        cut = (n_train, n_train + n_val)
        xs, ys = np.split(x, cut), np.split(y, cut)
        arrays = DataArrays(
            *(jnp.asarray(a) for pair in zip(xs, ys, strict=True) for a in pair),
            mean=jnp.zeros(1, jnp.float32), std=jnp.ones(1, jnp.float32))
        width = len(seq.vocab) if kind.tokens else x.shape[2]
        info = SequenceInfo(kind.tokens, kind.per_token, (x.shape[1], width), seq.vocab)
        return Dataset(arrays=arrays, task=kind.task, n_classes=len(seq.classes), input_dim=0,
                       features=(), extent=0.0, feature_names=seq.vocab,
                       class_names=seq.classes, sequence=info)


def _names(k: int) -> tuple[str, ...]:
    """``3 -> ("0", "1", "2")``: display names of digits or counts."""
    return tuple(str(i) for i in range(k))


# ---------------------------------------------------------------------------------------
# Digit transduction: read L digits, see ">", then write L digits over L blanks.
# ---------------------------------------------------------------------------------------


def _transduce(
    rng: np.random.Generator,
    n: int,
    length: int,
    symbols: int,
    transform: Callable[[np.ndarray], np.ndarray],
) -> SequenceData:
    """``digits ">" blanks`` -> ``transform(digits)`` at the blank positions.

    Token ids: digits ``0..symbols-1``, then ``">"`` = ``symbols`` and ``"."`` =
    ``symbols + 1``. ``T = 2 * length + 1``; the mask is 1 only at the last ``length``
    steps, because the first ``length + 1`` outputs cannot be known yet.
    """
    digits = rng.integers(0, symbols, size=(n, length))
    sep = np.full((n, 1), symbols)
    blanks = np.full((n, length), symbols + 1)
    x = np.concatenate([digits, sep, blanks], axis=1).astype(np.int32)
    y = np.zeros(x.shape, np.int32)
    y[:, length + 1 :] = transform(digits)
    mask = np.zeros(x.shape, np.float32)
    mask[:, length + 1 :] = 1.0
    return SequenceData(x, y, mask, (*_names(symbols), ">", "."), _names(symbols))


def _reverse(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    return _transduce(rng, n, length, symbols, lambda d: d[:, ::-1])


def _copy(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    return _transduce(rng, n, length, symbols, lambda d: d)


def _sort(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    return _transduce(rng, n, length, symbols, lambda d: np.sort(d, axis=1))


# ---------------------------------------------------------------------------------------
# Associative recall, parity, running count.
# ---------------------------------------------------------------------------------------


def _recall(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    # Token ids: letters 0..L-1, digits L..L+symbols-1, "?" = L + symbols.
    # T = 2L + 2: the pairs "k v k v ...", then "?" and the query key.
    rows = np.arange(n)
    # Every key appears exactly once, in a random order, so the query has one answer.
    keys = rng.permuted(np.tile(np.arange(length), (n, 1)), axis=1)
    values = rng.integers(0, symbols, size=(n, length))
    which = rng.integers(0, length, size=n)
    pairs = np.stack([keys, length + values], axis=2).reshape(n, 2 * length)
    question = np.full((n, 1), length + symbols)
    x = np.concatenate([pairs, question, keys[rows, which][:, None]], axis=1)
    letters = tuple(chr(ord("a") + i) for i in range(length))
    return SequenceData(
        x.astype(np.int32),
        values[rows, which].astype(np.int32),
        np.ones(n, np.float32),
        (*letters, *_names(symbols), "?"),
        _names(symbols),
    )


def _parity(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    # Uniform bits make odd and even exactly equally likely, so the classes are balanced.
    bits = rng.integers(0, 2, size=(n, length))
    return SequenceData(
        bits.astype(np.int32),
        (bits.sum(axis=1) % 2).astype(np.int32),
        np.ones(n, np.float32),
        ("0", "1"),
        ("even", "odd"),
    )


def _count(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    bits = rng.integers(0, 2, size=(n, length))
    return SequenceData(
        bits.astype(np.int32),
        np.cumsum(bits, axis=1).astype(np.int32),  # the count includes the current step
        np.ones((n, length), np.float32),
        ("0", "1"),
        _names(length + 1),
    )


# ---------------------------------------------------------------------------------------
# Real-valued inputs: next-step sine prediction and the adding problem.
# ---------------------------------------------------------------------------------------


def _sine(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    # A gentle frequency keeps 10 to 30 steps per period: enough context to extrapolate.
    freq = rng.uniform(0.2, 0.6, size=(n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    clean = np.sin(freq * np.arange(length + 1) + phase)  # (n, T + 1)
    # Draw the noise even when it is scaled by 0, so the sequences do not move with it.
    x = clean[:, :length] + noise * rng.standard_normal((n, length))
    return SequenceData(
        x[:, :, None].astype(np.float32),
        clean[:, 1:].astype(np.float32),  # the clean value one step ahead
        np.ones((n, length), np.float32),
        (),
        (),
    )


def _adding(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    rows = np.arange(n)
    values = rng.uniform(0.0, 1.0, size=(n, length)).astype(np.float32)
    half = length // 2
    # One marker in each half, so the two marked steps are distinct and far apart.
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    marker = np.zeros((n, length), np.float32)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    return SequenceData(
        np.stack([values, marker], axis=2),
        values[rows, first] + values[rows, second],
        np.ones(n, np.float32),
        (),
        (),
    )


# ---------------------------------------------------------------------------------------
# Sentiment: a tiny vocabulary where "not" flips the next polar word.
# ---------------------------------------------------------------------------------------

_POSITIVE = ("good", "great", "fun", "superb")
_NEGATIVE = ("bad", "dull", "awful", "boring")
_NEUTRAL = ("the", "movie", "plot", "was", "very", "and")
_SENTIMENT_VOCAB = (*_POSITIVE, *_NEGATIVE, *_NEUTRAL, "not")
_NOT = len(_SENTIMENT_VOCAB) - 1
# Polarity of each token id: +1 positive, -1 negative, 0 neutral and "not".
_POLARITY = np.array([1] * len(_POSITIVE) + [-1] * len(_NEGATIVE) + [0] * (len(_NEUTRAL) + 1))


def _sentiment_score(words: np.ndarray) -> np.ndarray:
    """Summed polarity ``(m,)`` of sentences ``(m, L)``, each "not" toggling the next polar word.

    "not" toggles a pending negation, so "not not good" counts as +1; the next polar word
    consumes it, and a trailing "not" does nothing.
    """
    score = np.zeros(len(words), np.int64)
    negate = np.zeros(len(words), bool)
    for t in range(words.shape[1]):
        polarity = _POLARITY[words[:, t]]
        score += np.where(negate, -polarity, polarity)
        negate = np.where(polarity != 0, False, negate ^ (words[:, t] == _NOT))
    return score


def _sentiment(rng: np.random.Generator, n: int, length: int, symbols: int, noise: float):
    words = rng.integers(0, len(_SENTIMENT_VOCAB), size=(n, length))
    score = _sentiment_score(words)
    # Redraw tied sentences (score 0) so every label is defined. The vocabulary is
    # symmetric between positive and negative words, so the classes stay balanced.
    while (tied := score == 0).any():
        words[tied] = rng.integers(0, len(_SENTIMENT_VOCAB), size=(int(tied.sum()), length))
        score[tied] = _sentiment_score(words[tied])
    flip = rng.random(n) < noise  # drawn whatever the noise, so sentences stay put
    return SequenceData(
        words.astype(np.int32),
        ((score > 0) ^ flip).astype(np.int32),
        np.ones(n, np.float32),
        _SENTIMENT_VOCAB,
        ("negative", "positive"),
    )


# ---------------------------------------------------------------------------------------
# Registry and entry point.
# ---------------------------------------------------------------------------------------

_DIGITS = (2, 8, 10)  # alphabet sizes for digit tasks: at most the ten digits 0-9

def register(datasets: Registry) -> None:
    """Add the sequence tasks, in menu order."""
    datasets.register(
        "reverse",
        SequenceTaskKind("classification", True, True, 0, _reverse, (2, 6, 16), _DIGITS),
        "Read a string of digits, then write it backwards after the '>' separator. "
        "The first digit out is the last one in, so the model must remember the whole string.",
    )
    datasets.register(
        "copy",
        SequenceTaskKind("classification", True, True, 0, _copy, (2, 6, 16), _DIGITS),
        "Read a string of digits, then write it again after the '>' separator. "
        "Teaches memory over a fixed delay: each output is the input L + 1 steps earlier.",
    )
    datasets.register(
        "sort",
        SequenceTaskKind("classification", True, True, 0, _sort, (2, 6, 16), _DIGITS),
        "Read a string of digits, then write them in ascending order after the '>' separator. "
        "The model must count how often each digit occurred, not just replay the input.",
    )
    datasets.register(
        "recall",
        SequenceTaskKind("classification", False, True, 0, _recall, (2, 4, 16), (2, 8, 10)),
        "Read key-value pairs like 'a 3 c 7 b 1', then '?' and a key: answer that key's value. "
        "Associative recall, the lookup that attention does in one step.",
    )
    datasets.register(
        "parity",
        SequenceTaskKind("classification", False, True, 0, _parity, (2, 8, 32)),
        "Is the number of ones in a bit string odd? Every bit matters, so the model must "
        "carry one bit of state to the end; notoriously hard for long strings.",
    )
    datasets.register(
        "count",
        SequenceTaskKind("classification", True, True, 0, _count, (2, 8, 16)),
        "At every step, say how many ones the bit string has had so far. "
        "Teaches keeping a running total in the hidden state.",
    )
    datasets.register(
        "sine_wave",
        SequenceTaskKind("regression", True, False, 1, _sine, (8, 24, 64)),
        "Predict the next value of a sine wave with a random frequency and phase. "
        "Noise is the standard deviation of Gaussian noise on the inputs; targets stay clean.",
    )
    datasets.register(
        "sentiment",
        SequenceTaskKind("classification", False, True, 0, _sentiment, (3, 8, 24)),
        "Is a sentence of words like 'good', 'dull' and 'not' positive or negative overall? "
        "'not' flips the next polar word, so word order matters. Noise flips labels.",
    )
    datasets.register(
        "adding",
        SequenceTaskKind("regression", False, False, 2, _adding, (4, 30, 200)),
        "Sum the two numbers marked by a 1 in the second channel, one in each half. "
        "The adding problem of Hochreiter & Schmidhuber: a test of long-range memory.",
    )

def _check_range(field: str, what: str, value: int, bounds: tuple[int, int, int]) -> None:
    low, _, high = bounds
    if not low <= value <= high:
        raise SpecError(field, f"{what} must be {low} to {high}, not {value}")


def generate_task(
    name: str, seed: int, n: int, length: int, symbols: int, noise: float
) -> SequenceData:
    """Generate ``n`` sequences of the task ``name``, deterministically from ``seed``.

    Args:
        name: a sequence task in ``DATASETS`` (``datasets_of("sequence")``).
        seed: seed of ``np.random.default_rng``; the same arguments give the same arrays.
        n: number of sequences, at least 1.
        length: the task's size parameter, within its kind's ``length`` bounds.
        symbols: alphabet size, within its kind's ``symbols`` bounds; ignored by tasks
            without an alphabet (``symbols == (0, 0, 0)``).
        noise: input noise (``sine_wave``) or label-flip probability (``sentiment``).

    Returns:
        The generated ``SequenceData``.

    Raises:
        SpecError: an unknown name (``data.name``), or ``n`` (``data.n``), ``length``
            (``data.length``) or ``symbols`` (``data.symbols``) out of range.
    """
    kind = DATASETS.get(name, "data.name")
    if kind.family != "sequence":
        raise SpecError("data.name", f"{name!r} is not a sequence task")
    if n < 1:
        raise SpecError("data.n", f"{name} needs at least 1 sequence, not {n}")
    _check_range("data.length", f"{name}'s length", length, kind.length)
    if kind.symbols != (0, 0, 0):
        _check_range("data.symbols", f"{name}'s number of symbols", symbols, kind.symbols)
    rng = np.random.default_rng(seed)
    return kind.generate(rng, int(n), int(length), int(symbols), float(noise))
