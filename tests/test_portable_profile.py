"""tools/portable_profile.py: the environment of `make test-portable` (this CPU, one step lower)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "portable_profile.py"


@pytest.fixture
def pp(monkeypatch):
    spec = importlib.util.spec_from_file_location("portable_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_cpu(monkeypatch, pp, *, machine="x86_64", features=(), dispatch=()):
    monkeypatch.setattr(pp.platform, "machine", lambda: machine)
    monkeypatch.setattr(pp, "__cpu_features__", {name: True for name in features})
    monkeypatch.setattr(pp, "__cpu_dispatch__", list(dispatch))


# numpy 2.4 dispatches by x86-64 levels; older releases by feature names: both must work
DISPATCH_2_4 = ["X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR"]
DISPATCH_1_26 = ["SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3", "AVX2", "AVX512F", "AVX512CD",
                 "AVX512_KNL", "AVX512_SKX", "AVX512_CLX", "AVX512_CNL", "AVX512_ICL"]
AVX2 = ["SSE41", "SSE42", "AVX", "F16C", "FMA3", "AVX2"]
AVX512 = AVX2 + ["AVX512F", "AVX512_SKX"]


@pytest.mark.parametrize("dispatch", [DISPATCH_2_4, DISPATCH_1_26])
def test_avx512_steps_down_to_avx2(monkeypatch, pp, dispatch):
    fake_cpu(monkeypatch, pp, features=AVX512, dispatch=dispatch)
    env = pp.profile()
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2" and env["NUMBA_CPU_NAME"] == "haswell"
    dropped = env["NPY_DISABLE_CPU_FEATURES"].split()
    assert dropped and all(f.startswith("AVX512") or f == "X86_V4" for f in dropped)
    assert "AVX512_ICL" in dropped and "AVX2" not in dropped and "X86_V3" not in dropped
    assert env["TF_ENABLE_ONEDNN_OPTS"] == "1"  # no VNNI/BF16/AMX: oneDNN is off by default, so switch it on


@pytest.mark.parametrize("dispatch", [DISPATCH_2_4, DISPATCH_1_26])
def test_avx2_steps_down_to_sse41(monkeypatch, pp, dispatch):
    fake_cpu(monkeypatch, pp, features=AVX2, dispatch=dispatch)
    env = pp.profile()
    assert env["ONEDNN_MAX_CPU_ISA"] == "SSE41" and env["NUMBA_CPU_NAME"] == "penryn"
    dropped = env["NPY_DISABLE_CPU_FEATURES"].split()
    assert ("X86_V3" in dropped) or ("AVX2" in dropped and "FMA3" in dropped)
    assert not {"SSE41", "SSE42", "SSSE3", "POPCNT"} & set(dropped)


def test_vnni_cpus_get_onednn_switched_off(monkeypatch, pp):
    fake_cpu(monkeypatch, pp, features=AVX512 + ["AVX512VNNI"], dispatch=DISPATCH_2_4)
    assert pp.profile()["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_other_architectures_only_switch_backend_and_onednn(monkeypatch, pp):
    fake_cpu(monkeypatch, pp, machine="aarch64", features=["ASIMD"], dispatch=["ASIMDHP"])
    assert pp.cpu_level() == "other"
    assert set(pp.profile()) == {"MPLBACKEND", "TF_ENABLE_ONEDNN_OPTS"}


def test_openblas_settings_are_never_touched(monkeypatch, pp):
    for features in (AVX512, AVX2, ["SSE41"]):
        fake_cpu(monkeypatch, pp, features=features, dispatch=DISPATCH_2_4)
        assert not any(name.startswith("OPENBLAS") for name in pp.profile())


def test_runs_a_command_under_the_profile():
    code = "import os; print(os.environ['MPLBACKEND'], os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    done = subprocess.run([sys.executable, str(SCRIPT), sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    backend, onednn = done.stdout.split()
    assert backend == "Agg" and onednn in {"0", "1"}
    assert done.stderr.startswith("portable profile (this CPU: ")


def test_the_profile_really_switches_numpy_features_off_here():
    """On an x86 CPU above NumPy's baseline, NumPy must see every dropped feature as absent."""
    listing = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60).stdout
    env = dict(line.split("=", 1) for line in listing.splitlines())
    if "NPY_DISABLE_CPU_FEATURES" not in env:
        pytest.skip("this CPU has nothing above NumPy's baseline to switch off")
    code = ("import os\n"
            "try:\n    from numpy._core._multiarray_umath import __cpu_features__ as f\n"
            "except ImportError:\n    from numpy.core._multiarray_umath import __cpu_features__ as f\n"
            "print(sorted(k for k in os.environ['NPY_DISABLE_CPU_FEATURES'].split() if f.get(k)))")
    done = subprocess.run([sys.executable, str(SCRIPT), sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # none of them is still in use
