"""The reference MLP in PyTorch eager mode, for a speed comparison only.

The same network and training as ``benchmarks.numpy_mlp.NumpyMLP`` with its
defaults: tanh hidden layers, tanh output, half-MSE loss, plain SGD, a fresh
permutation each epoch and ``n // batch_size`` updates (the remainder skipped).

PyTorch is optional: it is imported inside the functions, never at module import,
so this module loads without it; ``available()`` says whether it can be used.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import pairwise

import numpy as np


def available() -> bool:
    """True when ``import torch`` works."""
    try:
        import torch  # noqa: F401
    except (ImportError, OSError):  # OSError: a broken install's shared libraries
        return False
    return True


def epochs_per_second(
    sizes: Sequence[int],
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    lr: float,
    seconds: float = 1.0,
    seed: int = 0,
) -> float:
    """Epochs per second of eager PyTorch SGD training, float32 on the CPU.

    The weights start as ``NumpyMLP``'s default initialisation for ``seed``
    (uniform in [-0.5, 0.5), biases 0.1). One warm-up epoch runs first, then whole
    epochs until about ``seconds`` of wall time have passed (at least one).

    PyTorch's intra-op thread count is left at its default
    (``torch.get_num_threads()``, usually the number of cores); at these tiny
    sizes the threads hardly matter, but a caller comparing against
    single-threaded code may set it.

    Args:
        sizes: layer widths, e.g. ``[2, 4, 2, 1]``.
        x: ``(n, sizes[0])`` inputs.
        y: ``(n, sizes[-1])`` targets.
        batch_size: rows per update.
        lr: learning rate.
        seconds: how long to measure.
        seed: seeds the initial weights and the permutations.
    """
    import torch

    sizes = [int(s) for s in sizes]
    rng = np.random.default_rng(seed)
    params: list[torch.Tensor] = []
    for n_in, n_out in pairwise(sizes):
        w = rng.uniform(-0.5, 0.5, size=(n_in, n_out))
        params.append(torch.tensor(w, dtype=torch.float32, requires_grad=True))
        params.append(torch.full((n_out,), 0.1, dtype=torch.float32, requires_grad=True))
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))  # (n, in)
    yt = torch.as_tensor(np.asarray(y, dtype=np.float32)).reshape(len(xt), -1)  # (n, out)
    n = xt.shape[0]
    steps = n // batch_size
    opt = torch.optim.SGD(params, lr=lr)
    gen = torch.Generator().manual_seed(seed)

    def epoch() -> None:
        perm = torch.randperm(n, generator=gen)
        for k in range(steps):
            idx = perm[k * batch_size : (k + 1) * batch_size]
            a = xt[idx]
            for i in range(0, len(params), 2):
                a = torch.tanh(a @ params[i] + params[i + 1])
            loss = 0.5 * ((a - yt[idx]) ** 2).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    epoch()  # warm-up
    epochs = 0
    start = time.perf_counter()
    while True:
        epoch()
        epochs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return epochs / elapsed
