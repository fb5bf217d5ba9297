"""Training: the state pytree, one optimizer step, the fused loop, compiling and packing.

``state.py`` (``TrainState`` and friends), ``step.py`` (objective, clipping, schedule,
optax update), ``metrics.py`` (losses and accuracies per example and split, in
bounded chunks), ``loop.py`` (K epochs or steps in one ``lax.scan``/``fori_loop``),
``pack.py`` (one flat buffer per call), ``compile.py`` (the jitted functions of a
structure and their cache), ``padded.py`` (small MLPs trained inside one padded network),
``sweep.py`` (N configurations of one structure in one vmapped call), ``landscape.py``
(the loss on a plane through the weights, Li et al. 2018).

May import: the ground floor, ``engine.blocks``, ``engine.data``, ``engine.model``,
``engine.probes``, ``engine.cost``, ``engine.values``.
"""

from engine.train.compile import COMPILED_CACHE_SIZE, Compiled, compiled, count_compiles
from engine.train.state import (
    CAPACITIES,
    HISTORY,
    METRICS,
    SPLITS,
    Chunk,
    Monitor,
    Structure,
    TrainState,
    init_state,
    to_numpy,
)

__all__ = ["CAPACITIES", "COMPILED_CACHE_SIZE", "HISTORY", "METRICS", "SPLITS", "Chunk",
           "Compiled", "Monitor", "Structure", "TrainState", "compiled", "count_compiles",
           "init_state", "to_numpy"]
