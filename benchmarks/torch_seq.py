"""PyTorch eager versions of the sequence benchmark's two models (imports torch only).

Run by ``benchmarks/sequence_bench.py`` in whatever Python has torch (it may be
another virtual environment than the engine's), or on its own:

    python benchmarks/torch_seq.py --steps 200        # prints JSON: steps/s per model

The models match the engine's presets ``reverse_transformer`` and ``reverse_lstm``
in shapes and parameter counts: tokens (batch 32, T = 13, vocabulary 10) into an
embedding of 32, sinusoidal positions and two pre-layer-norm transformer blocks (4
heads, MLP 64, GELU); or one LSTM of 64 units on one-hot tokens. Each step is a
forward pass, a masked cross-entropy over 8 classes, a backward pass and an Adam
update, as the engine's. Standard modules (``nn.LSTM``, ``nn.TransformerEncoderLayer``)
are what a PyTorch user would write; their kernels are fused C++.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

BATCH, T, VOCAB, CLASSES = 32, 13, 10, 8


class Transformer(nn.Module):
    def __init__(self, dim: int = 32, heads: int = 4, mlp: int = 64, blocks: int = 2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, dim)
        pos = torch.arange(T)[:, None] / torch.pow(10000.0, torch.arange(0, dim, 2) / dim)
        table = torch.zeros(T, dim)
        table[:, 0::2], table[:, 1::2] = torch.sin(pos), torch.cos(pos)
        self.register_buffer("pos", table)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(
            dim, heads, mlp, dropout=0.0, activation="gelu", batch_first=True,
            norm_first=True) for _ in range(blocks))
        self.out = nn.Linear(dim, CLASSES)

    def forward(self, x):
        h = self.embed(x) + self.pos
        for block in self.blocks:
            h = block(h)
        return self.out(h)


class LSTM(nn.Module):
    def __init__(self, units: int = 64):
        super().__init__()
        self.lstm = nn.LSTM(VOCAB, units, batch_first=True)
        self.out = nn.Linear(units, CLASSES)

    def forward(self, x):
        h, _ = self.lstm(nn.functional.one_hot(x, VOCAB).float())
        return self.out(h)


def steps_per_second(model: nn.Module, steps: int, seed: int = 0) -> float:
    """Adam steps per second on random reversal-shaped batches (after 10 warm-up steps)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, VOCAB, (steps + 10, BATCH, T), generator=g)
    y = torch.randint(0, CLASSES, (steps + 10, BATCH, T), generator=g)
    y[:, :, : T // 2 + 1] = -1  # the first half has no target, as in the task
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1)

    def step(i: int) -> None:
        opt.zero_grad()
        loss = loss_fn(model(x[i]).reshape(-1, CLASSES), y[i].reshape(-1))
        loss.backward()
        opt.step()

    for i in range(10):
        step(i)
    t0 = time.perf_counter()
    for i in range(10, steps + 10):
        step(i)
    return steps / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, model in (("transformer", Transformer()), ("lstm", LSTM())):
        out[name] = round(max(steps_per_second(model, args.steps) for _ in range(2)), 1)
        out[f"{name}_params"] = sum(p.numel() for p in model.parameters())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
