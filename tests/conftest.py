"""Settings for every test process."""

import os
from pathlib import Path

import pytest

from playground.core import compile_cache

# AppTest runs streamlit_app.py with a (mock) runtime: the server's warm-up must not
# start compiling in a test process (tests of the warm-up turn it back on).
os.environ.setdefault("NN_PLAYGROUND_WARMUP", "off")
# Nor may a test process change XLA's flags for the tests after it (playground/core/
# xla_flags.py); the test of the flags runs them in a child process.
os.environ.setdefault("NN_PLAYGROUND_XLA_FLAGS", "off")
# One persistent compilation cache for a run's test processes and the app servers the
# end-to-end tests start (they inherit the variable): hundreds of tests build the same
# small networks in new jitted closures, which JAX's in-memory caches cannot share
# across tests or processes. A hit still counts as a compile for ``count_compiles``
# (JAX reports it as one), so the tests of "compiles nothing" keep their meaning.
os.environ.setdefault(
    "NN_PLAYGROUND_COMPILE_CACHE",
    str(Path.home() / ".cache" / "nn_playground" / "xla-tests"))
compile_cache.enable()


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true",
                     help="also run the tests marked long (left out of the default run)")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``long`` are deselected unless ``--long`` is given (the summary
    counts them as deselected); see the README for what they are.

    A test marked ``compile_count`` gets one rerun if it fails, and must use values
    on its rerun that it has not used before (the ``attempt`` fixture).

    Such a test asserts that new values compile nothing, counting every compilation in
    its thread, small eager kernels included. In a full run the test process has run
    about a thousand other tests first, and twice in recent runs such a test counted
    kernels it had just used (`jax.random`'s, once 15 of them) compiling again: JAX's
    process-wide caches had dropped them, which the test alone never shows. Run again
    with the same values, a test would find everything cached by its first try and
    pass whatever the code does; with values it has not tried, a real recompilation
    compiles again and fails the rerun too.
    """
    if not config.getoption("long"):
        long = [item for item in items if item.get_closest_marker("long")]
        if long:
            config.hook.pytest_deselected(items=long)
            items[:] = [item for item in items if not item.get_closest_marker("long")]
    for item in items:
        if item.get_closest_marker("compile_count"):
            item.add_marker(pytest.mark.flaky(reruns=1))


@pytest.fixture
def attempt(request) -> int:
    """1 on a test's first run, 2 on its rerun (``compile_count``)."""
    return getattr(request.node, "execution_count", 1)
