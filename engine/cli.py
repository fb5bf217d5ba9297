"""``python -m engine``: list and show presets, train a spec, run the benchmark.

Errors a user can cause (a bad spec, a missing file, a bad CSV) exit with
status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from engine.errors import EngineError, SpecError
from engine.presets import PRESETS, preset
from engine.spec import Spec

MAX_SPEC_BYTES = 1_000_000


class UsageError(Exception):
    """A command line that cannot be carried out (exit status 2)."""


def load_spec(source: str) -> tuple[Spec, int | None]:
    """A spec from a preset name or a JSON file; returns (spec, preset epochs or None)."""
    if source in PRESETS:
        return preset(source), PRESETS.get(source).epochs
    if not os.path.exists(source):
        raise UsageError(f"{source!r} is neither a preset ({', '.join(PRESETS.names())}) "
                         "nor a file")
    if not os.path.isfile(source):
        raise UsageError(f"{source!r} is not a regular file")
    try:
        with open(source, "rb") as fh:
            data = fh.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise UsageError(f"{source}: a spec file must be under {MAX_SPEC_BYTES} bytes")
        text = data.decode("utf-8-sig")
    except OSError as err:
        raise UsageError(f"cannot read {source}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{source}: not a UTF-8 text file") from None
    try:
        return Spec.from_json(text), None
    except SpecError as err:
        raise UsageError(f"{source}: {err}") from None


def _clean(value: Any) -> Any:
    """JSON-safe numbers: NaN/inf become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def cmd_presets(args: argparse.Namespace) -> int:
    if args.json:
        rows = [{"name": n, "title": PRESETS.get(n).title, "epochs": PRESETS.get(n).epochs,
                 "explanation": PRESETS.get(n).explanation} for n in PRESETS.names()]
        print(json.dumps(rows, indent=2))
    else:
        width = max(map(len, PRESETS.names()))
        for n in PRESETS.names():
            print(f"{n:<{width}}  {PRESETS.describe(n)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    spec, _ = load_spec(args.preset)
    print(spec.to_json())
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from engine.experiment import build, run
    from engine.io import read_csv, save_params

    spec, preset_epochs = load_spec(args.spec)
    raw = None
    if args.csv:
        raw = read_csv(args.csv, label_column=spec.data.label_column)
        # The file is the table: a table inside the spec file gives way to it.
        spec = Spec.from_dict({**spec.to_dict(), "data": {**spec.to_dict()["data"],
                                                           "name": "csv", "csv": None}})
    if args.steps is not None:
        per_epoch = build(spec, raw).steps_per_epoch
        epochs = max(1, math.ceil(args.steps / per_epoch))
    else:
        epochs = args.epochs or preset_epochs or 100
    result = run(spec, epochs, raw=raw)
    m = {k: _clean(v) for k, v in result.metrics.items()}
    m["seconds"] = round(result.seconds, 3)
    if args.save:
        save_params(args.save, result.state, spec)
        m["saved"] = args.save
    if args.json:
        print(json.dumps(m))
        return 0
    task = result.experiment.dataset.task
    print(f"trained {m['epochs']} epochs ({m['steps']} steps) in {m['seconds']:.2f} s"
          + (" - stopped early" if m["stopped_early"] else ""))
    if m["diverged"]:
        print("diverged: the loss became NaN/inf; the last finite weights were kept. "
              "Try a smaller learning rate.")
    for split in ("train", "val", "test"):
        if m[f"{split}_loss"] is None:
            continue
        line = f"  {split:<5} loss {m[f'{split}_loss']:.4f}"
        if task == "classification":
            line += f"  accuracy {m[f'{split}_accuracy']:.3f}"
        print(line)
    if args.save:
        print(f"saved parameters to {args.save}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    # The benchmark lives in the repository's benchmarks/ (it needs the NumPy and
    # PyTorch references there), not in the engine's package.
    try:
        from benchmarks.engine_bench import format_report, run_benchmark
    except ImportError:
        raise UsageError("the benchmark needs a checkout of NN Playground: run it from the "
                         "repository (python -m engine bench, or python "
                         "benchmarks/engine_bench.py)") from None

    report = run_benchmark(seconds=args.seconds)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine",
                                     description="NN Playground's headless JAX engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("presets", help="list the presets")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_presets)
    p = sub.add_parser("show", help="print a preset's spec as JSON")
    p.add_argument("preset")
    p.set_defaults(fn=cmd_show)
    p = sub.add_parser("train", help="train a spec file or a preset and print final metrics")
    p.add_argument("spec", help="a spec JSON file or a preset name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--epochs", type=int, help="epochs to train (default: the preset's, or 100)")
    group.add_argument("--steps", type=int, help="optimizer steps (rounded up to whole epochs)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--save", metavar="PARAMS.npz", help="save the trained parameters")
    p.add_argument("--csv", metavar="FILE.csv", help="train on this CSV file (numeric "
                   "feature columns and a label column)")
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("bench", help="benchmark the engine against NumPy (and PyTorch)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.set_defaults(fn=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = make_parser().parse_args(argv)
    for name in ("epochs", "steps"):
        value = getattr(args, name, None)
        if value is not None and not 1 <= value <= 10_000_000:
            print(f"error: --{name} must be between 1 and 10000000", file=sys.stderr)
            return 2
    try:
        return args.fn(args)
    except (UsageError, EngineError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
