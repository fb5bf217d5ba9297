"""NumPy references of the image layers, shared by the engine's image tests.

float64 loops over output pixels: a cross-correlation with TensorFlow's ``same`` padding
(the odd pixel after the image). ``test_conv_layers.py`` checks the reference's own
backward pass against central differences, so a wrong reference cannot pass.
"""

from __future__ import annotations

import numpy as np


def pads(n: int, k: int, s: int, padding: str) -> tuple[int, int]:
    """Zeros before and after a side of ``n`` (TensorFlow's rule for ``same``)."""
    if padding == "valid":
        return 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def np_conv(x, w, b, s, padding):
    """(N, H, W, C) cross-correlated with (k, k, C, O), stride s, plus b: float64."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, h, wd, _ = x.shape
    k = w.shape[0]
    (t, bo), (lf, r) = pads(h, k, s, padding), pads(wd, k, s, padding)
    xp = np.pad(x, ((0, 0), (t, bo), (lf, r), (0, 0)))
    ho, wo = (xp.shape[1] - k) // s + 1, (xp.shape[2] - k) // s + 1
    out = np.zeros((n, ho, wo, w.shape[3]))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, i * s:i * s + k, j * s:j * s + k, :]
            out[:, i, j, :] = np.einsum("nabc,abco->no", patch, w)
    return out + np.asarray(b, np.float64)
