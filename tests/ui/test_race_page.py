"""AppTest of the Optimizer race page (``pages/race.py``) and its pieces."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine
from engine.presets import preset
from engine.sweep_presets import RACES, race_specs
from playground import race, race_link
from playground.core import session as S
from tests.ui.apptest import messages, ok, opened, page_keys, run_page, widget

TIMEOUT = 180
RC = page_keys("race", (S.SPEC, S.RACE, S.PLAYING, "pg_contestants"))


def page(query: dict[str, str] | None = None) -> AppTest:
    return run_page("race", query, TIMEOUT)


@pytest.fixture(scope="module")
def default() -> AppTest:
    return page()


def test_default_race_is_the_optimizers_race_from_one_start(default: AppTest) -> None:
    ok(default)
    cs = RACES.get("optimizers").contestants
    assert default.session_state[RC["pg_contestants"]] == cs
    assert default.session_state[RC[S.SPEC]] == preset("tf_playground")
    state = default.session_state[RC[S.RACE]]
    sw = state["sweep"]
    assert [s.optimizer.name for s in sw.specs] == [n for n, _ in cs]
    # every contestant starts from the same weights
    w = [np.asarray(sw.state(state["states"], i).params[0]["w"]) for i in range(sw.n)]
    assert all(np.array_equal(w[0], x) for x in w[1:])
    assert widget(default, "selectbox", "Race").value == "optimizers"
    assert widget(default, "button_group", "Optimizers").value == [n for n, _ in cs]
    # pills cap nothing: every optimizer at once must fit in a race
    assert len(engine.OPTIMIZERS.names()) <= race_link.MAX_CONTESTANTS


def test_step_trains_every_contestant_and_reset_starts_again() -> None:
    at = page()
    at.button(key="pg_step").click().run()
    ok(at)
    state = at.session_state[RC[S.RACE]]
    n = len(RACES.get("optimizers").contestants)
    assert [len(h["train_loss"]) for h in state["history"]] == [1] * n
    assert np.asarray(state["states"].epoch)[:n].tolist() == [1] * n
    losses = [h["train_loss"][0] for h in state["history"]]
    assert len(set(np.round(losses, 6))) > 1  # different optimizers, different steps
    at.button(key="pg_reset").click().run()
    ok(at)
    fresh = at.session_state[RC[S.RACE]]
    assert np.asarray(fresh["states"].epoch)[:n].tolist() == [0] * n


def test_a_race_link_sets_the_contestants_and_the_mode() -> None:
    at = page({"race": "sgd:0.0003,sgd:0.03,sgd:3"})
    ok(at)
    assert at.session_state[RC["pg_contestants"]] == (("sgd", 0.0003), ("sgd", 0.03),
                                                      ("sgd", 3.0))
    assert widget(at, "radio", "Compare").value == "Learning rates"
    assert widget(at, "multiselect", "Learning rates").value == [0.0003, 0.03, 3.0]
    assert widget(at, "selectbox", "Race").value == "learning_rates"


@pytest.mark.parametrize(("query", "says"), [
    ("evil:0.1", "unknown optimizer 'evil'"),
    ("sgd:abc", "must be a number"),
    ("sgd:0", "above 0 and at most 100"),
    ("sgd:1e400", "above 0 and at most 100"),
    (",".join(["sgd:0.1"] * 9), "1 to 8 contestants"),
    ("sgd:0.1," * 100, "at most 400"),
])
def test_a_bad_race_link_says_why_and_keeps_the_default(query: str, says: str) -> None:
    at = page({"race": query})
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "race could not be used" in errors[0] and says in errors[0]
    assert at.session_state[RC["pg_contestants"]] == RACES.get("optimizers").contestants


def test_changing_the_contestants_starts_a_new_race() -> None:
    at = page()
    widget(at, "button_group", "Optimizers").set_value(["sgd", "adam"]).run()
    ok(at)
    assert at.session_state[RC["pg_contestants"]] == (("sgd", 0.03), ("adam", 0.003))
    assert at.query_params["race"] == "sgd:0.03,adam:0.003"
    assert at.session_state[RC[S.RACE]]["sweep"].n == 2


def test_loading_a_named_race_sets_network_and_contestants() -> None:
    at = page()
    widget(at, "selectbox", "Race").set_value("learning_rates")
    at.button(key="race_load").click().run()
    ok(at)
    assert at.session_state[RC["pg_contestants"]] == RACES.get("learning_rates").contestants


def test_loading_the_running_race_starts_it_afresh() -> None:
    at = page()
    at.button(key="pg_step").click().run()
    assert int(at.session_state[RC[S.RACE]]["states"].epoch.max()) == 1
    assert widget(at, "selectbox", "Race").value == "optimizers"
    at.button(key="race_load").click().run()
    ok(at)
    assert int(at.session_state[RC[S.RACE]]["states"].epoch.max()) == 0


def test_a_named_race_refused_leaves_the_running_race_whole(monkeypatch) -> None:
    """Load's network refused (here: a server allowing no parameters): the message says
    why, and the contestants stay those of the network that keeps running."""
    from playground.core import limits

    at = page()
    ran = at.session_state[RC["pg_contestants"]]
    monkeypatch.setattr(limits, "MAX_PARAMS", 1)
    widget(at, "selectbox", "Race").set_value("learning_rates")
    at.button(key="race_load").click().run()
    assert any("too big for one session" in m for m in messages(at))
    assert at.session_state[RC["pg_contestants"]] == ran != RACES.get(
        "learning_rates").contestants


def test_a_link_for_another_page_is_refused_with_a_message() -> None:
    spec = engine.Spec.from_dict({"data": {"name": "sine"}})
    from playground.core import url
    at = page({"s": url.spec_to_query(spec)})
    errors = messages(at)
    assert len(errors) == 1 and "2-D point dataset" in errors[0]
    assert at.session_state[RC[S.SPEC]] == preset("tf_playground")


def test_parse_contestants_round_trips() -> None:
    cs = (("sgd", 0.03), ("adam", 0.001), ("rmsprop", 3e-4))
    assert race_link.parse_contestants(race_link.contestants_to_query(cs)) == cs


def test_learning_rate_race_claims_hold() -> None:
    """The named race's lesson: too small barely moves, the right rate learns, too large
    never settles (300 epochs, the preset's data and seed)."""
    sw = engine.sweep(race_specs("learning_rates"))
    states, chunk = sw.train(sw.init(), RACES.get("learning_rates").epochs)
    first = chunk.history["train_loss"][:, 0]
    last = chunk.history["train_loss"][:, -1]
    small, right, large = range(3)
    assert last[small] > 0.8 * first[small]  # barely moved
    assert last[right] < 0.05 * first[right]  # learned
    assert last[large] > 10 * last[right] and last[large] > 0.5  # never settled
    assert not bool(states.monitor.diverged[right])


def test_optimizers_race_claim_adaptive_rates_start_fast() -> None:
    """RMSprop and Adam, at a tenth of SGD's rate, are ahead of SGD after 20 epochs."""
    specs = race_specs("optimizers")
    sw = engine.sweep(specs)
    _, chunk = sw.train(sw.init(), 20)
    loss = {s.optimizer.name: chunk.history["train_loss"][i, -1] for i, s in enumerate(specs)}
    assert loss["adam"] < loss["sgd"] and loss["rmsprop"] < loss["sgd"]


def test_a_mixed_race_from_a_link_keeps_every_contestant() -> None:
    """One optimizer twice (two rates) beside another: nothing is merged away."""
    at = page({"race": "sgd:0.03,adam:0.003,sgd:0.3"})
    ok(at)
    assert at.session_state[RC["pg_contestants"]] == (("sgd", 0.03), ("adam", 0.003),
                                                      ("sgd", 0.3))
    assert widget(at, "select_slider", "SGD learning rate (2)").value == 0.3
    assert at.session_state[RC[S.RACE]]["sweep"].n == 3


def test_a_network_too_big_for_eight_contestants_is_refused_with_what_to_lower() -> None:
    """Eight copies train at once: memory counts them all (one copy would fit)."""
    from playground.core import limits, url

    spec = engine.Spec.from_dict({
        "data": {"name": "spiral", "n": 5000},
        "model": {"layers": [{"type": "dense", "units": 256, "activation": "relu"}] * 6},
        "batch_size": 1000})
    exp = engine.build(spec)
    assert limits.refusal(exp, 20.0) is None
    assert limits.refusal(exp, 20.0, race.MAX_CONTESTANTS) is not None
    at = page({"s": url.spec_to_query(spec)})
    assert not at.exception
    errors = messages(at)
    assert len(errors) == 1 and "8 copies of this setup" in errors[0], errors
    assert at.session_state[RC[S.SPEC]] == preset("tf_playground")


def test_the_landscape_lowers_its_resolution_for_a_costly_network() -> None:
    from playground import landscape

    small = engine.build(preset("tf_playground"))
    assert landscape.affordable(small, 41) == 41
    big = engine.build(engine.Spec.from_dict({
        "data": {"name": "spiral", "n": 5000},
        "model": {"layers": [{"type": "dense", "units": 256, "activation": "relu"}] * 6}}))
    side = landscape.affordable(big, 41)
    assert side < 41
    per_point = min(big.cost.train_examples, 2048) * big.cost.forward_flops
    assert side == 0 or side * side * per_point <= landscape.PLANE_FLOPS


def test_the_share_link_carries_the_race_and_no_untrained_weights_are_offered() -> None:
    at = opened(page({"race": "sgd:0.03,adam:0.003"}), "race_export")
    ok(at)
    link = next(t.value for t in at.text_input if "race=" in t.value)
    assert "race=sgd%3A0.03%2Cadam%3A0.003" in link and "s=" in link
    labels = [b.label for b in at.get("download_button")]
    assert "Spec (JSON)" in labels and "Weights (.npz)" not in labels


def test_a_link_race_stays_as_written_until_a_control_moves() -> None:
    at = page({"race": "sgd:0.3,sgd:0.03,sgd:0.03"})
    ok(at)
    assert at.session_state[RC["pg_contestants"]] == (("sgd", 0.3), ("sgd", 0.03),
                                                      ("sgd", 0.03))
    assert at.query_params["race"] == "sgd:0.3,sgd:0.03,sgd:0.03"


def test_a_bad_race_link_is_replaced_in_the_address_by_the_race_that_runs() -> None:
    """Copying the address after the message shares the race on screen, not the error."""
    at = page({"race": "sgd:abc"})
    assert len(messages(at)) == 1
    assert at.query_params["race"] == race_link.contestants_to_query(
        RACES.get("optimizers").contestants)
    at.run()
    assert not messages(at)  # said once


def test_switching_to_learning_rates_races_the_chosen_optimizer() -> None:
    """From the optimizers' race, "Learning rates" races one optimizer at the rates shown
    (the rates of the race before), not the six optimizers still."""
    at = page()
    widget(at, "radio", "Compare").set_value("Learning rates").run()
    ok(at)
    cs = at.session_state[RC["pg_contestants"]]
    rates = sorted({lr for _, lr in RACES.get("optimizers").contestants})
    assert cs == tuple(("sgd", lr) for lr in rates)
    assert widget(at, "multiselect", "Learning rates").value == rates
    assert at.session_state[RC[S.RACE]]["sweep"].n == len(rates)


def test_the_menu_names_a_links_own_race_as_its_own() -> None:
    at = page({"race": "sgd:0.5,adam:0.01"})
    ok(at)
    menu = widget(at, "selectbox", "Race")
    assert menu.value == race.OWN_RACE and menu.options[0] == "Your own race"
    assert at.button(key="race_load").disabled
    assert any("this link's or your own" in c.value for c in at.caption)
    # picking a named race offers Load, which races it, and the menu then names it
    menu.set_value("learning_rates").run()
    assert not at.button(key="race_load").disabled
    at.button(key="race_load").click().run()
    ok(at)
    assert widget(at, "selectbox", "Race").value == "learning_rates"
    assert race.OWN_RACE not in widget(at, "selectbox", "Race").options


def test_editing_a_named_race_makes_it_the_users_own() -> None:
    at = page()
    assert widget(at, "selectbox", "Race").value == "optimizers"
    widget(at, "button_group", "Optimizers").set_value(["sgd", "adam"]).run()
    ok(at)
    assert widget(at, "selectbox", "Race").value == race.OWN_RACE


def test_rmsprops_decay_and_adams_betas_reach_their_contestants() -> None:
    """A teacher's review: RMSprop raced with a decay no control showed."""
    at = page({"race": "rmsprop:0.003,adam:0.003"})
    ok(at)
    widget(at, "slider", "Decay ρ (RMSprop)").set_value(0.5).run()
    widget(at, "number_input", "β₁ (Adam, AdamW)").set_value(0.8).run()
    ok(at)
    specs = {s.optimizer.name: s.optimizer for s in at.session_state[RC[S.RACE]]["sweep"].specs}
    assert (specs["rmsprop"].decay, specs["adam"].b1) == (0.5, 0.8)


def test_the_shared_values_are_those_of_the_racing_optimizers() -> None:
    """A teacher's review: a race of SGD alone showed momentum, decay and betas."""
    labels = lambda at: {w.label for kind in ("slider", "number_input")  # noqa: E731
                         for w in getattr(at, kind)}
    sgd = page({"race": "sgd:0.01,sgd:0.1"})
    ok(sgd)
    assert not {"Momentum (Momentum, Nesterov)", "Decay ρ (RMSprop)",
                "β₁ (Adam, AdamW)", "Weight decay (AdamW)"} & labels(sgd)
    assert "Weight seed" in labels(sgd)
    mixed = page({"race": "nesterov:0.03,adamw:0.003"})
    ok(mixed)
    assert {"Momentum (Momentum, Nesterov)", "β₁ (Adam, AdamW)", "β₂ (Adam, AdamW)",
            "Weight decay (AdamW)"} <= labels(mixed)
    assert "Decay ρ (RMSprop)" not in labels(mixed)
    widget(mixed, "number_input", "Weight decay (AdamW)").set_value(0.01).run()
    ok(mixed)
    specs = {s.optimizer.name: s.optimizer for s in
             mixed.session_state[RC[S.RACE]]["sweep"].specs}
    assert specs["adamw"].weight_decay == 0.01


def test_no_optimizer_picked_says_so_and_the_race_keeps_its_contestants() -> None:
    at = page({"race": "sgd:0.03,adam:0.003"})
    widget(at, "button_group", "Optimizers").set_value([]).run()
    assert not at.exception
    assert any("Pick at least one optimizer" in m for m in messages(at, "warning"))
    assert at.session_state[RC["pg_contestants"]] == (("sgd", 0.03), ("adam", 0.003))
