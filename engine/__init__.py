"""NN Playground's headless engine: specs, registries, data, training, probes.

Importing it pulls in JAX, optax and NumPy only, never a UI library::

    import engine
    result = engine.run(engine.preset("xor_backprop"), epochs=500)
    print(result.metrics["test_accuracy"])
"""

from engine.activations import ACTIVATIONS
from engine.data import DATASETS, DataArrays, Dataset, RawData, build_dataset, load_csv
from engine.errors import DataError, EngineError, SpecError
from engine.experiment import Experiment, Result, build, run
from engine.features import FEATURES
from engine.initializers import INITIALIZERS
from engine.io import load_params, read_csv, save_params
from engine.layers import LAYERS
from engine.losses import LOSSES
from engine.optimizers import OPTIMIZERS
from engine.presets import PRESETS, preset
from engine.schedules import SCHEDULES
from engine.sequence_layers import SEQUENCE_KINDS  # importing registers the kinds
from engine.sequence_tasks import SEQUENCE_TASKS
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
from engine.training import METRICS, Chunk, Monitor, Structure, TrainState

__all__ = [
    "ACTIVATIONS", "DATASETS", "FEATURES", "INITIALIZERS", "LAYERS", "LOSSES", "METRICS",
    "OPTIMIZERS", "PRESETS", "SCHEDULES", "SEQUENCE_KINDS", "SEQUENCE_TASKS", "Chunk", "DataArrays",
    "DataError", "DataSpec", "Dataset", "EarlyStoppingSpec", "EngineError", "Experiment",
    "LayerSpec", "ModelSpec", "Monitor", "OptimizerSpec", "RawData", "RegularizationSpec",
    "Result", "ScheduleSpec", "Spec", "SpecError", "Structure", "TrainState", "build",
    "build_dataset", "load_csv", "load_params", "preset", "read_csv", "run", "save_params",
]
