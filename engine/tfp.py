"""TensorFlow Playground links (``#activation=tanh&batchSize=10&...``), read and written.

``parse_link`` turns a link (a full URL, or its fragment with or without ``#`` or ``?``)
into a ``Spec``, the page's flags and the controls it hides; ``to_link`` writes the
fragment back. As in TF Playground a bad or unknown value keeps the default; here it
also leaves a short note. Only text over ``MAX_LINK_CHARS`` or without any
``name=value`` pair is refused (``SpecError``).

A link becomes 500 points (classification) or 1200 (regression); ``noise`` and
``percTrainData`` are percentages; ``networkShape`` hidden layers of ``activation``; a
tanh output (targets -1/+1) or a linear one (regression); ``half_mse`` (TF's
0.5 (o - t)^2); plain SGD; TF's initialisation (weights uniform in (-0.5, 0.5), biases
0.1) or, with ``initZero``, zeros. A hidden input (``x_hide=true``) leaves TF's network,
so it leaves ours. ``cosX``/``cosY`` are in TF's links but never reach its network;
they reach ours (with a note).

Seeds: TF seeds seedrandom's ARC4 stream with a string (usually ``Math.random()
.toFixed(5)``); we cannot reproduce its exact points or weights, only their geometry.
The string maps to one integer for ``data.seed`` and ``seed``: a decimal in [0, 1) with
at most five decimals is ``round(value * 100000)``, a plain integer below 2**31 is
itself (so ``to_link`` can write any seed), anything else its UTF-8 CRC-32 mod 2**31;
no seed is 0.

Training follows TF's ``nn.ts`` (the gradient step, then the regularisation step, both
times the learning rate; gradients averaged over the batch; biases not regularised),
except: (1) TF zeroes, and freezes for good, a weight whose sign the L1 step flips; our
L1 step is plainly ``rate * sign(w)``, so small weights hover around 0. (2) TF walks the
training points in one fixed order every epoch and carries a last partial batch into
the next epoch; we reshuffle each epoch and skip it.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import numpy as np

from engine.blocks import LAYERS
from engine.data import FEATURES
from engine.errors import SpecError
from engine.spec import MAX_LAYERS, DataSpec, OptimizerSpec, RegularizationSpec, Spec

MAX_LINK_CHARS = 4000  # the longest link text accepted
NUM_SAMPLES = {"classification": 500, "regression": 1200}  # TF's fixed numbers of points

DATASETS = {"circle": "circle", "xor": "xor", "gauss": "gauss", "spiral": "spiral"}
REG_DATASETS = {"reg-plane": "reg_plane", "reg-gauss": "reg_gauss"}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = {"none": "none", "L1": "l1", "L2": "l2"}
INPUTS = {"x": "x1", "y": "x2", "xSquared": "x1^2", "ySquared": "x2^2", "xTimesY": "x1*x2",
          "sinX": "sin(x1)", "sinY": "sin(x2)", "cosX": "cos(x1)", "cosY": "cos(x2)"}
"""TF's input name -> our feature name, in our ``FEATURES`` order."""

HIDABLE = {"showTestData": "show_test_data", "discretize": "discretize", "playButton": "play",
           "stepButton": "step", "resetButton": "reset", "learningRate": "learning_rate",
           "activation": "activation", "regularization": "regularization",
           "regularizationRate": "regularization_rate", "problem": "problem",
           "dataset": "dataset", "percTrainData": "train_share", "noise": "noise",
           "batchSize": "batch_size", "numHiddenLayers": "hidden_layers", **INPUTS}
"""TF's ``<name>_hide`` -> our control name; ``TfpLink.hidden`` keeps this order."""

ORDER = ("activation", "regularization", "batchSize", "dataset", "regDataset", "learningRate",
         "regularizationRate", "noise", "networkShape", "seed", "showTestData", "discretize",
         "percTrainData", "x", "y", "xTimesY", "xSquared", "ySquared", "cosX", "sinX", "cosY",
         "sinY", "collectStats", "tutorial", "problem", "initZero", "hideText")
"""TF's parameters in the order its ``State`` writes them."""

_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_SEED_DECIMAL = re.compile(r"0?\.[0-9]{1,5}|0")
_UNITS = LAYERS.get("dense").options["units"][0]
# Fields plain SGD never reads: to_link does not insist on their defaults.
_UNREAD = {"optimizer": ("momentum", "b1", "b2", "eps", "decay", "weight_decay")}


@dataclass(frozen=True)
class TfpLink:
    """What a TF Playground link sets.

    Attributes:
        spec: the experiment (validated).
        hidden: our control names the link hides, in ``HIDABLE``'s order.
        show_test_data: draw the test points too.
        discretize: draw the output as two colours rather than a gradient.
        hide_text: hide the explanations around the playground.
        notes: one short sentence per parameter not honoured, unknown or malformed.
    """

    spec: Spec
    hidden: tuple[str, ...] = ()
    show_test_data: bool = False
    discretize: bool = False
    hide_text: bool = False
    notes: tuple[str, ...] = ()


def _show(text: str) -> str:
    return text if len(text) <= 24 else text[:21] + "..."


def _pairs(text: Any) -> dict[str, str | None]:
    """The link's ``name -> value`` (decoded; None for a bare name; the last one wins)."""
    if not isinstance(text, str):
        raise SpecError("", "a TF Playground link must be text")
    if len(text) > MAX_LINK_CHARS:
        raise SpecError("", f"the link is too long ({len(text)} characters; at most "
                            f"{MAX_LINK_CHARS})")
    text = text.strip()
    text = text if "=" in text else unquote(text)  # all of it encoded: "a%3Db%26c%3Dd"
    text = text.split("#", 1)[-1]  # a URL's fragment, or the text itself
    head, q, tail = text.partition("?")
    text = tail if q and "=" not in head else text  # a query: "?a=b" or "host/?a=b"
    pairs: dict[str, str | None] = {}
    for piece in text.split("&"):
        name, eq, value = piece.partition("=")
        name = unquote(name).strip()
        if name:
            pairs[name] = unquote(value).strip() if eq else None
    if not any(v is not None for v in pairs.values()):
        raise SpecError("", "no name=value pairs found; a TF Playground link looks like "
                            "https://playground.tensorflow.org/#activation=tanh&dataset=circle")
    return pairs


class _Reader:
    """Reads TF's parameters one by one, collecting notes; never raises."""

    def __init__(self, pairs: dict[str, str | None]):
        self.pairs, self.notes = pairs, []

    def raw(self, name: str) -> str | None:
        """The value, or None (with a note when the name is there without a value)."""
        value = self.pairs.get(name)
        if name in self.pairs and not value:
            self.notes.append(f"{name} has no value; kept the default.")
        return value or None

    def choice(self, name: str, keys: Iterable[str], default: str) -> str:
        value = self.raw(name)
        if value is None or value in keys:
            return value or default
        self.notes.append(f"{name}={_show(value)} is not one of {', '.join(keys)}; "
                          f"kept {default}.")
        return default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        return default if value is None else value != "false"  # TF: anything else is true

    def number(self, name: str, default: float, check: Any, scale: float = 1.0) -> Any:
        """A number, divided by ``scale``, that ``check`` (an engine field check) accepts."""
        value = self.raw(name)
        try:
            if value is not None and len(value) <= 40 and _NUMBER.fullmatch(value):
                return check(float(value) / scale, name)
        except SpecError:
            pass
        if value is not None:
            kind = "a whole number" if check.integer else "a number"
            self.notes.append(f"{name}={_show(value)} is not {kind} from {check.lo * scale:g} "
                              f"to {check.hi * scale:g}; kept {default:g}.")
        return check(default / scale, name)


def _check(section: type, name: str) -> Any:
    """The engine's check of field ``name`` of spec class ``section``."""
    return next(f for f in dataclasses.fields(section) if f.name == name).metadata["check"]


def _noise(r: _Reader) -> float:
    """TF's noise percentage as a fraction; like TF, below 0 is 0 and above 80 is 50."""
    value = r.raw("noise")
    if value is not None and len(value) <= 40 and _NUMBER.fullmatch(value):
        pct = float(value)
        if not 0 <= pct <= 80:
            r.notes.append(f"noise={_show(value)} is outside 0 to 80; TF Playground uses "
                           f"{0 if pct < 0 else 50}, and so do we.")
            pct = 0.0 if pct < 0 else 50.0
        return pct / 100
    if value is not None:
        r.notes.append(f"noise={_show(value)} is not a number; kept 0.")
    return 0.0


def _shape(r: _Reader) -> tuple[int, ...]:
    """``networkShape``: hidden layer sizes; an empty value means no hidden layer."""
    value = r.pairs.get("networkShape", "4,2")
    parts = [p.strip() for p in (value or "?").split(",")] if value != "" else []
    if len(parts) <= MAX_LAYERS and all(re.fullmatch("[0-9]{1,6}", p) and
                                        _UNITS.lo <= int(p) <= _UNITS.hi for p in parts):
        return tuple(int(p) for p in parts)
    r.notes.append(f"networkShape={_show(value or '')} is not 0 to {MAX_LAYERS} layer sizes "
                   f"from {_UNITS.lo:g} to {_UNITS.hi:g}, like 4,2; kept 4,2.")
    return (4, 2)


def _seed(text: str | None) -> int:
    """TF's seed string as one integer in [0, 2**31) (see the module docstring)."""
    if not text:
        return 0
    if _SEED_DECIMAL.fullmatch(text):
        return round(float(text) * 100_000)
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) < 2**31:
        return int(text)
    return zlib.crc32(text.encode("utf-8", "replace")) % 2**31


def _features(r: _Reader, hidden: tuple[str, ...]) -> list[str]:
    """The inputs that are on and not hidden, in ``FEATURES`` order."""
    on = [feat for name, feat in INPUTS.items()
          if r.flag(name, name in ("x", "y")) and feat not in hidden]
    for name in ("cosX", "cosY"):
        if INPUTS[name] in on:
            r.notes.append(f"{name}: TF Playground's page never feeds {INPUTS[name]} to its "
                           "network; we do.")
    if not on:
        r.notes.append("Every input feature is off or hidden; using x1 and x2.")
        on = ["x1", "x2"]
    return [f for f in FEATURES.names() if f in on]


def _build(r: _Reader, hidden: tuple[str, ...]) -> Spec:
    problem = r.choice("problem", ("classification", "regression"), "classification")
    name = (DATASETS[r.choice("dataset", DATASETS, "circle")] if problem == "classification"
            else REG_DATASETS[r.choice("regDataset", REG_DATASETS, "reg-plane")])
    act = r.choice("activation", ACTIVATIONS, "tanh")
    reg = REGULARIZATIONS[r.choice("regularization", REGULARIZATIONS, "none")]
    seed = _seed(r.pairs.get("seed"))
    d = {"data": {"name": name, "n": NUM_SAMPLES[problem], "noise": _noise(r),
                  "train_fraction": r.number("percTrainData", 50,
                                             _check(DataSpec, "train_fraction"), 100),
                  "features": _features(r, hidden), "seed": seed},
         "model": {"layers": [{"type": "dense", "units": u, "activation": act}
                              for u in _shape(r)],
                   "output_activation": "tanh" if problem == "classification" else "linear",
                   "init": "zeros" if r.flag("initZero") else "tf_playground"},
         "loss": "half_mse",
         "optimizer": {"name": "sgd", "learning_rate": r.number(
             "learningRate", 0.03, _check(OptimizerSpec, "learning_rate"))},
         "regularization": {"kind": reg, "rate": r.number(
             "regularizationRate", 0, _check(RegularizationSpec, "rate"))},
         "batch_size": r.number("batchSize", 10, _check(Spec, "batch_size")), "seed": seed}
    try:
        return Spec.from_dict(d)
    except SpecError as err:  # not expected: every field was checked on its own
        r.notes.append(f"The link's setup was refused ({err}); using TF's default.")
        return parse_link("problem=classification").spec


def _training_notes(r: _Reader, spec: Spec) -> None:
    if spec.regularization.kind == "l1" and spec.regularization.rate > 0:
        r.notes.append("L1: TF Playground zeroes and freezes a weight the L1 step pushes "
                       "across 0; we let it cross.")
    n_train = round(spec.data.n * spec.data.train_fraction)
    left = n_train % min(spec.batch_size, n_train) if n_train else 0
    if left:
        r.notes.append(f"batchSize={spec.batch_size} leaves {left} of {n_train} training "
                       "points over each epoch; we skip them, TF carries them to the next.")
    if r.flag("collectStats"):
        r.notes.append("collectStats: we collect no usage statistics.")
    if r.pairs.get("tutorial"):
        r.notes.append("tutorial: TF Playground's tutorial pages are not included.")
    unknown = [_show(k) for k in r.pairs
               if k not in ORDER and not (k.endswith("_hide") and k[:-5] in HIDABLE)]
    if unknown:
        more = f" and {len(unknown) - 6} more" if len(unknown) > 6 else ""
        r.notes.append(f"Unknown parameter{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(unknown[:6])}{more}; ignored.")


def parse_link(text: str) -> TfpLink:
    """Read a TF Playground link: a full URL, its fragment, with or without ``#`` or ``?``.

    Every value that is malformed, unknown or refused by the engine keeps its default
    and adds a note; nothing else fails.

    Raises:
        SpecError: ``text`` is not a string, is over ``MAX_LINK_CHARS`` characters, or has
            no ``name=value`` pair.
    """
    r = _Reader(_pairs(text))
    on = {HIDABLE.get(k[:-5]) for k, v in r.pairs.items() if k.endswith("_hide") and v == "true"}
    hidden = tuple(c for c in HIDABLE.values() if c in on)  # TF: only "true" hides
    spec = _build(r, hidden)
    _training_notes(r, spec)
    return TfpLink(spec, hidden, r.flag("showTestData"), r.flag("discretize"),
                   r.flag("hideText"), tuple(r.notes))


def summary(link: TfpLink) -> str | None:
    """The notes on one line ("Not honoured: ...; ..."), or None when there are none."""
    return ("Not honoured: " + "; ".join(n.rstrip(".") for n in link.notes) + "."
            if link.notes else None)


def _fmt(x: float) -> str:
    """The shortest plain decimal that reads back as ``x`` (``1e-05`` -> ``0.00001``)."""
    return np.format_float_positional(float(x), trim="-")


def _pct(x: float, field: str) -> str:
    """A fraction as TF's percentage, written so that ``float(text) / 100 == x``."""
    for digits in range(0, 16):
        text = _fmt(round(x * 100, digits))
        if float(text) / 100 == x:
            return text
    raise SpecError(field, f"{x!r} cannot be written as a percentage exactly")


def _seed_text(spec: Spec) -> str:
    if spec.data.seed != spec.seed:
        raise SpecError("data.seed", f"TF Playground has one seed; data.seed "
                                     f"({spec.data.seed}) must equal seed ({spec.seed})")
    return f"0.{spec.seed:05d}" if spec.seed < 100_000 else str(spec.seed)


def _activation(spec: Spec) -> str:
    """The hidden layers' activation (the first one's: ``to_link``'s check finds others)."""
    for i, layer in enumerate(spec.model.layers):
        if layer.type != "dense":
            raise SpecError(f"model.layers[{i}].type", "TF Playground has only dense layers, "
                                                       f"not {layer.type}")
    return spec.model.layers[0].opts()["activation"] if spec.model.layers else "tanh"


def _leaves(x: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    """``(dotted path, value)`` of every leaf of plain JSON-like ``x``."""
    if isinstance(x, dict):
        for key, v in x.items():
            yield from _leaves(v, f"{path}.{key}" if path else key)
    elif isinstance(x, list) and x:
        for i, v in enumerate(x):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def to_link(spec: Spec, *, hidden: Iterable[str] = (), show_test_data: bool = False,
            discretize: bool = False, hide_text: bool = False) -> str:
    """The fragment (the part after ``#``) of the TF Playground link for ``spec``.

    ``hidden`` names our controls to hide (``HIDABLE``'s values). Parameters come in
    TF's own order; ``parse_link`` of the result gives ``spec`` back (fields plain SGD
    never reads, like ``optimizer.momentum``, take their defaults).

    Raises:
        SpecError: naming the first part of ``spec`` TF Playground cannot express (a
            dataset, layer, optimizer, loss, initialiser, a number of points, ...), or
            an unknown or in-use hidden control.
    """
    by_ours = {v: k for k, v in DATASETS.items()} | {v: k for k, v in REG_DATASETS.items()}
    if spec.data.name not in by_ours:
        raise SpecError("data.name", f"TF Playground has no {spec.data.name!r} data; it has "
                                     f"{', '.join(by_ours)}")
    problem = "regression" if spec.data.name in REG_DATASETS.values() else "classification"
    hidden = tuple(hidden)
    for name in hidden:
        if name not in HIDABLE.values():
            raise SpecError("hidden", f"unknown control {name!r}; one of "
                                      f"{', '.join(HIDABLE.values())}")
        if name in spec.data.features:
            raise SpecError("hidden", f"{name} is an input in use; TF Playground drops a "
                                      "hidden input from its network")
    values = {
        "activation": _activation(spec),
        "regularization": {v: k for k, v in REGULARIZATIONS.items()}[spec.regularization.kind],
        "batchSize": str(spec.batch_size),
        "dataset": by_ours[spec.data.name] if problem == "classification" else "circle",
        "regDataset": by_ours[spec.data.name] if problem == "regression" else "reg-plane",
        "learningRate": _fmt(spec.optimizer.learning_rate),
        "regularizationRate": _fmt(spec.regularization.rate),
        "noise": _pct(spec.data.noise, "data.noise"),
        "networkShape": ",".join(str(layer.opts()["units"]) for layer in spec.model.layers),
        "seed": _seed_text(spec), "showTestData": show_test_data, "discretize": discretize,
        "percTrainData": _pct(spec.data.train_fraction, "data.train_fraction"),
        **{tf: ours in spec.data.features for tf, ours in INPUTS.items()},
        "collectStats": False, "problem": problem, "initZero": spec.model.init == "zeros",
        "hideText": hide_text}
    items = [f"{k}={str(values[k]).lower() if isinstance(values[k], bool) else values[k]}"
             for k in ORDER if k in values]
    items += [f"{tf}_hide=true" for tf, ours in HIDABLE.items() if ours in hidden]
    link = "&".join(items)
    back, want = parse_link(link).spec.to_dict(), spec.to_dict()
    for section, fields in _UNREAD.items():
        want[section].update({f: back[section][f] for f in fields})
    want, back = dict(_leaves(want)), dict(_leaves(back))
    for path in [*want, *back]:
        if want.get(path, "nothing") != back.get(path, "nothing"):
            raise SpecError(path, f"TF Playground cannot express "
                                  f"{_show(repr(want.get(path, 'nothing')))} here; its link "
                                  f"would give {_show(repr(back.get(path, 'nothing')))}")
    return link
