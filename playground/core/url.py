"""The URL codec: a spec to and from a link's ``s`` parameter. Pure: no Streamlit.

The URL holds what differs from ``engine.Spec()`` as compact JSON, so a link
reproduces a setup exactly, data seed included; ``hide`` lists control sections a
teacher wants hidden (``?hide=network,training``), or single controls
(``?hide=learning_rate,play``: TensorFlow Playground's ``*_hide`` flags land here).
Links come from anyone: parsing is bounded (``engine.untrusted``) and every
failure is one ``EngineError``.
"""

from __future__ import annotations

import json
from typing import Any

from engine import FEATURES, Spec, SpecError
from engine.untrusted import parse_json

MAX_URL_CHARS = 8000
"""Most characters of a link's setup (browsers and proxies cut longer URLs)."""

SECTIONS = ("presets", "data", "features", "network", "output", "training", "export")
"""Control sections a link may hide (``presets`` hides the preset menu: students then
cannot load another setup)."""


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

    An uploaded table (``data.csv``) or a hand-placed set (``data.points``: about 1,400
    points fit) too long for a link is left out: the link then says which setup it was,
    and the exported spec carries the data (``too_long_for_a_link``).
    """
    d = diff(spec.to_dict(), Spec().to_dict())
    text = json.dumps(d, separators=(",", ":"))
    for field in ("csv", "points"):
        if len(text) > MAX_URL_CHARS and d.get("data", {}).get(field):
            d["data"][field] = None
            text = json.dumps(d, separators=(",", ":"))
    return text


def too_long_for_a_link(spec: Spec) -> bool:
    """Whether ``spec``'s link leaves its data out (see ``spec_to_query``)."""
    data = spec.data
    return bool(data.csv or data.points) and len(json.dumps(
        diff(spec.to_dict(), Spec().to_dict()), separators=(",", ":"))) > MAX_URL_CHARS


def spec_from_query(text: str) -> Spec:
    """The spec a link's ``s`` parameter describes; raises ``EngineError`` when bad."""
    patch = parse_json(text, what="the link's setup", max_chars=MAX_URL_CHARS)
    if not isinstance(patch, dict):
        raise SpecError("", "the link's setup must be a JSON object")
    # The link holds what differs from the default spec; ``from_dict`` fills the rest
    # (and a 1-D dataset's default features, which a merge onto the full default would
    # hide).
    return Spec.from_dict(patch)


CONTROLS = ("dataset", "problem", "noise", "train_share", "batch_size", "hidden_layers",
            "activation", "learning_rate", "regularization", "regularization_rate",
            "play", "step", "reset", "show_test_data", "discretize", "text")
"""Single controls a link may hide: TensorFlow Playground's hidable controls (its
``HIDABLE_CONTROLS``) under our names, and ``text`` (the explanations; its ``hideText``).
An input feature's name (``x1^2``) hides that feature's checkbox."""


def hidden_sections(text: str) -> set[str]:
    """The known sections, controls and feature names of a link's ``hide`` parameter
    (``"data,network"``, ``"learning_rate,x1^2"``); others are ignored."""
    known = {*SECTIONS, *CONTROLS, *FEATURES.names()}
    return {s for s in str(text)[:2000].split(",") if s in known}
