"""AppTest: TensorFlow Playground links open on the Playground (the ``tfp`` parameter and
the paste box), and a link's ``hide`` list hides single controls."""

from __future__ import annotations

import json
from typing import Any

from engine import Spec
from engine.tfp import parse_link
from playground.core import session as S
from tests.ui.apptest import messages, run_page, widget

TF_DEFAULT = ("activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&"
              "learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2&seed=0.80277&"
              "showTestData=false&discretize=false&percTrainData=50&x=true&y=true&"
              "xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&"
              "sinY=false&collectStats=false&problem=classification&initZero=false&"
              "hideText=false")
LESSON = ("activation=relu&batchSize=3&dataset=xor&learningRate=0.1&noise=15&networkShape=3&"
          "seed=0.12345&showTestData=true&discretize=true&percTrainData=70&x=false&y=false&"
          "xTimesY=true&problem=classification&learningRate_hide=true&playButton_hide=true&"
          "xSquared_hide=true&hideText=true")


def param(at: Any, name: str) -> str:
    """A query parameter's (last) value."""
    value = at.query_params[name]
    return value[-1] if isinstance(value, list) else value


def test_the_tfp_parameter_opens_the_link_as_our_own_setup() -> None:
    at = run_page("lab", {"tfp": LESSON})
    assert not at.exception
    spec = at.session_state[S.SPEC]
    assert spec == parse_link(LESSON).spec
    assert spec.data.name == "xor" and spec.data.noise == 0.15 and spec.batch_size == 3
    assert spec.data.train_fraction == 0.7 and spec.data.features == ("x1*x2",)
    assert [layer.opts()["units"] for layer in spec.model.layers] == [3]
    # Our own parameters now hold the setup (a reload or a share keeps it); tfp is gone.
    assert "tfp" not in at.query_params
    assert Spec.from_dict(json.loads(param(at, "s"))) == spec
    assert set(param(at, "hide").split(",")) >= {"learning_rate", "play", "x1^2",
                                                          "text"}
    # The view's toggles follow the link; the hidden controls are not drawn.
    assert at.session_state["pg_show_test"] and at.session_state["pg_discretize"]
    assert "Learning rate" not in [s.label for s in at.select_slider]
    assert "Play" not in [b.label for b in at.button] and "Step" in [b.label for b in at.button]
    assert "x₁²" not in [c.label for c in at.checkbox]
    assert any("Opened a TensorFlow Playground link" in m for m in messages(at, "info"))


def test_the_default_tf_link_is_tf_playgrounds_own_network() -> None:
    at = run_page("lab", {"tfp": TF_DEFAULT})
    spec = at.session_state[S.SPEC]
    assert [layer.opts()["units"] for layer in spec.model.layers] == [4, 2]
    assert spec.model.output_activation == "tanh" and spec.loss == "half_mse"
    assert spec.model.init == "tf_playground" and spec.optimizer.name == "sgd"
    assert any("Every parameter was honoured" in m for m in messages(at, "info"))


def test_a_link_that_is_not_a_link_keeps_the_default_and_says_why() -> None:
    at = run_page("lab", {"tfp": "hello world"})
    assert not at.exception
    assert any("could not be opened" in m for m in messages(at))
    assert at.session_state[S.SPEC] == run_page("lab").session_state[S.SPEC]


def test_unknown_and_malformed_parameters_are_named_in_one_line() -> None:
    at = run_page("lab", {"tfp": "dataset=spiral&learningRate=abc&colour=red&batchSize=0"})
    assert not at.exception
    info = " ".join(messages(at, "info"))
    assert "learningRate" in info and "colour" in info and "batchSize" in info
    assert ".;" not in info and ".." not in info  # one sentence: notes joined once
    spec = at.session_state[S.SPEC]
    assert spec.data.name == "spiral" and spec.optimizer.learning_rate == 0.03


def test_the_paste_box_opens_a_full_tf_playground_address() -> None:
    at = run_page("lab")
    box = widget(at, "text_input", "Link")
    box.set_value("https://playground.tensorflow.org/#" + LESSON)
    next(b for b in at.button if b.label == "Open").click()
    at.run()
    assert not at.exception
    assert at.session_state[S.SPEC] == parse_link(LESSON).spec


def test_hide_names_single_controls_and_features() -> None:
    at = run_page("lab", {"hide": "batch_size,noise,reset,x2,regularization"})
    assert not at.exception
    numbers = [n.label for n in at.number_input]
    assert "Batch size" not in numbers and "Hidden layers" in numbers
    assert "Noise" not in [s.label for s in at.slider]
    assert "Reset" not in [b.label for b in at.button]
    assert "x₂" not in [c.label for c in at.checkbox] and "x₁" in [c.label for c in at.checkbox]
    assert "Regularisation" not in [s.label for s in at.selectbox]
    # Hidden is not changed: the setup keeps its values.
    assert at.session_state[S.SPEC].data.features == ("x1", "x2")
