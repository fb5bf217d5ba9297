"""XLA compiler options per network: narrow networks compile without YNNPACK.

XLA:CPU hands dot products (and what it can fuse around them) to YNNPACK, XNNPACK's
successor. For layers of 32 units and more that library's kernels win; for the
Playground's tiny matrices (8 x 8, batches of 10) each call costs more than XLA's own
loop for the whole product. Measured on this project's 2-core CPU machine, each
network with and without YNNPACK:

- the Playground's padded network (8 units a layer): 340 -> 264 us of CPU per epoch
  without it; its evaluation of 512 points after each epoch, 74 -> 31 us;
- ``tiny_vgg`` (8 filters a layer): 6,800 -> 9,000 training images/s without it;
- but Gradient flow's 10 sigmoid layers of 32: 2.7 -> 4.0 ms of CPU per frame
  without it (padded: 19 -> 22 ms), and ``mnist_mlp`` (128 units): 323,000 ->
  185,000 images/s; so networks with a layer wider than ``NARROW`` keep it.
- Recurrent networks are mixed (``adding_lstm`` 28 -> 41 ms an epoch without it,
  ``rt_bilstm`` 355 -> 322 ms): sequence models keep XLA's defaults.

The options go to ``jax.jit(..., compiler_options=...)`` of each network's own
functions, so one server serves both kinds well. They apply on the CPU backend only
(GPU and TPU compilers do not know the flag).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import jax

from engine.blocks import LAYERS
from engine.spec import LayerSpec

NARROW = 16
"""Networks whose every layer has at most this many units, filters or embedding
dimensions compile without YNNPACK (every Playground network, ``tiny_vgg``)."""

WIDTH_OPTIONS = ("units", "filters", "dim")

_NO_YNN = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.cache
def _cpu() -> bool:
    return jax.default_backend() == "cpu"


def widest(layers: Iterable[LayerSpec]) -> int:
    """The most units, filters or embedding dimensions of any of ``layers`` (0: none)."""
    return max((int(value) for layer in layers for name, value in layer.opts().items()
                if name in WIDTH_OPTIONS), default=0)


def compiler_options(layers: Iterable[LayerSpec]) -> dict[str, str] | None:
    """XLA options for the jitted functions of a network of ``layers`` (its output
    layer included): YNNPACK off for narrow networks of points or images on CPU, else
    None (XLA's defaults)."""
    layers = tuple(layers)
    if (widest(layers) <= NARROW and _cpu()
            and all(LAYERS.get(layer.type).family != "sequence" for layer in layers)):
        return dict(_NO_YNN)
    return None
