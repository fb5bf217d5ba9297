"""Which networks of a page train padded (``engine.train.padded``), and which natively.

A page names a padded profile (``LivePage.padded``). A padded network makes every
structural edit a change of values (no compile), but each epoch costs more than the
real network's: the Playground's default, 264 us of CPU against 46 us. So:

- the page's default network, which the warm-up compiles as it is, trains natively
  (``Plan.native``): a classroom that opens the page and presses Play costs the
  server under half the CPU per frame (7.7 ms against 17 padded, measured);
- every other small MLP of the Playground trains padded: its padded network compiles
  in seconds, and the warm-up compiles it;
- Gradient flow's 30-layer padded network takes about 21 s to compile, so only the
  networks the warm-up compiles (``Plan.padded``) train padded there; another
  optimizer, loss or dataset trains its own network, compiled in a few seconds.

A plan depends on the code alone, never on what has compiled so far, so a spec trains
the same way on every server, and the same spec always in the same network.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import engine


class Plan(NamedTuple):
    """``padded``: the padded networks a page may train in (None: any that fits);
    ``native``: the real networks that train as they are (the page's default), as
    ``native_key``s."""

    padded: frozenset[engine.Structure] | None
    native: frozenset[tuple] = frozenset()


def native_key(exp: engine.Experiment) -> tuple:
    """What a real network's compiled functions are specialised to: its structure and
    the shapes of its data's splits (a ``Structure`` leaves the number of rows out: a
    padded network counts them, a real one compiles per shape). Another number of
    points or training share is another key, so it trains padded, compiling nothing."""
    a = exp.dataset.arrays
    return exp.structure, tuple(x.shape for x in (a.x_train, a.x_val, a.x_test))


def planned(exp: engine.Experiment, padded: bool | str, plan: Plan | None
            ) -> engine.Experiment:
    """``exp`` padded as the page says (``padded``), except where ``plan`` says it
    trains natively: its real network is in ``plan.native``, or its padded network is
    not in ``plan.padded``."""
    if exp.padded != padded:  # (an experiment of the other kind, kept for its data)
        exp = dataclasses.replace(exp, padded=padded)
    if plan is not None and (native_key(exp) in plan.native or (
            plan.padded is not None and exp.padded_structure not in plan.padded)):
        exp = dataclasses.replace(exp, padded=False)
    return exp
