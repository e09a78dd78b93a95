"""pyproject.toml is the one list of dependencies; everything else follows it.

- ``requirements.txt`` and the Makefile install the course from pyproject.toml with the extras
  ``tf,scale,test`` (``make venv GPU=1``: ``gpu,scale,test``).
- ``environment.yml`` lists the same packages with the same version ranges, under conda-forge's names.
- Every third-party module the course imports is declared, and what ``import helpers.<module>``
  needs is declared without extras: on Google Colab the notebooks install ``pip install -e .`` only,
  so that Colab's own TensorFlow is never replaced.
- The dependencies resolve on Linux x86_64 and aarch64, macOS arm64 and Windows for every Python
  version in the classifiers, with ``tensorflow-cpu`` exactly on Linux x86_64 (``uv pip compile``,
  which reads the package index; skipped only when uv or the index is out of reach).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# what `make venv`, requirements.txt and environment.yml install
COURSE_EXTRAS = ("tf", "scale", "test")
TENSORFLOWS = {"tensorflow", "tensorflow-cpu"}
# PyPI name -> conda-forge name, where they differ
CONDA_NAMES = {"soundfile": "pysoundfile"}
# top-level import name -> the declared distribution that provides it, where the names differ.
# `name[extra]` means the module comes with that extra of the distribution; Keras 3 comes with TensorFlow.
IMPORT_TO_DIST = {
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "IPython": "ipython",
    "yaml": "pyyaml",
    "_pytest": "pytest",
    "keras": "tensorflow",
    "distributed": "dask[distributed]",
}
# where the course's Python code lives (tools/ are the maintainers' scripts, run from the same environment)
SOURCE_DIRS = ("helpers", "machinery", "tests", "tools")


def _requirements(extras: tuple[str, ...] = ()) -> list[Requirement]:
    """The requirements pyproject.toml declares: its dependencies plus those of ``extras``.

    Parameters
    ----------
    extras : tuple of str
        Names from ``[project.optional-dependencies]``.

    Returns
    -------
    list of packaging.requirements.Requirement
    """
    lines = list(PYPROJECT["dependencies"])
    for extra in extras:
        lines += PYPROJECT["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _keyed(reqs: list[Requirement]) -> dict[tuple[str, str], Requirement]:
    """Requirements by (canonical name, marker): tf lists tensorflow and tensorflow-cpu under different markers."""
    return {(canonicalize_name(r.name), str(r.marker or "")): r for r in reqs}


def _declared_names() -> set[str]:
    """Canonical names of everything pyproject.toml declares (dependencies and every extra), plus ``name[extra]``."""
    names = set()
    for r in _requirements(tuple(PYPROJECT["optional-dependencies"])):
        name = canonicalize_name(r.name)
        names.add(name)
        names |= {f"{name}[{e}]" for e in r.extras}
    if "tensorflow-cpu" in names:  # the same `tensorflow` module, CPU-only build
        names.add("tensorflow")
    return names


# ---------------------------------------------------------------- pyproject.toml itself


def test_tensorflow_is_not_a_base_dependency():
    """`pip install -e .` (what Colab runs) must never bring a TensorFlow that replaces Colab's own."""
    base = {canonicalize_name(r.name) for r in _requirements()}
    assert not base & (TENSORFLOWS | {"keras"}), "TensorFlow belongs in the tf/gpu extras, not in dependencies"


@pytest.mark.parametrize("platform", [
    {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux"},
    {"sys_platform": "linux", "platform_machine": "aarch64", "platform_system": "Linux"},
    {"sys_platform": "darwin", "platform_machine": "arm64", "platform_system": "Darwin"},
    {"sys_platform": "darwin", "platform_machine": "x86_64", "platform_system": "Darwin"},
    {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows"},
], ids=lambda p: f"{p['sys_platform']}-{p['platform_machine']}")
def test_tf_extra_gives_exactly_one_tensorflow(platform):
    """The tf extra's markers pick one TensorFlow on each platform: tensorflow-cpu on Linux x86_64 only."""
    env = {**platform, "extra": ""}
    chosen = [canonicalize_name(r.name) for r in _requirements(("tf",))
              if canonicalize_name(r.name) in TENSORFLOWS and (r.marker is None or r.marker.evaluate(env))]
    linux_x86_64 = platform["sys_platform"] == "linux" and platform["platform_machine"] == "x86_64"
    assert chosen == ["tensorflow-cpu" if linux_x86_64 else "tensorflow"]


def _classifier_pythons() -> list[str]:
    """The ``Programming Language :: Python :: 3.N`` classifiers, as ``["3.11", ...]``."""
    found = (re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c) for c in PYPROJECT["classifiers"])
    return [m.group(1) for m in found if m]


def test_classifiers_and_requires_python_agree():
    pythons = _classifier_pythons()
    requires = SpecifierSet(PYPROJECT["requires-python"])
    assert pythons, "pyproject.toml names no Python 3.N classifier"
    assert all(requires.contains(v) for v in pythons), f"{pythons} outside requires-python {requires}"
    lowest = min(pythons, key=Version)
    below = f"3.{Version(lowest).minor - 1}"
    assert not requires.contains(below), f"requires-python {requires} admits {below}, which no classifier names"
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert requires.contains(running), f"the tests run on Python {running}, outside requires-python {requires}"


# ---------------------------------------------------------------- requirements.txt, Makefile, environment.yml


def test_requirements_txt_installs_the_course_with_its_extras():
    """requirements.txt lists no packages of its own: it installs pyproject.toml with the course extras."""
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    assert len(lines) == 1, f"requirements.txt should hold one line, `-e .[...]`, not {lines}"
    m = re.fullmatch(r"-e\s+\.\[([^\]]*)\]", lines[0])
    assert m, f"requirements.txt should install the repository (`-e .[extras]`), not {lines[0]!r}"
    assert {e.strip() for e in m.group(1).split(",")} == set(COURSE_EXTRAS)


@pytest.mark.parametrize(("gpu", "extras"), [(None, "tf,scale,test"), ("1", "gpu,scale,test")])
def test_make_venv_installs_pyproject_with_the_right_extras(gpu, extras, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    args = ["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", "venv"] + ([f"GPU={gpu}"] if gpu else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.replace("\\\n", " ")
    installs = [" ".join(ln.split()) for ln in out.splitlines() if "pip install" in ln and "--upgrade pip" not in ln]
    bin_ = tmp_path / "venv" / "bin"
    # uv, and pip where uv cannot (issue 31): the same extras either way
    assert installs == [f'{bin_}/uv pip install --quiet --python {bin_}/python -e ".[{extras}]" '
                        f'|| {bin_}/python -m pip install --quiet -e ".[{extras}]"'], \
        f"make -n venv{' GPU=' + gpu if gpu else ''} runs {installs}"


def test_makefile_makes_a_relative_data_dir_absolute():
    """Notebook kernels start in notebooks/, so make must pass them an absolute data directory."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "COURSE_DATA_DIR": "../shared/data"}
    show = "show: ; @echo $$COURSE_DATA_DIR"
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "--eval", show, "show"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str((ROOT / "../shared/data").resolve()) or out == os.path.abspath(ROOT / "../shared/data")


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _environment_requirements() -> tuple[list[Requirement], list[Requirement], list[str]]:
    """environment.yml's conda packages (under their PyPI names), pip requirements, and other pip lines.

    Returns
    -------
    conda : list of Requirement
        conda-forge packages other than python and pip, renamed to their PyPI names.
    pip : list of Requirement
        The requirements in the ``pip:`` section.
    pip_options : list of str
        The ``pip:`` lines that are not requirements (``-e .[...]``).
    """
    from_conda = {conda: pypi for pypi, conda in CONDA_NAMES.items()}
    conda, pip, pip_options = [], [], []
    for dep in _environment()["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if line.startswith("-"):
                    pip_options.append(line)
                else:
                    pip.append(Requirement(line))
            continue
        name = re.match(r"[A-Za-z0-9_.-]+", dep).group(0)
        if name in {"python", "pip"}:
            continue
        req = Requirement(dep)
        req.name = from_conda.get(req.name, req.name)
        conda.append(req)
    return conda, pip, pip_options


def test_environment_yml_has_the_same_packages_and_ranges_as_pyproject():
    """Each requirement of pyproject's dependencies and course extras, once, in conda or in pip, same range."""
    conda, pip, _ = _environment_requirements()
    env = _keyed(conda + pip)
    assert len(env) == len(conda) + len(pip), "environment.yml lists a package twice"
    declared = _keyed(_requirements(COURSE_EXTRAS))
    assert sorted(env) == sorted(declared), (
        f"only in pyproject.toml: {sorted(set(declared) - set(env))}; "
        f"only in environment.yml: {sorted(set(env) - set(declared))}")
    for key, req in declared.items():
        assert env[key].specifier == req.specifier, \
            f"{key[0]}: pyproject.toml says {str(req.specifier)!r}, environment.yml {str(env[key].specifier)!r}"


def test_environment_yml_installs_the_course_with_its_extras():
    _, _, pip_options = _environment_requirements()
    assert pip_options == [f"-e .[{','.join(COURSE_EXTRAS)}]"]


def test_environment_yml_pins_a_supported_python():
    pins = [d for d in _environment()["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(pins) == 1 and pins[0].startswith("python="), f"environment.yml should pin python=3.N, not {pins}"
    version = pins[0].removeprefix("python=")
    assert version in _classifier_pythons(), f"python={version} is not one of the classifiers' versions"


# ---------------------------------------------------------------- what the course imports


class _ImportScan(ast.NodeVisitor):
    """Collects the top-level names of absolute imports (not those under ``if TYPE_CHECKING:``)."""

    def __init__(self, top_level_only: bool) -> None:
        self.top_level_only = top_level_only
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: ast.AST) -> None:
        if not self.top_level_only:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):  # for type checkers only; the else branch runs
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names |= {a.name.split(".")[0] for a in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self.names.add(node.module.split(".")[0])


def _imports(source: str, top_level_only: bool = False) -> set[str]:
    """Top-level module names that ``source`` imports (absolute imports).

    Parameters
    ----------
    source : str
        Python source.
    top_level_only : bool
        Only the imports run when the module is imported (not those inside functions or classes).

    Returns
    -------
    set of str
    """
    scan = _ImportScan(top_level_only)
    scan.visit(ast.parse(source))
    return scan.names


def _notebook_sources() -> dict[str, str]:
    sources = {}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        for i, cell in enumerate(cells):
            text = "".join(cell["source"])
            # shell escapes and magics are not Python
            sources[f"{nb.name}[{i}]"] = "\n".join(
                ln for ln in text.splitlines() if not ln.lstrip().startswith(("!", "%")))
    return sources


def _local_modules() -> set[str]:
    """Names that are the course's own modules, not third-party ones."""
    local = {"helpers", "machinery", "tests", "__future__"}
    for folder in SOURCE_DIRS:
        local |= {p.stem for p in (ROOT / folder).glob("*.py")}
    return local


def _providing_distribution(module: str) -> str:
    """The canonical distribution name (``name`` or ``name[extra]``) that provides top-level ``module``."""
    name, bracket, rest = IMPORT_TO_DIST.get(module, module).partition("[")
    return canonicalize_name(name) + bracket + rest


def _undeclared(imported: dict[str, set[str]], declared: set[str]) -> dict[str, list[str]]:
    """Third-party modules in ``imported`` (module -> where) whose distribution is not in ``declared``."""
    local = _local_modules()
    return {
        module: sorted(where) for module, where in sorted(imported.items())
        if module not in sys.stdlib_module_names and module not in local
        and _providing_distribution(module) not in declared
    }


def _by_module(sources: dict[str, str], top_level_only: bool = False) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for where, source in sources.items():
        for module in _imports(source, top_level_only):
            out.setdefault(module, set()).add(where)
    return out


#: scripts that must import an undeclared package: module -> the one file allowed to
THROWAWAY = {"musicnn": "tools/musicnn_reference.py"}


def test_everything_imported_is_declared():
    """helpers/, tests/, tools/ and the notebooks import only what pyproject.toml declares (base or an extra)."""
    sources = {str(p.relative_to(ROOT)): p.read_text() for d in SOURCE_DIRS for p in sorted((ROOT / d).glob("*.py"))}
    sources |= _notebook_sources()
    missing = _undeclared(_by_module(sources), _declared_names())
    # run once by hand in a throwaway environment, against the original package the course does not depend on
    for module, where in THROWAWAY.items():
        if missing.get(module) == [where]:
            del missing[module]
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_importing_helpers_needs_no_extra():
    """Every module of helpers and machinery imports with `pip install -e .` alone (TensorFlow and dask are imported
    lazily)."""
    sources = {str(p.relative_to(ROOT)): p.read_text() for folder in ("helpers", "machinery")
               for p in sorted((ROOT / folder).glob("*.py"))}
    base = {canonicalize_name(r.name) for r in _requirements()}
    missing = _undeclared(_by_module(sources, top_level_only=True), base)
    assert not missing, f"imported when helpers is imported, but only in an extra (or nowhere): {missing}"


def test_import_check_catches_an_undeclared_module():
    """The import scan itself: an undeclared module is reported, a declared or provided one is not."""
    imported = _by_module({"x.py": "import torch\nimport sklearn\nfrom distributed import Client\nimport keras\n"})
    assert _undeclared(imported, _declared_names()) == {"torch": ["x.py"]}
    assert "keras" in _undeclared(imported, {canonicalize_name(r.name) for r in _requirements()})
    inside_function = "def f():\n    import tensorflow\n"
    assert _imports(inside_function, top_level_only=True) == set()
    assert _imports(inside_function) == {"tensorflow"}
    assert _imports("if TYPE_CHECKING:\n    import pandas\nelse:\n    import numpy\n") == {"numpy"}


# ---------------------------------------------------------------- resolution on every platform (uv)

# uv's target triples; the Python versions are the classifiers'
PLATFORMS = {
    "linux-x86_64": "x86_64-unknown-linux-gnu",
    "linux-aarch64": "aarch64-unknown-linux-gnu",
    "macos-arm64": "aarch64-apple-darwin",
    "windows-x86_64": "x86_64-pc-windows-msvc",
}
# uv's messages when the package index cannot be reached (connection refused, DNS, timeouts, UV_OFFLINE)
NETWORK_ERROR = re.compile(
    r"error sending request for url|client error \(Connect\)|dns error|tcp connect error|operation timed out"
    r"|network is unreachable|the network was disabled|network connectivity is disabled",
    re.IGNORECASE)


@dataclass(frozen=True)
class Case:
    """One ``uv pip compile`` of pyproject.toml: the extras, a target platform, a Python version."""

    extras: tuple[str, ...]
    platform: str
    python: str

    @property
    def id(self) -> str:
        return f"{'+'.join(self.extras) or 'base'}-{self.platform}-py{self.python}"


CASES = (
    [Case(COURSE_EXTRAS, p, v) for p in PLATFORMS for v in _classifier_pythons()]
    + [Case(("gpu", "scale", "test"), p, v) for p in ("linux-x86_64", "linux-aarch64") for v in _classifier_pythons()]
    # Colab: Linux x86_64, no extras
    + [Case((), "linux-x86_64", v) for v in _classifier_pythons()]
)


def _uv() -> list[str] | None:
    """The command that runs uv: the installed module (extra `test`), else a uv on PATH."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    return [shutil.which("uv")] if shutil.which("uv") else None


def _compile(uv: list[str], case: Case) -> subprocess.CompletedProcess:
    cmd = [*uv, "pip", "compile", "pyproject.toml", "--python-platform", PLATFORMS[case.platform],
           "--python-version", case.python, "--no-header", "--no-annotate", "--quiet",
           # target a version, never download an interpreter for it
           "--no-python-downloads"]
    for extra in case.extras:
        cmd += ["--extra", extra]
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, "", f"operation timed out after {e.timeout} s")


@pytest.fixture(scope="module")
def resolutions() -> dict[Case, subprocess.CompletedProcess]:
    """Every case resolved by uv, in parallel; skips only when uv or the package index is out of reach."""
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (pip install -e '.[test]' installs it)")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(CASES, pool.map(lambda c: _compile(uv, c), CASES), strict=True))
    for result in results.values():
        lines = [ln.strip() for ln in result.stderr.splitlines() if NETWORK_ERROR.search(ln)]
        if result.returncode != 0 and lines:
            pytest.skip(f"uv cannot reach the package index: {lines[0]}")
    return results


def _resolved(result: subprocess.CompletedProcess) -> dict[str, Version]:
    """``uv pip compile`` output (``name==version`` lines) as {canonical name: version}."""
    pins = {}
    for line in result.stdout.splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            pins[canonicalize_name(req.name)] = Version(spec.version)
    return pins


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_course_resolves_with_the_right_tensorflow(case, resolutions):
    result = resolutions[case]
    assert result.returncode == 0, f"uv pip compile failed for {case.id}:\n{result.stderr}"
    pins = _resolved(result)
    assert "librosa" in pins and "noisereduce" in pins, f"{case.id}: the base dependencies are missing"
    tensorflows = {name: str(pins[name]) for name in TENSORFLOWS if name in pins}
    if not case.extras:
        assert not tensorflows and "keras" not in pins, f"the base dependencies bring TensorFlow: {tensorflows}"
    elif "gpu" in case.extras:
        assert set(tensorflows) == {"tensorflow"}, f"{case.id}: {tensorflows}"
        assert any(name.startswith("nvidia-") for name in pins), f"{case.id}: no CUDA libraries"
    else:
        expected = "tensorflow-cpu" if case.platform == "linux-x86_64" else "tensorflow"
        assert set(tensorflows) == {expected}, f"{case.id}: expected {expected}, resolved {tensorflows}"
    if case.extras:
        assert Version("2.16") <= pins["tensorflow-cpu" if "tensorflow-cpu" in pins else "tensorflow"] < Version("3")
