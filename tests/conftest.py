"""Settings for every test process."""

import os

# AppTest runs streamlit_app.py with a (mock) runtime: the server's warm-up must not
# start compiling in a test process (tests of the warm-up turn it back on).
os.environ.setdefault("NN_PLAYGROUND_WARMUP", "off")
# Nor may a test process change XLA's flags for the tests after it (playground/core/
# xla_flags.py); the test of the flags runs them in a child process.
os.environ.setdefault("NN_PLAYGROUND_XLA_FLAGS", "off")


def pytest_collection_modifyitems(items):
    """A test marked ``compile_count`` gets one rerun if it fails.

    Such a test asserts that a value change compiles nothing, counting every compilation
    in its thread, small eager kernels included. In a full run the test process has
    already run about a thousand other tests, and in two recent runs a test here
    counted small kernels it had just used (`jax.random`'s, once 15 of them) compiling
    again: JAX's process-wide caches had dropped them, which the same test alone never
    shows. A real recompilation compiles on every try, so it still fails the rerun.
    """
    import pytest

    for item in items:
        if item.get_closest_marker("compile_count"):
            item.add_marker(pytest.mark.flaky(reruns=1))
