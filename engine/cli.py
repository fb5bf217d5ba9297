"""``python -m engine``: list and show presets, train a spec, search hyperparameters, run
the benchmark.

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


def parse_axis(text: str) -> tuple[str, float | None, float | None, bool | None]:
    """``NAME[:LOW:HIGH[:log|:lin]]`` as (name, low, high, log); None = the default."""
    parts = text.split(":")
    if len(parts) not in (1, 3, 4):
        raise UsageError(f"--axis {text[:60]!r}: write NAME, NAME:LOW:HIGH or "
                         "NAME:LOW:HIGH:log (or :lin)")
    name, low, high, log = parts[0], None, None, None
    if len(parts) >= 3:
        try:
            low, high = float(parts[1]), float(parts[2])
        except ValueError:
            raise UsageError(f"--axis {text[:60]!r}: LOW and HIGH must be numbers") from None
    if len(parts) == 4:
        if parts[3] not in ("log", "lin"):
            raise UsageError(f"--axis {text[:60]!r}: the scale is log or lin")
        log = parts[3] == "log"
    return name, low, high, log


def cmd_search(args: argparse.Namespace) -> int:
    import time

    from engine.hyper import Search, axis
    from engine.sweep_presets import SEARCHES, VAL_FRACTION, search_base

    if args.spec in SEARCHES:
        p = SEARCHES.get(args.spec)
        spec = search_base(p.base, p.noise)
        axes = [axis(n, lo, hi, log) for n, lo, hi, log in p.axes]
        method, budget, size, epochs = p.method, p.budget, p.round_size, p.epochs
    else:
        spec, preset_epochs = load_spec(args.spec)
        axes, method, budget, size, epochs = [], "random", 16, 8, preset_epochs or 100
        if spec.data.val_fraction <= 0:  # the validation split decides: give it one
            spec = spec.updated(data={"val_fraction": VAL_FRACTION})
            if not args.json:
                print(f"note: {args.spec} has no validation split; the search holds out "
                      f"{VAL_FRACTION:.0%} of the data for one")
    if args.axis:
        axes = [axis(*parse_axis(a)) for a in args.axis]
    if not axes:
        raise UsageError("say what to search: --axis learning_rate (or NAME:LOW:HIGH[:log])")
    method = args.method or method
    pick = {"budget": budget, "round": size, "epochs": epochs}
    budget, size, epochs = (pick[k] if getattr(args, k) is None else getattr(args, k)
                            for k in ("budget", "round", "epochs"))
    t0 = time.perf_counter()
    search = Search.start(spec, axes, method, budget, size, epochs, args.seed)
    while not search.done:
        search = search.next_round()
        best = search.best()
        if not args.json:
            print(f"round {search.rounds}: {len(search.trials)} of {budget} tried; best "
                  f"validation loss {best.val_loss:.4f} at {best.values}" if best else
                  f"round {search.rounds}: every candidate diverged so far")
    seconds = time.perf_counter() - t0
    best, test = search.best(), search.test_metrics()
    if args.json:
        print(json.dumps({
            "method": method, "seconds": round(seconds, 2),
            "trials": [{"values": t.values, "val_loss": _clean(t.val_loss),
                        "best_epoch": t.best_epoch, "diverged": t.diverged, "round": t.round}
                       for t in search.trials],
            "best": None if best is None else {"values": best.values,
                                               "val_loss": _clean(best.val_loss),
                                               "spec": best.spec.to_dict()},
            "test": None if test is None else {k: _clean(v) for k, v in test.items()}}))
        return 0
    if best is None:
        print("every candidate diverged: lower the ranges (e.g. the learning rate's)")
        return 0
    print(f"{len(search.trials)} configurations in {seconds:.1f} s; best {best.values}: "
          f"validation loss {best.val_loss:.4f}; test loss {test['test_loss']:.4f} (read once,"
          " at the end)")
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
    p = sub.add_parser("search", help="search hyperparameters, each round trained at once")
    p.add_argument("spec", help="a spec JSON file, a preset, or a search preset ("
                   "learning_rate, grid_vs_random, width)")
    p.add_argument("--axis", action="append", metavar="NAME[:LOW:HIGH[:log|:lin]]",
                   help="a hyperparameter to search (once or twice): learning_rate, "
                   "l2_rate, l1_rate, momentum, dropout_rate, units, batch_size")
    p.add_argument("--method", choices=("grid", "random", "bayesian"))
    p.add_argument("--budget", type=int, help="configurations in all (default 16)")
    p.add_argument("--round", type=int, help="configurations trained at once per round")
    p.add_argument("--epochs", type=int, help="epochs per configuration")
    p.add_argument("--seed", type=int, default=0, help="the search's seed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(fn=cmd_search)
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
