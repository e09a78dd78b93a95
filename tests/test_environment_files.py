"""requirements.txt and environment.yml list the same packages with the same version ranges,
and every third-party module the course imports is listed."""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# import name -> distribution name where they differ
IMPORT_TO_DIST = {"sklearn": "scikit-learn", "soundfile": "soundfile", "yaml": "pyyaml", "IPython": "ipykernel",
                  "keras": "tensorflow", "tensorflow": "tensorflow", "noisereduce": "noisereduce", "PIL": "pillow"}
CONDA_NAMES = {"soundfile": "pysoundfile", "tensorflow-cpu": "tensorflow"}
# pytest's internals, and the optional `scale` extra (pyproject.toml) that notebook 10 and make install
TRANSITIVE = {"_pytest", "dask", "distributed", "pyarrow"}


def _requirements() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        req, _, marker = line.partition(";")
        m = re.match(r"([A-Za-z0-9_.-]+)(.*)", req.strip())
        name, spec = m.group(1).lower(), m.group(2).replace(" ", "")
        out[CONDA_NAMES.get(name, name)] = spec
    return out


def _environment() -> dict[str, str]:
    out = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s*-\s+([A-Za-z][A-Za-z0-9_.-]*)([<>=!,.0-9]*)\s*(#.*)?$", line)
        if m and m.group(1) not in {"python", "pip", "conda-forge"}:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_same_packages_and_ranges():
    req, env = _requirements(), _environment()
    assert set(req) == set(env)
    for name, spec in req.items():
        assert env[name] == spec, f"{name}: requirements.txt says {spec!r}, environment.yml {env[name]!r}"


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_everything_imported_is_listed():
    sources = [p.read_text() for p in (ROOT / "helpers").glob("*.py")]
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                text = "".join(cell["source"])
                sources.append("\n".join(l for l in text.splitlines() if not l.lstrip().startswith(("!", "%"))))
    imported = set().union(*(_imports(s) for s in sources))
    third_party = {n for n in imported if n not in sys.stdlib_module_names and n not in {"helpers", "__future__"}}
    listed = {CONDA_NAMES.get(n, n) for n in _requirements()} | {"tensorflow", "pysoundfile"}
    missing = sorted(
        n for n in third_party - TRANSITIVE
        if CONDA_NAMES.get(IMPORT_TO_DIST.get(n, n).lower(), IMPORT_TO_DIST.get(n, n).lower()) not in listed
    )
    assert not missing, f"imported but not in requirements.txt/environment.yml: {missing}"


def test_makefile_makes_a_relative_data_dir_absolute():
    """Notebook kernels start in notebooks/, so make must pass them an absolute data directory."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "COURSE_DATA_DIR": "../shared/data"}
    show = "show: ; @echo $$COURSE_DATA_DIR"
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "--eval", show, "show"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str((ROOT / "../shared/data").resolve()) or out == os.path.abspath(ROOT / "../shared/data")
