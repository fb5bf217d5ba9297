"""Tests for ``python -m engine``: presets, show, train, bench and the error contract.

Every command runs in a subprocess from the repository root. The slow parts (training
runs, error cases) are started together by module-scoped fixtures so the file stays quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from engine.io import load_params
from engine.presets import PRESETS, preset
from engine.spec import Spec

# One worker runs the module: its module-scoped fixtures are built once, not once a worker.
pytestmark = pytest.mark.xdist_group("cli")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300

REG_SPEC = {"data": {"name": "reg_plane", "n": 100, "noise": 0.0},
            "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]},
            "batch_size": 10}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)


def _cli_many(commands: dict[str, list[str]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run several CLI commands at once (each is mostly start-up and compile time)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_cli, *args) for name, args in commands.items()}
        return {name: f.result() for name, f in futures.items()}


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


# ---------------------------------------------------------------------------------------
# presets and show
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listing() -> dict[str, subprocess.CompletedProcess[str]]:
    return _cli_many({"text": ["presets"], "json": ["presets", "--json"],
                      "show": ["show", "tf_playground"]})


def test_presets_lists_every_preset(listing) -> None:
    out = _ok(listing["text"])
    lines = out.strip().splitlines()
    assert len(lines) == len(PRESETS)
    for name, line in zip(PRESETS.names(), lines, strict=True):
        assert line.split()[0] == name
        assert PRESETS.describe(name) in line


def test_presets_json(listing) -> None:
    rows = json.loads(_ok(listing["json"]))
    assert isinstance(rows, list)
    assert [row["name"] for row in rows] == PRESETS.names()
    for row in rows:
        assert set(row) >= {"name", "title", "epochs", "explanation"}
        p = PRESETS.get(row["name"])
        assert row["title"] == p.title and row["title"]
        assert row["epochs"] == p.epochs and isinstance(row["epochs"], int)
        assert row["explanation"] == p.explanation and row["explanation"]


def test_show_prints_the_preset_spec(listing) -> None:
    out = _ok(listing["show"])
    spec = Spec.from_json(out)
    assert spec == preset("tf_playground")
    assert json.loads(out) == preset("tf_playground").to_dict()


# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("cli_train")
    spec_file = tmp / "reg.json"
    spec_file.write_text(json.dumps(REG_SPEC), encoding="utf-8")
    params_file = tmp / "params.npz"
    procs = _cli_many({
        "xor": ["train", "xor_backprop", "--epochs", "50", "--json"],
        "reg": ["train", str(spec_file), "--steps", "30", "--json", "--save", str(params_file)],
        "human": ["train", "xor_backprop", "--epochs", "3"],
    })
    return {"procs": procs, "spec_file": spec_file, "params_file": params_file}


def _one_json_object(proc: subprocess.CompletedProcess[str]) -> dict:
    out = _ok(proc).strip()
    assert len(out.splitlines()) == 1, out
    m = json.loads(out)
    assert isinstance(m, dict)
    return m


def test_train_preset_json(trained) -> None:
    m = _one_json_object(trained["procs"]["xor"])
    for key in ("steps", "epochs", "train_loss", "test_loss", "train_accuracy",
                "test_accuracy"):
        assert key in m, key
    assert m["epochs"] == 50
    # xor_gate with n=40: train half = 20 points, batch 4 -> 5 steps an epoch.
    assert m["steps"] == 250
    for key in ("train_loss", "test_loss"):
        assert isinstance(m[key], float) and m[key] >= 0
    for key in ("train_accuracy", "test_accuracy"):
        assert isinstance(m[key], float) and 0.0 <= m[key] <= 1.0
    assert m["val_loss"] is None and m["val_accuracy"] is None  # no validation split
    assert m["stopped_early"] is False and m["diverged"] is False


def test_train_spec_file_steps_json(trained) -> None:
    m = _one_json_object(trained["procs"]["reg"])
    # 50 training points in batches of 10: 5 steps an epoch, 30 steps = 6 epochs.
    assert m["steps"] >= 30
    assert m["epochs"] == 6 and m["steps"] == 30
    assert m["train_accuracy"] is None and m["test_accuracy"] is None
    assert isinstance(m["train_loss"], float) and isinstance(m["test_loss"], float)
    assert m["saved"] == str(trained["params_file"])


def test_train_save_writes_loadable_params(trained) -> None:
    _ok(trained["procs"]["reg"])
    assert trained["params_file"].is_file()
    spec, params, state = load_params(trained["params_file"])
    assert spec == Spec.from_json(trained["spec_file"].read_text(encoding="utf-8"))
    assert spec == Spec.from_dict(REG_SPEC)
    assert len(params) == 2 and len(state) == 2  # one hidden layer + output
    assert params[0]["w"].shape == (2, 4) and params[0]["b"].shape == (4,)
    assert params[1]["w"].shape == (4, 1) and params[1]["b"].shape == (1,)
    assert all(np.isfinite(a).all() for layer in params for a in layer.values())
    assert state == [{}, {}]


def test_train_human_output_mentions_accuracy(trained) -> None:
    out = _ok(trained["procs"]["human"])
    assert "trained 3 epochs" in out
    assert "accuracy" in out
    assert "train" in out and "test" in out
    assert not out.lstrip().startswith("{")


# ---------------------------------------------------------------------------------------
# errors: status 2, one line on stderr, no traceback
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def errors(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("cli_errors")
    (tmp / "invalid.json").write_text("{not json", encoding="utf-8")
    (tmp / "bad_field.json").write_text(json.dumps({"data": {"n": 0}}), encoding="utf-8")
    (tmp / "csv_no_path.json").write_text(json.dumps({"data": {"name": "csv"}}),
                                          encoding="utf-8")
    (tmp / "csv_path.json").write_text(
        json.dumps({"data": {"name": "csv", "path": "/proc/self/environ"}}), encoding="utf-8")
    (tmp / "text.csv").write_text("x1,x2,label\n1,2,0\n3,abc,1\n1,2,0\n3,4,1\n1,2,0\n",
                                  encoding="utf-8")
    (tmp / "deep.json").write_text("[" * 7000, encoding="utf-8")
    (tmp / "digits400.json").write_text('{"batch_size": ' + "9" * 400 + "}", encoding="utf-8")
    (tmp / "digits5000.json").write_text('{"seed": ' + "9" * 5000 + "}", encoding="utf-8")
    (tmp / "infinity.json").write_text('{"optimizer": {"learning_rate": Infinity}}',
                                       encoding="utf-8")
    os.mkfifo(tmp / "fifo.csv")  # opening it for reading would block forever
    commands = {
        "unknown preset": ["train", "no_such_preset"],
        "missing file": ["train", str(tmp / "missing.json")],
        "invalid json": ["train", str(tmp / "invalid.json")],
        "bad field": ["train", str(tmp / "bad_field.json")],
        "csv without table": ["train", str(tmp / "csv_no_path.json")],
        "spec names a path": ["train", str(tmp / "csv_path.json")],
        "csv missing": ["train", "tf_playground", "--csv", str(tmp / "missing.csv")],
        "csv text column": ["train", "tf_playground", "--csv", str(tmp / "text.csv")],
        "csv is a fifo": ["train", "tf_playground", "--csv", str(tmp / "fifo.csv")],
        "csv is a device": ["train", "tf_playground", "--csv", "/dev/zero"],
        "spec is a folder": ["train", str(tmp)],
        "deep nesting": ["train", str(tmp / "deep.json")],
        "400 digits": ["train", str(tmp / "digits400.json")],
        "5000 digits": ["train", str(tmp / "digits5000.json")],
        "infinity": ["train", str(tmp / "infinity.json")],
        "epochs 0": ["train", "xor_backprop", "--epochs", "0"],
        "show nope": ["show", "nope"],
    }
    return _cli_many(commands)


# case -> texts the one-line error message must contain
ERROR_TEXTS = {
    "unknown preset": ["'no_such_preset'", "tf_playground", "xor_backprop"],
    "missing file": ["missing.json", "nor a file"],
    "invalid json": ["invalid.json", "not valid JSON"],
    "bad field": ["bad_field.json", "data.n", "got 0", "[4, 25000]"],
    "csv without table": ["csv", "data.csv"],
    "spec names a path": ["data.path", "cannot name a file", "--csv"],
    "csv missing": ["missing.csv"],
    "csv text column": ["'abc'", "x2", "not a number"],
    "csv is a fifo": ["fifo.csv", "not a regular file"],
    "csv is a device": ["/dev/zero", "not a regular file"],
    "spec is a folder": ["not a regular file"],
    "deep nesting": ["nested 7000 levels deep"],
    "400 digits": ["400 characters", "too long"],
    "5000 digits": ["5000 characters", "too long"],
    "infinity": ["optimizer.learning_rate", "got inf"],
    "epochs 0": ["--epochs"],
    "show nope": ["'nope'", "tf_playground"],
}


@pytest.mark.parametrize("case", ERROR_TEXTS)
def test_error_exits_2_with_one_line(errors, case: str) -> None:
    proc = errors[case]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for text in ERROR_TEXTS[case]:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert proc.stdout == ""


def test_usage_errors_exit_2() -> None:
    proc = _cli("train")  # argparse: missing argument
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "usage:" in proc.stderr


# ---------------------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_bench_json() -> None:
    proc = _cli("bench", "--json", "--seconds", "0.3")
    report = json.loads(_ok(proc))
    assert isinstance(report, dict)
    for key in ("ratio_vs_numpy_small", "ratio_vs_numpy_big", "frame_ms_big"):
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert report["recompiles_on_lr_change"] == 0


def test_a_spec_never_reads_a_server_file(errors) -> None:
    """A spec naming /proc/self/environ is refused before any file is opened."""
    proc = errors["spec names a path"]
    assert "PATH=" not in proc.stderr and "HOME=" not in proc.stderr


def test_train_on_a_csv_file_and_on_a_spec_that_carries_its_table(tmp_path) -> None:
    rows = "\n".join(f"{i % 7 - 3},{(i * 5) % 11 - 5},{int(i % 7 > 3)}" for i in range(60))
    table = "x1,x2,label\n" + rows + "\n"
    (tmp_path / "points.csv").write_text(table, encoding="utf-8")
    (tmp_path / "inline.json").write_text(json.dumps({"data": {"name": "csv", "csv": table}}),
                                          encoding="utf-8")
    by_file = json.loads(_ok(_cli("train", "tf_playground", "--csv",
                                  str(tmp_path / "points.csv"), "--epochs", "2", "--json")))
    inline = json.loads(_ok(_cli("train", str(tmp_path / "inline.json"), "--epochs", "2",
                                 "--json")))
    for m in (by_file, inline):
        assert m["epochs"] == 2 and 0.0 <= m["test_accuracy"] <= 1.0
