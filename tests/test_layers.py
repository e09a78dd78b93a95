"""Two layers (issue 32): `helpers` is what notebooks import and learners read, `machinery` serves them.

These guards keep the split: `helpers` never imports `machinery`; neither package has an import cycle; no module,
tool or benchmark imports another module's private (`_name`) names; importing a module changes no environment
variable; every public name is used outside its module; no module of `machinery` is over 400 lines. Each guard is
also shown to fail on a made-up violation.
"""
from __future__ import annotations

import ast
import json
import os
import re
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
    assert private_imports(fake, "from helpers.datasets import REGISTRY, _check_hash\n") == ["helpers.datasets._check_hash"]
    assert private_imports(ROOT / "helpers" / "fake.py", "from .config import _made, data_dir\n") == ["helpers.config._made"]
    assert private_imports(fake, "from os import _exit\nfrom __future__ import annotations\n") == []


# a small environment: variables that this test process (or its pytest worker) set by importing libraries are absent
CLEAN = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "COURSE_DATA_DIR", "COURSE_CACHE_DIR") if k in os.environ}
# imports the modules one after the other and prints what each import changed: the first module that sets a variable
# is the one named (one process for all of them: a process per module cost a minute of CI)
ENVIRONMENT_AFTER_IMPORT = """
import importlib, json, os, sys
changed = {}
for module in sys.argv[1:]:
    before = dict(os.environ)
    importlib.import_module(module)
    after = dict(os.environ)
    changed[module] = {k: [before.get(k), after.get(k)] for k in set(before) | set(after) if before.get(k) != after.get(k)}
print(json.dumps(changed))
"""
MODULES = [module_name(p) for p in package_files(*PACKAGES)]


def environment_changes(modules: list[str]) -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-c", ENVIRONMENT_AFTER_IMPORT, *modules], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env=CLEAN)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def changes() -> dict[str, dict]:
    return environment_changes(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_module_changes_no_environment_variable(module, changes):
    assert changes[module] == {}


def test_the_environment_check_sees_a_change():
    assert "KMP_INIT_AT_FORK" in environment_changes(["json", "joblib"])["joblib"]  # joblib sets it on import


def unused_public_names(sources: dict[str, str], module: str) -> list[str]:
    """The names in ``module``'s ``__all__`` that no other source names; classes and ``main`` are exempt (the types of
    results and errors, and the command line, are used through their module)."""
    tree = ast.parse(sources[module])
    public = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                   and any(getattr(t, "id", "") == "__all__" for t in n.targets)), [])
    exempt = {n.name for n in tree.body if isinstance(n, ast.ClassDef)} | {"main"}
    others = "\n".join(text for name, text in sources.items() if name != module)
    return [n for n in public if n not in exempt and not re.search(rf"\b{re.escape(n)}\b", others)]


def test_every_public_name_is_used_outside_its_module():
    """No public dead weight (issue 32): a name either package exports is used by another module of either package, a
    tool, a benchmark or a notebook (its code or its text); what only the tests use is private."""
    import nbformat

    sources = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
               for p in package_files(*PACKAGES, "tools", "benchmarks")}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        sources[path.name] = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    unused = {m: names for m in sources if m.startswith(tuple(f"{p}/" for p in PACKAGES))
              and (names := unused_public_names(sources, m))}
    assert not unused, f"public, but used only inside their module (and the tests): {unused}"
    fake = {"helpers/a.py": '__all__ = ["used", "dead", "Kind"]\nclass Kind: pass', "tools/b.py": "a.used()"}
    assert unused_public_names(fake, "helpers/a.py") == ["dead"]


def test_no_module_of_the_machinery_is_over_400_lines():
    """Issue 32: the machinery grows by modules with one job each, not by one module doing several."""
    long = {p.name: n for p in package_files("machinery") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"machinery modules over 400 lines: {long}"
