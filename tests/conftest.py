"""Settings for every test process."""

import os

# AppTest runs streamlit_app.py with a (mock) runtime: the server's warm-up must not
# start compiling in a test process (tests of the warm-up turn it back on).
os.environ.setdefault("NN_PLAYGROUND_WARMUP", "off")
# Nor may a test process change XLA's flags for the tests after it (playground/core/
# xla_flags.py); the test of the flags runs them in a child process.
os.environ.setdefault("NN_PLAYGROUND_XLA_FLAGS", "off")
