"""Which changes of a page's setup start training over, and what the user is told.

A new network, data, seed, initializer, optimizer, learning-rate schedule or batch
size starts over from the seed's weights, paused (TensorFlow Playground restarts on
every menu of its own). A new weight penalty or gradient clipping picked in the
page's own menus does not: like a new rate, it changes how the next steps go, and
the weights and the optimizer's state fit it as they are, so a class can switch L1
on in a trained network and watch its weights thin (a teacher's review found each
restart silent, mid-lesson). A setup that arrives whole (a link, a lesson's next
step, a preset, Back) starts over whatever changed: it describes an experiment from
its first step. Hand-placed points coming and going keep training too.
"""

from __future__ import annotations

import dataclasses

import engine
from engine import Spec

OPTIMIZER_NOTE = ("Training starts over from the first weights: a new optimizer begins with "
                  "its own empty state (momentum's velocity, Adam's moving averages). "
                  "Press Play to train.")
SCHEDULE_NOTE = ("Training starts over from the first weights: a learning-rate schedule "
                 "counts from the first step. Press Play to train.")


def points_moved(old: Spec, new: Spec) -> bool:
    """Only hand-placed points changed (``data.points``): as points are added the
    network keeps training on the new set."""
    return (old.data.points is not None and new.data.points is not None
            and dataclasses.replace(old.data, points=new.data.points) == new.data)


def _same_start(old: engine.Experiment, new: engine.Experiment) -> bool:
    """The same data, seed and initializer (the first weights and what they learn from)."""
    return (old.spec.data == new.spec.data and old.spec.seed == new.spec.seed
            and old.spec.model.init == new.spec.model.init and old.dataset is new.dataset)


def needed(old: engine.Experiment | None, new: engine.Experiment, edit: bool = False) -> bool:
    """Whether going from ``old`` to ``new`` starts training over (see the module):
    ``edit`` is True for a change made in the page's menus, False for a whole setup."""
    if old is None:
        return True
    if old.structure == new.structure and points_moved(old.spec, new.spec):
        return False
    if not edit:
        return old.spec != new.spec or not _same_start(old, new)
    kept = dataclasses.replace(old.structure, regularization=new.structure.regularization,
                               clip=new.structure.clip)
    return kept != new.structure or not _same_start(old, new)


def note(old: engine.Experiment | None, new: engine.Experiment, trained: bool) -> str | None:
    """Why a trained network (``trained``) started over, where the change alone does not
    make it plain: a new optimizer or schedule of the same network and data; else None."""
    if old is None or not trained or old.structure.net != new.structure.net or not (
            _same_start(old, new)):
        return None
    if old.structure.optimizer != new.structure.optimizer:
        return OPTIMIZER_NOTE
    if old.structure.schedule != new.structure.schedule:
        return SCHEDULE_NOTE
    return None
