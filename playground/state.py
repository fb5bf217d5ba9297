"""Session state and the URL: the spec round-trips through ``st.query_params``.

The URL holds what differs from ``engine.Spec()`` (compact JSON in ``s``; a
link without ``s`` opens the page's default),
so a link reproduces a setup exactly, data seed included. ``hide`` lists
control sections a teacher wants hidden (``?hide=network,training``). A bad
URL never raises: the page shows a message and keeps the last good setup.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from engine import EngineError, Spec
from playground.safe import plain

MAX_URL_CHARS = 8000
SECTIONS = ("data", "features", "network", "output", "training", "view", "export")

# session_state keys, all owned here
SPEC = "pg_spec"  # the last good Spec
EXPERIMENT = "pg_experiment"  # engine.Experiment of SPEC
TRAIN_STATE = "pg_train_state"  # engine.TrainState
HISTORY = "pg_history"  # dict of lists: per-epoch metrics
PLAYING = "pg_playing"
MESSAGE = "pg_message"  # (level, text) shown once above the view
RAW = "pg_raw"  # uploaded CSV as engine.RawData
URL_SEEN = "pg_url_seen"  # the query string already applied
TRACE = "pg_trace"  # a page's per-frame record (Gradient flow's heatmap), cleared by reset
COMPARE = "pg_compare"  # the Sequences page's side-by-side models, cleared by reset
PACE = "pg_pace"  # seconds per optimizer step, per network structure (limits.plan)
PAGE = "pg_page"  # which page's session the keys above refer to now

# Every live page (the Playground, Gradient flow, ...) keeps its own session under its
# own prefix, so each opens on its own default and leaving one never disturbs the other.
# The names above are the Playground's ("pg"); ``key`` maps them to the running page's.


def use_page(prefix: str) -> None:
    """Make the session keys below refer to page ``prefix`` for this script run."""
    st.session_state[PAGE] = prefix


def key(name: str) -> str:
    """The running page's session key for ``name`` (one of the constants above)."""
    prefix = st.session_state.get(PAGE, "pg")
    return name if prefix == "pg" else prefix + name.removeprefix("pg")


def diff(full: Any, base: Any) -> Any:
    """The parts of ``full`` that differ from ``base`` (dicts recursively, lists whole)."""
    if isinstance(full, dict) and isinstance(base, dict):
        out = {}
        for k, v in full.items():
            if k not in base:
                out[k] = v
            elif v != base[k]:
                out[k] = diff(v, base[k])
        return out
    return full


def merge(base: Any, patch: Any) -> Any:
    """``base`` with ``patch`` applied (dicts recursively; anything else replaces)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return patch


def spec_to_query(spec: Spec) -> str:
    """Compact JSON of what differs from ``Spec()`` (``{}`` for ``Spec()`` itself).

    An uploaded table (``data.csv``) too long for a link is left out: the link then
    says which setup it was, and the exported spec carries the table.
    """
    d = diff(spec.to_dict(), Spec().to_dict())
    text = json.dumps(d, separators=(",", ":"))
    if len(text) > MAX_URL_CHARS and d.get("data", {}).get("csv"):
        d["data"]["csv"] = None
        text = json.dumps(d, separators=(",", ":"))
    return text


def spec_from_query(text: str) -> Spec:
    """The spec a URL's ``s`` parameter describes; raises ``EngineError`` when bad."""
    from engine import SpecError
    from engine.untrusted import parse_json

    patch = parse_json(text, what="the link's setup", max_chars=MAX_URL_CHARS)
    if not isinstance(patch, dict):
        raise SpecError("", "the link's setup must be a JSON object")
    return Spec.from_dict(merge(Spec().to_dict(), patch))


def hidden_sections() -> set[str]:
    """Control sections hidden by the link (``?hide=data,network``)."""
    raw = st.query_params.get("hide", "")
    return {s for s in raw.split(",") if s in SECTIONS}


def spec_from_url(fallback: Spec, fallback_name: str = "the default"
                  ) -> tuple[Spec, str | None]:
    """The spec in the URL, or ``fallback`` plus an error message if it is bad."""
    text = st.query_params.get("s", "")
    if not text:  # no setup in the link: the page's default (or what is running)
        return fallback, None
    try:
        return spec_from_query(text), None
    except EngineError as err:
        return fallback, (f"The link's setup could not be used ({err}). "
                          f"Showing {fallback_name}.")


def write_url(spec: Spec) -> None:
    """Put ``spec`` into the URL (without rerunning), keeping other parameters."""
    q = spec_to_query(spec)
    if st.query_params.get("s", "") != q:
        st.query_params["s"] = q
    st.session_state[key(URL_SEEN)] = q


def flash(level: str, text: str) -> None:
    """Queue a message ("error", "warning", "info", "success") for the next render."""
    st.session_state[key(MESSAGE)] = (level, text)


def show_flash() -> None:
    """Show and clear the queued message."""
    msg = st.session_state.pop(key(MESSAGE), None)
    if msg:  # messages quote links and files: shown as typed, never as Markdown
        getattr(st, msg[0])(plain(msg[1]))
