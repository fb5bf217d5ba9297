"""BERT's uncased WordPiece tokenizer, written with the standard library.

Two passes, as Devlin et al. (2019) and Google's ``tokenization.py`` do them:

1. Basic tokenization: drop control characters, turn every kind of whitespace into a
   space, put spaces around each Chinese character, lower-case, strip accents (NFD, then
   drop the combining marks, category Mn), split on whitespace and on punctuation.
2. WordPiece: cut each word greedily into the longest pieces found in the vocabulary,
   left to right; a piece inside a word carries ``##``. A word with no cut, or over
   ``MAX_WORD_CHARS`` characters, becomes ``[UNK]`` whole.

The result is framed as ``[CLS] pieces [SEP]`` and cut to ``max_len`` ids; ``Tokens``
says whether it was cut. Text that spells a special token (``"[MASK]"``) is read as
ordinary characters, not as the special token.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from engine.errors import DataError

CLS, SEP, PAD, UNK = "[CLS]", "[SEP]", "[PAD]", "[UNK]"
SPECIALS = (PAD, UNK, CLS, SEP, "[MASK]")

MAX_WORD_CHARS = 100
"""A longer word is ``[UNK]`` without trying to cut it (BERT's ``max_input_chars_per_word``)."""

MAX_TEXT_CHARS = 100_000
"""Characters read from one text; the rest cannot reach the model's few hundred tokens."""

MAX_VOCAB = 1_000_000
"""Lines accepted in a vocabulary file (BERT's has 30,522)."""


class Tokens(NamedTuple):
    """One text as the model reads it.

    ids: (T,) vocabulary ids, ``[CLS]`` first and ``[SEP]`` last, T <= max_len.
    pieces: the T word pieces as text, ``"##"`` marking a piece inside a word.
    truncated: True when pieces were dropped to fit ``max_len``.
    dropped: how many word pieces were dropped (0 when not truncated).
    unknown: how many of the pieces are ``[UNK]``.
    """
    ids: tuple[int, ...]
    pieces: tuple[str, ...]
    truncated: bool
    dropped: int
    unknown: int


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    # Tab and newlines are control characters to Unicode but whitespace to BERT.
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    # Every non-alphanumeric ASCII character counts ("^", "$", "`" are not Unicode P*).
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_chinese(ch: str) -> bool:
    # The CJK Unified Ideographs blocks; Japanese kana and Korean Hangul are not here,
    # they are written with spaces and split as words.
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _clean(text: str) -> str:
    """Drop NUL, U+FFFD and control characters; every whitespace becomes a space;
    spaces around each Chinese character, so each is a word of its own."""
    out = []
    for ch in text:
        if ch in "\x00\ufffd" or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_chinese(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    return "".join(out)


def _strip_accents(word: str) -> str:
    """NFD splits "é" into "e" and a combining accent (category Mn), which is dropped."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word)
                   if unicodedata.category(ch) != "Mn")


def _split_punctuation(word: str) -> list[str]:
    """"don't!" -> ["don", "'", "t", "!"]: each punctuation character is a word."""
    words: list[str] = []
    start_new = True
    for ch in word:
        if _is_punctuation(ch):
            words.append(ch)
            start_new = True
        else:
            if start_new:
                words.append("")
                start_new = False
            words[-1] += ch
    return words


def basic_tokenize(text: str) -> list[str]:
    """Words of ``text``: cleaned, lower-cased, accents stripped, split on whitespace
    and punctuation. ``"Héllo, World!"`` -> ``["hello", ",", "world", "!"]``."""
    words = []
    for word in unicodedata.normalize("NFC", _clean(text)).split():
        words.extend(_split_punctuation(_strip_accents(word.lower())))
    return [w for w in words if w]


def wordpiece(word: str, vocab: Mapping[str, int]) -> list[str]:
    """Greedy longest-match-first cut of one word into vocabulary pieces.

    ``"unaffable"`` -> ``["una", "##ffa", "##ble"]``; ``[UNK]`` when some remainder
    has no piece in the vocabulary, or the word is over ``MAX_WORD_CHARS`` long.
    """
    if len(word) > MAX_WORD_CHARS:
        return [UNK]
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        while end > start:  # the longest piece first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [UNK]  # nothing matches here: the whole word is unknown
        pieces.append(piece)
        start = end
    return pieces


class WordPiece:
    """An uncased WordPiece tokenizer over a vocabulary (one piece a line, id = line)."""

    def __init__(self, vocab: Iterable[str]):
        pieces = list(vocab)
        if len(pieces) > MAX_VOCAB:
            raise DataError(f"a vocabulary of {len(pieces):,} pieces is too large; "
                            f"at most {MAX_VOCAB:,}")
        self.vocab: dict[str, int] = {}
        for i, piece in enumerate(pieces):
            self.vocab.setdefault(piece, i)
        missing = [s for s in (CLS, SEP, PAD, UNK) if s not in self.vocab]
        if missing:
            raise DataError(f"the vocabulary lacks the special pieces {missing}")
        self.pieces = pieces

    @classmethod
    def from_file(cls, path) -> WordPiece:
        """Read ``vocab.txt`` (UTF-8, one piece a line)."""
        with open(path, encoding="utf-8") as f:
            return cls(line.rstrip("\n").rstrip("\r") for line in f)

    def __len__(self) -> int:
        return len(self.pieces)

    def tokenize(self, text: str) -> list[str]:
        """Word pieces of ``text``, without ``[CLS]``/``[SEP]`` and without a length cap."""
        return [p for word in basic_tokenize(text[:MAX_TEXT_CHARS])
                for p in wordpiece(word, self.vocab)]

    def encode(self, text: str, max_len: int = 128) -> Tokens:
        """``[CLS] pieces [SEP]``, cut to ``max_len`` ids (the pieces' tail is dropped).

        Empty text gives ``[CLS] [SEP]``; text of only unknown characters gives
        ``[UNK]`` pieces (and ``Tokens.unknown`` counts them).
        """
        if not isinstance(text, str):
            raise DataError(f"text to tokenize must be a string, not {type(text).__name__}")
        if max_len < 2:
            raise DataError(f"max_len must leave room for [CLS] and [SEP]; got {max_len}")
        pieces = self.tokenize(text)
        room = max_len - 2
        dropped = max(0, len(pieces) - room)
        pieces = [CLS, *pieces[:room], SEP]
        return Tokens(ids=tuple(self.vocab[p] for p in pieces), pieces=tuple(pieces),
                      truncated=dropped > 0 or len(text) > MAX_TEXT_CHARS, dropped=dropped,
                      unknown=pieces.count(UNK))

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The pieces of ``ids`` as text."""
        return [self.pieces[i] for i in ids]
