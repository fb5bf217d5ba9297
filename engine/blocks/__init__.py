"""The building blocks a spec names, one family a file, each with its registry.

``activations``, ``initializers``, ``losses``, ``optimizers`` and ``schedules``
each own a registry of the same name. Layer kinds live in one registry,
``LAYERS`` (``layer.py``), which the layer families fill here, in menu order:
``dense`` (dense, activation, dropout, batch and layer norm), ``conv`` (conv2d, 2-D
pools, flatten), ``embeddings``, ``recurrent``, ``attention`` and ``pooling``;
``masked`` adds the internal layer of padded networks (``engine.train.padded``).

May import: the ground floor (``errors``, ``registry``, ``schema``), JAX, optax.
"""

from engine.blocks import attention, conv, dense, embeddings, masked, pooling, recurrent
from engine.blocks.activations import ACTIVATIONS
from engine.blocks.initializers import INITIALIZERS
from engine.blocks.layer import LAYERS, LayerKind, kinds_of
from engine.blocks.losses import LOSSES
from engine.blocks.optimizers import OPTIMIZERS
from engine.blocks.schedules import SCHEDULES

for _family in (dense, conv, embeddings, recurrent, attention, pooling, masked):
    _family.register(LAYERS)

SEQUENCE_KINDS = kinds_of("sequence")
"""Layer kinds that read sequences (T, d), not points."""

IMAGE_KINDS = kinds_of("image")
"""Layer kinds that read images (H, W, C)."""

__all__ = ["ACTIVATIONS", "IMAGE_KINDS", "INITIALIZERS", "LAYERS", "LOSSES", "OPTIMIZERS",
           "SCHEDULES", "SEQUENCE_KINDS", "LayerKind", "kinds_of"]
