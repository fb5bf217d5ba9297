"""Hyperparameter search maths, apart from training: spaces, designs, a GP surrogate.

``space``: ``Axis`` (one hyperparameter's range, linear or log10) and ``Space`` (one
or two axes), unit coordinates, ``grid`` and ``random_points``. ``gp``: a Gaussian
process written out in JAX over fixed-size observation buffers (adding a result never
recompiles) and expected improvement. ``propose``: the ``STRATEGIES`` registry (grid,
random, bayesian), the stateless ``propose`` of a round's points, and
``surrogate_picture`` for the page.

May import: jax, optax, numpy, and the ground floor, ``engine.blocks``, ``engine.data``,
``engine.spec``, ``engine.presets`` (it uses only ``engine.errors`` and
``engine.registry``). Never training, never a UI library.
"""

from engine.search.gp import (
    CAPACITIES,
    GPParams,
    capacity_for,
    expected_improvement,
    fit_hyperparameters,
    matern52,
    posterior,
    predict,
)
from engine.search.propose import (
    RESOLUTION,
    STRATEGIES,
    Request,
    clean_results,
    propose,
    surrogate_picture,
)
from engine.search.space import (
    Axis,
    Space,
    at_edge,
    check_space,
    from_unit,
    grid,
    grid_per_axis,
    latin_hypercube,
    random_points,
    to_unit,
    unit_grid,
)

__all__ = ["CAPACITIES", "RESOLUTION", "STRATEGIES", "Axis", "GPParams", "Request", "Space",
           "at_edge", "capacity_for", "check_space", "clean_results", "expected_improvement",
           "fit_hyperparameters", "from_unit", "grid", "grid_per_axis", "latin_hypercube",
           "matern52", "posterior", "predict", "propose", "random_points", "surrogate_picture",
           "to_unit", "unit_grid"]
