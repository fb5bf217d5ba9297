"""Generated points: TensorFlow Playground's sets, and a few more.

Every generator is deterministic given a ``np.random.Generator`` and draws the same
random numbers whatever the noise level, so moving the noise slider moves the points
(or flips labels) without reshuffling them. Noise is a fraction, like TF Playground's
slider value / 100 (0 to 0.5 in its UI).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.data.base import (
    MAX_CLASSES,
    Dataset,
    RawData,
    check_point_features,
    split_points,
    split_sizes,
)
from engine.errors import SpecError
from engine.registry import Registry

TF_EXTENT = 6.0
"""Half-width of the input plane TF Playground draws, [-6, 6]^2."""

Generate = Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class PointSet:
    """A generated set of points: its generator and what it produces.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        input_dim: number of raw input columns ``d``.
        generate: ``(rng, n, noise, classes) -> (X, y)`` with ``X`` float64 ``(n, d)`` and
            ``y`` ``(n,)``: int64 class ids ``0..K-1`` (classification) or float64 targets.
        multiclass: whether ``classes`` (2..10) sets the number of classes; otherwise a
            classification set has 2 classes and ``classes`` is ignored.
        extent: half-width of the square (or segment) the app draws the input plane on.
    """

    task: str
    input_dim: int
    generate: Generate
    multiclass: bool = False
    extent: float = TF_EXTENT
    family: ClassVar[str] = "points"

    def build(self, spec: Any, raw: RawData | None = None) -> Dataset:
        """Generate ``spec.n`` points from ``spec.seed``, then shuffle, split and pack."""
        n, task = int(spec.n), self.task
        # Check before generating: the generators assume n >= 1.
        split_sizes(n, spec.train_fraction, spec.val_fraction)
        if self.multiclass:
            n_classes = int(spec.classes)
            if not 2 <= n_classes <= MAX_CLASSES:
                raise SpecError("data.classes", f"{spec.name} needs 2 to {MAX_CLASSES} "
                                                f"classes, not {spec.classes}")
        else:
            n_classes = 2 if task == "classification" else 0
        rng = np.random.default_rng(spec.seed)
        x, y = self.generate(rng, n, float(spec.noise), n_classes)
        features = check_point_features(tuple(spec.features), self.input_dim)
        return Dataset(
            arrays=split_points(x, y, spec, rng, features, task), task=task,
            n_classes=n_classes, input_dim=self.input_dim, features=features,
            extent=self.extent, feature_names=tuple(f"x{i + 1}" for i in range(self.input_dim)),
            class_names=tuple(str(k) for k in range(n_classes)))



# ---------------------------------------------------------------------------------------
# Generators. TF Playground's four classification and two regression sets follow its
# src/dataset.ts exactly (geometry, noise meaning, labels computed from the *noisy*
# position while the *clean* point is stored); its +1/-1 labels become classes 1/0.
# ---------------------------------------------------------------------------------------


def _counts(n: int, k: int) -> list[int]:
    """Split ``n`` into ``k`` balanced counts; the first ``n % k`` get one extra."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _class_ids(counts: list[int]) -> np.ndarray:
    """``[2, 1] -> [0, 0, 1]``: class ids for points generated class by class."""
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _circle(rng: np.random.Generator, n: int, noise: float, classes: int):
    radius = 5.0
    n_pos, n_neg = _counts(n, 2)
    # Positive points inside r < 2.5, negative points in the ring 3.5 <= r <= 5.
    r = np.concatenate(
        [rng.uniform(0.0, radius * 0.5, n_pos), rng.uniform(radius * 0.7, radius, n_neg)]
    )
    angle = rng.uniform(0.0, 2 * np.pi, n)
    x, y = r * np.sin(angle), r * np.cos(angle)
    noise_x = rng.uniform(-radius, radius, n) * noise
    noise_y = rng.uniform(-radius, radius, n) * noise
    # TF labels the noisy position but stores the clean one: noise flips labels near r = 2.5.
    label = np.hypot(x + noise_x, y + noise_y) < radius * 0.5
    return np.stack([x, y], axis=1), label.astype(np.int64)


def _xor(rng: np.random.Generator, n: int, noise: float, classes: int):
    padding = 0.3
    x = rng.uniform(-5.0, 5.0, n)
    x = x + np.where(x > 0, padding, -padding)  # keep points off the axes
    y = rng.uniform(-5.0, 5.0, n)
    y = y + np.where(y > 0, padding, -padding)
    noise_x = rng.uniform(-5.0, 5.0, n) * noise
    noise_y = rng.uniform(-5.0, 5.0, n) * noise
    label = (x + noise_x) * (y + noise_y) >= 0
    return np.stack([x, y], axis=1), label.astype(np.int64)


def _gauss(rng: np.random.Generator, n: int, noise: float, classes: int):
    # TF maps noise linearly from [0, 0.5] to a variance in [0.5, 4] (no clamp).
    variance = 0.5 + noise / 0.5 * (4.0 - 0.5)
    n_pos, n_neg = _counts(n, 2)
    centres = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [n_pos, n_neg], axis=0)
    points = centres + math.sqrt(variance) * rng.standard_normal((n, 2))
    label = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return points, label


def _spiral_arm(rng: np.random.Generator, m: int, delta: float, noise: float) -> np.ndarray:
    """One TF spiral arm of ``m`` points, ``(m, 2)``: 1.75 turns out to radius 5."""
    i = np.arange(m, dtype=np.float64)
    r = i / m * 5.0
    t = 1.75 * i / m * 2 * np.pi + delta
    x = r * np.sin(t) + rng.uniform(-1.0, 1.0, m) * noise
    y = r * np.cos(t) + rng.uniform(-1.0, 1.0, m) * noise
    return np.stack([x, y], axis=1)


def _spiral(rng: np.random.Generator, n: int, noise: float, classes: int):
    n_pos, n_neg = _counts(n, 2)
    points = np.concatenate(
        [_spiral_arm(rng, n_pos, 0.0, noise), _spiral_arm(rng, n_neg, np.pi, noise)]
    )
    label = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return points, label


def _reg_plane(rng: np.random.Generator, n: int, noise: float, classes: int):
    radius = 6.0
    x = rng.uniform(-radius, radius, n)
    y = rng.uniform(-radius, radius, n)
    noise_x = rng.uniform(-radius, radius, n) * noise
    noise_y = rng.uniform(-radius, radius, n) * noise
    # Linear map of x + y from [-10, 10] to [-1, 1], not clamped (corners reach +-1.2).
    label = (x + noise_x + y + noise_y) / 10.0
    return np.stack([x, y], axis=1), label


_REG_GAUSSIANS = (
    (-4, 2.5, 1),
    (0, 2.5, -1),
    (4, 2.5, 1),
    (-4, -2.5, -1),
    (0, -2.5, 1),
    (4, -2.5, -1),
)


def _reg_gauss(rng: np.random.Generator, n: int, noise: float, classes: int):
    radius = 6.0
    x = rng.uniform(-radius, radius, n)
    y = rng.uniform(-radius, radius, n)
    noisy_x = x + rng.uniform(-radius, radius, n) * noise
    noisy_y = y + rng.uniform(-radius, radius, n) * noise
    label = np.zeros(n)
    # Each bump is a cone of height +-1 and radius 2; the strongest bump wins, ties keep
    # the earlier one (TF's strict ">" in the same order).
    for cx, cy, sign in _REG_GAUSSIANS:
        value = sign * np.clip(1.0 - np.hypot(noisy_x - cx, noisy_y - cy) / 2.0, 0.0, 1.0)
        label = np.where(np.abs(value) > np.abs(label), value, label)
    return np.stack([x, y], axis=1), label


def _moons(rng: np.random.Generator, n: int, noise: float, classes: int):
    scale = 3.0
    n_out, n_in = _counts(n, 2)
    t = rng.uniform(0.0, np.pi, n)
    # sklearn's make_moons shapes: outer (cos t, sin t), inner (1 - cos t, 0.5 - sin t).
    outer = np.stack([np.cos(t[:n_out]), np.sin(t[:n_out])], axis=1)
    inner = np.stack([1.0 - np.cos(t[n_out:]), 0.5 - np.sin(t[n_out:])], axis=1)
    points = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    # Centre the pair ([-1, 2] x [-0.5, 1]) on the origin and scale to about [-4.5, 4.5].
    points = (points - np.array([0.5, 0.25])) * scale
    return points, _class_ids([n_out, n_in])


def _blobs(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = _counts(n, classes)
    angle = 2 * np.pi * np.arange(classes) / classes
    centres = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (K, 2)
    std = 0.5 + 2.0 * noise
    points = np.repeat(centres, counts, axis=0) + std * rng.standard_normal((n, 2))
    return points, _class_ids(counts)


def _spirals(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = _counts(n, classes)
    arms = [_spiral_arm(rng, m, 2 * np.pi * k / classes, noise) for k, m in enumerate(counts)]
    return np.concatenate(arms), _class_ids(counts)


_XOR_CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])


def _xor_gate(rng: np.random.Generator, n: int, noise: float, classes: int):
    counts = _counts(n, 4)
    points = np.repeat(_XOR_CORNERS, counts, axis=0) + noise * rng.standard_normal((n, 2))
    label = np.repeat(np.array([0, 1, 1, 0], np.int64), counts)
    return points, label


def _line(rng: np.random.Generator, n: int, noise: float, classes: int):
    x = rng.uniform(-5.0, 5.0, n)
    y = 0.5 * x + 1.0 + noise * rng.standard_normal(n)
    return x[:, None], y


def _sine(rng: np.random.Generator, n: int, noise: float, classes: int):
    x = rng.uniform(-5.0, 5.0, n)
    y = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None], y



TITLES = {
    "circle": "Circle",
    "xor": "XOR",
    "gauss": "Two Gaussians",
    "spiral": "Spiral (2 classes)",
    "reg_plane": "Plane (regression)",
    "reg_gauss": "Six bumps (regression)",
    "moons": "Two moons",
    "blobs": "Blobs (several classes)",
    "spirals": "Spirals (several classes)",
    "xor_gate": "XOR gate (4 corners)",
    "line": "Line (1 input, regression)",
    "sine": "Sine wave (1 input, regression)",
}
"""What menus show for the point sets (``Registry.title``): words, not the names."""


def register(datasets: Registry) -> None:
    """Add the generated point sets, in menu order, with their ``TITLES``."""

    def add(name: str, kind: PointSet, doc: str) -> None:
        datasets.register(name, kind, doc, title=TITLES[name])

    add(
        "circle",
        PointSet("classification", 2, _circle),
        "TF Playground's circle: class 1 inside radius 2.5, class 0 in a ring from 3.5 to 5. "
        "Noise flips labels of points near the gap.",
    )
    add(
        "xor",
        PointSet("classification", 2, _xor),
        "TF Playground's XOR: class 1 where x1 and x2 have the same sign, class 0 where they "
        "differ. Noise flips labels near the axes.",
    )
    add(
        "gauss",
        PointSet("classification", 2, _gauss),
        "TF Playground's two Gaussians: class 1 around (2, 2), class 0 around (-2, -2). "
        "Noise widens both clouds until they overlap.",
    )
    add(
        "spiral",
        PointSet("classification", 2, _spiral),
        "TF Playground's two interleaved spiral arms (class 1 and class 0), the hardest set. "
        "Noise jitters the points.",
    )
    add(
        "reg_plane",
        PointSet("regression", 2, _reg_plane),
        "TF Playground's plane: the target is (x1 + x2) / 10, a tilted flat surface. "
        "Noise perturbs the target.",
    )
    add(
        "reg_gauss",
        PointSet("regression", 2, _reg_gauss),
        "TF Playground's six bumps: the target is +1 or -1 at six centres, falling to 0 "
        "within distance 2. Noise perturbs the target.",
    )
    add(
        "moons",
        PointSet("classification", 2, _moons),
        "Two interleaving half circles (class 0 outer, class 1 inner), like scikit-learn's "
        "make_moons scaled by 3. Noise is the jitter's standard deviation in moon radii.",
    )
    add(
        "blobs",
        PointSet("classification", 2, _blobs, multiclass=True),
        "K round Gaussian clouds, one per class, evenly spaced on a circle of radius 3.5. "
        "Each cloud's standard deviation is 0.5 + 2 * noise.",
    )
    add(
        "spirals",
        PointSet("classification", 2, _spirals, multiclass=True),
        "K interleaved spiral arms, one per class: TF Playground's spiral with more arms. "
        "Noise jitters the points.",
    )
    add(
        "xor_gate",
        PointSet("classification", 2, _xor_gate, extent=2.5),
        "The XOR truth table on the corners (+-1, +-1): class 1 where exactly one input is +1. "
        "Noise is the standard deviation of a jitter around each corner.",
    )
    add(
        "line",
        PointSet("regression", 1, _line),
        "One input, target y = 0.5 * x + 1 (true slope 0.5, intercept 1) for x in [-5, 5]. "
        "Noise is the standard deviation of Gaussian noise added to y.",
    )
    add(
        "sine",
        PointSet("regression", 1, _sine),
        "One input, target y = sin(x) for x in [-5, 5]. "
        "Noise is the standard deviation of Gaussian noise added to y.",
    )
