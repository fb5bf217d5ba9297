"""Input features, as in TensorFlow Playground (x₁, x₂, x₁², x₁x₂, sin(x₁), ...).

A feature maps raw points ``x`` of shape ``(..., d)`` to one column of shape ``(...)``.
The model applies the chosen features inside jitted code, so the datasets keep only
raw points and the decision grid is featurised exactly like the training data.

Besides the menu in ``FEATURES``, every raw column ``x<k>`` (``k`` = 1..``MAX_INPUT_DIM``)
is a valid feature name: uploaded CSVs with more than two columns use them as they are.
``cos(x1)`` and ``cos(x2)`` complete the set TF Playground's links name (``cosX``, ``cosY``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import jax
import jax.numpy as jnp

from engine.errors import SpecError
from engine.registry import Registry

MAX_INPUT_DIM = 16
"""Most raw input columns a dataset may have (an uploaded CSV included)."""

_RAW_NAME = re.compile(r"x([1-9][0-9]*)")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Feature:
    """One input feature.

    Attributes:
        fn: maps raw points ``(..., d)`` to one column ``(...)``; pure jax.numpy.
        needs_dim: the smallest raw input dimension ``d`` the feature works on.
        label: pretty name for the UI, e.g. ``"x₁²"``.
    """

    fn: Callable[[jax.Array], jax.Array]
    needs_dim: int
    label: str


# Named functions rather than lambdas: the UI can show their source to students.
def x1(x: jax.Array) -> jax.Array:
    """First raw coordinate: ``(..., d) -> (...)``."""
    return x[..., 0]


def x2(x: jax.Array) -> jax.Array:
    """Second raw coordinate: ``(..., d) -> (...)``."""
    return x[..., 1]


def x1_squared(x: jax.Array) -> jax.Array:
    """``x₁²``: ``(..., d) -> (...)``."""
    return x[..., 0] ** 2


def x2_squared(x: jax.Array) -> jax.Array:
    """``x₂²``: ``(..., d) -> (...)``."""
    return x[..., 1] ** 2


def x1_times_x2(x: jax.Array) -> jax.Array:
    """``x₁·x₂``: ``(..., d) -> (...)``."""
    return x[..., 0] * x[..., 1]


def sin_x1(x: jax.Array) -> jax.Array:
    """``sin(x₁)``: ``(..., d) -> (...)``."""
    return jnp.sin(x[..., 0])


def sin_x2(x: jax.Array) -> jax.Array:
    """``sin(x₂)``: ``(..., d) -> (...)``."""
    return jnp.sin(x[..., 1])


def cos_x1(x: jax.Array) -> jax.Array:
    """``cos(x₁)``: ``(..., d) -> (...)``."""
    return jnp.cos(x[..., 0])


def cos_x2(x: jax.Array) -> jax.Array:
    """``cos(x₂)``: ``(..., d) -> (...)``."""
    return jnp.cos(x[..., 1])


FEATURES: Registry[Feature] = Registry("feature")
FEATURES.register("x1", Feature(x1, 1, "x₁"), "The first input coordinate, as it is.")
FEATURES.register("x2", Feature(x2, 2, "x₂"), "The second input coordinate, as it is.")
FEATURES.register(
    "x1^2", Feature(x1_squared, 1, "x₁²"), "The first coordinate squared; helps with circles."
)
FEATURES.register(
    "x2^2", Feature(x2_squared, 2, "x₂²"), "The second coordinate squared; helps with circles."
)
FEATURES.register(
    "x1*x2",
    Feature(x1_times_x2, 2, "x₁x₂"),
    "The product of the two coordinates; its sign alone solves XOR.",
)
FEATURES.register(
    "sin(x1)", Feature(sin_x1, 1, "sin(x₁)"), "The sine of the first coordinate; a wavy input."
)
FEATURES.register(
    "sin(x2)", Feature(sin_x2, 2, "sin(x₂)"), "The sine of the second coordinate; a wavy input."
)
FEATURES.register(
    "cos(x1)", Feature(cos_x1, 1, "cos(x₁)"),
    "The cosine of the first coordinate; a wavy input, even in x₁.",
)
FEATURES.register(
    "cos(x2)", Feature(cos_x2, 2, "cos(x₂)"),
    "The cosine of the second coordinate; a wavy input, even in x₂.",
)


def raw_column_index(name: str) -> int | None:
    """Return ``k - 1`` if ``name`` is a raw column name ``"x<k>"`` (1 <= k <= 16), else None."""
    m = _RAW_NAME.fullmatch(name) if isinstance(name, str) else None
    if m is None:
        return None
    k = int(m.group(1))
    return k - 1 if k <= MAX_INPUT_DIM else None


@cache
def _raw_feature(index: int) -> Feature:
    # Cached so a name always maps to the same Feature (and the same fn object).
    def column(x: jax.Array) -> jax.Array:
        return x[..., index]

    column.__name__ = f"x{index + 1}"
    column.__doc__ = f"Raw input column {index + 1}: ``(..., d) -> (...)``."
    return Feature(column, index + 1, "x" + str(index + 1).translate(_SUBSCRIPTS))


def get_feature(name: str, field: str = "data.features") -> Feature:
    """Look up a feature by name: a ``FEATURES`` entry or a raw column ``"x<k>"``.

    Raises:
        SpecError: for an unknown name (the message lists the menu).
    """
    if name in FEATURES:
        return FEATURES.get(name, field)
    index = raw_column_index(name)
    if index is None:
        return FEATURES.get(name, field)  # raises, listing the choices
    return _raw_feature(index)


def apply_features(x: jax.Array, names: Sequence[str]) -> jax.Array:
    """Compute the named feature columns of raw points.

    Works under ``jax.jit`` (``names`` is static Python data) and on NumPy input.

    Args:
        x: raw points, shape ``(..., d)``.
        names: feature names, e.g. ``("x1", "x2", "x1*x2")``; raw names ``"x<k>"`` allowed.

    Returns:
        A jax array of shape ``(..., F)`` with ``F = len(names)``, in the order of ``names``.
    """
    x = jnp.asarray(x)
    return jnp.stack([get_feature(name).fn(x) for name in names], axis=-1)


def check_features(names: Sequence[str], input_dim: int, field: str = "data.features") -> None:
    """Check that ``names`` is a usable feature list for data with ``input_dim`` raw columns.

    Raises:
        SpecError: if ``names`` is empty, repeats a name, has an unknown name, or uses a
            feature that needs more raw columns than the data has.
    """
    names = tuple(names)
    if not names:
        raise SpecError(field, "choose at least one input feature")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SpecError(field, f"feature {name!r} is listed twice; list each feature once")
        seen.add(name)
        feature = get_feature(name, field)
        if feature.needs_dim > input_dim:
            columns = "column" if input_dim == 1 else "columns"
            raise SpecError(
                field,
                f"feature {name!r} needs {feature.needs_dim}-D data, but this dataset has "
                f"{input_dim} input {columns}",
            )
