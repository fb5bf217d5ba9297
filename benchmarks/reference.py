"""Figures from a reference script (PyTorch) run in another interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def reference_figures(script: str, args: list[str], python: str | None) -> dict | None:
    """The JSON that ``benchmarks/{script}`` prints last, run by ``python`` (default:
    this interpreter) with ``args``; None when it cannot run (e.g. no torch there)."""
    cmd = [python or sys.executable, str(HERE / script), *args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])
