"""Compile each live page's default network once, in the background, at server start.

A visitor's first frame otherwise waits for XLA (seconds on a small CPU). The server
compiles every live page's default, with the very probes and history capacity its
frames use, in one background thread started by the first script run; then the
defaults of pages with an engine of their own (Reinforcement learning's DQN,
``others_of_the_app``). A visitor who
arrives meanwhile waits for that page's compilation (with a note saying so) rather than
compiling it a second time beside it.

Off with ``NN_PLAYGROUND_WARMUP=off`` (the tests' servers, where each test module
starts its own).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING

import engine
from playground.core import limits
from playground.core.plan import Plan, native_key, planned

if TYPE_CHECKING:
    from playground.core.livepage import LivePage

ENV = "NN_PLAYGROUND_WARMUP"
WAIT_SECONDS = 120.0  # longest a visitor waits for the warm-up before compiling alone

_lock = threading.Lock()
_started = False
_pending: dict[Hashable, threading.Event] = {}  # engine.Structure, or another's
_done = {"pages": 0, "of": 0}
log = logging.getLogger(__name__)


def enabled() -> bool:
    return os.environ.get(ENV, "").lower() != "off"


def frame_probes(page: LivePage, exp: engine.Experiment) -> engine.ProbeOptions:
    """The probes a page's frames train with (``livepage.trainer``, ``session.train_frame``)."""
    return limits.fit_probes(exp, page.probes)


def warm(page: LivePage, spec: engine.Spec | None = None, padded: bool = False
         ) -> engine.Experiment:
    """Compile ``page``'s default (or ``spec``) as its first frame and Play will use it:
    a frame of 0 and one of 1 (networks trained step by step compile their step only
    then), and the evaluations frames show. The network is the one the page trains
    (``plan``: the default's own), or with ``padded`` the page's padded one."""
    exp = engine.build(spec or page.default, padded=page.padded)
    if not padded:
        exp = planned(exp, page.padded, plan(page))
    if page.warm is not None:  # a trainer of its own (the Optimizer race's sweep)
        page.warm()
        exp.metrics(exp.init())
        return exp
    if padded and exp.padded_structure is not None:
        with _compiling(network_key(page, exp)):
            return _compile(page, exp)
    return _compile(page, exp)


def _compile(page: LivePage, exp: engine.Experiment) -> engine.Experiment:
    train = exp.train_steps if page.by_steps else exp.train
    probes = frame_probes(page, exp)
    state, _ = train(exp.init(), 0, probes)
    train(state, 1, probes)
    # what the frames read besides: the metrics before any epoch, the confusion
    # matrix (Playground) and the test report (Images)
    exp.metrics(state)
    if exp.dataset.image is not None:
        exp.test_report(state)
    elif exp.dataset.sequence is None:
        exp.confusion_matrix(state)
    return exp


@contextlib.contextmanager
def _compiling(key: Hashable) -> Iterator[None]:
    """Mark ``key`` as compiling in the warm-up while the block runs: a visitor whose
    edit needs that very network meanwhile waits for it (``waiting_for``) instead of
    compiling it a second time beside it, on the same cores. Only while it runs: a
    network still queued behind other pages' would keep a visitor waiting longer than
    compiling it alone (Gradient flow's padded networks come minutes into the warm-up)."""
    event = threading.Event()
    with _lock:
        _pending[key] = event
    try:
        yield
    finally:
        event.set()


def network_key(page: LivePage, exp: engine.Experiment) -> Hashable:
    """What the warm-up knows ``exp``'s network by (``waiting_for``): its padded
    network's structure when it trains padded, else its own (``page_key``)."""
    return page_key(page, exp.padded_structure or exp.structure)


def plan(page: LivePage) -> Plan | None:
    """Which networks of ``page`` train padded and which natively (``plan.Plan``), when
    the page names a padded profile; None for pages that train unpadded.

    The default's own network trains natively (the warm-up compiles it first; a padded
    epoch costs several times a real one). With a deep profile (a padded network of
    about 20 s to compile), only the padded networks the warm-up compiles (the
    default's and the variants one edit away, ``Experiment.padded_variants``) train
    padded; the Playground's padded networks compile in seconds, so there any small
    MLP does. The plan depends on the code alone, never on what has compiled so far,
    so a spec trains the same way on every server."""
    if not page.padded:
        return None
    return _plan(page.default, page.padded)


@functools.cache
def _plan(default: engine.Spec, padded: bool | str) -> Plan:
    exp = engine.build(default, padded=padded)
    native = frozenset({native_key(exp)})
    if not isinstance(padded, str):
        return Plan(None, native)
    specs = [default, *exp.padded_variants()]
    return Plan(frozenset(s for s in (engine.build(x, padded=padded).padded_structure
                                      for x in specs) if s is not None), native)


def warm_inits(page: LivePage) -> None:
    """Draw every network's first weights of a padded page once (seconds of small
    compiles; ``Experiment.warm_inits``), then compile its padded network for the
    other batch sizes, for more than 512 points and for its other widths
    (``Experiment.padded_variants``), so that no batch size from TensorFlow
    Playground's range, no number of points up to 2,048 at the default batch size and
    no width of Gradient flow's stacks compiles for a visitor. The default's padded
    network comes first: a visitor's first edit trains in it."""
    exp = engine.build(page.default, padded=page.padded)
    exp.warm_inits()
    for spec in (page.default, *exp.padded_variants()):
        warm(page, spec, padded=True)


MENU_OPTIMIZERS = ("adam", "momentum", "rmsprop")
"""The optimizers the warm-up compiles a menu away from the Playground's default: each
padded network holds one optimizer family (``engine.blocks.optimizers.FAMILIES``):
Adam's holds AdamW, momentum's Nesterov, RMSprop's Adagrad, so after the warm-up every
optimizer of the menu is a change of values. Adam's and momentum's, a class's likeliest
picks after SGD, compile first. Each compiled padded
network keeps about 65 MB of the server's memory (measured after ``malloc_trim``;
2-core machine). The weight penalty and the learning-rate schedule are traced: any pick
of those compiles nothing."""


def menu_variants(spec: engine.Spec) -> list[engine.Spec]:
    """``spec`` with each optimizer of ``MENU_OPTIMIZERS`` it does not have: one menu
    away, and each its own network (``engine.Structure`` names it)."""
    return [spec.updated(optimizer={"name": name}) for name in MENU_OPTIMIZERS
            if name != spec.optimizer.name]


def warm_menus(page: LivePage) -> None:
    """Compile ``page``'s padded network for ``menu_variants`` of its default: a teacher
    who switched to Adam in class waited 6-7 s for it (2-core machine); after this, it
    compiles nothing. Last in the warm-up (about 7 s of wall time each there), and only
    for a profile that compiles in seconds (the Playground's)."""
    for spec in menu_variants(page.default):
        try:  # one failing leaves the others to compile
            warm(page, spec, padded=True)
        except Exception:
            log.exception("warm-up of %s's %s failed", page.prefix, spec.optimizer.name)


def start(pages: Sequence[LivePage],
          others: Sequence[tuple[Hashable, Callable[[], object]]] = ()) -> bool:
    """Warm ``pages`` up in a background thread, once per process; False if already
    started (or off). ``others``: ``(key, compile)`` of pages that are no ``LivePage``,
    warmed after the live pages' defaults; ``waiting_for(key)`` tells their visitors."""
    global _started
    with _lock:
        if _started or not enabled():
            return False
        _started = True
        todo = []
        for page in pages:
            try:
                structure = engine.build(page.default, padded=page.padded).structure
            except Exception:  # a broken default is the page's own error to show
                log.exception("warm-up of %s skipped", page.prefix)
                continue
            structure = page_key(page, structure)
            if structure not in _pending:
                _pending[structure] = threading.Event()
                todo.append((page, structure))
        others = [(k, fn) for k, fn in others if k not in _pending]
        for k, _ in others:
            _pending[k] = threading.Event()
        _done.update(pages=0, of=len(todo) + len(others))

    def work() -> None:
        for page, structure in todo:
            _run(functools.partial(warm, page), structure, page.prefix)
            if page.padded is True:  # its padded network compiles in seconds: a first
                try:  # edit then finds it ready (Gradient flow's waits: about 20 s)
                    warm(page, page.default, padded=True)
                except Exception:
                    log.exception("warm-up of %s's padded network failed", page.prefix)
        for k, fn in others:
            _run(fn, k, getattr(fn, "__module__", "a page"))
        for page, _ in todo:  # then every small network's first draw of weights
            if page.padded:
                try:
                    warm_inits(page)
                except Exception:
                    log.exception("warm-up of %s's initialisers failed", page.prefix)
        for page, _ in todo:  # last, what is a menu away
            if page.padded is True:
                warm_menus(page)
        settle()

    threading.Thread(target=work, name="nn-playground-warmup", daemon=True).start()
    return True


def _run(compile_: Callable[[], object], key: Hashable, name: str) -> None:
    """Run one page's warm-up; its visitors stop waiting when it ends, however."""
    try:
        compile_()
    except Exception:  # never the visitor's problem: their page compiles alone
        log.exception("warm-up of %s failed", name)
    finally:  # counted first: a visitor it wakes reads the count
        _done["pages"] += 1
        _pending[key].set()


def settle() -> None:
    """Move what the server holds for good (modules, compiled networks, datasets) out
    of the garbage collector's sight: a full collection then walks only what sessions
    made since. Streamlit's collection after every run is off
    (``.streamlit/config.toml``): with the engine loaded it held the interpreter for
    most of a second per click, stalling every session's frames."""
    gc.collect()
    gc.freeze()


def page_key(page: LivePage, structure: engine.Structure) -> Hashable:
    """What the warm-up of ``page``'s network ``structure`` is known by: the structure,
    shared by pages that train it alike; with a trainer of the page's own
    (``LivePage.warm``: the Optimizer race's sweep of the Playground's default) the
    page's too, so that it is not taken for the other page's."""
    return (page.prefix, structure) if page.warm is not None else structure


def waiting_for(structure: Hashable) -> threading.Event | None:
    """The warm-up's event for ``structure`` (an ``engine.Structure``, or a key of
    ``others``) if it is still compiling, else None."""
    event = _pending.get(structure)
    return None if event is None or event.is_set() else event


def progress() -> str:
    """E.g. "2 of 4 pages ready"."""
    return f"{_done['pages']} of {_done['of']} pages ready"


def pages_of_the_app() -> list[LivePage]:
    """The live pages, Playground first (most visitors open it first)."""
    from playground import flow, images, lab, race, sequences

    return [lab.PAGE, flow.PAGE, sequences.PAGE, images.PAGE, race.PAGE]


def others_of_the_app() -> list[tuple[Hashable, Callable[[], object]]]:
    """The pages with an engine of their own, as ``start``'s ``others``: Reinforcement
    learning (its default DQN's first frame and Play)."""
    from playground import rl_warm

    return [(rl_warm.warm_key(), rl_warm.warm_default)]


def start_app() -> bool:
    """``start`` the app's own pages: the live pages, then the others (the server's
    start, ``playground.serve``, and the first script run, ``streamlit_app``)."""
    return start(pages_of_the_app(), others_of_the_app())
