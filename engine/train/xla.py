"""XLA compiler options per network: narrow networks compile without YNNPACK (and
their sweeps with 512-bit vectors where the CPU has them).

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

A sweep of a narrow network also asks LLVM for 512-bit vectors (XLA's default
prefers 256, as clang does, for fear of AVX-512's lower clock on older Intel parts).
Its configurations lie along the minor axis (``sweep_minor``), 64 of them in a
sweep of 64, and its time goes to elementwise kernels, tanh above all (each epoch's
evaluation is 500 points x 64 configurations x 7 units). Measured on this project's
2-core AMD EPYC (AVX-512), one core: 64 configurations x 300 epochs of the default
network 136-146 -> 102-115 ms, and 224,000 tanh 97 -> 72 us. One network alone,
whose minor axes are its 2-8 units, gains nothing (a UI frame of the padded network
2.5-3.1 ms against 2.9-3.4), so only sweeps ask. A CPU without AVX-512 keeps 256-bit
vectors: the option caps LLVM's vector width, it asks for no instruction the CPU
lacks.

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

_WIDE_VECTORS = {"xla_cpu_prefer_vector_width": "512"}


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


def sweep_options(options: dict[str, str] | None) -> dict[str, str] | None:
    """The options of a sweep of a network whose own are ``options``
    (``compiler_options``'): a narrow network's, plus 512-bit vectors; else None."""
    return None if options is None else {**options, **_WIDE_VECTORS}
