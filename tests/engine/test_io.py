"""Tests for engine.io: saving and loading trained parameters as .npz (never pickle)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import engine
from engine.errors import DataError
from engine.io import load_params, save_params
from engine.spec import Spec

SPEC = Spec.from_dict({
    "data": {"name": "circle", "n": 60, "noise": 0.0},
    "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"},
                         {"type": "batch_norm", "momentum": 0.5},
                         {"type": "dropout", "rate": 0.1},
                         {"type": "dense", "units": 3, "activation": "prelu"}]},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "batch_size": 10, "seed": 3,
})


@pytest.fixture(scope="module")
def trained():
    exp = engine.build(SPEC)
    state = exp.init()
    state, _ = exp.train(state, 3)
    return exp, state


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory) -> Path:
    _, state = trained
    path = tmp_path_factory.mktemp("io") / "params.npz"
    save_params(path, state, SPEC)
    return path


def _assert_layers_equal(loaded: list[dict], original) -> None:
    assert len(loaded) == len(original)
    for i, (got, want) in enumerate(zip(loaded, original, strict=True)):
        assert set(got) == set(want), f"layer {i}"
        for name in want:
            assert isinstance(got[name], np.ndarray)
            np.testing.assert_array_equal(got[name], np.asarray(want[name]),
                                          err_msg=f"layer {i} {name}")
            assert got[name].dtype == np.asarray(want[name]).dtype


def test_round_trip_params_state_and_spec(trained, saved: Path) -> None:
    _, state = trained
    spec, params, model_state = load_params(saved)
    assert spec == SPEC
    _assert_layers_equal(params, state.params)
    _assert_layers_equal(model_state, state.model_state)


def test_round_trip_is_of_a_trained_model_with_batch_norm(trained, saved: Path) -> None:
    exp, _ = trained
    _, params, model_state = load_params(saved)
    # 4 hidden layers + the output layer; batch norm is layer 1.
    assert len(params) == 5
    assert set(model_state[1]) == {"mean", "var"}
    assert set(params[1]) == {"scale", "offset"}
    assert params[2] == {} and model_state[2] == {}
    assert "alpha" in params[3]  # prelu's learned slope
    # Training moved the running statistics off their initial zeros and ones.
    fresh = exp.init()
    assert not np.allclose(model_state[1]["mean"], np.asarray(fresh.model_state[1]["mean"]))
    assert not np.allclose(params[0]["w"], np.asarray(fresh.params[0]["w"]))


def test_loaded_params_predict_like_the_original(trained, saved: Path) -> None:
    exp, state = trained
    _, params, model_state = load_params(saved)
    restored = state._replace(
        params=[{k: jnp.asarray(v) for k, v in layer.items()} for layer in params],
        model_state=[{k: jnp.asarray(v) for k, v in layer.items()} for layer in model_state])
    x = np.array([[0.0, 0.0], [3.0, -2.0], [-4.5, 1.0]], np.float32)
    np.testing.assert_allclose(exp.predict(restored, x), exp.predict(state, x), rtol=1e-6)


def test_save_to_missing_folder_raises_data_error(trained, tmp_path: Path) -> None:
    _, state = trained
    with pytest.raises(DataError, match="cannot write"):
        save_params(tmp_path / "no_such_dir" / "p.npz", state, SPEC)


def _truncated_npz(path: Path) -> None:
    whole = path.with_suffix(".whole.npz")
    np.savez(whole, spec=np.array(Spec().to_json()), **{"layer0/w": np.zeros((50, 50))})
    path.write_bytes(whole.read_bytes()[:200])


NOT_NPZ = {
    "text": lambda p: p.write_text("this is not a parameters file\n", encoding="utf-8"),
    "empty": lambda p: p.write_bytes(b""),
    "json": lambda p: p.write_text(Spec().to_json(), encoding="utf-8"),
    "truncated npz": _truncated_npz,
    "random bytes": lambda p: p.write_bytes(bytes(range(256)) * 4),
}


@pytest.mark.parametrize("make", NOT_NPZ.values(), ids=NOT_NPZ.keys())
def test_file_that_is_not_npz_raises_data_error(tmp_path: Path, make) -> None:
    path = tmp_path / "params.npz"
    make(path)
    with pytest.raises(DataError):
        load_params(path)


def test_missing_file_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        load_params(tmp_path / "missing.npz")


def test_npz_without_spec_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "nospec.npz"
    np.savez(path, **{"layer0/w": np.zeros((2, 3)), "layer0/b": np.zeros(3)})
    with pytest.raises(DataError, match="no spec"):
        load_params(path)


def test_zip_that_is_not_npz_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(DataError):
        load_params(path)


def test_npz_with_unexpected_keys_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.npz"
    np.savez(path, spec=np.array(Spec().to_json()), weights=np.zeros(3))
    with pytest.raises(DataError):
        load_params(path)


def test_pickled_object_array_is_refused_not_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled.txt"

    class Payload:
        """Unpickling this creates ``marker`` (what a malicious file could do)."""

        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = Payload()
    np.savez(path, spec=np.array(Spec().to_json()), **{"layer0/w": evil})
    with pytest.raises(DataError):
        load_params(path)
    assert not marker.exists(), "load_params unpickled an object array"


def test_pickled_spec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil_spec.npz"
    spec = np.empty(1, dtype=object)
    spec[0] = {"data": {}}
    np.savez(path, spec=spec)
    with pytest.raises(DataError):
        load_params(path)
