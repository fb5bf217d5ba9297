"""Where a real network sits inside a padded one: the capacities and the masks.

``engine.train.padded`` trains every qualifying MLP of a page inside one compiled
network of fixed shapes. This module says which networks qualify and how they map
into it: a page's ``Profile`` (how deep and wide its padded network is), the batch
and example capacities, and ``Padding``, the traced masks of one real network.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.blocks import ACTIVATIONS
from engine.blocks.masked import MASKED, PADDED_ACTIVATIONS
from engine.blocks.optimizers import family_key
from engine.data import FEATURES
from engine.model import Network
from engine.spec import LayerSpec
from engine.train.state import CHOSEN, Structure

BATCH_CAPACITIES = (10, 32)
"""Rows each step of a padded network reads: a batch size up to one is a traced count
of its rows. Two, because a step's cost grows with its rows (the default network
trains 4,400 epochs/s at 10 rows, 3,200 at 32, 2 cores): batch sizes 1-10 (the
Playground's default 10 among them) share the first, 11-32 (TensorFlow Playground's
range ends at 30) the second."""

EXAMPLE_CAPACITIES = (512, 2048)
"""Rows of a padded network's data (every split's, ``DataArrays.sizes``): any data
up to one shares its compilation, so a new training share or a hand-placed point
compiles nothing. The first holds the Playground's 500 points, the second a
regression set (1,200) or a hand-drawn one (2,000 at most); more is not padded."""


@dataclass(frozen=True)
class Profile:
    """The padded networks of one kind of page.

    Attributes:
        depth: hidden layers of the padded network: a real network of up to this many
            trains in it.
        units: unit capacities of its hidden layers, smallest first: a real network
            whose widest layer fits one trains in the padded network of that width
            (each is its own compilation, so that a narrow network does not pay for
            the widest).
        residual: whether layers may add their input to their output (He et al., 2016).
        stacks: its page builds uniform stacks (every hidden layer as wide), so a
            warm-up draws only their layers' shapes (``padded.warm_inits``).
        batches, examples: its batch and example capacities; a network whose batch
            size or data fit none is not padded.
    """

    depth: int
    units: tuple[int, ...]
    residual: bool = False
    stacks: bool = False
    batches: tuple[int, ...] = BATCH_CAPACITIES
    examples: tuple[int, ...] = EXAMPLE_CAPACITIES


PROFILES = {
    "playground": Profile(6, (8,)),  # TensorFlow Playground's most: 6 layers of 8
    # The Gradient flow page's controls. One batch and one example capacity: its
    # 30-layer network takes about 20 s to compile (2 cores), so the warm-up compiles
    # just its two widths; a batch over 32 or more than 512 points compiles the real
    # network (a few seconds) rather than another padded one.
    "deep": Profile(30, (32, 64), residual=True, stacks=True, batches=(32,), examples=(512,)),
}
"""The padded networks a page may ask for (``engine.build(..., padded=NAME)``;
``padded=True`` is ``"playground"``)."""

MAX_DEPTH = PROFILES["playground"].depth
"""Hidden layers of the Playground's padded network."""

MAX_UNITS = PROFILES["playground"].units[-1]
"""Units of each of the Playground's padded hidden layers."""

PADDED_INIT = "glorot_uniform"
"""The padded structure's nominal initialiser: its weights always come from the real
network, so every initialiser shares one compiled network."""


def profile(padded: bool | str) -> Profile:
    """The ``Profile`` a page's ``padded`` names (True: the Playground's)."""
    return PROFILES["playground" if padded is True else str(padded)]


def _smallest(capacities: tuple[int, ...], n: int) -> int | None:
    return next((cap for cap in capacities if n <= cap), None)


def batch_capacity(batch_size: int, prof: Profile = PROFILES["playground"]) -> int | None:
    """The rows a padded step of ``prof`` reads for ``batch_size``, or None above them
    all."""
    return _smallest(prof.batches, batch_size)


def example_capacity(examples: int, prof: Profile = PROFILES["playground"]) -> int | None:
    """The rows of ``prof``'s padded data that hold ``examples`` (every split's), or
    None when there are too many."""
    return _smallest(prof.examples, examples)


@dataclass(frozen=True)
class Padding:
    """Where a real network sits inside the padded one.

    Attributes:
        widths: the real hidden layers' units (``len`` = depth <= ``profile.depth``).
        features: the real input features' positions in ``FEATURES`` order.
        activations: each real hidden layer's index into ``PADDED_ACTIVATIONS``.
        residual: whether each real hidden layer adds its input to its output.
        profile: the padded network's kind.
        units: the unit capacity the real network's widest layer fits.
    """

    widths: tuple[int, ...]
    features: tuple[int, ...]
    activations: tuple[int, ...]
    residual: tuple[bool, ...]
    profile: Profile
    units: int

    @property
    def depth(self) -> int:
        """The real network's hidden layers."""
        return len(self.widths)

    @property
    def slots(self) -> int:
        """Slots of each padded layer: its units, or more when there are more input
        features (a layer not in use passes all of them through)."""
        return max(self.units, len(FEATURES))

    def rows(self, i: int) -> np.ndarray:
        """The padded rows of real layer ``i``'s weights (``i == depth``: the output's)."""
        return np.asarray(self.features if i == 0 else range(self.widths[i - 1]))

    def cols(self, i: int) -> np.ndarray:
        """The padded columns of real hidden layer ``i``'s weights."""
        return np.arange(self.widths[i])

    def layer_values(self) -> tuple[dict[str, np.ndarray], ...]:
        """The traced values of the padded hidden layers (``engine.blocks.masked``)."""
        feature_mask = np.zeros(len(FEATURES), np.float32)
        feature_mask[list(self.features)] = 1.0
        out, width = [], self.slots
        for i in range(self.profile.depth):
            on = i < self.depth
            if i == 0:
                in_mask = feature_mask
            else:
                in_mask = np.zeros(width, np.float32)
                in_mask[: self.widths[i - 1] if on else width] = 1.0
            out_mask = np.zeros(width, np.float32)
            out_mask[: self.widths[i] if on else 0] = 1.0
            out.append({"in_mask": in_mask, "out_mask": out_mask,
                        "act": np.int32(self.activations[i] if on else 0),
                        "on": np.bool_(on), "res": np.float32(on and self.residual[i])})
        return tuple(out)


def padding(s: Structure, input_dim: int, examples: int = 0,
            padded: bool | str = True) -> Padding | None:
    """Where ``s``'s network sits in the padded network of the ``padded`` profile, or
    None when it does not qualify (``examples``: the data's rows, every split's).

    What qualifies: points with two raw columns, up to ``profile.depth`` dense layers
    of up to its widest units, parameter-free elementwise activations, no norm, the
    default initialiser per layer, residual layers only where the profile has them
    (and the layer's input is as wide as its output), an output activation without a
    learned slope.
    """
    prof = profile(padded)
    net = s.net
    names = FEATURES.names()
    if (net.sequence is not None or net.image is not None or input_dim != 2
            or batch_capacity(s.batch_size, prof) is None
            or example_capacity(examples, prof) is None
            or len(net.layers) > prof.depth
            or not set(net.features) <= set(names)
            or ACTIVATIONS.get(net.head.activation).param_init is not None):
        return None
    widths, acts, res = [], [], []
    for layer in net.layers:
        o = layer.opts()
        residual = bool(o.get("residual"))
        if (layer.type != "dense" or o["units"] > prof.units[-1]
                or o.get("norm", "none") != "none"
                or (residual and not (prof.residual and widths and widths[-1] == o["units"]))
                or o.get("init", "default") != "default"
                or o["activation"] not in PADDED_ACTIVATIONS):
            return None
        widths.append(o["units"])
        acts.append(PADDED_ACTIVATIONS.index(o["activation"]))
        res.append(residual)
    units = _smallest(prof.units, max(widths, default=1))
    return Padding(tuple(widths), tuple(names.index(f) for f in net.features), tuple(acts),
                   tuple(res), prof, units)


def padded_structure(s: Structure, pad: Padding) -> Structure:
    """The one structure every network of ``s``'s kind that fits ``pad``'s capacity
    trains in: the same head, loss and clipping; its batch size's capacity (the
    profile's ``batches``); the schedule and weight penalty ``CHOSEN`` by traced
    values, and the optimizer's family (``family_key``), so another pick from those
    menus compiles nothing. (Clipping stays structural: always on, at an infinite
    norm where it is off, cost 1.6x the CPU per epoch, measured.)"""
    layer = LayerSpec(MASKED, (("units", pad.slots),))
    net = Network((layer,) * pad.profile.depth, tuple(FEATURES.names()), s.net.head,
                  s.net.loss, PADDED_INIT)
    return replace(s, net=net, batch_size=batch_capacity(s.batch_size, pad.profile),
                   schedule=CHOSEN, regularization=CHOSEN, optimizer=family_key(s.optimizer))
