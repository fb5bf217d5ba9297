"""The Optimizer race's contestants and their link: ``race=sgd:0.03,adam:0.003``.

Parsing refuses what a link may carry beyond the engine's ranges with a message; the
running contestants live in the session and travel in the page's address
(``core.address``) beside the network's ``s``.
"""

from __future__ import annotations

import dataclasses
import math

import streamlit as st

from engine import OPTIMIZERS, OptimizerSpec
from engine.sweep_presets import RACES
from playground.core import address, session

DEFAULT_RACE = "optimizers"
MAX_CONTESTANTS = 8
MAX_QUERY = 400  # characters of a link's ``race`` parameter
CONTESTANTS = "pg_contestants"  # the running contestants, ((optimizer, rate), ...)
RACE_SEEN = "pg_race_seen"  # the link's ``race`` parameter already applied
# The engine's learning rates (0, 100]: a link may race any of them.
MAX_RATE = next(f.metadata["check"].hi for f in dataclasses.fields(OptimizerSpec)
                if f.name == "learning_rate")

Contestants = tuple[tuple[str, float], ...]


# -- contestants: parsing and the link ----------------------------------------------------

def parse_contestants(text: str) -> Contestants:
    """``"sgd:0.03,adam:0.003"`` as ``(("sgd", 0.03), ("adam", 0.003))``.

    Raises:
        ValueError: with a message saying what to change (too long, an unknown
            optimizer, a rate that is not a number in (0, ``MAX_RATE``], none or more
            than ``MAX_CONTESTANTS``).
    """
    text = str(text)
    if len(text) > MAX_QUERY:
        raise ValueError(f"the race is {len(text)} characters long; at most {MAX_QUERY}")
    out = []
    for part in [p for p in text.split(",") if p.strip()]:
        name, _, rate = part.partition(":")
        name = name.strip()
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name[:30]!r}; choose one of: "
                             f"{', '.join(OPTIMIZERS.names())}")
        try:
            lr = float(rate)
        except ValueError:
            raise ValueError(f"the learning rate of {name} must be a number, got "
                             f"{rate[:30]!r}") from None
        if not (math.isfinite(lr) and 0 < lr <= MAX_RATE):
            raise ValueError(f"the learning rate of {name} must be above 0 and at most "
                             f"{MAX_RATE:g}, got {lr:g}")
        out.append((name, lr))
    if not 1 <= len(out) <= MAX_CONTESTANTS:
        raise ValueError(f"a race has 1 to {MAX_CONTESTANTS} contestants, got {len(out)}")
    return tuple(out)


def contestants_to_query(cs: Contestants) -> str:
    """The link's ``race`` parameter of ``cs``."""
    return ",".join(f"{name}:{lr:g}" for name, lr in cs)


def label(name: str, lr: float) -> str:
    """How a contestant is named on the page."""
    return f"{OPTIMIZERS.title(name)} {lr:g}"


def contestants() -> Contestants:
    """The running contestants: the link's (once per new link), else the session's."""
    text = st.query_params.get("race", "")
    current = session.get(CONTESTANTS)
    if text and session.get(RACE_SEEN) != text:
        session.put(RACE_SEEN, text)
        try:
            current = parse_contestants(text)
            session.bump_widgets()
        except ValueError as err:
            session.flash("error", f"The link's race could not be used ({err}). Showing "
                                   f"{'the current race' if current else 'the default race'}.")
            text = ""  # the address then names the race that runs, not the bad one
    if current is None:
        current = RACES.get(DEFAULT_RACE).contestants
    session.put(CONTESTANTS, current)
    if text:  # the page's own parameter: kept with its address (address.arrive)
        address.keep(session.key(address.KEY), "race", text)
    else:  # a link without a (usable) race: the race that runs goes into the address
        set_contestants(current)
    return current


def set_contestants(cs: Contestants) -> None:
    """Make ``cs`` the race (and the link's ``race``, kept with the page's address)."""
    session.put(CONTESTANTS, cs)
    q = contestants_to_query(cs)
    address.keep(session.key(address.KEY), "race", q)
    session.put(RACE_SEEN, q)
