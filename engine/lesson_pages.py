"""The pages a lesson's step may open, and which setups each can open.

Page ids are the app's (``streamlit_app.PAGES``); the engine knows them only as names,
so that a lesson file can be checked without the app.
"""

from __future__ import annotations

from engine.blocks import IMAGE_KINDS, SEQUENCE_KINDS
from engine.data import DATASETS
from engine.errors import SpecError
from engine.spec import Spec

PAGES: tuple[str, ...] = ("playground", "flow", "sequences", "images", "race", "paths",
                          "search", "explore", "backprop", "text", "rl")
"""Page ids a step may name. The first five train a setup; the others take none."""


def show(value: object) -> str:
    """A value from a lesson file as a message quotes it: its repr, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def setup_problem(page: str, spec: Spec | None) -> str | None:
    """Why ``page`` cannot open ``spec`` (None when it can): the Playground and Gradient
    flow train points or a table, the race 2-D points, Sequences and Images their own
    data; other pages take none. Raises ``SpecError`` if ``page`` is not in ``PAGES``."""
    if not isinstance(page, str) or page not in PAGES:
        raise SpecError("page", f"{show(page)} is not a page; choose one of: {', '.join(PAGES)}")
    if spec is None:
        return None
    if page not in PAGES[:5]:
        return "it takes no setup; leave setup out"
    kind, name = DATASETS.get(spec.data.name), repr(spec.data.name)
    own = {"sequences": ("sequence", "a sequence task"), "images": ("images", "an image set")}
    if page in own:
        return None if kind.family == own[page][0] else f"{name} is not {own[page][1]}"
    if kind.family not in ("points", "table"):
        return f"{name} is a {kind.family} task, and this page's data are points"
    wrong = sorted({x.type for x in spec.model.layers} & {*SEQUENCE_KINDS, *IMAGE_KINDS})
    if wrong:
        return f"its {', '.join(wrong)} layers do not read points"
    if page == "race" and (kind.family != "points" or kind.input_dim != 2):
        return "the race draws each contestant over the 2-D plane: pick a 2-D point dataset"
    return None
