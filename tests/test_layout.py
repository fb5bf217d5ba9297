"""The house rules, read from the source tree: who may import whom, and sizes.

The arrows run one way: ``pages -> playground -> engine``, and inside the engine
upward only (ground floor < blocks, data < spec < model < probes < train <
experiment < cli). Nothing in ``engine`` knows Streamlit exists; nothing in ``pages``
does math; ``playground`` reaches the engine through its public surface.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "playground", "pages", "benchmarks")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    files["streamlit_app"] = ROOT / "streamlit_app.py"
    return files


SOURCES = _sources()


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Modules ``path`` imports (``from a.b import c`` gives ``a.b.c`` when that is a
    module of ours, else ``a.b``). ``top_level_only``: skip imports inside functions
    (deferred imports do not run at import time, so they cannot make a cycle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in SOURCES else node.module)
    return out


def _ours(name: str) -> bool:
    return name.split(".")[0] in (*PACKAGES, "streamlit_app")


# The engine's floors, bottom up: a module may import its own floor and the ones below.
FLOORS = {
    "engine.errors": 0, "engine.registry": 0, "engine.schema": 0, "engine.untrusted": 0,
    "engine.blocks": 1, "engine.data": 1,
    "engine.spec": 2, "engine.presets": 2, "engine.presets_text": 2, "engine.sweep_presets": 2,
    "engine.teach": 2,
    "engine.search": 2, "engine.tfp": 2, "engine.lessons": 2,
    "engine.lesson_pages": 2,
    "engine.values": 3, "engine.model": 3, "engine.cost": 3,
    "engine.probes": 4,
    "engine.train": 5, "engine.rl": 5, "engine.text": 5,
    "engine.experiment": 6, "engine.sweep": 6,
    "engine.io": 7, "engine.hyper": 7,
    "engine.cli": 8, "engine.__main__": 8,
    "engine": 9,
}


def _floor(module: str) -> int:
    for prefix in sorted(FLOORS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return FLOORS[prefix]
    raise AssertionError(f"{module} has no floor in FLOORS: add it")


# What the app may import of the engine besides ``engine`` itself: the presets, the
# building blocks (the Sequences page shows their source), the explorers' maths, the
# option checks that choose a widget, the data limits, files and bounded parsing.
APP_SURFACE = ("engine", "engine.presets", "engine.sweep_presets", "engine.blocks",
               "engine.teach", "engine.schema", "engine.data", "engine.io", "engine.untrusted",
               "engine.search", "engine.sweep", "engine.hyper", "engine.tfp",
               "engine.lessons", "engine.rl", "engine.text")


def test_every_engine_module_has_a_floor_and_imports_only_down() -> None:
    wrong = []
    for name, path in SOURCES.items():
        if not name.startswith("engine"):
            continue
        for target in _imports(path):
            if target.startswith("engine") and _floor(target) > _floor(name):
                wrong.append(f"{name} (floor {_floor(name)}) imports {target} "
                             f"(floor {_floor(target)})")
    assert not wrong, "\n".join(wrong)


def test_the_engine_never_imports_a_ui_library_or_the_benchmarks() -> None:
    allowed = {("engine.cli", "benchmarks.engine_bench")}  # `python -m engine bench` forwards
    wrong = [(name, target) for name, path in SOURCES.items() if name.startswith("engine")
             for target in _imports(path)
             if target.split(".")[0] in ("streamlit", "plotly", "altair", "benchmarks",
                                         "playground")
             and (name, target) not in allowed]
    assert not wrong


def test_pages_do_no_math() -> None:
    wrong = [(name, target) for name, path in SOURCES.items() if name.startswith("pages")
             for target in _imports(path) if target.split(".")[0] in ("jax", "optax", "numpy")]
    assert not wrong


def test_the_app_uses_the_engines_public_surface() -> None:
    wrong = []
    for name, path in SOURCES.items():
        if not name.startswith(("playground", "pages", "streamlit_app")):
            continue
        for target in _imports(path):
            if target.startswith("engine") and not any(
                    target == s or (target.startswith(s + ".") and s != "engine")
                    for s in APP_SURFACE):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_circle() -> None:
    graph = {name: {t for t in _imports(path, top_level_only=True) if _ours(t) and t != name}
             for name, path in SOURCES.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            # A package's own __init__ importing its submodules is how packages work.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt] if nxt in path else [node, nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if state.get(nxt) is None:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node, [node])


@pytest.mark.parametrize("path", sorted(p for n, p in SOURCES.items()
                                        if n.startswith(("engine", "playground", "pages"))),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_source_file_is_over_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_no_engine_function_is_over_80_lines() -> None:
    long = []
    for name, path in SOURCES.items():
        if not name.startswith("engine"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long.append(f"{name}.{node.name}: {length} lines")
    assert not long, long


def test_every_package_says_what_it_holds() -> None:
    for name, path in SOURCES.items():
        if path.name == "__init__.py" and name.split(".")[0] in ("engine", "playground"):
            assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), name
