"""A layer stack editor: add, remove, reorder layers and set each one's options.

Every menu and widget comes from the engine's layer registry: a layer's kinds from
``LAYERS`` (restricted to what the page's data can read), each option's widget from
its schema check (a flag becomes a checkbox, a choice a menu, a number a number box
over the engine's own range). The Sequences and Images pages share it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine import LAYERS
from engine.blocks.layer import option_label
from engine.schema import Choice, Flag, Num, OneOf
from playground.core import controls as C
from playground.core import session
from playground.core.session import wkey


def option_widget(label: str, check: Any, value: Any, key: str, container: Any = st) -> Any:
    """One widget for a layer option, chosen from the option's schema check."""
    if isinstance(check, Flag):
        return container.checkbox(label, bool(value), key=wkey(key))
    if isinstance(check, Choice | OneOf):
        names = list(check.options) if isinstance(check, Choice) else check.choices()
        return container.selectbox(label, names, index=names.index(value) if value in names
                                   else 0, key=wkey(key))
    if isinstance(check, Num) and check.integer:
        return int(C.number(label, int(check.lo), int(check.hi), int(value), key=key,
                            container=container))
    return float(C.number(label, float(check.lo), float(check.hi), float(value), key=key,
                          container=container))


def _moved(layers: list[dict], i: int, action: str) -> list[dict]:
    """The stack after an up/down/remove on layer ``i``."""
    out = list(layers)
    if action == "up" and i > 0:
        out[i - 1], out[i] = out[i], out[i - 1]
    elif action == "down" and i < len(out) - 1:
        out[i + 1], out[i] = out[i], out[i + 1]
    elif action == "remove":
        del out[i]
    return out


def stack_section(d: dict, kinds: list[str], prefix: str, new_layer: dict,
                  max_layers: int = 12) -> dict:
    """Each layer's type and options, with buttons to move or remove it, and one to add
    ``new_layer`` at the end: a patch of the spec dict. ``kinds`` are the layer types
    offered (a link's other types stay as they are until changed)."""
    layers = [dict(x) for x in d["model"]["layers"]]
    action: tuple[int, str] | None = None
    for i, layer in enumerate(layers):
        # narrow gaps: a half-width gap cut the type menu to "max_poo"
        c = st.columns([3.2, 0.8, 0.8, 0.8], vertical_alignment="bottom", gap="xsmall")
        names = kinds if layer["type"] in kinds else [*kinds, layer["type"]]
        kind_name = C.pick(f"Layer {i + 1}", names, layer["type"], f"{prefix}_type{i}",
                           help=LAYERS.describe(layer["type"]), container=c[0])
        for col, (icon, name, help_text) in zip(c[1:], (
                (":material/arrow_upward:", "up", "Move up"),
                (":material/arrow_downward:", "down", "Move down"),
                (":material/delete:", "remove", "Remove this layer")), strict=True):
            if col.button("", icon=icon, key=wkey(f"{prefix}_{name}{i}"), help=help_text):
                action = (i, name)
        if kind_name != layer["type"]:  # a new type keeps the options it shares
            layer = {"type": kind_name, **{k: v for k, v in layer.items()
                                          if k in LAYERS.get(kind_name).options}}
        cols = st.columns(2)
        for j, (name, (check, default)) in enumerate(LAYERS.get(kind_name).options.items()):
            # a checkbox's label in half the sidebar was cut ("Causal m...")
            where = st if isinstance(check, Flag) else cols[j % 2]
            layer[name] = option_widget(option_label(name), check,
                                        layer.get(name, default),
                                        f"{prefix}_{i}_{kind_name}_{name}", where)
        layers[i] = layer
    if len(layers) < max_layers and st.button("Add a layer", icon=":material/add:",
                                              key=wkey(f"{prefix}_add")):
        layers.append(dict(new_layer))
        session.bump_widgets()
    if action is not None:
        layers = _moved(layers, *action)
        session.bump_widgets()  # the widgets of the moved layers must show them anew
    return {"model": {"layers": layers}}
