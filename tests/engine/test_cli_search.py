"""``python -m engine search``: a search from the command line, and its error contract."""

from __future__ import annotations

import json

import pytest

from engine.cli import UsageError, parse_axis
from tests.engine.test_cli import _cli_many

# One worker runs the module: its module-scoped fixtures are built once, not once a worker.
pytestmark = pytest.mark.xdist_group("cli_search")


@pytest.fixture(scope="module")
def runs():
    return _cli_many({
        "grid": ["search", "grid_vs_random", "--budget", "4", "--round", "4", "--epochs",
                 "20", "--json"],
        "bad_axis": ["search", "grid_vs_random", "--axis", "learning_rate:abc:1"],
        "no_val": ["search", "tf_playground", "--axis", "learning_rate", "--budget", "2",
                   "--round", "2", "--epochs", "5"],
        "zero": ["search", "grid_vs_random", "--budget", "0"],
        "unknown": ["search", "grid_vs_random", "--axis", "wings"],
    })


def test_a_search_preset_runs_and_reports_the_best_and_its_test_once(runs):
    r = runs["grid"]
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["method"] == "grid" and len(out["trials"]) == 4  # a 2 x 2 grid
    lrs = sorted({t["values"]["learning_rate"] for t in out["trials"]})
    assert len(lrs) == 2 and lrs[0] == pytest.approx(1e-3) and lrs[1] == pytest.approx(3.0)
    finite = [t for t in out["trials"] if t["val_loss"] is not None]
    assert out["best"]["val_loss"] == min(t["val_loss"] for t in finite)
    assert out["test"]["val_loss"] == pytest.approx(out["best"]["val_loss"], rel=1e-4)
    assert out["test"]["test_loss"] is not None


@pytest.mark.parametrize(("name", "says"), [
    ("bad_axis", "LOW and HIGH must be numbers"),
    ("zero", "search.budget: must be a whole number from 1"),
    ("unknown", "unknown hyperparameter 'wings'"),
])
def test_bad_searches_exit_2_with_one_line(runs, name, says):
    r = runs[name]
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_spec_without_a_validation_split_gets_one_and_says_so(runs):
    r = runs["no_val"]
    assert r.returncode == 0, r.stderr
    assert "holds out 20% of the data" in r.stdout and "2 configurations" in r.stdout


def test_parse_axis():
    assert parse_axis("units") == ("units", None, None, None)
    assert parse_axis("learning_rate:0.001:1:log") == ("learning_rate", 0.001, 1.0, True)
    assert parse_axis("momentum:0:0.9:lin") == ("momentum", 0.0, 0.9, False)
    for bad in ("a:1", "a:1:2:cube", "a:x:1"):
        with pytest.raises(UsageError):
            parse_axis(bad)
