"""Named races and searches: lessons that train many configurations at once.

``RACES`` (the Optimizer race page): one preset's network, several optimizers or
learning rates from the same weights. ``SEARCHES`` (the Hyperparameter search page and
``python -m engine search``): a base network and what to search, with its method and
size. Each explanation says what to watch; the claims are tested
(``tests/ui/test_race_page.py``, ``tests/engine/test_hyper.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.presets import preset
from engine.registry import Registry
from engine.spec import Spec


@dataclass(frozen=True)
class Race:
    """A named optimizer race: one network, several optimizers or learning rates.

    Attributes:
        title: a short human title.
        base: the preset every contestant starts from (same data, same initial weights).
        contestants: ``(optimizer, learning rate)`` pairs, at most eight.
        epochs: how long to train to see the point.
        explanation: what to watch, for a class.
    """

    title: str
    base: str
    contestants: tuple[tuple[str, float], ...]
    epochs: int
    explanation: str


RACES: Registry[Race] = Registry("race")
RACES.register("learning_rates", Race(
    "Learning rate: too small, right, too large",
    "tf_playground", (("sgd", 0.0003), ("sgd", 0.03), ("sgd", 3.0)), 300,
    "The same network from the same weights, three step sizes. Too small: the loss barely "
    "moves in hundreds of epochs. Right: it falls steadily. Too large: every step overshoots "
    "the valley, so the loss jumps around (or blows up) and the boundary never settles.",
), "SGD at 0.0003, 0.03 and 3 on TensorFlow Playground's circle.")
RACES.register("optimizers", Race(
    "Six optimizers, SGD to Adam",
    "tf_playground", (("sgd", 0.03), ("momentum", 0.03), ("nesterov", 0.03),
                      ("adagrad", 0.03), ("rmsprop", 0.003), ("adam", 0.003)), 200,
    "Each optimizer at a learning rate that suits it, from the same starting weights. "
    "Momentum and Nesterov build up speed along a consistent slope; Adagrad's steps shrink "
    "as squared gradients add up; RMSprop and Adam scale each weight's step by its recent "
    "gradients, so they start fast even at a tenth of SGD's rate.",
), "Six optimizers on the circle, each at a rate that suits it.")


def race_specs(name: str) -> list[Spec]:
    """The contestants of race ``name`` as specs (``SpecError`` if unknown)."""
    race = RACES.get(name, "race")
    base = preset(race.base)
    return [base.updated(optimizer={"name": opt, "learning_rate": lr})
            for opt, lr in race.contestants]


@dataclass(frozen=True)
class SearchPreset:
    """A named hyperparameter search: a base network and what to search.

    Attributes:
        title: a short human title.
        base: the preset whose network and data are searched (``search_base`` adds a
            validation split where it has none: the validation loss decides).
        noise: the data's noise.
        axes: ``(hyperparameter, low, high, log)`` for one or two axes
            (``engine.hyper.HYPERPARAMETERS``).
        method: grid, random or bayesian; budget, round_size, epochs: its size.
        explanation: what to watch, for a class.
    """

    title: str
    base: str
    noise: float
    axes: tuple[tuple[str, float, float, bool], ...]
    method: str
    budget: int
    round_size: int
    epochs: int
    explanation: str


VAL_FRACTION = 0.2
"""The validation share a search gives a base preset that has none."""


def search_base(base: str, noise: float) -> Spec:
    """Preset ``base`` with data ``noise`` and a validation split (``VAL_FRACTION`` if it
    has none): what a search starts from."""
    spec = preset(base)
    return spec.updated(data={"noise": noise,
                              "val_fraction": spec.data.val_fraction or VAL_FRACTION})


SEARCHES: Registry[SearchPreset] = Registry("search preset")
SEARCHES.register("learning_rate", SearchPreset(
    "Learning rate, by Bayesian search",
    "tf_playground", 0.1, (("learning_rate", 1e-4, 3.0, True),), "bayesian", 16, 4, 200,
    "A Gaussian process guesses the validation loss at every learning rate from the ones "
    "tried so far (the line) and how sure it is (the band). Expected improvement picks "
    "the next rates where a better loss is likely: low mean, or wide band.",
), "Bayesian search over SGD's learning rate on the circle.")
SEARCHES.register("grid_vs_random", SearchPreset(
    "Random beats grid when one hyperparameter does not matter",
    "tf_playground", 0.1, (("learning_rate", 1e-3, 3.0, True), ("momentum", 0.0, 0.99, False)),
    "grid", 9, 9, 200,
    "Plain SGD ignores momentum, so only the learning rate matters. A 3 x 3 grid tries just "
    "three learning rates (each three times); nine random points try nine. Switch the "
    "method to random and compare the best validation loss (Bergstra and Bengio, 2012).",
), "A 3 x 3 grid over learning rate and an ignored momentum, against random search.")
SEARCHES.register("width", SearchPreset(
    "Under- and over-fitting as the network widens",
    "noisy_spirals", 0.35, (("units", 1, 128, True),), "grid", 8, 1, 400,
    "Two hidden layers of 1 to 128 units on noisy spirals. Narrow networks underfit: the "
    "validation loss stays high. Wide ones fit the noise: their last validation loss climbs "
    "back up after its best epoch, which early stopping would keep. Each width is a new "
    "network, so each compiles (a few seconds each).",
), "Width from 1 to 128 on noisy spirals: under-fitting, then over-fitting.")
SEARCHES.register("dropout", SearchPreset(
    "How much dropout?",
    "dropout_spirals", 0.35, (("dropout_rate", 0.0, 0.7, False),), "grid", 8, 8, 400,
    "Eight dropout rates from 0 to 0.7, trained at once from the same weights. Without "
    "dropout the wide network fits the noise, and even its best epoch's validation loss "
    "is worse than with a little dropout. Too much, and the network cannot fit the spirals "
    "at all: the validation loss is U-shaped in the rate.",
), "Dropout rates from 0 to 0.7 on noisy spirals: too little over-fits, too much under-fits.")
