"""Hostile input to the engine: every failure is one typed error, nothing unbounded.

Links, uploads and spec files come from outside. Each case here was an attack that
worked: a traceback (RecursionError, OverflowError, ValueError, csv.Error), a file
of the server read through a spec, or an unbounded cost.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import engine
from engine import DataError, ProbeOptions, Spec, SpecError, load_csv
from engine.data import MAX_CSV_BYTES
from engine.io import MAX_ENTRIES, load_params, read_csv, save_params
from engine.train.compile import COMPILED_CACHE_SIZE, Compiled, _compiled, compiled
from engine.untrusted import MAX_DEPTH, nesting_depth, parse_json

# --- bounded JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, fragment", [
    ("[" * 7000, "nested 7000 levels deep"),
    ('{"a": ' * 50 + "1" + "}" * 50, "nested 50 levels deep"),
    ('{"batch_size": ' + "9" * 400 + "}", "400 characters"),
    ('{"seed": ' + "9" * 5000 + "}", "5000 characters"),
    ('{"seed": 1.' + "5" * 100 + "}", "102 characters"),
    ("{" + " " * 400_000 + "}", "too long"),
    ("{not json", "not valid JSON"),
    (b"{}", "must be JSON text"),
])
def test_parse_json_refuses_with_one_typed_error(text, fragment) -> None:
    with pytest.raises(SpecError) as info:
        parse_json(text)
    assert fragment in str(info.value)


def test_nesting_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": "[[[[[[[[[[[[[[[[[[[[[", "b": [1, [2]]}') == 3
    assert nesting_depth(r'{"a": "\"[[[["}') == 1
    assert parse_json('{"name": "' + "[" * 100 + '"}') == {"name": "[" * 100}
    assert MAX_DEPTH >= 5  # a spec's deepest path: model.layers[i].option


@pytest.mark.parametrize("patch, field", [
    ({"batch_size": 10**400}, "batch_size"),
    ({"seed": -(10**5000)}, "seed"),
    ({"data": {"noise": 10**400}}, "data.noise"),
    ({"optimizer": {"learning_rate": float("inf")}}, "optimizer.learning_rate"),
])
def test_huge_numbers_from_the_api_are_spec_errors(patch, field) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_dict(patch)
    assert info.value.field == field
    assert len(str(info.value)) < 300  # the message does not print the 5000 digits


def test_an_unknown_field_name_is_cut_short_in_the_message() -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_dict({"x" * 5000: 1})
    assert len(str(info.value)) < 400


# --- no server path ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/proc/self/environ", "/etc/shadow", "/dev/zero", "/tmp"])
def test_a_spec_cannot_name_a_file(path) -> None:
    with pytest.raises(SpecError) as info:
        Spec.from_dict({"data": {"name": "csv", "path": path}})
    assert info.value.field == "data.path"
    assert "cannot name a file" in str(info.value)


def test_a_csv_spec_without_its_table_says_where_the_table_goes() -> None:
    with pytest.raises(DataError, match=r"data\.csv"):
        engine.build(Spec.from_dict({"data": {"name": "csv"}}))


def test_a_spec_carries_its_csv_table() -> None:
    table = "a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20))
    exp = engine.build(Spec.from_dict({"data": {"name": "csv", "csv": table}}))
    assert exp.dataset.arrays.x_train.shape == (10, 2)
    assert exp.dataset.feature_names == ("a", "b")
    assert Spec.from_json(exp.spec.to_json()) == exp.spec  # the table round-trips


# --- bounded CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, fragment", [
    (",".join(f"c{i}" for i in range(60_000)) + "\n1,2\n", "59999 feature columns"),
    ("a,b,label\n1,\x002,0\n" * 5, "not a number"),
    ("a,b,label\n" + '"' + "x" * 200_000 + '",1,0\n' * 5, "not a readable CSV"),
    ("a,b\n" + "1,2\n" * (MAX_CSV_BYTES // 4 + 1), "characters; the limit is"),
])
def test_load_csv_refuses_hostile_tables(text, fragment) -> None:
    with pytest.raises(DataError) as info:
        load_csv(text)
    assert fragment in str(info.value)
    assert len(str(info.value)) < 400


def test_read_csv_refuses_what_is_not_a_regular_file(tmp_path) -> None:
    os.mkfifo(tmp_path / "fifo.csv")
    for path in (tmp_path / "fifo.csv", "/dev/zero", tmp_path):
        with pytest.raises(DataError, match="not a regular file"):
            read_csv(path)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * (MAX_CSV_BYTES // 4 + 1))
    with pytest.raises(DataError, match="larger than"):
        read_csv(big)


# --- bounded parameter files -------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    buf.seek(0)
    return buf


def test_load_params_refuses_an_array_declared_too_large() -> None:
    """300 bytes whose header declares 40 TB: refused before anything is allocated."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**13,)})
    with pytest.raises(DataError, match="declare"):
        load_params(_zip({"layer0/w.npy": header.getvalue()}))


def test_a_spec_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(SpecError, match="not valid text"):
        parse_json('{"x\\ud800y": 1}')
    with pytest.raises(SpecError, match="not valid text"):
        Spec.from_json('{"data": {"name": "csv", "csv": "a,b\\n\\udfff,1"}}')


def test_a_table_refuses_numbers_beyond_float32() -> None:
    with pytest.raises(DataError, match="row 2, column 'a'"):
        load_csv("a,b,label\n1e300,1,0\n" + "1,2,1\n" * 5)


def test_load_params_refuses_a_zip_bomb_and_too_many_entries() -> None:
    bomb = _zip({"layer0/w.npy": b"\0" * 500_000_000})  # 500 MB of zeros, ~0.5 MB packed
    with pytest.raises(DataError, match="unpacks to"):
        load_params(bomb)
    many = _zip({f"layer{i}/w.npy": b"" for i in range(MAX_ENTRIES + 1)})
    with pytest.raises(DataError, match="arrays; at most"):
        load_params(many)
    with pytest.raises(DataError, match="not a parameter file"):
        load_params(io.BytesIO(b"not a zip"))


def test_load_params_refuses_pickled_objects_and_round_trips_real_ones() -> None:
    buf = io.BytesIO()
    np.savez(buf, spec=np.array("{}"), **{"layer0/w": np.array([{"evil": 1}], dtype=object)})
    buf.seek(0)
    with pytest.raises(DataError, match="holds Python objects"):
        load_params(buf)
    exp = engine.build(engine.preset("xor_backprop"))
    state = exp.init()
    out = io.BytesIO()
    save_params(out, state, exp.spec)
    out.seek(0)
    spec, params, _ = load_params(out)
    assert spec == exp.spec
    np.testing.assert_array_equal(params[0]["w"], np.asarray(state.params[0]["w"]))


# --- bounded cost ------------------------------------------------------------------------------


def test_cost_counts_parameters_and_scales_with_data() -> None:
    exp = engine.build(engine.preset("tf_playground"))
    n_params = sum(np.size(v) for p in exp.init().params for v in p.values())
    assert exp.cost.params == n_params == 25
    bigger = engine.build(Spec.from_dict({**exp.spec.to_dict(),
                                          "data": {**exp.spec.to_dict()["data"], "n": 5000}}))
    assert bigger.cost.epoch_flops > 9 * exp.cost.epoch_flops
    assert bigger.cost.memory_bytes > exp.cost.memory_bytes


def test_cost_of_recurrent_layers_grows_with_the_sequence_length() -> None:
    """XLA's cost analysis counts a scan body once; ours counts every step."""
    short = engine.build(Spec.from_dict({"data": {"name": "adding", "length": 20},
                                         "model": {"layers": [{"type": "lstm", "units": 16,
                                                               "sequences": False}]}}))
    long = engine.build(Spec.from_dict({**short.spec.to_dict(), "data": {
        **short.spec.to_dict()["data"], "length": 200}}))
    assert 8 < long.cost.forward_flops / short.cost.forward_flops < 12


def test_chunked_evaluation_equals_one_pass() -> None:
    """Large sets are evaluated in chunks; the metrics must not change."""
    exp = engine.build(Spec.from_dict({"data": {"name": "spiral", "n": 301,
                                                "val_fraction": 0.2}}))
    state, _ = exp.train(exp.init(), 3)
    whole = exp.metrics(state)
    small = Compiled(exp.structure)
    small.eval_chunk = 7  # 301 points: 43 chunks, the last one padded
    chunked = {k: float(v) for k, v in small.evaluate(state, exp.dataset.arrays,
                                                      exp.values).items()}
    for k, v in whole.items():
        assert chunked[k] == pytest.approx(v, rel=1e-5, abs=1e-7), k
    x = exp.dataset.arrays.x_test
    np.testing.assert_allclose(small.predict(state, x, exp.dataset.arrays, exp.values),
                               exp.predict(state, x), rtol=1e-5, atol=1e-6)


def test_the_compiled_cache_keeps_only_the_most_recent_structures() -> None:
    first = engine.build(Spec.from_dict({"model": {"layers": [
        {"type": "dense", "units": 3, "activation": "tanh"}]}})).structure
    compiled(first)
    for units in range(4, 5 + COMPILED_CACHE_SIZE):
        compiled(engine.build(Spec.from_dict({"model": {"layers": [
            {"type": "dense", "units": units, "activation": "tanh"}]}})).structure)
    assert len(_compiled) == COMPILED_CACHE_SIZE
    assert first not in _compiled


# --- any CSV the engine accepts is drawn -------------------------------------------------------


def test_a_wide_csv_gets_a_plane_over_two_chosen_columns() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 50.0, 0.0, -2.0]
    label = (x[:, 1] > 50).astype(int)
    table = "a,b,c,d,label\n" + "".join(
        ",".join(f"{v:.4f}" for v in row) + f",{k}\n" for row, k in zip(x, label, strict=True))
    exp = engine.build(Spec.from_dict({"data": {"name": "csv", "csv": table}}))
    assert exp.dataset.input_dim == 4
    np.testing.assert_allclose(exp.dataset.centre, x.mean(axis=0), rtol=1e-4, atol=1e-4)
    state = exp.init()
    r = 9
    p = exp.probe(state, ProbeOptions(resolution=r, neuron_resolution=5, plane=(1, 3)))
    assert p.output.shape == (r, r, 1)
    assert [n.shape[:2] for n in p.neurons] == [(5, 5)] * len(p.neurons)
    # The grid's point (row i, column j): column b across, column d up, a and c at means.
    c, e = np.asarray(exp.dataset.centre), np.asarray(exp.dataset.extents)
    xs = np.linspace(-1, 1, r)
    pts = np.tile(c, (r * r, 1))
    pts[:, 1] = c[1] + np.tile(xs, r) * e[1]
    pts[:, 3] = c[3] + np.repeat(xs, r) * e[3]
    np.testing.assert_allclose(p.output.reshape(r * r, 1), exp.predict(state, pts),
                               rtol=1e-4, atol=1e-5)
