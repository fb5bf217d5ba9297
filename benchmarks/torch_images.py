"""PyTorch eager versions of the image benchmark's three models (imports torch only).

Run by ``benchmarks/image_bench.py`` in whatever Python has torch (it may be another
virtual environment than the engine's), or on its own:

    python benchmarks/torch_images.py --seconds 3      # prints JSON: images/s per model

The models match the engine's presets in shapes and parameter counts: ``mnist_mlp``
(784 -> 128 -> 64 -> 10 ReLU, batch 64), ``mnist_cnn`` (Conv2d 32 3x3 valid, ReLU,
Flatten, Linear 128, ReLU, Linear 10; batch 32) and ``tiny_vgg`` (two blocks of two
3x3 same convolutions of 8 and a 2x2 max pool, Flatten, Linear 10; batch 32). Each step
is a forward pass, cross-entropy, a backward pass and an Adam update on 28x28 grey
images, as the engine's.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn


def models() -> dict[str, tuple[nn.Module, int]]:
    """Each model and its batch size."""
    def vgg_block(cin: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                nn.ReLU(), nn.MaxPool2d(2)]

    return {
        "mlp": (nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                              nn.ReLU(), nn.Linear(64, 10)), 64),
        "cnn": (nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Flatten(),
                              nn.Linear(26 * 26 * 32, 128), nn.ReLU(), nn.Linear(128, 10)), 32),
        "tiny_vgg": (nn.Sequential(*vgg_block(1), *vgg_block(8), nn.Flatten(),
                                   nn.Linear(7 * 7 * 8, 10)), 32),
    }


def images_per_second(model: nn.Module, batch: int, seconds: float) -> float:
    """Training images per second (best of three timed windows)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    best = 0.0
    for _ in range(3):
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds / 3:
            step()
            n += 1
        best = max(best, n * batch / (time.perf_counter() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.manual_seed(0)
    out = {name: round(images_per_second(m, b, args.seconds), 1)
           for name, (m, b) in models().items()}
    out["torch"] = torch.__version__
    out["params"] = {name: sum(p.numel() for p in m.parameters())
                     for name, (m, _) in models().items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
