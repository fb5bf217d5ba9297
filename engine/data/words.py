"""Our word tokenizer: lower-cased words, a vocabulary of the most frequent, fixed lengths.

Text becomes words, words become ids, and every sequence gets the same length:

- ``tokenize``: lower-case, drop HTML tags (IMDB reviews hold ``<br />``), keep runs of
  letters and digits with inner apostrophes (``don't``, ``director's``, ``21st``) and drop
  all punctuation, as Keras' ``TextVectorization`` does by default. Dropping it keeps a
  200-token cut to 200 words and the vocabulary to words; the cost is that ``!`` and ``?``
  carry no signal.
- ``build_vocabulary``: the most frequent words of the texts it is given (the training
  split only, so a word seen only in test sentences is out of vocabulary), ties broken
  alphabetically; id 0 is padding, id 1 stands for every word outside the vocabulary.
- ``encode``: ids, cut and padded to one length at the *front*, as Keras'
  ``pad_sequences`` does: a long review keeps its last words (where the verdict usually
  is) and a short one starts with padding, so a recurrent layer's final step is the
  text's last word.

Everything here is deterministic and pure NumPy.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import DataError

PAD = 0
"""Id of padding."""

OOV = 1
"""Id of every word outside the vocabulary."""

PAD_WORD = "<pad>"
OOV_WORD = "<unk>"

MAX_TEXT_CHARS = 100_000
"""Longest text ``tokenize`` reads; longer text is cut here (the longest IMDB review in
the package has 13,704 characters)."""

_TAG = re.compile(r"<[^<>]{0,40}>")  # <br />, <i>, </i>: markup, not words
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
# A word: letters or digits (any script; ``[^\W_]`` is \w without the underscore),
# with apostrophes only inside it, so quotes around a word are dropped.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """The words of ``text``, lower-cased, punctuation and markup dropped.

    ``"It's <br />GREAT, isn't it?!"`` -> ``["it's", "great", "isn't", "it"]``. Only
    the first ``MAX_TEXT_CHARS`` characters are read.

    Raises:
        DataError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise DataError(f"text to tokenize must be a string, not {type(text).__name__}")
    text = _TAG.sub(" ", text[:MAX_TEXT_CHARS].lower().translate(_QUOTES))
    return _WORD.findall(text)


@dataclass(frozen=True)
class Vocabulary:
    """Words by id: ``words[0]`` is ``PAD_WORD``, ``words[1]`` is ``OOV_WORD``.

    Attributes:
        words: the display name of each id; ``len(words)`` is the embedding's rows V.
    """

    words: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.words)

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """Word -> id (words outside the vocabulary are absent: use ``ids``)."""
        return {w: i for i, w in enumerate(self.words) if i > OOV}

    def ids(self, words: Iterable[str]) -> list[int]:
        """The id of each word, ``OOV`` for unknown words."""
        index = self.index
        return [index.get(w, OOV) for w in words]


def build_vocabulary(texts: Iterable[Sequence[str]], size: int) -> Vocabulary:
    """The ``size - 2`` most frequent words of tokenized ``texts``, after the two specials.

    Ties in frequency go alphabetically, so the same texts give the same ids in any
    order. With fewer distinct words the vocabulary is smaller than ``size``.

    Raises:
        DataError: ``size`` below 3 (room for padding, unknown and one word).
    """
    if size < 3:
        raise DataError(f"a vocabulary needs at least 3 entries (padding, unknown and a "
                        f"word), not {size}")
    counts: Counter[str] = Counter()
    for words in texts:
        counts.update(words)
    ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[: size - 2]
    return Vocabulary((PAD_WORD, OOV_WORD, *(w for w, _ in ranked)))


def encode(texts: Sequence[Sequence[str]], vocab: Vocabulary, length: int) -> np.ndarray:
    """Ids of tokenized ``texts``, ``(n, length)`` int32, cut and padded at the front.

    A text longer than ``length`` keeps its last ``length`` words; a shorter one is
    preceded by ``PAD``.

    Raises:
        DataError: ``length`` below 1.
    """
    if length < 1:
        raise DataError(f"sequences need a length of at least 1 token, not {length}")
    out = np.full((len(texts), length), PAD, np.int32)
    for row, words in enumerate(texts):
        ids = vocab.ids(words[-length:])
        if ids:
            out[row, length - len(ids):] = ids
    return out


@dataclass(frozen=True)
class Encoded:
    """One text as a model reads it (``encode_text``).

    Attributes:
        ids: ``(length,)`` int32, padded and cut at the front.
        words: the words kept, in order (their ids are the last ``len(words)`` of ``ids``).
        unknown: how many of the kept words are outside the vocabulary.
        dropped: how many words were cut from the front to fit ``length``.
    """

    ids: np.ndarray
    words: tuple[str, ...]
    unknown: int
    dropped: int


def encode_text(text: str, vocab: Vocabulary, length: int) -> Encoded:
    """One typed text, with what a page needs to say about it (cut, unknown words).

    An empty text, or one with no words (only punctuation), is all padding.
    """
    words = tokenize(text)
    kept = words[-length:] if length > 0 else []
    ids = encode([kept], vocab, length)[0]
    unknown = sum(1 for i in ids[length - len(kept):] if i == OOV) if kept else 0
    return Encoded(ids, tuple(kept), unknown, len(words) - len(kept))
