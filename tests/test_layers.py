"""Two layers (issue 32): `helpers` is what notebooks import and learners read, `machinery` serves them.

These guards keep the split: `helpers` never imports `machinery`; neither package has an import cycle; no module,
tool or benchmark imports another module's private (`_name`) names; importing a module changes no environment
variable. Each guard is also shown to fail on a made-up violation.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "machinery")


def module_name(path: Path) -> str:
    return f"{path.parent.name}.{path.stem}" if path.stem != "__init__" else path.parent.name


def imports(path: Path, source: str | None = None) -> list[tuple[str, list[str]]]:
    """Every import of a file, at any depth (function-level ones too): (absolute module, imported names)."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = path.parent.name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y, from . import y
                base = f"{package}.{base}" if base else package
            names = [alias.name for alias in node.names]
            if not node.module:  # from . import x: x is a module
                found += [(f"{base}.{n}", []) for n in names]
            else:
                found.append((base, names))
    return found


def graph(paths: list[Path]) -> dict[str, set[str]]:
    known = {module_name(p) for p in paths}
    return {module_name(p): {m for m, _ in imports(p) if m in known and m != module_name(p)} for p in paths}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, first = last), or None."""
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, stack + [nxt])):
                return found
        state[node] = 2
        return None

    return next((c for n in sorted(edges) if n not in state and (c := visit(n, [n]))), None)


def package_files(*names: str) -> list[Path]:
    return [p for name in names for p in sorted((ROOT / name).glob("*.py"))]


def test_helpers_never_imports_machinery():
    bad = [(p.name, m) for p in package_files("helpers") for m, _ in imports(p) if m.split(".")[0] == "machinery"]
    assert not bad, f"helpers imports the machinery: {bad}"


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    assert cycle(graph(package_files(package))) is None


def test_the_cycle_check_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def private_imports(path: Path, source: str | None = None) -> list[str]:
    """``_names`` that a file imports from another module of the course."""
    return [f"{m}.{n}" for m, names in imports(path, source) if m.split(".")[0] in PACKAGES
            for n in names if n.startswith("_") and not n.startswith("__")]


def test_no_private_name_is_imported_across_modules():
    files = package_files(*PACKAGES, "tools", "benchmarks")
    bad = {p.relative_to(ROOT).as_posix(): found for p in files if (found := private_imports(p))}
    assert not bad, f"private names imported from another module: {bad}"


def test_the_private_import_check_finds_one():
    fake = ROOT / "tools" / "fake.py"
    assert private_imports(fake, "from helpers.datasets import REGISTRY, _verify\n") == ["helpers.datasets._verify"]
    assert private_imports(ROOT / "helpers" / "fake.py", "from .config import _made, data_dir\n") == ["helpers.config._made"]
    assert private_imports(fake, "from os import _exit\nfrom __future__ import annotations\n") == []


# a small environment: variables that this test process (or its pytest worker) set by importing libraries are absent
CLEAN = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "COURSE_DATA_DIR", "COURSE_CACHE_DIR") if k in os.environ}
ENVIRONMENT_AFTER_IMPORT = """
import importlib, json, os, sys
before = dict(os.environ)
importlib.import_module(sys.argv[1])
after = dict(os.environ)
print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after) if before.get(k) != after.get(k)}))
"""


@pytest.mark.parametrize("module", [module_name(p) for p in package_files(*PACKAGES)])
def test_importing_a_module_changes_no_environment_variable(module):
    done = subprocess.run([sys.executable, "-c", ENVIRONMENT_AFTER_IMPORT, module], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env=CLEAN)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}


def test_the_environment_check_sees_a_change():
    done = subprocess.run([sys.executable, "-c", ENVIRONMENT_AFTER_IMPORT, "joblib"], capture_output=True, text=True,
                          timeout=300, env=CLEAN)
    assert "KMP_INIT_AT_FORK" in json.loads(done.stdout.strip().splitlines()[-1])  # joblib sets it on import
