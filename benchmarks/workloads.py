"""The reference workloads of DESIGN.md section 5, as plain data, and their data set.

``make_points`` is TensorFlow Playground's circle data set (``classifyCircleData``)
with noise 0, in plain NumPy. ``numpy_epochs_per_second`` measures the NumPy
reference on a workload; the engine's benchmark reports its own speed as a ratio
to that figure, measured in the same run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks.numpy_mlp import NumpyMLP

CIRCLE_RADIUS = 5.0


@dataclass(frozen=True)
class Workload:
    """A training workload: tanh MLP, half-MSE loss, plain SGD on circle data.

    Attributes:
        name: human-readable name.
        sizes: layer widths, input first and output last (stored as a tuple, so a
            workload is hashable; a list is accepted and converted).
        batch_size: rows per SGD update.
        lr: SGD learning rate.
        n_points: size of the whole data set.
        train_fraction: share of the points used for training (the first rows).
    """

    name: str
    sizes: tuple[int, ...]
    batch_size: int
    lr: float
    n_points: int = 500
    train_fraction: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))

    @property
    def n_train(self) -> int:
        """Number of training rows: ``int(n_points * train_fraction)``."""
        return int(self.n_points * self.train_fraction)


WORKLOADS: dict[str, Workload] = {
    "small": Workload(name="playground default", sizes=(2, 4, 2, 1), batch_size=10, lr=0.03),
    "big": Workload(name="playground big", sizes=(2, 8, 8, 8, 8, 8, 8, 1), batch_size=30, lr=0.03),
}


def make_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow Playground's circle data, noise 0, shuffled.

    ``(n + 1) // 2`` points with radius uniform in [0, 2.5] get label +1 and
    ``n // 2`` points with radius uniform in [3.5, 5] get label -1; angles are
    uniform in [0, 2 pi). The rows are then shuffled (as TensorFlow Playground
    shuffles before it splits train from test), so any leading slice is a fair
    sample. Deterministic for a given ``seed``.

    Returns:
        ``(x, y)``: ``x`` is ``(n, 2)`` float32, ``y`` is ``(n, 1)`` float32 in
        {-1, +1}.
    """
    rng = np.random.default_rng(seed)
    n_pos, n_neg = (n + 1) // 2, n // 2
    r = np.concatenate(
        [
            rng.uniform(0.0, 0.5 * CIRCLE_RADIUS, n_pos),
            rng.uniform(0.7 * CIRCLE_RADIUS, CIRCLE_RADIUS, n_neg),
        ]
    )
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)  # (n, 2)
    y = np.concatenate([np.ones(n_pos), -np.ones(n_neg)])[:, None]  # (n, 1)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.float32)


def numpy_epochs_per_second(workload: Workload, seconds: float = 1.0, seed: int = 0) -> float:
    """Epochs per second of ``NumpyMLP`` (tanh/tanh/half_mse, float32) on ``workload``.

    Trains on the first ``workload.n_train`` rows of ``make_points``, one warm-up
    epoch first, then whole epochs until about ``seconds`` of wall time have
    passed (at least one epoch).
    """
    x, y = make_points(workload.n_points, seed)
    x, y = x[: workload.n_train], y[: workload.n_train]
    net = NumpyMLP(list(workload.sizes), seed=seed, dtype=np.float32)
    rng = np.random.default_rng(seed)
    args = (workload.batch_size, workload.lr, rng)
    net.train_epochs(x, y, 1, *args)  # warm-up
    epochs = 0
    start = time.perf_counter()
    while True:
        net.train_epochs(x, y, 1, *args)
        epochs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return epochs / elapsed
