"""The engine is headless: it never imports a UI library, and its public names exist."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[2]
ENGINE_FILES = sorted((ROOT / "engine").rglob("*.py"))
UI_LIBRARIES = {"streamlit", "plotly", "altair"}

_PROBE = """
import json, pkgutil, sys
import engine
after_import = sorted(m for m in sys.modules if m.split(".")[0] in {ui})
for info in pkgutil.walk_packages(engine.__path__, "engine."):
    if info.name != "engine.__main__":
        __import__(info.name)
after_all = sorted(m for m in sys.modules if m.split(".")[0] in {ui})
print(json.dumps({{"after_import": after_import, "after_all": after_all,
                  "engine_loaded": "engine.spec" in sys.modules}}))
"""


def test_import_engine_loads_no_ui_library() -> None:
    code = _PROBE.format(ui=sorted(UI_LIBRARIES))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["engine_loaded"]
    assert result["after_import"] == [], "import engine pulled in a UI library"
    assert result["after_all"] == [], "an engine submodule pulled in a UI library"


def _imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if fname in ("import_module", "__import__") and node.args and \
                    isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
    return names


def test_engine_has_python_files() -> None:
    assert len(ENGINE_FILES) >= 10
    assert ROOT / "engine" / "__init__.py" in ENGINE_FILES


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: p.name)
def test_engine_file_imports_no_ui_library(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [m for m in _imported_modules(tree) if m.split(".")[0] in UI_LIBRARIES]
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def test_ast_scan_finds_ui_imports() -> None:
    # The scanner itself works (so an empty result above means something).
    code = ("import streamlit as st\nfrom plotly import graph_objects\n"
            "import importlib\nimportlib.import_module('altair')\n")
    found = {m.split(".")[0] for m in _imported_modules(ast.parse(code))}
    assert found >= UI_LIBRARIES


def test_engine_all_names_exist() -> None:
    assert len(engine.__all__) == len(set(engine.__all__)), "duplicate names in __all__"
    missing = [name for name in engine.__all__ if not hasattr(engine, name)]
    assert missing == []
    for name in ("Spec", "SpecError", "DataError", "build", "run", "ACTIVATIONS", "LOSSES",
                 "OPTIMIZERS", "SCHEDULES", "INITIALIZERS", "LAYERS", "DATASETS", "FEATURES"):
        assert name in engine.__all__, name


def test_star_import_gives_all_names() -> None:
    namespace: dict = {}
    exec("from engine import *", namespace)
    assert set(engine.__all__) <= set(namespace)
