"""Settings for every test process."""

import os

import pytest

# AppTest runs streamlit_app.py with a (mock) runtime: the server's warm-up must not
# start compiling in a test process (tests of the warm-up turn it back on).
os.environ.setdefault("NN_PLAYGROUND_WARMUP", "off")
# Nor may a test process change XLA's flags for the tests after it (playground/core/
# xla_flags.py); the test of the flags runs them in a child process.
os.environ.setdefault("NN_PLAYGROUND_XLA_FLAGS", "off")



def pytest_collection_modifyitems(items):
    """A test marked ``compile_count`` gets one rerun if it fails, and must use values
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
    for item in items:
        if item.get_closest_marker("compile_count"):
            item.add_marker(pytest.mark.flaky(reruns=1))


@pytest.fixture
def attempt(request) -> int:
    """1 on a test's first run, 2 on its rerun (``compile_count``)."""
    return getattr(request.node, "execution_count", 1)
