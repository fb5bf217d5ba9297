"""Which networks of a page train padded (``engine.train.padded``).

A page names a padded profile (``LivePage.padded``). The Playground's small MLPs all
train padded: their padded network compiles in seconds. Gradient flow's 30-layer
padded network takes about 21 s to compile, so only the networks the warm-up compiles
(its plan: ``warmup.plan``) train padded there; another optimizer, loss or dataset
trains its own network, compiled in a few seconds, as before.
"""

from __future__ import annotations

import dataclasses

import engine


def planned(exp: engine.Experiment, padded: bool | str,
            plan: frozenset[engine.Structure] | None) -> engine.Experiment:
    """``exp`` padded as the page says (``padded``), except where its padded network is
    not in the page's ``plan`` (None: any): then it trains its own. The plan depends on
    the code alone, never on what has compiled so far, so a spec trains the same way
    on every server."""
    if exp.padded != padded:  # (an experiment of the other kind, kept for its data)
        exp = dataclasses.replace(exp, padded=padded)
    if plan is not None and exp.padded_structure not in plan:
        exp = dataclasses.replace(exp, padded=False)
    return exp
