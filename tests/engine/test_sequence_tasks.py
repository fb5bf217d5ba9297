"""Tests for engine.data.sequences: the registry, shapes, targets and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import DATASETS, SequenceData, datasets_of, generate_task
from engine.errors import SpecError

NAMES = list(datasets_of("sequence"))


def _default(name: str, seed: int = 0, n: int = 64, noise: float = 0.0, **changes):
    """Generate ``name`` at its default length and symbols, with ``changes`` overriding."""
    kind = DATASETS.get(name)
    args = {"length": kind.length[1], "symbols": kind.symbols[1]} | changes
    return generate_task(name, seed, n, args["length"], args["symbols"], noise)


def _arrays(data: SequenceData) -> list[np.ndarray]:
    return [data.x, data.y, data.mask]


def _tokens(data: SequenceData, row: int) -> list[str]:
    """Input row ``row`` as display names, e.g. ``["3", "1", ">", ".", "."]``."""
    return [data.vocab[i] for i in data.x[row]]


# --- the registry ---------------------------------------------------------------------


def test_registry_names_and_docs():
    assert NAMES == [
        "reverse",
        "copy",
        "sort",
        "recall",
        "parity",
        "count",
        "sine_wave",
        "sentiment",
        "adding",
        "rt_sentences",
        "imdb",
    ]
    for name in NAMES:
        assert len(DATASETS.describe(name)) > 20


@pytest.mark.parametrize("name", NAMES)
def test_kind_is_consistent(name):
    kind = DATASETS.get(name)
    assert kind.task in ("classification", "regression")
    assert (kind.input_dim == 0) == kind.tokens
    low, default, high = kind.length
    assert 1 <= low <= default <= high
    if kind.symbols != (0, 0, 0):
        low, default, high = kind.symbols
        assert 2 <= low <= default <= high


# --- every task: determinism, shapes, dtypes, ranges ---------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_data_other_seed_other_data(name):
    first, again, other = _default(name, 3), _default(name, 3), _default(name, 4)
    for a, b in zip(_arrays(first), _arrays(again), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.vocab == again.vocab and first.classes == again.classes
    assert not np.array_equal(first.x, other.x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bound", [0, 1, 2])
def test_shapes_dtypes_and_ranges(name, bound):
    kind = DATASETS.get(name)
    n = 50
    data = _default(name, n=n, length=kind.length[bound], symbols=kind.symbols[bound])

    if kind.tokens:
        assert data.x.dtype == np.int32 and data.x.ndim == 2
        assert data.x.min() >= 0 and data.x.max() < len(data.vocab)
    else:
        assert data.x.dtype == np.float32
        assert data.x.ndim == 3 and data.x.shape[2] == kind.input_dim
        assert data.vocab == ()
    assert data.x.shape[0] == n
    steps = data.x.shape[1]

    assert data.y.shape == ((n, steps) if kind.per_token else (n,))
    assert data.mask.shape == data.y.shape and data.mask.dtype == np.float32
    assert set(np.unique(data.mask)) <= {0.0, 1.0}
    assert data.mask.sum(axis=-1).min() > 0 if kind.per_token else data.mask.all()

    if kind.task == "classification":
        assert data.y.dtype == np.int32
        assert data.y.min() >= 0 and data.y.max() < len(data.classes)
    else:
        assert data.y.dtype == np.float32 and data.classes == ()
        assert np.isfinite(data.y).all() and np.isfinite(data.x).all()


@pytest.mark.parametrize("name", NAMES)
def test_n_of_one(name):
    data = _default(name, n=1)
    assert data.x.shape[0] == 1 and data.y.shape[0] == 1


# --- targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("reverse", lambda d: d[::-1]), ("copy", lambda d: d), ("sort", sorted)],
)
def test_digit_transduction_targets(name, expected):
    length, symbols = 7, 5
    data = _default(name, n=40, length=length, symbols=symbols)
    assert data.x.shape == (40, 2 * length + 1)
    assert data.vocab == ("0", "1", "2", "3", "4", ">", ".")
    assert data.classes == ("0", "1", "2", "3", "4")
    np.testing.assert_array_equal(data.mask[:, : length + 1], 0.0)
    np.testing.assert_array_equal(data.mask[:, length + 1 :], 1.0)
    for row in range(40):
        tokens = _tokens(data, row)
        digits = tokens[:length]
        assert all(t.isdigit() for t in digits)
        assert tokens[length:] == [">"] + ["."] * length
        written = [data.classes[c] for c in data.y[row, length + 1 :]]
        assert written == list(expected(digits))


def test_reverse_differs_from_copy():
    # Guards against the transform being ignored: same seed, same inputs, other targets.
    reverse, copy = _default("reverse"), _default("copy")
    np.testing.assert_array_equal(reverse.x, copy.x)
    assert not np.array_equal(reverse.y, copy.y)


def test_recall_answers_the_query():
    length, symbols = 5, 6
    data = _default("recall", n=200, length=length, symbols=symbols)
    assert data.x.shape == (200, 2 * length + 2)
    assert data.classes == ("0", "1", "2", "3", "4", "5")
    query_slots = set()
    for row in range(200):
        tokens = _tokens(data, row)
        keys, values = tokens[0 : 2 * length : 2], tokens[1 : 2 * length : 2]
        assert sorted(keys) == ["a", "b", "c", "d", "e"]  # distinct keys
        assert all(v.isdigit() for v in values)
        assert tokens[-2] == "?"
        pairs = dict(zip(keys, values, strict=True))
        assert data.classes[data.y[row]] == pairs[tokens[-1]]
        query_slots.add(keys.index(tokens[-1]))
    assert query_slots == set(range(length))  # every pair gets asked about


def test_parity_targets_and_balance():
    data = _default("parity", n=4000, length=9)
    assert data.vocab == ("0", "1") and data.classes == ("even", "odd")
    np.testing.assert_array_equal(data.y, data.x.sum(axis=1) % 2)
    assert 0.45 < data.y.mean() < 0.55


def test_count_is_the_running_number_of_ones():
    length = 10
    data = _default("count", n=100, length=length)
    assert data.classes == tuple(str(k) for k in range(length + 1))
    np.testing.assert_array_equal(data.mask, 1.0)
    for row in range(100):
        running = 0
        for t in range(length):
            running += data.vocab[data.x[row, t]] == "1"
            assert data.y[row, t] == running


def test_sine_target_is_the_next_step_of_a_sinusoid():
    data = _default("sine_wave", n=30, length=40, noise=0.0)
    x = data.x[:, :, 0]
    np.testing.assert_array_equal(data.mask, 1.0)
    # Without noise the target is the input shifted by one step ...
    np.testing.assert_allclose(data.y[:, :-1], x[:, 1:], atol=1e-6)
    # ... and a sinusoid obeys s[t+1] + s[t-1] = 2 cos(freq) s[t]: recover freq, check it.
    s = np.concatenate([x, data.y[:, -1:]], axis=1).astype(np.float64)
    outer, middle = s[:, 2:] + s[:, :-2], s[:, 1:-1]
    cos_f = (outer * middle).sum(1) / (middle**2).sum(1) / 2  # least squares per row
    np.testing.assert_allclose(outer, 2 * cos_f[:, None] * middle, atol=1e-5)
    freq = np.arccos(cos_f)
    assert ((freq > 0.2 - 1e-4) & (freq < 0.6 + 1e-4)).all()
    assert np.abs(s).max() <= 1.0 + 1e-6


def test_sine_noise_moves_inputs_not_targets():
    clean, noisy = _default("sine_wave", noise=0.0), _default("sine_wave", noise=0.3)
    np.testing.assert_array_equal(clean.y, noisy.y)
    diff = noisy.x - clean.x
    assert 0.2 < diff.std() < 0.4


def _reference_sentiment(words: list[str]) -> int:
    """Summed polarity with "not" toggling the next polar word, in plain Python."""
    positive = {"good", "great", "fun", "superb"}
    negative = {"bad", "dull", "awful", "boring"}
    score, negate = 0, False
    for word in words:
        if word == "not":
            negate = not negate
        elif word in positive or word in negative:
            polarity = 1 if word in positive else -1
            score += -polarity if negate else polarity
            negate = False
    return score


def test_sentiment_labels_follow_polarity_and_are_balanced():
    data = _default("sentiment", n=3000, length=8)
    assert data.classes == ("negative", "positive")
    assert 12 <= len(data.vocab) <= 16 and "not" in data.vocab
    scores = np.array([_reference_sentiment(_tokens(data, r)) for r in range(3000)])
    assert (scores != 0).all()  # ties were redrawn
    np.testing.assert_array_equal(data.y, (scores > 0).astype(np.int32))
    assert 0.45 < data.y.mean() < 0.55
    # "not" occurs often enough to matter: some labels disagree with a plain word count.
    plain = np.array(
        [_reference_sentiment([w for w in _tokens(data, r) if w != "not"]) for r in range(3000)]
    )
    assert ((plain > 0) != (scores > 0)).mean() > 0.02


def test_sentiment_negation_examples():
    assert _reference_sentiment(["not", "good"]) == -1
    assert _reference_sentiment(["not", "the", "bad", "movie"]) == 1
    assert _reference_sentiment(["not", "not", "fun"]) == 1
    assert _reference_sentiment(["good", "not"]) == 1


def test_sentiment_noise_flips_labels_but_keeps_sentences():
    clean = _default("sentiment", n=4000, noise=0.0)
    noisy = _default("sentiment", n=4000, noise=0.25)
    np.testing.assert_array_equal(clean.x, noisy.x)
    flipped = (clean.y != noisy.y).mean()
    assert 0.2 < flipped < 0.3


def test_adding_target_is_the_sum_of_the_marked_values():
    length = 31
    data = _default("adding", n=500, length=length)
    values, marker = data.x[:, :, 0], data.x[:, :, 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert set(np.unique(marker)) == {0.0, 1.0}
    half = length // 2
    np.testing.assert_array_equal(marker[:, :half].sum(1), 1.0)
    np.testing.assert_array_equal(marker[:, half:].sum(1), 1.0)
    np.testing.assert_allclose(data.y, (values * marker).sum(1), rtol=1e-6)
    assert 0.9 < data.y.mean() < 1.1  # two uniform [0, 1] values sum to 1 on average


# --- argument checks -------------------------------------------------------------------


def test_unknown_name_raises():
    with pytest.raises(SpecError, match="unknown dataset 'nope'") as err:
        generate_task("nope", 0, 10, 5, 5, 0.0)
    assert err.value.field == "data.name"


@pytest.mark.parametrize("name", NAMES)
def test_length_out_of_range_raises(name):
    low, _, high = DATASETS.get(name).length
    symbols = DATASETS.get(name).symbols[1]
    for bad in (low - 1, high + 1):
        with pytest.raises(SpecError, match=f"{low} to {high}") as err:
            generate_task(name, 0, 10, bad, symbols, 0.0)
        assert err.value.field == "data.length"


@pytest.mark.parametrize("name", [n for n in NAMES if DATASETS.get(n).symbols != (0, 0, 0)])
def test_symbols_out_of_range_raises(name):
    kind = DATASETS.get(name)
    low, _, high = kind.symbols
    for bad in (low - 1, high + 1):
        with pytest.raises(SpecError, match=f"{low} to {high}") as err:
            generate_task(name, 0, 10, kind.length[1], bad, 0.0)
        assert err.value.field == "data.symbols"


@pytest.mark.parametrize("name", [n for n in NAMES if DATASETS.get(n).symbols == (0, 0, 0)])
def test_symbols_ignored_where_unused(name):
    kind = DATASETS.get(name)
    a = generate_task(name, 0, 10, kind.length[1], 0, 0.0)
    b = generate_task(name, 0, 10, kind.length[1], 99, 0.0)
    np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("n", [0, -3])
def test_bad_n_raises(n):
    with pytest.raises(SpecError, match="at least 1") as err:
        generate_task("reverse", 0, n, 6, 8, 0.0)
    assert err.value.field == "data.n"
