"""AppTest of the Playground page (``pages/lab.py``): controls, URL, training, export.

Training only loops while ``S.PLAYING`` is set, so most tests drive the page with
Step/Reset and widget changes and keep playing off. Compiled training functions are
cached per network structure in this process, so the tests reuse a few structures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine
from engine import Spec
from engine.presets import PRESETS, preset
from playground.core import controls as C
from playground.core import session as S
from playground.core import url
from playground.core.export import script_for
from tests.ui.apptest import messages, opened

ROOT = Path(__file__).resolve().parents[2]
LAB = str(ROOT / "pages" / "lab.py")
TIMEOUT = 60
DEFAULT = preset("tf_playground")
# The structure (no hidden layer, sigmoid output) of the logistic_regression preset,
# so that both share one compilation.
XOR = {"data": {"name": "xor", "noise": 0.2},
       "model": {"layers": [], "output_activation": "sigmoid"},
       "loss": "binary_crossentropy", "optimizer": {"learning_rate": 0.1}}
# A ReLU net with large "normal" weights on regression data and learning rate 10:
# the loss overflows in the first epoch.
DIVERGING = {"data": {"name": "reg_plane"},
             "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}] * 2,
                       "init": "normal"},
             "optimizer": {"learning_rate": 10.0}}
SECTIONS = ("Data", "Input features", "Hidden layers", "Output and loss", "Training")


def lab(query: dict[str, str] | None = None) -> AppTest:
    """The page run once, with ``query`` as the URL's parameters."""
    at = AppTest.from_file(LAB, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def errors(at: AppTest) -> list[str]:
    return messages(at)


def widget(at: AppTest, kind: str, label: str) -> Any:
    """The one widget of ``kind`` (e.g. "selectbox") labelled ``label``."""
    found = [w for w in getattr(at, kind) if w.label == label]
    assert len(found) == 1, (kind, label, [w.label for w in getattr(at, kind)])
    return found[0]


def epoch(at: AppTest) -> int:
    return int(at.session_state[S.TRAIN_STATE].epoch)


def params(at: AppTest) -> list[dict[str, np.ndarray]]:
    return jax.device_get(at.session_state[S.TRAIN_STATE].params)


def same_params(a, b) -> bool:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(x, y) for x, y in zip(la, lb, strict=True))


def sidebar_expanders(at: AppTest) -> list[str]:
    return [e.label for e in at.sidebar.expander]


# -- default render -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def default() -> AppTest:
    return lab()


def test_default_render_has_no_exception_or_error(default: AppTest) -> None:
    ok(default)
    assert errors(default) == []


def test_default_render_has_toolbar_buttons(default: AppTest) -> None:
    labels = [b.label for b in default.main.button]
    for name in ("Play", "Step", "Reset"):
        assert name in labels, labels


def test_default_render_has_sidebar_sections(default: AppTest) -> None:
    assert sidebar_expanders(default) == ["Open a TensorFlow Playground link", *SECTIONS]


def test_default_session_holds_the_tf_playground_preset(default: AppTest) -> None:
    exp = default.session_state[S.EXPERIMENT]
    assert isinstance(exp, engine.Experiment)
    assert exp.spec == DEFAULT
    assert default.session_state[S.SPEC] == DEFAULT
    assert epoch(default) == 0
    assert not default.session_state[S.PLAYING]
    assert widget(default, "selectbox", "Dataset").value == "circle"
    assert "Spiral (2 classes)" in widget(default, "selectbox", "Dataset").options  # titles
    assert widget(default, "number_input", "Hidden layers").value == 2


# -- training buttons ---------------------------------------------------------------------


def test_step_trains_one_epoch_and_reset_restores_the_seeded_weights() -> None:
    at = lab()
    initial = params(at)
    at.button(key="pg_step").click().run()
    ok(at)
    assert epoch(at) == 1
    hist = at.session_state[S.HISTORY]
    assert len(hist["train_loss"]) == 1 and np.isfinite(hist["train_loss"][0])
    assert not same_params(params(at), initial)

    at.button(key="pg_reset").click().run()
    ok(at)
    assert epoch(at) == 0
    assert at.session_state[S.HISTORY]["train_loss"] == []
    assert same_params(params(at), initial)


def test_learning_rate_change_keeps_the_training_state() -> None:
    at = lab()
    at.button(key="pg_step").click().run()
    trained = params(at)
    structure = at.session_state[S.EXPERIMENT].structure
    widget(at, "select_slider", "Learning rate").set_value(0.1).run()
    ok(at)
    assert errors(at) == []
    assert at.session_state[S.SPEC].optimizer.learning_rate == 0.1
    assert at.session_state[S.EXPERIMENT].spec.optimizer.learning_rate == 0.1
    assert at.session_state[S.EXPERIMENT].structure == structure
    assert epoch(at) == 1
    assert len(at.session_state[S.HISTORY]["train_loss"]) == 1
    assert same_params(params(at), trained)
    assert json.loads(at.query_params["s"])["optimizer"]["learning_rate"] == 0.1


def test_hidden_neuron_change_resets_and_changes_the_network() -> None:
    at = lab()
    at.button(key="pg_step").click().run()
    old = at.session_state[S.EXPERIMENT].structure
    widget(at, "number_input", "Layer 1 neurons").set_value(5).run()
    ok(at)
    assert errors(at) == []
    spec = at.session_state[S.SPEC]
    assert spec.model.layers[0].to_dict()["units"] == 5
    assert at.session_state[S.EXPERIMENT].structure != old
    assert epoch(at) == 0
    assert at.session_state[S.HISTORY]["train_loss"] == []
    p = params(at)
    assert np.shape(p[0]["w"]) == (2, 5) and np.shape(p[1]["w"]) == (5, 2)


# -- the URL ------------------------------------------------------------------------------


def test_url_with_a_valid_setup_loads_it() -> None:
    at = lab({"s": json.dumps(XOR)})
    ok(at)
    assert errors(at) == []
    want = Spec.from_dict(XOR)
    assert at.session_state[S.SPEC] == want
    assert at.session_state[S.EXPERIMENT].spec == want
    assert widget(at, "selectbox", "Dataset").value == "xor"
    assert widget(at, "select_slider", "Learning rate").value == 0.1
    assert url.spec_from_query(at.query_params["s"]) == want


BAD_URLS = {
    "not_json": "{bad",
    "json_array": "[1, 2, 3]",
    "unknown_field": '{"bogus": 1}',
    "negative_learning_rate": '{"optimizer": {"learning_rate": -1}}',
    "ten_kb": json.dumps({"data": {"name": "x" * 10_000}}),
}


@pytest.mark.parametrize("text", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_malformed_url_shows_an_error_and_the_default(text: str) -> None:
    at = lab({"s": text})
    ok(at)
    errs = errors(at)
    assert len(errs) == 1 and "link" in errs[0].lower(), errs
    assert at.session_state[S.SPEC] == DEFAULT
    assert epoch(at) == 0
    assert url.spec_from_query(at.query_params["s"]) == DEFAULT  # the URL is repaired


def test_url_changed_during_a_session_loads_the_new_setup() -> None:
    """``ensure_session`` loads the URL "on first visit (or when the URL changes)".

    In a browser the URL changes under a running session with Back/Forward: every
    change of setup pushes a history entry, and popstate reruns the page with the
    older query string.
    """
    at = lab()
    at.query_params["s"] = json.dumps(XOR)
    at.run()
    ok(at)
    assert at.session_state[S.SPEC] == Spec.from_dict(XOR)
    assert widget(at, "selectbox", "Dataset").value == "xor"


def test_the_preset_menu_names_each_new_setup_a_link_or_lesson_step_opens() -> None:
    """A teacher's review: through a lesson's steps (each a new address) the menu went
    on showing "TensorFlow Playground's default", the first step's name."""
    at = lab()
    assert at.selectbox(key="pg_preset").value == "tf_playground"
    at.query_params["s"] = json.dumps(XOR)  # the next step: no preset's setup
    at.run()
    ok(at)
    assert at.selectbox(key="pg_preset").value == C.OWN_SETUP
    assert "Your own setup" in at.selectbox(key="pg_preset").options
    at.query_params["s"] = url.spec_to_query(preset("logistic_regression"))  # a preset's
    at.run()
    ok(at)
    assert at.selectbox(key="pg_preset").value == "logistic_regression"
    assert PRESETS.get("logistic_regression").explanation in [c.value for c in at.caption]


def test_hide_parameter_hides_those_sections() -> None:
    at = lab({"hide": "network,training"})
    ok(at)
    shown = sidebar_expanders(at)
    assert shown == ["Open a TensorFlow Playground link", "Data", "Input features",
                     "Output and loss"], shown
    assert not [n for n in at.number_input if n.label == "Hidden layers"]
    assert not [s for s in at.select_slider if s.label == "Learning rate"]


# -- extreme and impossible values ------------------------------------------------------


def test_extreme_noise_and_learning_rate_are_accepted() -> None:
    at = lab()
    widget(at, "slider", "Noise").set_value(0.5)
    widget(at, "select_slider", "Learning rate").set_value(10.0)
    at.run()
    ok(at)
    assert errors(at) == []
    spec = at.session_state[S.SPEC]
    assert spec.data.noise == 0.5 and spec.optimizer.learning_rate == 10.0
    assert at.session_state[S.EXPERIMENT].spec == spec
    assert widget(at, "slider", "Noise").value == 0.5


def test_impossible_setup_in_the_url_shows_an_error_and_the_default() -> None:
    bad = {"loss": "binary_crossentropy", "model": {"output_activation": "tanh"}}
    at = lab({"s": json.dumps(bad)})
    ok(at)
    errs = errors(at)
    assert len(errs) == 1 and "sigmoid" in errs[0], errs
    assert at.session_state[S.SPEC] == DEFAULT


def test_impossible_setup_from_the_controls_keeps_the_last_good_spec() -> None:
    at = lab()
    at.button(key="pg_step").click().run()
    before = at.session_state[S.SPEC]
    assert before.model.output_activation == "tanh"
    widget(at, "selectbox", "Loss").set_value("binary_crossentropy").run()
    ok(at)
    errs = errors(at)
    assert len(errs) == 1 and "binary_crossentropy" in errs[0], errs
    assert at.session_state[S.SPEC] == before
    assert epoch(at) == 1  # the training state is untouched too
    assert widget(at, "selectbox", "Loss").value == before.loss  # the control is reset


# -- divergence ---------------------------------------------------------------------------


def _assert_diverged(at: AppTest) -> None:
    ok(at)
    assert bool(at.session_state[S.TRAIN_STATE].monitor.diverged)
    assert not at.session_state[S.PLAYING]
    errs = errors(at)
    assert any("diverged" in e for e in errs), errs
    assert "Play" in [b.label for b in at.main.button]


def test_step_with_a_huge_learning_rate_diverges_and_pauses() -> None:
    at = lab({"s": json.dumps(DIVERGING)})
    ok(at)
    assert errors(at) == []
    for _ in range(5):
        at.button(key="pg_step").click().run()
        if bool(at.session_state[S.TRAIN_STATE].monitor.diverged):
            break
    _assert_diverged(at)
    params_now = params(at)
    assert all(np.all(np.isfinite(x)) for x in jax.tree_util.tree_leaves(params_now))


def test_playing_with_a_huge_learning_rate_stops_by_itself() -> None:
    at = lab({"s": json.dumps(DIVERGING)})
    at.session_state["pg_speed"] = 1  # one epoch per frame, as Step: no new compilation
    at.session_state[S.PLAYING] = True
    at.run()  # the training loop ends itself when the loss diverges
    _assert_diverged(at)


def test_a_playing_runs_first_frame_already_trains(monkeypatch) -> None:
    """After Play the counter moves in the run's first frame, before the page's rest
    (the loop, which would train the next frames, is left out here)."""
    from playground.core import live
    monkeypatch.setattr(live, "loop", lambda *a, **k: None)
    at = lab()
    at.session_state["pg_speed"] = 5
    at.run()  # paused: the first frame trains nothing
    assert int(at.session_state[S.TRAIN_STATE].epoch) == 0
    at.session_state[S.PLAYING] = True
    at.run()
    ok(at)
    assert int(at.session_state[S.TRAIN_STATE].epoch) == 5
    assert at.session_state[S.PLAYING]
    # a first frame that diverges pauses and says so in the same click's answer
    at = lab({"s": json.dumps(DIVERGING)})
    at.session_state["pg_speed"] = 100
    at.session_state[S.PLAYING] = True
    at.run()
    _assert_diverged(at)


# -- export and presets -------------------------------------------------------------------


def test_export_offers_spec_weights_and_script(default: AppTest) -> None:
    exports = [e for e in default.main.expander if "export" in e.label.lower()]
    assert len(exports) == 1, [e.label for e in default.main.expander]
    assert not exports[0].get("download_button")  # built only once it is open
    at = opened(lab(), "pg_export")
    exports = [e for e in at.main.expander if "export" in e.label.lower()]
    labels = [b.label for b in exports[0].get("download_button")]
    for name in ("Spec (JSON)", "Weights (.npz)", "Python script"):
        assert name in labels, labels


def test_the_share_box_keeps_its_choices_and_shows_only_the_link() -> None:
    """The controls to hide outlive closing "Share and export" (its widgets exist only
    while it is open), and the link box shows the setup's link whatever was typed in."""
    at = opened(lab(), "pg_export")
    at.multiselect(key="pg_share_hide").set_value(["presets"]).run()
    link = at.text_input(key="pg_share_link").value
    assert "hide=presets" in link
    at.text_input(key="pg_share_link").set_value("javascript:alert(1)").run()
    assert at.text_input(key="pg_share_link").value == link  # typing changes nothing
    at.session_state["pg_export"] = False
    at.run()
    assert not at.get("multiselect")  # closed: not built
    at = opened(at, "pg_export")
    assert at.multiselect(key="pg_share_hide").value == ["presets"]
    assert at.text_input(key="pg_share_link").value == link


def test_exported_script_trains_headless(tmp_path: Path) -> None:
    script = script_for(DEFAULT, 2)
    assert "epochs=2" in script
    path = tmp_path / "train_nn_playground.py"
    path.write_text(script, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    metrics = {k.strip(): v.strip() for k, v in lines.items()}
    assert "test_loss" in metrics and "train_accuracy" in metrics, proc.stdout
    assert np.isfinite(float(metrics["test_loss"]))


def test_the_preset_text_says_when_the_network_on_screen_is_another() -> None:
    at = lab()
    default = PRESETS.get("tf_playground").explanation
    assert default in [c.value for c in at.caption]  # the running preset: as it is
    widget(at, "number_input", "Layer 1 neurons").set_value(5).run()
    ok(at)
    # a teacher's review: the menu went on naming the default through a lesson's steps
    assert at.selectbox(key="pg_preset").value == C.OWN_SETUP
    assert C.OWN_TEXT in [c.value for c in at.caption]
    assert at.button(key="pg_load_preset").disabled
    at.selectbox(key="pg_preset").set_value("tf_playground").run()  # picked, not loaded
    assert f"{C.NOT_RUNNING} {default}" in [c.value for c in at.caption]
    assert at.selectbox(key="pg_preset").value == "tf_playground"  # a pick stays
    at.selectbox(key="pg_preset").set_value("logistic_regression").run()
    at.button(key="pg_load_preset").click().run()
    assert PRESETS.get("logistic_regression").explanation in [c.value for c in at.caption]
    assert at.selectbox(key="pg_preset").value == "logistic_regression"
    assert C.OWN_SETUP not in at.selectbox(key="pg_preset").options


def test_the_preset_text_follows_a_change_of_values_in_the_same_run() -> None:
    # a learning rate applies after the sidebar is drawn, without a rerun: the text must
    # still say that the setup on screen left the preset, and that it came back
    at = lab()
    default = PRESETS.get("tf_playground").explanation
    rate = widget(at, "select_slider", "Learning rate")
    start = rate.value
    rate.set_value(next(v for v in rate.options if float(v) != float(start))).run()
    ok(at)
    assert f"{C.NOT_RUNNING} {default}" in [c.value for c in at.caption]
    widget(at, "select_slider", "Learning rate").set_value(start).run()
    assert default in [c.value for c in at.caption]


@pytest.mark.parametrize("then", ["load", "pick"])
def test_after_an_edit_of_values_a_pick_or_load_in_the_menu_is_kept(then: str) -> None:
    """A review: a value edit reaches the spec after the menu is drawn, and the next run
    renamed the menu, throwing away the Load or the pick of that very run."""
    at = lab()
    rate = widget(at, "select_slider", "Learning rate")
    rate.set_value(next(v for v in rate.options if float(v) != float(rate.value))).run()
    assert at.session_state[S.SPEC] != DEFAULT
    if then == "load":  # back to the preset the menu names
        at.button(key="pg_load_preset").click().run()
        ok(at)
        assert at.session_state[S.SPEC] == DEFAULT
        assert at.selectbox(key="pg_preset").value == "tf_playground"
    else:
        at.selectbox(key="pg_preset").set_value("logistic_regression").run()
        ok(at)
        assert at.selectbox(key="pg_preset").value == "logistic_regression"
        at.button(key="pg_load_preset").click().run()
        assert at.session_state[S.SPEC] == preset("logistic_regression")


def test_activation_menus_use_the_fields_spelling() -> None:
    at = lab()
    menu = widget(at, "selectbox", "Layer 1 activation")
    assert {"ReLU", "Leaky ReLU", "Tanh", "GELU"} <= set(menu.options)
    assert menu.value == "tanh"  # the spec keeps the name
    menu.set_value("leaky_relu").run()
    ok(at)
    assert at.session_state[S.SPEC].model.layers[0].opts()["activation"] == "leaky_relu"


def test_training_menus_read_as_words_and_explain_themselves() -> None:
    """A teacher's review: the menus showed "sgd", "l1", "rmsprop" and the schedule's
    help named code fields; the penalty had no help."""
    at = lab()
    optimizer = widget(at, "selectbox", "Optimizer")
    assert {"SGD", "Momentum", "RMSprop", "Adam"} <= set(optimizer.options)
    penalty = widget(at, "selectbox", "Regularisation")
    assert penalty.options == ["None", "L1", "L2"] and penalty.value == "none"
    assert "L1" in penalty.help and "L2" in penalty.help
    assert "steps" in widget(at, "number_input", "Warm-up steps").help
    for name in engine.SCHEDULES.names():
        assert "_" not in engine.SCHEDULES.describe(name)  # no code names in the help
    penalty.set_value("l1").run()
    ok(at)
    assert at.session_state[S.SPEC].regularization.kind == "l1"
    # A schedule counts steps; the sidebar says what that is in epochs (a cosine decay
    # ended in half a second of Play, the teacher unaware).
    assert not [c for c in at.caption if "steps here" in c.value]  # constant: nothing to say
    widget(at, "selectbox", "Learning-rate schedule").set_value("cosine").run()
    ok(at)
    per_epoch = at.session_state[S.EXPERIMENT].steps_per_epoch
    decay = at.session_state[S.SPEC].optimizer.schedule.decay_steps
    said = [c.value for c in at.caption if "steps here" in c.value]
    assert said == [f"Decay {decay:,} steps \u2248 {decay / per_epoch:.3g} epochs (an epoch "
                    f"is {per_epoch} steps here)."], said


def test_each_optimizer_shows_its_own_hyperparameters_and_they_reach_the_spec() -> None:
    """A teacher's review: RMSprop's decay had no control, and Adam's read "beta1"."""
    at = lab()
    sliders = lambda: {w.label for w in at.slider}  # noqa: E731
    numbers = lambda: {w.label for w in at.number_input}  # noqa: E731
    assert not {"Momentum", "Decay ρ"} & sliders() and not {"β₁", "β₂"} & numbers()  # SGD
    widget(at, "selectbox", "Optimizer").set_value("rmsprop").run()
    ok(at)
    assert "Decay ρ" in sliders() and "β₁" not in numbers()
    assert "square" in widget(at, "slider", "Decay ρ").help
    widget(at, "slider", "Decay ρ").set_value(0.5).run()
    ok(at)
    assert at.session_state[S.SPEC].optimizer.decay == 0.5
    widget(at, "selectbox", "Optimizer").set_value("adam").run()
    assert {"β₁", "β₂"} <= numbers() and "Decay ρ" not in sliders()
    widget(at, "number_input", "β₂").set_value(0.99).run()
    ok(at)
    opt = at.session_state[S.SPEC].optimizer
    assert (opt.name, opt.b1, opt.b2) == ("adam", 0.9, 0.99)


def test_a_bounded_step_optimizer_at_a_huge_rate_says_what_that_means() -> None:
    """A teacher's review: the XOR preset (SGD at 2.0) switched to Adam trained to a
    blank output, and nothing said that Adam's steps are about the rate itself."""
    at = lab({"s": json.dumps(XOR)})  # SGD at 0.1
    said = lambda: [c.value for c in at.caption if "moves each weight" in c.value]  # noqa: E731
    assert said() == []  # SGD's steps scale with the gradient: nothing to say
    widget(at, "selectbox", "Optimizer").set_value("adam").run()
    ok(at)
    assert said() == ["Adam moves each weight by up to about the learning rate every step, "
                      "whatever the gradient's size: at 0.1, jumps of up to about 0.1. It "
                      "usually trains at about 0.003."]
    # RMSprop has no bias correction: its first steps are up to lr / sqrt(1 - decay)
    widget(at, "selectbox", "Optimizer").set_value("rmsprop").run()
    assert at.session_state[S.SPEC].optimizer.decay == 0.9
    assert said() == ["RMSprop moves each weight by up to about 3.16 times the learning rate "
                      "every step, whatever the gradient's size: at 0.1, jumps of up to about "
                      "0.32. It usually trains at about 0.003."]
    widget(at, "select_slider", "Learning rate").set_value(0.01).run()
    assert said() == []


def test_loading_a_preset_applies_it() -> None:
    at = lab()
    at.selectbox(key="pg_preset").set_value("logistic_regression")
    at.button(key="pg_load_preset").click().run()
    ok(at)
    assert errors(at) == []
    want = preset("logistic_regression")
    assert at.session_state[S.SPEC] == want
    assert at.session_state[S.EXPERIMENT].spec == want
    assert epoch(at) == 0
    assert widget(at, "selectbox", "Dataset").value == "gauss"
    assert widget(at, "number_input", "Hidden layers").value == 0


def test_the_dropout_preset_shows_its_rate_and_a_new_rate_is_used() -> None:
    at = lab()
    at.selectbox(key="pg_preset").set_value("dropout_spirals")
    at.button(key="pg_load_preset").click().run()
    ok(at)
    assert errors(at) == []
    assert at.session_state[S.SPEC] == preset("dropout_spirals")
    drops = [w for w in at.slider if w.label == "Dropout"]  # one per hidden layer
    assert [w.value for w in drops] == [0.2, 0.2]
    drops[0].set_value(0.5).run()
    ok(at)
    rates = [x.opts()["rate"] for x in at.session_state[S.SPEC].model.layers
             if x.type == "dropout"]
    assert rates == [0.5, 0.2]


@pytest.mark.parametrize("name", ["vanishing_sigmoid", "sigmoid_residual", "sigmoid_batch_norm"])
def test_a_link_to_a_deeper_network_than_the_menus_offer_opens(name: str) -> None:
    """Ten hidden layers (the menu offers 8): the menu widens, nothing crashes or changes."""
    spec = preset(name)
    at = lab({"s": url.spec_to_query(spec)})
    ok(at)
    assert errors(at) == []
    assert at.session_state[S.SPEC] == spec  # residual and norm options kept by the controls
    assert widget(at, "number_input", "Hidden layers").value == 10


def test_a_link_to_a_wider_layer_than_the_menus_offer_opens() -> None:
    d = DEFAULT.to_dict()
    d["model"]["layers"][0]["units"] = 100
    at = lab({"s": json.dumps(d)})
    ok(at)
    assert errors(at) == []
    assert widget(at, "number_input", "Layer 1 neurons").value == 100
