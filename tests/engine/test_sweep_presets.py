"""Named races and searches (``engine.sweep_presets``): each starts, and the lessons'
claims hold."""

from __future__ import annotations

import math

import pytest

from engine.hyper import Search, axis
from engine.sweep_presets import RACES, SEARCHES, race_specs, search_base


def _search(name: str, **changes) -> Search:
    p = SEARCHES.get(name)
    args = dict(method=p.method, budget=p.budget, round_size=p.round_size, epochs=p.epochs)
    args.update(changes)
    return Search.start(search_base(p.base, p.noise),
                        [axis(n, lo, hi, log) for n, lo, hi, log in p.axes], **args)


def _run(search: Search) -> Search:
    while not search.done:
        search = search.next_round()
    return search


@pytest.mark.parametrize("name", SEARCHES.names())
def test_every_search_preset_starts(name):
    search = _search(name)
    assert search.base.data.val_fraction > 0
    assert [a.name for a in search.space] == [a[0] for a in SEARCHES.get(name).axes]


@pytest.mark.parametrize("name", RACES.names())
def test_every_race_is_one_network(name):
    specs = race_specs(name)
    assert len(specs) == len(RACES.get(name).contestants) <= 8
    assert len({(s.data, s.model, s.seed) for s in specs}) == 1


@pytest.mark.parametrize("seed", [0, 1])
def test_grid_vs_random_random_finds_a_better_learning_rate(seed):
    grid = _run(_search("grid_vs_random", seed=seed))
    rand = _run(_search("grid_vs_random", method="random", seed=seed))
    lrs = {m: {round(t.values["learning_rate"], 9) for t in s.trials}
           for m, s in (("grid", grid), ("random", rand))}
    assert len(lrs["grid"]) == 3 and len(lrs["random"]) == 9
    assert rand.best().val_loss < grid.best().val_loss


@pytest.mark.slow
@pytest.mark.long  # every width to its last epoch: nearly 2 minutes on 2 cores
def test_width_lesson_narrow_underfits_wide_overfits():
    """Narrow networks' best validation loss is far above the best width's; the widest
    one's last validation loss climbs back above its best (what early stopping keeps)."""
    search = _run(_search("width"))
    by_units = {int(t.values["units"]): t for t in search.trials}
    best = search.best()
    assert by_units[1].val_loss > 2 * best.val_loss
    wide = by_units[max(by_units)]
    assert math.isfinite(wide.val_loss) and wide.curve[-1] > 1.3 * wide.val_loss
    assert wide.best_epoch < search.epochs


@pytest.mark.parametrize("seed", [0, 1])
def test_dropout_lesson_a_little_dropout_beats_none_and_too_much(seed):
    """The validation loss is U-shaped in the dropout rate: the best rate is neither 0
    nor the highest, and beats both clearly (measured: 0.13-0.15 at 0.1-0.2, against
    0.19-0.25 at 0 and about 0.6 at 0.7)."""
    search = _run(_search("dropout", seed=seed))
    by_rate = {round(t.values["dropout_rate"], 2): t.val_loss for t in search.trials}
    assert len(by_rate) == 8 and min(by_rate) == 0.0 and max(by_rate) == 0.7
    best = min(by_rate, key=by_rate.get)
    assert 0.0 < best < 0.5
    assert by_rate[0.0] > 1.1 * by_rate[best] and by_rate[0.7] > 2 * by_rate[best]
