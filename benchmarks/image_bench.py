"""Training images per second of the source MLP, the source CNN and the Tiny VGG.

The engine's presets ``mnist_mlp``, ``mnist_cnn`` and ``tiny_vgg`` train on MNIST
(28 x 28 grey) against the same models in PyTorch eager (``benchmarks/torch_images.py``)
when a Python with torch is available: this one, or the one given by
``--torch-python`` (``pip install torch==2.13.0`` installs a CPU build). The engine's
figure is the best of three epochs on the bundled subset less the evaluation of every
split at each epoch's end (timed on its own); PyTorch's counts training steps alone.

    python benchmarks/image_bench.py [--torch-python /path/to/python] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax

import engine
from engine.presets import preset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.reference import reference_figures

MODELS = {"mlp": "mnist_mlp", "cnn": "mnist_cnn", "tiny_vgg": "tiny_vgg"}
GOALS = {"mlp": 2.0, "cnn": 1.0, "tiny_vgg": 1.0}


def engine_figures(name: str, epochs: int = 3) -> dict[str, float]:
    """Training images/s and one epoch's seconds (the best of ``epochs``).

    An epoch ends with the evaluation of every split (the first 2,048 training
    images, validation and test); PyTorch's figure counts training steps alone, so the
    engine's training images/s leave that evaluation out (timed on its own, the same
    computation: ``Experiment.metrics``). ``epoch_s`` is the whole epoch.
    """
    exp = engine.build(preset(name))
    state, _ = exp.train(exp.init(), 1)  # compiles training and evaluation
    exp.metrics(state)
    epoch_s = eval_s = float("inf")
    for _ in range(epochs):
        t0 = time.perf_counter()
        state, chunk = exp.train(state, 1)
        epoch_s = min(epoch_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        exp.metrics(state)
        eval_s = min(eval_s, time.perf_counter() - t0)
    n = exp.dataset.arrays.x_train.shape[0]
    return {"images_per_s": round(n / max(epoch_s - eval_s, 1e-9), 1),
            "epoch_s": round(epoch_s, 2), "evaluation_s": round(eval_s, 3),
            "train_images": int(n), "params": int(exp.cost.params),
            "test_accuracy": round(float(chunk.history["test_accuracy"][-1]), 4)}


def torch_figures(python: str | None) -> dict | None:
    """PyTorch eager images/s from ``torch_images.py`` (None: unavailable)."""
    return reference_figures("torch_images.py", ["--seconds", "3"], python)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-python", default=None,
                    help="a Python interpreter with torch installed (default: this one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result: dict = {"device": str(jax.devices()[0])}
    torch = torch_figures(args.torch_python)
    for model, name in MODELS.items():
        r = engine_figures(name)
        if torch is not None:
            r["torch_images_per_s"] = torch[model]
            r["ratio"] = round(r["images_per_s"] / torch[model], 2)
            r["goal"] = GOALS[model]
        result[model] = r
    if torch is not None:
        result["torch"] = torch["torch"]
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"device: {result['device']}; MNIST 28 x 28, Adam")
    for model, name in MODELS.items():
        r = result[model]
        line = (f"{name:12s} engine {r['images_per_s']:9.0f} training images/s; one epoch "
                f"of {r['train_images']} images {r['epoch_s']:.2f} s, its evaluation "
                f"{r['evaluation_s']:.2f} s included (test accuracy {r['test_accuracy']:.3f})")
        if "ratio" in r:
            line += (f"; PyTorch eager {r['torch_images_per_s']:.0f}: {r['ratio']:.2f}x "
                     f"(goal {GOALS[model]:g}x)")
        print(line)
    if torch is None:
        print("PyTorch: not available (pass --torch-python to compare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
