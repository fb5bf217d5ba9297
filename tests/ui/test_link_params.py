"""The one reader of pages' own link parameters (``playground.core.link_params``)."""

from __future__ import annotations

from playground.core.link_params import LinkParams


def test_good_values_are_read_and_missing_ones_take_their_defaults() -> None:
    link = LinkParams({"lr": "0.3", "steps": "40", "opt": "adam", "log": "off"})
    assert link.number("lr", 0.1) == 0.3
    assert link.number("steps", 10, 1, 100, integer=True) == 40
    assert link.choice("opt", "sgd", ("sgd", "adam")) == "adam"
    assert link.flag("log", True) is False
    assert link.number("absent", 0.5) == 0.5 and link.flag("absent2", True) is True
    assert link.errors == []


def test_each_bad_value_takes_its_default_and_says_what_it_must_be() -> None:
    link = LinkParams({"lr": "abc", "steps": "12.5", "b2": "0.5", "opt": "rmsprob",
                       "log": "maybe", "x0": "9" * 100, "m": "nan"})
    assert link.number("lr", 0.1) == 0.1
    assert link.number("steps", 10, 1, 100, integer=True) == 10
    assert link.number("b2", 0.999, options=(0.9, 0.999)) == 0.999
    assert link.choice("opt", "sgd", ("sgd", "adam")) == "sgd"
    assert link.flag("log", True) is True
    assert link.number("x0", 0.0, -2, 2) == 0.0
    assert link.number("m", 0.9) == 0.9
    assert link.errors == [
        "The link's lr must be a number from 0 to 1, not 'abc'; using 0.1.",
        "The link's steps must be a whole number from 1 to 100, not '12.5'; using 10.",
        "The link's b2 must be one of 0.9, 0.999, not '0.5'; using 0.999.",
        "The link's opt must be one of sgd, adam, not 'rmsprob'; using sgd.",
        "The link's log must be 1 or 0, not 'maybe'; using 1.",
        "The link's x0 must be a number from -2 to 2, not 100 characters; using 0.",
        "The link's m must be a number from 0 to 1, not 'nan'; using 0.9.",
    ]
