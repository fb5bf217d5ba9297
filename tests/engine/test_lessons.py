"""Lessons (``engine.lessons``): both forms read back equal, every bad input is one
``SpecError`` naming the step and the field, and the shipped lessons train, open on
their pages and say true things."""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest

import engine
from engine import ProbeOptions, Spec, SpecError
from engine.lessons import (
    MAX_CHARS,
    MAX_STEPS,
    PAGES,
    Lesson,
    Step,
    lesson_names,
    load_lesson,
    parse_lesson,
    setup_problem,
)
from engine.presets import PRESETS, preset

SHIPPED = ["neurons", "xor", "learning_rate", "overfitting", "vanishing_gradients", "cnn",
           "dqn"]


def _lesson_json(*steps: dict, **top) -> str:
    return json.dumps({"title": "T", "steps": list(steps), **top})


def _md(block: str, text: str = "Some text.", title: str = "A") -> str:
    return f"# T\n\n## {title}\n\n{text}\n\n```json\n{block}\n```\n"


TRICKY = Lesson("A lesson # with hashes", "Summary with **bold**.\n\n```\n## not a step\n```", (
    Step("One", "playground", preset("xor_backprop").updated(model={"layers": []}),
         text="First paragraph.\n\n```python\n# a comment\n## another\n**Question:** no\n```"
              "\n\n### A small heading\n\nThe end.",
         question="Why? Explain in one line.", hide=("presets", "x1^2"), play=True),
    Step("# Two", "race", preset("tf_playground"), params=(("race", "sgd:0.03,adam:0.003"),)),
    Step("Three", "paths", params={"surface": "ravine", "x0": "-5", "lr": "0.01"}),
    Step("Four", "flow", Spec()),
    Step("Five", "sequences", preset("reverse_lstm").updated(seed=3)),
    Step("Six", "images", preset("shapes_cnn"), text="Ends with a block:\n\n```json\n{}\n```"),
    Step("Seven", "playground", Spec.from_dict({"data": {"name": "line"}})),
    Step("Eight", "explore"),
))


# -- both forms ----------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", [TRICKY, *(load_lesson(n) for n in SHIPPED)],
                         ids=["tricky", *SHIPPED])
def test_both_forms_read_back_equal(lesson: Lesson) -> None:
    assert parse_lesson(lesson.to_markdown()) == lesson
    assert parse_lesson(lesson.to_json()) == lesson
    crlf = "\ufeff" + lesson.to_markdown().replace("\n", "\r\n")  # a Windows editor's file
    assert parse_lesson(crlf) == lesson


def test_markdown_form_details() -> None:
    text = ("\n# Title\n\nSummary.\n\n## First\n\nRead this.\n\n**Question:** What\nhappens "
            "next?\n\nMore text.\n\n```JSON\n{\"page\": \"flow\", \"setup\": "
            "\"vanishing_sigmoid\"}\n```\n\n\n## Second\n\n```json\n{\"page\": \"explore\"}\n```")
    lesson = parse_lesson(text)
    first, second = lesson.steps
    assert (lesson.title, lesson.summary) == ("Title", "Summary.")
    assert first.question == "What happens next?"  # the question's paragraph, joined
    assert first.text == "Read this.\n\n\nMore text."
    assert first.setup == preset("vanishing_sigmoid") and first.page == "flow"
    assert (second.setup, second.params, second.hide, second.text, second.play) == \
        (None, (), (), "", False)


def test_json_form_defaults_and_setup_forms() -> None:
    lesson = parse_lesson(_lesson_json(
        {"title": "a", "page": "playground"},
        {"title": "b", "page": "playground", "setup": "tf_playground"},
        {"title": "c", "page": "playground", "setup": {"preset": "tf_playground"}},
        {"title": "d", "page": "playground", "setup": {"preset": "tf_playground",
                                                       "data": {"noise": 0.2}}},
        {"title": "e", "page": "playground", "setup": {"data": {"name": "xor"}}}))
    a, b, c, d, e = lesson.steps
    assert a.setup is None and lesson.summary == ""
    assert b.setup == c.setup == preset("tf_playground")
    assert d.setup == preset("tf_playground").updated(data={"noise": 0.2})
    assert e.setup == Spec.from_dict({"data": {"name": "xor"}})
    assert '"setup": "tf_playground"' in lesson.to_json()  # a preset is written by name


def test_steps_are_checked_when_built() -> None:
    with pytest.raises(SpecError) as info:
        Step("x", "flow", preset("reverse_lstm"))
    assert info.value.field == "setup" and "sequence" in str(info.value)
    step = Step("  Title\n", "playground", text="\r\nText\r\n", question="a\nb", hide=["data"])
    assert (step.title, step.text, step.question, step.hide) == ("Title", "Text", "a b",
                                                                 ("data",))
    with pytest.raises(SpecError):
        Lesson("T", "", ())
    assert setup_problem("playground", preset("mnist_cnn")) is not None
    assert setup_problem("images", preset("mnist_cnn")) is None
    assert setup_problem("search", None) is None


# -- bad input ------------------------------------------------------------------------------

def _step(**fields) -> dict:
    return {"title": "Hidden layers", "page": "playground", **fields}


BAD = [
    # (lesson text, what the message must contain)
    (_lesson_json(_step(page="foo")), "step 1 (Hidden layers): page: 'foo' is not a page"),
    (_lesson_json(_step(), _step(title="B", setup={"data": {"noise": 9}})),
     "step 2 (B): setup.data.noise: got 9"),
    (_lesson_json(_step(setup={"data": {"path": "/etc/passwd"}})),
     "step 1 (Hidden layers): setup.data.path: a spec cannot name a file"),
    (_lesson_json(_step(setup={"model": {"layers": [{"type": "dense", "units": 10**9}]}})),
     "step 1 (Hidden layers): setup.model.layers[0].units"),
    (_lesson_json(_step(setup={"preset": "../../etc/passwd"})),
     "step 1 (Hidden layers): setup.preset: unknown preset"),
    (_lesson_json(_step(setup=3)), "step 1 (Hidden layers): setup: got 3"),
    (_lesson_json(_step(page="flow", setup="reverse_lstm")),
     "step 1 (Hidden layers): setup: the flow page cannot open it"),
    (_lesson_json(_step(page="explore", setup="tf_playground")),
     "step 1 (Hidden layers): setup: the explore page cannot open it"),
    (_lesson_json(_step(page="race", setup={"data": {"name": "sine"}})), "2-D"),
    (_lesson_json(_step(page="images", setup="tf_playground")), "not an image set"),
    (_lesson_json(_step(foo=1)), "step 1 (Hidden layers): foo: unknown field"),
    (_lesson_json(_step(), teacher="me"), "teacher: unknown field"),
    (_lesson_json({"title": "no page"}), "step 1 (no page): page: missing"),
    (_lesson_json({"page": "playground"}), "step 1: title: missing"),
    (_lesson_json(_step(title="x" * 121)), "): title: is 121 characters long"),
    (_lesson_json(_step(text="x" * 6001)), "step 1 (Hidden layers): text: is 6,001 characters"),
    (_lesson_json(_step(question="x" * 1001)), "question: is 1,001 characters"),
    (_lesson_json(_step(text="## Sneaky step")), "text: the line '## Sneaky step' would start"),
    (_lesson_json(_step(text="**Question:** two?")), "text: the line"),
    (_lesson_json(_step(text="```\nopen")), "text: a ``` code block is not closed"),
    (_lesson_json(_step(title="bell\x07")), "title: holds the control character"),
    (_lesson_json(_step(params={"s": "{}"})), "step 1 (Hidden layers): params: 's' is not"),
    (_lesson_json(_step(params={"Race": "x"})), "params: 'Race' is not"),
    (_lesson_json(_step(params={"race": 3})), "params.race: got 3"),
    (_lesson_json(_step(params={"race": "a\nb"})), "params.race"),
    (_lesson_json(_step(params={f"p{i}": "1" for i in range(9)})), "params: got"),
    (_lesson_json(_step(params=[["race", "x"], ["race", "y"]])), "params: a parameter is given"),
    (_lesson_json(_step(hide="network")), "hide: got 'network'"),
    (_lesson_json(_step(hide=["../etc"])), "hide: got"),
    (_lesson_json(_step(play="yes")), "play: got 'yes'"),
    (_lesson_json(*[_step()] * (MAX_STEPS + 1)), "steps: the lesson has 41 steps"),
    (_lesson_json(), "steps: the lesson has 0 steps"),
    (json.dumps({"title": "T", "steps": {}}), "steps: got {}"),
    (json.dumps({"title": "T", "steps": [3]}), "step 1: got 3; expected a JSON object"),
    (json.dumps({"title": 5, "steps": [_step()]}), "title: got 5"),
    (json.dumps({"title": "T", "summary": "# Big", "steps": [_step()]}), "summary: the line"),
    ('{"title": "T", "steps": ' + "[" * 5000 + "]" * 5000 + "}", "nested 5001 levels deep"),
    ('{"title": "T", "steps": [{"title": "a", "page": "playground", "setup": {"seed": '
     + "9" * 5000 + "}}]}", "5000 characters"),
    ('{"title": "\\ud800", "steps": []}', "not valid text"),
    ('{"title": "T",', "not valid JSON"),
    ("just some words", "neither"),
    ("", "neither"),
    ("[1, 2]", "neither"),
    ("{" + " " * MAX_CHARS + "}", f"{MAX_CHARS + 2:,} characters"),
    (_md("{" * 5000 + "}" * 5000), "step 1 (A): the ```json block is nested 5000 levels"),
    (_md('{"page": "playground", "foo": 1}'), "step 1 (A): foo: unknown field"),
    (_md('{"page": "playground", "text": "x"}'), "step 1 (A): text: unknown field"),
    (_md('{"page": "nowhere"}'), "step 1 (A): page: 'nowhere' is not a page"),
    (_md('{"page": "playground", "setup": {"data": {"name": "reverse"}}}'),
     "step 1 (A): setup: the playground page cannot open it"),
    (_md("[1]"), "step 1 (A): got [1]; expected a JSON object"),
    (_md("{not json"), "step 1 (A): the ```json block is not valid JSON"),
    (_md('{"page": "explore"}', text="**Question:** one?\n\n**Question:** two?"),
     "step 1 (A): text: the line '**Question:** two?'"),
    ("# T\n\n## A\n\nNo settings here.\n", "step 1 (A): end the step with a ```json block"),
    ("# T\n\n## A\n\n```python\nx = 1\n```\n", "step 1 (A): end the step with"),
    ("# T\n\n## A\n\n```json\n{\"page\": \"explore\"}\n```\n\nText after it.\n",
     "step 1 (A): end the step with"),
    ("# T\n\n## A\n\n```json\n{\"page\": \"explore\"}\n", "line 5 is not closed"),
    ("# T\n\nSummary only.\n", "steps: the lesson has 0 steps"),
    ("## A\n\n```json\n{\"page\": \"explore\"}\n```\n", "title: a Markdown lesson starts"),
    (_md('{"page": "explore"}') + "\n# Another title\n", "title: a Markdown lesson starts"),
    ("#\n\n## A\n\n```json\n{\"page\": \"explore\"}\n```\n", "title: is empty"),
    ("# T\n" + "\n## S\n\n```json\n{\"page\": \"explore\"}\n```\n" * (MAX_STEPS + 1),
     "steps: the lesson has 41 steps"),
]


@pytest.mark.parametrize("text, fragment", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_lessons_raise_one_spec_error_naming_step_and_field(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_lesson(text)
    assert fragment in str(info.value), str(info.value)
    assert len(str(info.value)) < 600  # the message quotes no essay


@pytest.mark.parametrize("value", [b"# T", None, 3, ["# T"]])
def test_only_text_is_a_lesson(value) -> None:
    with pytest.raises(SpecError, match="must be text"):
        parse_lesson(value)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "neurons.md",
                                  "01_neurons", "", None, ["neurons"]])
def test_load_lesson_takes_only_shipped_names(name) -> None:
    with pytest.raises(SpecError, match="unknown lesson"):
        load_lesson(name)


# -- fuzz ----------------------------------------------------------------------------------

PIECES = ["#", "## ", "# ", "```", "```json", "{", "}", "[", "]", '"', ",", ":", "\n",
          "\n\n", "**Question:**", "\\", "\\ud800", "\ud800", "\x00", "\u2028", "null",
          "1e999", "-", "9" * 60, "preset", '"page"', '"setup"', "\t", "\r", "💡"]


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        kind = rng.randrange(5)
        if kind == 0:
            text = text[:i] + rng.choice(PIECES) + text[i:]
        elif kind == 1:
            text = text[:i] + text[j:]
        elif kind == 2:
            text = text[:i] + rng.choice(PIECES) + text[min(j, i + 3):]
        elif kind == 3:
            text = text[:i] + text[i:j] * 2 + text[j:]
        else:
            text = text[:i]
    return text


@pytest.mark.parametrize("form", ["to_markdown", "to_json"])
def test_fuzzed_lessons_give_a_lesson_or_one_spec_error(form: str) -> None:
    rng = random.Random(20240607)
    sources = [getattr(lesson, form)() for lesson in [TRICKY, *map(load_lesson, SHIPPED)]]
    parsed = 0
    for _ in range(600):
        text = _mutate(rng.choice(sources), rng)
        try:
            lesson = parse_lesson(text)
        except SpecError:
            continue
        parsed += 1  # what parses is a valid lesson: it reads back equal in both forms
        assert parse_lesson(lesson.to_markdown()) == lesson
        assert parse_lesson(lesson.to_json()) == lesson
    assert parsed > 20  # the fuzz also reached the good path


# -- the shipped lessons ---------------------------------------------------------------------

def test_the_shipped_lessons_in_teaching_order() -> None:
    assert lesson_names() == SHIPPED
    for name in SHIPPED:
        lesson = load_lesson(name)
        assert 4 <= len(lesson.steps) <= 7, name
        assert lesson.summary and all(s.text and s.question for s in lesson.steps), name
        prose = [lesson.summary, *(t for s in lesson.steps for t in (s.text, s.question))]
        assert not any(re.search(r"<[a-zA-Z/!]", t) for t in prose), name  # Markdown, no HTML
        assert load_lesson(name) is lesson  # read once


STEPS = [(name, i) for name in SHIPPED for i, s in enumerate(load_lesson(name).steps)]
SETUP_STEPS = [(n, i) for n, i in STEPS if load_lesson(n).steps[i].setup is not None]


def _spec(name: str, title: str) -> Spec:
    step = next(s for s in load_lesson(name).steps if s.title == title)
    assert step.setup is not None
    return step.setup


@pytest.mark.parametrize("name, index", SETUP_STEPS)
def test_every_shipped_setup_trains(name: str, index: int) -> None:
    exp = engine.build(load_lesson(name).steps[index].setup)
    st = exp.init()
    st, chunk = exp.train(st, 5)
    assert np.all(np.isfinite(chunk.history["train_loss"])), (name, index)


@pytest.mark.parametrize("name, index", STEPS)
def test_every_shipped_step_opens_on_its_page(name: str, index: int) -> None:
    """What the page itself checks: its fits and limits, its link parameters, the
    controls the app can hide."""
    pytest.importorskip("streamlit")
    from playground import flow, images, lab, paths, race, race_link, sequences
    from playground import search as hs
    from playground.core import limits, url

    step = load_lesson(name).steps[index]
    known = {*url.SECTIONS, *getattr(url, "CONTROLS", ()), *engine.FEATURES.names()}
    assert set(step.hide) <= known, step.hide
    pages = {"playground": lab.PAGE, "flow": flow.PAGE, "race": race.PAGE,
             "sequences": sequences.PAGE, "images": images.PAGE}
    if step.setup is not None:
        page = pages[step.page]
        assert page.fits(step.setup) is None
        exp = engine.build(step.setup)
        assert limits.refusal(exp, page.graph_budget, page.copies) is None
    params = dict(step.params)
    if step.page == "race":
        assert race_link.parse_contestants(params["race"])
    elif step.page == "paths":
        assert paths.parse_link(params)[1] == []
    elif step.page == "search":
        assert hs.parse_query(params)[1] == []
    else:
        assert not params


# -- the lessons' claims, cheap to check ------------------------------------------------------

def _run(spec: Spec, epochs: int) -> engine.Result:
    result = engine.run(spec, epochs)
    assert not result.metrics["diverged"]
    return result


NEURONS = [  # (step, change, epochs, lowest and highest test accuracy)
    ("One neuron draws a line", {}, 100, 0.95, 1.0),
    ("One neuron meets a circle", {}, 200, 0.0, 0.7),  # one line cannot fence in a circle
    ("One neuron meets a circle", {"data": {"features": ["x1", "x2", "x1^2", "x2^2"]}}, 200,
     0.9, 1.0),  # ... squared features can
    ("Hidden neurons work together", {}, 200, 0.95, 1.0),
    ("Take the bend away", {}, 200, 0.0, 0.75),  # linear layers stay linear
    ("ReLU: bends made of corners", {}, 200, 0.9, 1.0),
]


@pytest.mark.parametrize("title, change, epochs, low, high", NEURONS)
def test_neurons_lesson(title: str, change: dict, epochs: int, low: float, high: float) -> None:
    spec = _spec("neurons", title).updated(**change)
    assert low <= _run(spec, epochs).metrics["test_accuracy"] <= high


def test_xor_lesson() -> None:
    line = _run(_spec("xor", "No straight line works"), 300).metrics
    assert line["train_accuracy"] < 0.85  # three corners of four (of 20 points drawn)
    hidden = _run(_spec("xor", "Two hidden neurons"), 300).metrics
    assert hidden["train_accuracy"] == 1.0 and hidden["test_accuracy"] == 1.0
    feature = _spec("xor", "A feature instead of a layer")
    assert _run(feature, 100).metrics["test_accuracy"] >= 0.95
    assert _run(feature.updated(data={"features": ["x1", "x2"]}), 100).metrics[
        "test_accuracy"] <= 0.7
    noisy = _spec("xor", "A noisier XOR")
    wide = noisy.updated(model={"layers": [{"type": "dense", "units": 4, "activation": "tanh"}]})
    assert _run(wide, 300).metrics["test_accuracy"] >= 0.95


def test_learning_rate_lesson_race() -> None:
    step = next(s for s in load_lesson("learning_rate").steps if s.page == "race")
    losses = {}
    for part in dict(step.params)["race"].split(","):
        opt, lr = part.split(":")
        spec = step.setup.updated(optimizer={"name": opt, "learning_rate": float(lr)})
        losses[float(lr)] = engine.run(spec, 100).history["train_loss"]
    assert losses[0.0003][-1] > 0.9 * losses[0.0003][0]  # too small: hardly moves
    assert losses[0.03][-1] < 0.1  # right
    assert losses[3.0][-1] > 5 * losses[0.03][-1]  # too large: jumps about, worse


def test_learning_rate_lesson_paths() -> None:
    pytest.importorskip("streamlit")
    from playground import paths

    def outcomes(title: str) -> dict:
        step = next(s for s in load_lesson("learning_rate").steps if s.title == title)
        setup, _ = paths.parse_link(dict(step.params))
        return {o.name: o for o in paths.race(setup)}

    ravine = outcomes("Zig-zag in a ravine")
    assert ravine["momentum"].reached < ravine["sgd"].reached
    ravine = outcomes("A step too far")
    assert ravine["sgd"].diverged_at and ravine["sgd"].reached is None
    assert ravine["momentum"].reached and not ravine["momentum"].diverged_at
    banana = outcomes("Rosenbrock's banana")
    distance = {n: o.distance[-1] for n, o in banana.items()}
    assert distance["momentum"] < min(distance["sgd"], distance["adam"])
    banana = outcomes("A bigger step on the banana")
    assert banana["sgd"].diverged_at and banana["momentum"].diverged_at
    assert not banana["adam"].diverged_at


def _overfit(title: str, epochs: int = 400) -> engine.Result:
    return _run(_spec("overfitting", title), epochs)


@pytest.mark.slow
def test_overfitting_lesson() -> None:
    first = _overfit("Memorising noise")
    val, train = first.history["val_loss"], first.history["train_loss"]
    best = int(np.argmin(val))
    assert val[-1] > 1.3 * val[best] and train[-1] < train[best]  # it turns back up
    more = _overfit("More data")
    assert more.history["val_loss"][-1] < 0.5 * val[-1]
    l2 = _overfit("An L2 penalty")
    assert l2.history["train_loss"][-1] > train[-1] and l2.history["val_loss"][-1] < val[-1]
    stopped = _overfit("Early stopping").metrics
    patience = _spec("overfitting", "Early stopping").early_stopping.patience
    assert stopped["stopped_early"] and stopped["epochs"] < 400
    assert stopped["best_epoch"] == stopped["epochs"] - patience


RATIOS = {"Ten sigmoid layers": (0.0, 1e-2), "ReLU and He initialisation": (0.05, 20.0),
          "Exploding gradients": (10.0, math.inf), "Batch norm": (0.1, 100.0),
          "Skip connections": (0.02, 50.0)}


@pytest.mark.parametrize("title", sorted(RATIOS))
def test_vanishing_gradients_lesson(title: str) -> None:
    """The first hidden layer's gradient over the last's, at the start, as each step says."""
    exp = engine.build(_spec("vanishing_gradients", title))
    state = exp.init()
    norms = exp.probe(state, ProbeOptions(resolution=8, neuron_resolution=4)).grad_norm
    hidden = [i for i, p in enumerate(state.params) if "w" in p][:-1]
    low, high = RATIOS[title]
    assert low < float(norms[hidden[0]] / norms[hidden[-1]]) < high


def _weights(spec: Spec) -> int:
    return sum(int(np.size(v)) for p in engine.build(spec).init().params for v in p.values())


def test_cnn_lesson_structure() -> None:
    """Ten weights per first-layer filter used at 16 x 16 positions; a 2 x 2 max pool that
    halves the maps; an MLP of more than 100,000 weights against a CNN nearly twenty
    times smaller."""
    shapes = _spec("cnn", "A filter slides over the picture")
    conv, pool = (x.to_dict() for x in shapes.model.layers[:2])
    assert {k: conv[k] for k in ("type", "filters", "kernel", "padding", "stride")} == {
        "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same", "stride": 1}
    exp = engine.build(shapes)
    first = exp.init().params[0]
    assert first["w"].shape == (3, 3, 1, 4) and first["b"].shape == (4,)  # 9 + 1 a filter
    assert exp.dataset.image == (16, 16, 1)  # same padding: a 16 x 16 map, 256 positions
    assert {k: pool[k] for k in ("type", "size", "stride")} == {
        "type": "max_pool", "size": 2, "stride": 2}
    assert _spec("cnn", "Max pooling keeps the strongest answer") == shapes
    mlp = _spec("cnn", "An MLP on handwritten digits")
    cnn = _spec("cnn", "A CNN on the same digits")
    assert [x.to_dict()["units"] for x in mlp.model.layers if x.type == "dense"] == [128, 64]
    assert {x.to_dict()["filters"] for x in cnn.model.layers if x.type == "conv2d"} == {8}
    assert [x.type for x in cnn.model.layers if x.type in ("conv2d", "max_pool")] == [
        "conv2d", "conv2d", "max_pool", "conv2d", "conv2d", "max_pool"]
    assert (cnn.data.n, mlp.data.n) == (10_000, 20_000)  # the text says so
    assert "trains on 10,000 pictures, half as many as the MLP" in " ".join(
        s.text for s in load_lesson("cnn").steps)
    n_mlp, n_cnn = _weights(mlp), _weights(cnn)
    assert n_mlp > 100_000 and 5_600 <= n_cnn <= 6_000 and 17 < n_mlp / n_cnn < 20


def test_cnn_lesson_a_cnn_does_as_well_as_the_mlp_after_an_epoch() -> None:
    mlp = _run(_spec("cnn", "An MLP on handwritten digits"), 1).metrics["test_accuracy"]
    cnn = _run(_spec("cnn", "A CNN on the same digits"), 1).metrics["test_accuracy"]
    assert mlp > 0.85 and cnn >= mlp


def test_dqn_lesson_matches_the_rl_page() -> None:
    """Epsilon, gamma, the target network's period, the buffer and the preset titles the
    steps name are the page's."""
    pytest.importorskip("streamlit")
    from engine.rl import PRESETS, SOURCE
    from playground.rl_page import TITLES

    steps = load_lesson("dqn").steps
    assert {s.page for s in steps} == {"rl"}
    assert (SOURCE.eps_start, SOURCE.eps_end, SOURCE.eps_decay_steps) == (1.0, 0.05, 10_000)
    assert SOURCE.gamma == 0.99 and SOURCE.target_period == 100 and SOURCE.tau == 1.0
    assert SOURCE.buffer_size == 10_000 and SOURCE.batch_size == 64
    by_title = {t: PRESETS.get(n).config for n, t in TITLES.items()}
    text = " ".join(s.text for s in steps)
    for title in ("No target network", "No replay buffer"):
        assert f"**{title}**" in text
    steps_per_copy = SOURCE.target_period * SOURCE.train_every * SOURCE.n_envs
    assert steps_per_copy == 800 and "every 100 updates (800 environment steps" in text
    assert by_title["No target network"].target_period == 1
    assert by_title["No replay buffer"].buffer_size == SOURCE.batch_size
    assert abs(sum(SOURCE.gamma ** k for k in range(500)) - 99.34) < 0.01  # the question's


def test_every_preset_opens_on_its_topics_page_and_the_pages_agree() -> None:
    """``setup_problem`` never lets through what a page's own ``fits`` refuses."""
    pytest.importorskip("streamlit")
    from playground import flow, images, lab, race, sequences

    pages = {"playground": lab.PAGE, "flow": flow.PAGE, "race": race.PAGE,
             "sequences": sequences.PAGE, "images": images.PAGE}
    assert set(pages) == set(PAGES[:5])
    specs = [preset(n) for n in PRESETS.names()] + [
        Spec.from_dict({"data": {"name": n}}) for n in ("line", "sine", "xor", "moons")]
    for spec in specs:
        for page, live in pages.items():
            if setup_problem(page, spec) is None:
                assert live.fits(spec) is None, (page, spec.data.name)
    for name in PRESETS.names():
        page = {"gradients": "flow"}.get(PRESETS.get(name).topic, PRESETS.get(name).topic)
        assert setup_problem(page, preset(name)) is None, name
