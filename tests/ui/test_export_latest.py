"""``export.latest``: a download clicked later reads the session's training state then,
and the state the button was drawn with whenever the session runs another setup."""

from __future__ import annotations

from types import SimpleNamespace

import engine
from playground.core import export
from playground.core import session as S


def _setup(width: int) -> tuple[engine.Experiment, engine.TrainState]:
    spec = engine.preset("tf_playground").updated(
        model={"layers": [{"type": "dense", "units": width, "activation": "tanh"}]})
    exp = engine.build(spec)
    return exp, exp.init()


def _reader(monkeypatch, store: dict | None, exp, drawn):
    ctx = None if store is None else SimpleNamespace(session_state=store)
    monkeypatch.setattr(export, "get_script_run_ctx", lambda: ctx)
    return export.latest(exp, drawn)


def test_latest_reads_the_state_of_the_click_while_the_setup_runs(monkeypatch) -> None:
    exp, drawn = _setup(3)
    store = {S.EXPERIMENT: exp, S.TRAIN_STATE: drawn}
    read = _reader(monkeypatch, store, exp, drawn)
    later, _ = exp.train(drawn, 2)  # the playing loop stores each frame's state
    store[S.TRAIN_STATE] = later
    assert int(read().epoch) == 2


def test_latest_keeps_the_drawn_state_once_the_setup_changed(monkeypatch) -> None:
    exp, drawn = _setup(3)
    other, fresh = _setup(5)  # a link or Back switched the network without a redraw
    store = {S.EXPERIMENT: other, S.TRAIN_STATE: fresh}
    read = _reader(monkeypatch, store, exp, drawn)
    assert read() is drawn
    del store[S.EXPERIMENT]
    assert read() is drawn
    assert _reader(monkeypatch, None, exp, drawn)() is drawn  # no session (bare mode)
