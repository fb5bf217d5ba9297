"""Tests for engine.spec: defaults, round trips, validation errors, auto heads, registries."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.blocks.activations import ACTIVATIONS
from engine.blocks.initializers import INITIALIZERS
from engine.blocks.layer import LAYERS
from engine.blocks.losses import LOSSES
from engine.blocks.optimizers import OPTIMIZERS
from engine.blocks.schedules import SCHEDULES
from engine.data import DATASETS
from engine.data.features import FEATURES
from engine.errors import SpecError
from engine.presets import PRESETS, preset
from engine.registry import Registry
from engine.spec import MAX_JSON_CHARS, MAX_LAYERS, LayerSpec, Spec, dense

ROOT = Path(__file__).resolve().parents[2]

REGISTRIES = {
    "ACTIVATIONS": ACTIVATIONS, "LOSSES": LOSSES, "OPTIMIZERS": OPTIMIZERS,
    "SCHEDULES": SCHEDULES, "INITIALIZERS": INITIALIZERS, "LAYERS": LAYERS,
    "DATASETS": DATASETS, "FEATURES": FEATURES, "PRESETS": PRESETS,
}


def _all_specs() -> list[tuple[str, Spec]]:
    return [("default", Spec()), *((name, preset(name)) for name in PRESETS.names())]


SPECS = _all_specs()
SPEC_IDS = [name for name, _ in SPECS]


# ---------------------------------------------------------------------------------------
# Defaults and round trips.
# ---------------------------------------------------------------------------------------


def test_empty_dict_is_the_default_spec() -> None:
    assert Spec.from_dict({}) == Spec()
    assert Spec.from_json("{}") == Spec()


def test_empty_sections_are_the_defaults() -> None:
    d = {"data": {}, "model": {}, "optimizer": {"schedule": {}}, "regularization": {},
         "early_stopping": {}}
    assert Spec.from_dict(d) == Spec()


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=SPEC_IDS)
def test_dict_round_trip(name: str, spec: Spec) -> None:
    d = spec.to_dict()
    assert Spec.from_dict(d) == spec
    # Through real JSON text too (what a URL or a file carries).
    assert Spec.from_dict(json.loads(json.dumps(d))) == spec
    # to_dict is complete: a second trip gives the same dict.
    assert Spec.from_dict(d).to_dict() == d


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("indent", [None, 2])
def test_json_round_trip(name: str, spec: Spec, indent: int | None) -> None:
    text = spec.to_json(indent=indent)
    assert Spec.from_json(text) == spec
    assert Spec.from_json(text).to_json(indent=indent) == text


def _assert_plain(value: Any, where: str = "spec") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str, f"{where}: key {k!r} is not a str"
            _assert_plain(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _assert_plain(v, f"{where}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), \
            f"{where}: {value!r} is a {type(value).__name__}, not a JSON type"
        if type(value) is float:
            assert math.isfinite(value), f"{where}: {value!r} is not finite"


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=SPEC_IDS)
def test_to_dict_is_plain_json(name: str, spec: Spec) -> None:
    d = spec.to_dict()
    _assert_plain(d)
    json.dumps(d, allow_nan=False)  # strict JSON, no NaN/inf
    assert set(d) == {f.name for f in dataclasses.fields(Spec)}
    assert all(isinstance(layer, dict) and "type" in layer for layer in d["model"]["layers"])


def test_to_dict_fills_layer_defaults() -> None:
    spec = Spec.from_dict({"model": {"layers": [{"type": "dense", "units": 3},
                                                {"type": "dropout"}]}})
    layers = spec.to_dict()["model"]["layers"]
    assert layers[0] == {"type": "dense", "units": 3, "activation": "relu", "init": "default",
                         "norm": "none", "residual": False}
    assert layers[1] == {"type": "dropout", "rate": 0.2}


def _readme_spec_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The spec format", 1)[1]
    match = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert match, "README's spec format section has no ```json block"
    return match.group(1)


def test_readme_example_spec_parses() -> None:
    spec = Spec.from_json(_readme_spec_block())
    # The README documents the defaults; it is the default spec written out.
    assert spec == Spec()
    assert spec.data.name == "spiral"
    assert [layer.opts()["units"] for layer in spec.model.layers] == [8, 8]


def test_readme_python_example_parses() -> None:
    spec = Spec.from_dict({"data": {"name": "xor"}, "optimizer": {"learning_rate": 0.1}})
    assert spec.data.name == "xor"
    assert spec.optimizer.learning_rate == 0.1
    changed = Spec.from_dict({**spec.to_dict(), "optimizer": {"learning_rate": 0.01}})
    assert changed.optimizer.learning_rate == 0.01
    assert changed.data == spec.data


def test_one_dimensional_data_defaults_to_x1() -> None:
    assert Spec.from_dict({"data": {"name": "line"}}).data.features == ("x1",)
    assert Spec.from_dict({"data": {"name": "sine"}}).data.features == ("x1",)
    assert Spec.from_dict({"data": {"name": "circle"}}).data.features == ("x1", "x2")


def test_integral_floats_become_ints() -> None:
    spec = Spec.from_dict({"data": {"n": 100.0}, "batch_size": 20.0})
    assert spec.data.n == 100 and type(spec.data.n) is int
    assert spec.batch_size == 20 and type(spec.batch_size) is int
    assert Spec.from_dict({"optimizer": {"learning_rate": 1}}).optimizer.learning_rate == 1.0


def test_dense_shorthand_matches_from_dict() -> None:
    layer = dense(4, "tanh")
    assert layer == LayerSpec.from_dict({"type": "dense", "units": 4, "activation": "tanh"}, "x")
    assert layer.opts() == {"units": 4, "activation": "tanh", "init": "default",
                            "norm": "none", "residual": False}
    with pytest.raises(SpecError) as info:
        dense(0)
    assert info.value.field == "layer.units"


# ---------------------------------------------------------------------------------------
# Bad specs: field, bad value and what is allowed.
# ---------------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
LAYERS_33 = [{"type": "dense", "units": 2}] * (MAX_LAYERS + 1)

# (id, spec dict, field, text naming the bad value, text naming what is allowed)
BAD_SPECS: list[tuple[str, Any, str, str, str]] = [
    # unknown fields
    ("unknown top-level", {"bogus": 1}, "bogus", "bogus", "known fields here: data, model"),
    ("unknown optimizer.lr", {"optimizer": {"lr": 0.1}}, "optimizer.lr", "lr",
     "learning_rate"),
    ("unknown data field", {"data": {"pointz": 5}}, "data.pointz", "pointz", "noise"),
    ("unknown schedule field", {"optimizer": {"schedule": {"steps": 5}}},
     "optimizer.schedule.steps", "steps", "decay_steps"),
    ("unknown layer option", {"model": {"layers": [{"type": "dense", "rate": 0.5}]}},
     "model.layers[0].rate", "rate", "units"),
    # wrong types
    ("string n", {"data": {"n": "500"}}, "data.n", "'500'", "an integer in [4, 25000]"),
    ("bool n", {"data": {"n": True}}, "data.n", "True", "an integer"),
    ("fractional n", {"data": {"n": 100.5}}, "data.n", "100.5", "an integer"),
    ("bool units", {"model": {"layers": [{"type": "dense", "units": True}]}},
     "model.layers[0].units", "True", "an integer in [1, 512]"),
    ("list loss", {"loss": ["mse"]}, "loss", "['mse']", "categorical_crossentropy"),
    ("string learning_rate", {"optimizer": {"learning_rate": "0.1"}},
     "optimizer.learning_rate", "'0.1'", "a number in (0, 100]"),
    ("string standardize", {"data": {"standardize": "yes"}}, "data.standardize", "'yes'",
     "true or false"),
    ("string features", {"data": {"features": "x1"}}, "data.features", "'x1'",
     "a list of 1 to 16 distinct names"),
    ("empty features", {"data": {"features": []}}, "data.features", "[]",
     "a list of 1 to 16 distinct names"),
    ("number regularization", {"regularization": {"kind": 2}}, "regularization.kind", "2",
     "none, l1, l2"),
    ("section not an object", {"optimizer": "adam"}, "optimizer", "'adam'", "a JSON object"),
    # out of range
    ("n 0", {"data": {"n": 0}}, "data.n", "got 0", "[4, 25000]"),
    ("n too big", {"data": {"n": 25_001}}, "data.n", "25001", "[4, 25000]"),
    ("noise -1", {"data": {"noise": -1}}, "data.noise", "-1", "[0, 5]"),
    ("learning_rate 0", {"optimizer": {"learning_rate": 0}}, "optimizer.learning_rate",
     "got 0", "(0, 100]"),
    ("learning_rate 1000", {"optimizer": {"learning_rate": 1000}}, "optimizer.learning_rate",
     "1000", "(0, 100]"),
    ("train_fraction 1.5", {"data": {"train_fraction": 1.5}}, "data.train_fraction", "1.5",
     "[0.01, 0.99]"),
    ("batch_size 0", {"batch_size": 0}, "batch_size", "got 0", "[1, 10000]"),
    ("units 0", {"model": {"layers": [{"type": "dense", "units": 0}]}},
     "model.layers[0].units", "got 0", "[1, 512]"),
    ("units 10000", {"model": {"layers": [{"type": "dense", "units": 10_000}]}},
     "model.layers[0].units", "10000", "[1, 512]"),
    ("dropout rate 1.0", {"model": {"layers": [{"type": "dropout", "rate": 1.0}]}},
     "model.layers[0].rate", "1.0", "[0, 0.95]"),
    ("seed -1", {"seed": -1}, "seed", "-1", "an integer in [0,"),
    ("data seed -1", {"data": {"seed": -1}}, "data.seed", "-1", "an integer in [0,"),
    ("classes 11", {"data": {"classes": 11}}, "data.classes", "11", "[2, 10]"),
    ("decay_rate 0", {"optimizer": {"schedule": {"decay_rate": 0}}},
     "optimizer.schedule.decay_rate", "got 0", "(0, 1]"),
    ("second layer", {"model": {"layers": [{"type": "dense"},
                                           {"type": "batch_norm", "momentum": 2}]}},
     "model.layers[1].momentum", "2", "[0, 0.999]"),
    # unknown names
    ("unknown dataset", {"data": {"name": "imagenet"}}, "data.name", "'imagenet'", "spiral"),
    ("unknown activation", {"model": {"layers": [{"type": "dense", "activation": "mish"}]}},
     "model.layers[0].activation", "'mish'", "tanh"),
    ("unknown output activation", {"model": {"output_activation": "mish"}},
     "model.output_activation", "'mish'", "auto, linear"),
    ("unknown loss", {"loss": "l2"}, "loss", "'l2'", "binary_crossentropy"),
    ("unknown optimizer", {"optimizer": {"name": "lbfgs"}}, "optimizer.name", "'lbfgs'",
     "adam"),
    ("unknown schedule", {"optimizer": {"schedule": {"name": "cyclic"}}},
     "optimizer.schedule.name", "'cyclic'", "cosine"),
    ("unknown init", {"model": {"init": "orthogonal"}}, "model.init", "'orthogonal'",
     "he_normal"),
    ("unknown layer init", {"model": {"layers": [{"type": "dense", "init": "orthogonal"}]}},
     "model.layers[0].init", "'orthogonal'", "default"),
    ("unknown layer type", {"model": {"layers": [{"type": "conv3d"}]}},
     "model.layers[0].type", "'conv3d'", "batch_norm"),
    ("unknown feature", {"data": {"features": ["x1", "tan(x1)"]}}, "data.features",
     "'tan(x1)'", "sin(x1)"),
    ("unknown regularization", {"regularization": {"kind": "l3"}}, "regularization.kind",
     "'l3'", "none, l1, l2"),
    # NaN / infinity
    ("nan noise", {"data": {"noise": NAN}}, "data.noise", "nan", "[0, 5]"),
    ("nan n", {"data": {"n": NAN}}, "data.n", "nan", "an integer"),
    ("inf learning_rate", {"optimizer": {"learning_rate": INF}}, "optimizer.learning_rate",
     "inf", "(0, 100]"),
    ("-inf batch_size", {"batch_size": -INF}, "batch_size", "inf", "[1, 10000]"),
    ("nan dropout rate", {"model": {"layers": [{"type": "dropout", "rate": NAN}]}},
     "model.layers[0].rate", "nan", "[0, 0.95]"),
    # layers
    ("layers not a list", {"model": {"layers": {"type": "dense"}}}, "model.layers",
     "{'type': 'dense'}", "a list of at most 32 layers"),
    ("too many layers", {"model": {"layers": LAYERS_33}}, "model.layers", "33",
     "at most 32 layers"),
    ("layer not an object", {"model": {"layers": [{"type": "dense"}, 5]}},
     "model.layers[1]", "5", '"type": "dense"'),
    # features
    ("duplicate features", {"data": {"features": ["x1", "x2", "x1"]}}, "data.features",
     "'x1'", "distinct"),
    ("x2 on 1-D data", {"data": {"name": "line", "features": ["x1", "x2"]}},
     "data.features", "'x2'", "1 input column"),
    ("x1*x2 on 1-D data", {"data": {"name": "sine", "features": ["x1*x2"]}},
     "data.features", "'x1*x2'", "1 input column"),
    # cross-field checks
    ("no test set", {"data": {"train_fraction": 0.7, "val_fraction": 0.3}},
     "data.val_fraction", "= 1", "below 0.99"),
    ("no test set either", {"data": {"train_fraction": 0.9, "val_fraction": 0.5}},
     "data.val_fraction", "1.4", "below 0.99"),
    ("early stopping without validation", {"early_stopping": {"patience": 5}},
     "early_stopping.patience", "val_fraction", "patience to 0"),
]


@pytest.mark.parametrize(("d", "field", "value_text", "allowed_text"),
                         [case[1:] for case in BAD_SPECS], ids=[case[0] for case in BAD_SPECS])
def test_bad_spec_names_field_value_and_allowed(d: Any, field: str, value_text: str,
                                                allowed_text: str) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_dict(d)
    err = info.value
    assert err.field == field
    message = str(err)
    assert message.startswith(f"{field}: ")
    assert value_text in message, f"message does not name the bad value: {message}"
    assert allowed_text in message, f"message does not say what is allowed: {message}"
    assert isinstance(err, engine.EngineError) and isinstance(err, ValueError)


@pytest.mark.parametrize(("d", "field", "value_text", "allowed_text"),
                         [case[1:] for case in BAD_SPECS[:20]],
                         ids=[case[0] for case in BAD_SPECS[:20]])
def test_bad_spec_fails_the_same_through_json(d: Any, field: str, value_text: str,
                                              allowed_text: str) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_json(json.dumps(d))
    assert info.value.field == field


@pytest.mark.parametrize("top", [[], [{"data": {}}], "spiral", 3, 1.5, True, None],
                         ids=["list", "list of object", "string", "int", "float", "bool",
                              "null"])
def test_top_level_must_be_an_object(top: Any) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_dict(top)
    assert info.value.field == ""
    assert "expected a JSON object" in str(info.value)


@pytest.mark.parametrize("text", ["[1, 2]", '"spiral"', "42", "null", "true"])
def test_from_json_top_level_must_be_an_object(text: str) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_json(text)
    assert info.value.field == ""
    assert "expected a JSON object" in str(info.value)


@pytest.mark.parametrize("text", ["{", "{'data': {}}", "nope", "", '{"data": {"n": 5,}}'])
def test_from_json_rejects_non_json(text: str) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_json(text)
    assert info.value.field == ""
    assert "not valid JSON" in str(info.value)
    assert "line 1" in str(info.value)


def test_from_json_rejects_too_long_text() -> None:
    text = json.dumps({"data": {"name": "spiral"}}) + " " * MAX_JSON_CHARS
    with pytest.raises(SpecError) as info:
        Spec.from_json(text)
    assert str(MAX_JSON_CHARS) in str(info.value)
    assert "at most" in str(info.value)


@pytest.mark.parametrize("value", [b"{}", None, {}])
def test_from_json_rejects_non_text(value: Any) -> None:
    with pytest.raises(SpecError, match="JSON text"):
        Spec.from_json(value)


def test_from_json_rejects_nan_literal() -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_json('{"data": {"noise": NaN}}')
    assert info.value.field == "data.noise"


def test_boundary_values_are_accepted() -> None:
    spec = Spec.from_dict({
        "data": {"n": 4, "noise": 0.0, "train_fraction": 0.5, "val_fraction": 0.4},
        "model": {"layers": [{"type": "dense", "units": 1},
                             {"type": "dense", "units": 512},
                             {"type": "dropout", "rate": 0.95}]},
        "optimizer": {"learning_rate": 100.0},
        "batch_size": 1, "seed": 2**31 - 1,
    })
    assert spec.data.n == 4 and spec.batch_size == 1 and spec.seed == 2**31 - 1
    assert len(Spec.from_dict({"model": {"layers": LAYERS_33[:MAX_LAYERS]}}).model.layers) == 32
    assert Spec.from_dict({"model": {"layers": []}}).model.layers == ()


# ---------------------------------------------------------------------------------------
# Task-dependent checks and "auto" at build time.
# ---------------------------------------------------------------------------------------

BUILD_ERRORS = [
    ("bce after tanh", {"data": {"name": "circle"}, "loss": "binary_crossentropy",
                        "model": {"output_activation": "tanh"}},
     "model.output_activation", ["binary_crossentropy", "'sigmoid'", "'tanh'"]),
    ("cce after sigmoid", {"data": {"name": "blobs"}, "loss": "categorical_crossentropy",
                           "model": {"output_activation": "sigmoid"}},
     "model.output_activation", ["categorical_crossentropy", "'softmax'", "'sigmoid'"]),
    ("softmax on regression", {"data": {"name": "reg_plane"},
                               "model": {"output_activation": "softmax"}},
     "model.output_activation", ["softmax", "linear"]),
    ("bce on 3 classes", {"data": {"name": "blobs", "classes": 3},
                          "loss": "binary_crossentropy"},
     "loss", ["binary_crossentropy", "3", "categorical_crossentropy"]),
    ("cce on regression", {"data": {"name": "reg_plane"}, "loss": "categorical_crossentropy"},
     "loss", ["categorical_crossentropy", "regression", "mse"]),
    ("hinge on regression", {"data": {"name": "line"}, "loss": "hinge"},
     "loss", ["hinge", "regression", "mse"]),
]


@pytest.mark.parametrize(("d", "field", "texts"), [c[1:] for c in BUILD_ERRORS],
                         ids=[c[0] for c in BUILD_ERRORS])
def test_build_rejects_head_that_does_not_fit_the_task(d: dict, field: str,
                                                       texts: list[str]) -> None:
    d = {**d, "data": {**d["data"], "n": 40}}
    spec = Spec.from_dict(d)  # valid on its own: only the data decides
    with pytest.raises(SpecError) as info:
        engine.build(spec)
    assert info.value.field == field
    for text in texts:
        assert text in str(info.value)


AUTO = [
    ("binary", {"data": {"name": "circle"}}, "sigmoid", "binary_crossentropy", 1),
    ("binary xor_gate", {"data": {"name": "xor_gate"}}, "sigmoid", "binary_crossentropy", 1),
    ("2 blobs", {"data": {"name": "blobs", "classes": 2}}, "sigmoid", "binary_crossentropy",
     1),
    ("3 blobs", {"data": {"name": "blobs", "classes": 3}}, "softmax",
     "categorical_crossentropy", 3),
    ("5 spirals", {"data": {"name": "spirals", "classes": 5}}, "softmax",
     "categorical_crossentropy", 5),
    ("regression", {"data": {"name": "reg_plane"}}, "linear", "mse", 1),
    ("1-D regression", {"data": {"name": "sine"}}, "linear", "mse", 1),
    ("tanh output", {"data": {"name": "circle"}, "model": {"output_activation": "tanh"}},
     "tanh", "mse", 1),
    ("hinge", {"data": {"name": "circle"}, "loss": "hinge"}, "linear", "hinge", 1),
    ("hinge 3 classes", {"data": {"name": "blobs", "classes": 3}, "loss": "hinge"},
     "linear", "hinge", 3),
    ("auto output, bce", {"data": {"name": "circle"}, "loss": "binary_crossentropy"},
     "sigmoid", "binary_crossentropy", 1),
    ("auto output, cce", {"data": {"name": "circle"}, "loss": "categorical_crossentropy"},
     "softmax", "categorical_crossentropy", 2),
    ("softmax output, auto loss", {"data": {"name": "blobs", "classes": 4},
                                   "model": {"output_activation": "softmax"}},
     "softmax", "categorical_crossentropy", 4),
    ("auto output, mse", {"data": {"name": "reg_gauss"}, "loss": "huber"}, "linear", "huber",
     1),
]


@pytest.mark.parametrize(("d", "activation", "loss", "units"), [c[1:] for c in AUTO],
                         ids=[c[0] for c in AUTO])
def test_auto_output_and_loss(d: dict, activation: str, loss: str, units: int) -> None:
    d = {**d, "data": {**d["data"], "n": 40}}
    net = engine.build(Spec.from_dict(d)).structure.net
    assert net.head.activation == activation
    assert net.loss == loss
    assert net.head.out_dim == units


# ---------------------------------------------------------------------------------------
# Registries.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("registry", REGISTRIES.values(), ids=REGISTRIES.keys())
def test_registry_entries_have_descriptions(registry: Registry) -> None:
    names = registry.names()
    assert names, "empty registry"
    assert list(registry) == names and len(registry) == len(names)
    for name in names:
        assert name in registry
        registry.get(name)
        doc = registry.describe(name)
        assert isinstance(doc, str) and doc.strip(), f"{registry.concept} {name!r}: no description"


@pytest.mark.parametrize("registry", REGISTRIES.values(), ids=REGISTRIES.keys())
def test_registry_get_unknown_lists_choices(registry: Registry) -> None:
    with pytest.raises(SpecError) as info:
        registry.get("no_such_name", "some.field")
    message = str(info.value)
    assert info.value.field == "some.field"
    assert "'no_such_name'" in message
    assert registry.concept in message
    for name in registry.names():
        assert name in message


def test_registry_get_non_string_raises_spec_error() -> None:
    with pytest.raises(SpecError):
        ACTIVATIONS.get(None)  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        LOSSES.get(["mse"])  # type: ignore[arg-type]


def test_registry_rejects_duplicate_names() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1, "the first")
    with pytest.raises(KeyError):
        reg.register("a", 2, "again")
    assert reg.get("a") == 1


def test_retitle_sets_menu_titles_of_registered_names_only() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a_b", 1, "the first")
    assert reg.title("a_b") == "a_b"  # no title: the name
    reg.retitle({"a_b": "A B"})
    assert reg.title("a_b") == "A B"
    with pytest.raises(KeyError):
        reg.retitle({"c": "C"})


@pytest.mark.parametrize("registry", [ACTIVATIONS, INITIALIZERS, LOSSES, SCHEDULES],
                         ids=lambda r: r.concept)
def test_every_menu_entry_of_the_sidebar_registries_has_a_title(registry: Registry) -> None:
    # a name such as "glorot_uniform" in a student's menu: each new entry needs its title
    titles = [registry.title(n) for n in registry.names()]
    assert all(t != n for t, n in zip(titles, registry.names(), strict=True)), titles
    assert len(set(titles)) == len(titles)


def test_engine_exports_the_registries() -> None:
    for name in REGISTRIES.keys() - {"PRESETS"}:
        assert getattr(engine, name) is REGISTRIES[name]


# ---------------------------------------------------------------------------------------
# Hashable and frozen.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "spec"), SPECS, ids=SPEC_IDS)
def test_specs_are_hashable(name: str, spec: Spec) -> None:
    again = Spec.from_json(spec.to_json())
    assert hash(spec) == hash(again)
    assert {spec: 1}[again] == 1
    assert len({spec, again}) == 1


def test_different_specs_differ() -> None:
    specs = [spec for _, spec in SPECS]
    assert len(set(specs)) == len(specs)
    assert Spec.from_dict({"seed": 1}) != Spec()
    assert Spec.from_dict({"optimizer": {"learning_rate": 0.1}}) != Spec()


def test_specs_are_frozen() -> None:
    spec = preset("tf_playground")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.data.n = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.optimizer.schedule.name = "cosine"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.model.layers[0].type = "dropout"  # type: ignore[misc]
    assert isinstance(spec.model.layers, tuple)
    assert isinstance(spec.data.features, tuple)
    assert spec == preset("tf_playground")


def test_to_dict_returns_a_copy() -> None:
    spec = Spec()
    d = spec.to_dict()
    d["data"]["features"].append("x1^2")
    d["model"]["layers"].clear()
    assert spec == Spec()
    assert spec.to_dict()["model"]["layers"]
