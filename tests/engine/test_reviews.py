"""Tests for the movie-review datasets (engine.data.reviews), our word tokenizer
(engine.data.words) and the review presets (engine.presets_text)."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

import engine
from engine import DATASETS, DataSpec, Spec, build_dataset, datasets_of
from engine.data import generate_task
from engine.data.reviews import COUNTS, ReviewSet, load_reviews
from engine.data.words import (
    OOV,
    OOV_WORD,
    PAD,
    PAD_WORD,
    build_vocabulary,
    encode,
    encode_text,
    tokenize,
)
from engine.errors import DataError, SpecError
from engine.presets import PRESETS, preset


def _rt(**data) -> DataSpec:
    """A small Rotten Tomatoes spec (600 sentences, 80 % for training)."""
    d = {"name": "rt_sentences", "n": 600, "train_fraction": 0.8} | data
    return Spec.from_dict({"data": d}).data


# --- the CSV ---------------------------------------------------------------------------


def test_the_csv_reads_with_its_row_counts_and_balance():
    reviews = load_reviews()
    assert {k: len(v.texts) for k, v in reviews.items()} == COUNTS
    for source, r in reviews.items():
        assert r.labels.dtype == np.int32 and set(np.unique(r.labels)) == {0, 1}
        assert int(r.labels.sum()) * 2 == COUNTS[source]
        assert not r.labels.flags.writeable  # shared by every build: nobody may change it
    assert reviews["rotten_tomatoes"].texts[2] == "effective but too-tepid biopic"
    assert "<br />" in "".join(reviews["imdb"].texts[:50])
    assert load_reviews() is reviews  # read once per process


def test_both_sets_join_the_sequence_family():
    names = datasets_of("sequence")
    assert "rt_sentences" in names and "imdb" in names
    for name in ("rt_sentences", "imdb"):
        kind = DATASETS.get(name)
        assert kind.tokens and not kind.per_token and kind.task == "classification"
        assert len(DATASETS.describe(name)) > 20


# --- the tokenizer ---------------------------------------------------------------------


def test_tokenize_lowers_drops_punctuation_and_markup_keeps_inner_apostrophes():
    assert tokenize("It's <br /><br />GREAT, isn't it?!") == ["it's", "great", "isn't", "it"]
    assert tokenize("'quoted' too-tepid 21st ... 7/10") == ["quoted", "too", "tepid", "21st",
                                                           "7", "10"]
    assert tokenize("Don\u2019t stop") == ["don't", "stop"]  # a curly apostrophe
    assert tokenize("Amélie, Крик!") == ["amélie", "крик"]  # any script's letters
    assert tokenize("") == [] and tokenize("?!...") == []
    with pytest.raises(DataError, match="must be a string"):
        tokenize(None)


def test_vocabulary_ranks_by_frequency_then_alphabet_after_the_specials():
    texts = [["b", "a", "c"], ["c", "a"], ["d", "c"]]
    vocab = build_vocabulary(texts, 4)
    assert vocab.words == (PAD_WORD, OOV_WORD, "c", "a")  # c: 3, a: 2, then b/d tie at 1
    assert build_vocabulary(texts, 5).words[-1] == "b"  # ties alphabetically
    assert len(build_vocabulary(texts, 100)) == 6  # only the words there are
    assert build_vocabulary(texts[::-1], 6) == build_vocabulary(texts, 6)  # order-free
    with pytest.raises(DataError, match="at least 3"):
        build_vocabulary(texts, 2)


def test_encode_pads_and_cuts_at_the_front_with_ids_0_and_1():
    vocab = build_vocabulary([["good", "movie", "good"]], 10)  # ids: good 2, movie 3
    x = encode([["good"], ["bad", "movie"], ["movie", "good", "good", "movie"], []], vocab, 3)
    assert x.dtype == np.int32 and x.shape == (4, 3)
    assert x.tolist() == [[PAD, PAD, 2], [PAD, OOV, 3], [2, 2, 3], [PAD, PAD, PAD]]
    with pytest.raises(DataError, match="at least 1"):
        encode([["good"]], vocab, 0)


def test_encode_text_says_what_it_cut_and_did_not_know():
    vocab = build_vocabulary([["a", "fine", "film"]], 10)
    out = encode_text("A FINE, fine zzz film!", vocab, 4)
    assert out.words == ("fine", "fine", "zzz", "film") and out.dropped == 1
    assert out.unknown == 1 and out.ids[2] == OOV
    empty = encode_text("   ", vocab, 4)
    assert empty.ids.tolist() == [PAD] * 4 and empty.words == () and empty.unknown == 0


# --- building: split, vocabulary, defaults, errors --------------------------------------


def test_the_seeded_split_is_deterministic_and_differs_by_seed():
    a, b, c = build_dataset(_rt(seed=3)), build_dataset(_rt(seed=3)), build_dataset(_rt(seed=4))
    for x, y in zip(a.arrays, b.arrays, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.sequence.vocab == b.sequence.vocab
    assert not np.array_equal(a.arrays.x_train, c.arrays.x_train)
    assert a.arrays.x_train.shape == (480, 40) and a.arrays.x_test.shape == (120, 40)
    assert a.class_names == ("negative", "positive") and a.n_classes == 2


def test_the_vocabulary_comes_from_the_training_split_only():
    spec = _rt(seed=1, symbols=100)  # a small vocabulary: 100 ids
    ds = build_dataset(spec)
    texts, labels = DATASETS.get("rt_sentences")._draw(1, 600)
    words = [tokenize(t) for t in texts]
    train, test = words[:480], words[480:]
    vocab = build_vocabulary(train, 100)
    assert ds.sequence.vocab == vocab.words == ds.feature_names and len(vocab) == 100
    assert ds.sequence.in_shape == (40, 100)
    np.testing.assert_array_equal(ds.arrays.x_test, encode(test, vocab, 40))
    np.testing.assert_array_equal(ds.arrays.y_test, labels[480:])
    # Ranked on all 600 sentences the vocabulary would differ: the test split is unseen.
    assert build_vocabulary(words, 100).words != vocab.words
    # With a vocabulary of every training word, a word only in the test split is OOV.
    full = build_dataset(dataclasses.replace(spec, symbols=20_000))
    only_test = {w for t in test for w in t} - {w for t in train for w in t}
    assert only_test and not only_test & set(full.sequence.vocab)
    row = next(i for i, t in enumerate(test) if set(t[-40:]) & only_test)
    kept = test[row][-40:]
    ids = np.asarray(full.arrays.x_test[row])[40 - len(kept):]
    assert all(i == OOV for i, w in zip(ids, kept, strict=True) if w in only_test)


def test_zero_length_and_symbols_take_each_sets_defaults():
    rt = build_dataset(_rt())
    assert rt.sequence.in_shape[0] == 40 and len(rt.sequence.vocab) <= 5_000
    imdb = build_dataset(Spec.from_dict({"data": {"name": "imdb", "n": 60}}).data)
    assert imdb.sequence.in_shape[0] == 200 and imdb.arrays.x_train.shape == (30, 200)
    assert build_dataset(_rt(length=12)).arrays.x_train.shape == (480, 12)


@pytest.mark.parametrize(("change", "field", "match"), [
    ({"symbols": 25_000}, "data.symbols", "10 to 20,000, not 25,000"),
    ({"symbols": 5}, "data.symbols", "10 to 20,000, not 5"),
    ({"length": 101}, "data.length", "5 to 100, not 101"),
    ({"n": 9_000}, "data.n", "8,530 texts; take 1 to 8,530 of them, not 9,000"),
])
def test_bad_values_give_one_clear_spec_error(change, field, match):
    # replace() skips the spec's own bounds, to reach the dataset's.
    with pytest.raises(SpecError, match=match) as err:
        build_dataset(dataclasses.replace(_rt(), **change))
    assert err.value.field == field


def test_a_split_without_test_sentences_is_a_data_error():
    with pytest.raises(DataError, match="leave no test points"):
        build_dataset(_rt(n=10, train_fraction=0.95))


def test_generate_task_draws_the_same_order_as_a_build():
    data = generate_task("rt_sentences", 3, 50, 40, 5_000, 0.0)
    assert data.x.shape == (50, 40) and data.y.shape == (50,) and data.mask.all()
    assert data.classes == ("negative", "positive") and data.vocab[:2] == (PAD_WORD, OOV_WORD)
    ds = build_dataset(_rt(seed=3, n=50))
    np.testing.assert_array_equal(data.y[:40], ds.arrays.y_train)
    with pytest.raises(SpecError, match=r"data\.symbols"):
        generate_task("imdb", 0, 5, 200, 30_000, 0.0)


def test_review_sets_are_hashable_values():
    kind = DATASETS.get("imdb")
    assert isinstance(kind, ReviewSet) and hash(kind) == hash(dataclasses.replace(kind))


# --- the presets -----------------------------------------------------------------------

REVIEW_PRESETS = ("rt_bilstm", "imdb_bilstm", "rt_transformer")


@pytest.mark.parametrize("name", REVIEW_PRESETS)
def test_presets_build_and_train_with_finite_loss(name):
    entry = PRESETS.get(name)
    assert entry.topic == "sequences" and len(entry.explanation) > 100
    d = preset(name).to_dict()
    d["data"] |= {"n": 200, "length": 30}  # small, so this stays quick
    exp = engine.build(Spec.from_dict(d))
    state, chunk = exp.train(exp.init(), 2)
    assert int(state.epoch) == 2
    losses = np.asarray(chunk.history["train_loss"])
    assert losses.shape == (2,) and np.isfinite(losses).all()
    assert math.isfinite(exp.metrics(state)["test_loss"])


# Held-out (test split) accuracy each preset reaches after its suggested epochs, and a
# generous bound on the seconds (compile included) on a shared 2-core CPU machine.
CLAIMS = {"rt_bilstm": (0.70, 60), "imdb_bilstm": (0.75, 120), "rt_transformer": (0.65, 60)}


@pytest.mark.slow
@pytest.mark.parametrize("name", REVIEW_PRESETS)
def test_preset_claims(name):
    floor, seconds = CLAIMS[name]
    start = time.perf_counter()
    exp = engine.build(preset(name))
    state, _ = exp.train(exp.init(), PRESETS.get(name).epochs)
    elapsed = time.perf_counter() - start
    accuracy = exp.metrics(state)["test_accuracy"]
    print(f"{name}: test accuracy {accuracy:.3f} after {int(state.epoch)} epochs, "
          f"{elapsed:.1f} s")
    assert accuracy > floor and elapsed < seconds


def test_sample_sentences_are_seeded_rotten_tomatoes_sentences() -> None:
    from engine.data.reviews import load_reviews, sample_sentences

    rt = set(load_reviews()["rotten_tomatoes"].texts)
    a, b = sample_sentences(50, seed=0), sample_sentences(50, seed=0)
    assert a == b and len(set(a)) == 50 and set(a) <= rt
    assert sample_sentences(50, seed=1) != a
