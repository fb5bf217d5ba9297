"""NN Playground's headless engine: specs, registries, data, training, probes.

Importing it pulls in JAX, optax and NumPy only, never a UI library::

    import engine
    result = engine.run(engine.preset("xor_backprop"), epochs=500)
    print(result.metrics["test_accuracy"])

The layers, bottom up (each imports only from those below it):

- ground floor: ``errors``, ``registry``, ``schema``, ``untrusted`` (bounded parsing);
- ``blocks`` (activations, initialisers, losses, optimizers, schedules, layer
  families) and ``data`` (points, tables, sequence tasks, features);
- ``spec`` and ``presets``; ``values`` (the traced numbers), ``model``, ``cost``;
- ``probes`` and ``train``; ``teach`` (hand-written maths of the explorer pages) and
  ``search`` (search spaces, a Gaussian process, proposals);
- ``experiment`` (the front door) and ``sweep`` (many configurations at once);
- ``io`` (files) and ``hyper`` (hyperparameter search); ``cli`` (``python -m engine``).
"""

from engine.blocks import (
    ACTIVATIONS,
    INITIALIZERS,
    LAYERS,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    SEQUENCE_KINDS,
)
from engine.cost import planned_data_bytes
from engine.data import (
    DATASETS,
    FEATURES,
    DataArrays,
    Dataset,
    RawData,
    build_dataset,
    datasets_of,
    load_csv,
    load_image_zip,
    load_picture,
)
from engine.errors import DataError, EngineError, SpecError
from engine.experiment import Experiment, Result, build, run
from engine.io import load_params, read_csv, save_params
from engine.presets import PRESETS, preset
from engine.probes import ProbeOptions, Probes
from engine.probes.images import MAP_KINDS
from engine.spec import (
    DataSpec,
    EarlyStoppingSpec,
    LayerSpec,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    ScheduleSpec,
    Spec,
)
from engine.sweep import Sweep, SweepChunk, sweep
from engine.train import METRICS, Chunk, Monitor, Structure, TrainState
from engine.values import Values

__all__ = [
    "ACTIVATIONS", "DATASETS", "FEATURES", "INITIALIZERS", "LAYERS", "LOSSES", "MAP_KINDS",
    "METRICS", "OPTIMIZERS", "PRESETS", "SCHEDULES", "SEQUENCE_KINDS", "Chunk", "DataArrays",
    "DataError",
    "DataSpec", "Dataset", "EarlyStoppingSpec", "EngineError", "Experiment", "LayerSpec",
    "ModelSpec", "Monitor", "OptimizerSpec", "ProbeOptions", "Probes", "RawData",
    "RegularizationSpec", "Result", "ScheduleSpec", "Spec", "SpecError", "Structure",
    "Sweep", "SweepChunk", "TrainState", "Values", "build", "build_dataset", "datasets_of",
    "load_csv", "load_image_zip", "load_params", "load_picture", "planned_data_bytes", "preset",
    "read_csv", "run",
    "save_params", "sweep",
]
