"""tools/portable_profile.py: the environment of `make test-portable` (this CPU, one step lower)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from .conftest import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "portable_profile.py"


@pytest.fixture
def pp(monkeypatch):
    return load_script(SCRIPT)


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


def test_numba_code_for_the_lower_cpu_has_a_cache_of_its_own(monkeypatch, pp, tmp_path):
    """So that the native and the portable warm-up can run at once without writing the same files (issue 31)."""
    fake_cpu(monkeypatch, pp, features=AVX512, dispatch=DISPATCH_2_4)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert Path(pp.profile()["NUMBA_CACHE_DIR"]) == SCRIPT.parents[1] / "build" / "numba" / "avx2"
    assert Path(pp.profile(steps=2)["NUMBA_CACHE_DIR"]).name == "sse41"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert pp.profile()["NUMBA_CACHE_DIR"] == str(tmp_path / "avx2")
    assert "NUMBA_CACHE_DIR" not in pp.profile(steps=0)  # the same CPU: the same code and cache


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


# choosing the step and oneDNN (issue 28: the seed sweep runs native, AVX2, SSE4.1 with oneDNN on and off)
@pytest.mark.parametrize("dispatch", [DISPATCH_2_4, DISPATCH_1_26])
def test_two_steps_down_from_avx512_is_sse41(monkeypatch, pp, dispatch):
    fake_cpu(monkeypatch, pp, features=AVX512, dispatch=dispatch)
    env = pp.profile(steps=2)
    assert env == pp.profile(target="sse41")
    assert env["ONEDNN_MAX_CPU_ISA"] == "SSE41" and env["NUMBA_CPU_NAME"] == "penryn"
    dropped = env["NPY_DISABLE_CPU_FEATURES"].split()
    assert ("X86_V3" in dropped) or ("AVX2" in dropped and "FMA3" in dropped)
    assert any(f.startswith("AVX512") or f == "X86_V4" for f in dropped)
    assert not {"SSE41", "SSE42", "SSSE3", "POPCNT"} & set(dropped)


def test_onednn_can_be_set_either_way(monkeypatch, pp):
    fake_cpu(monkeypatch, pp, features=AVX512 + ["AVX512VNNI"], dispatch=DISPATCH_2_4)
    assert pp.profile(steps=2, onednn="on")["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert pp.profile(steps=2, onednn="off")["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert pp.profile(steps=2)["TF_ENABLE_ONEDNN_OPTS"] == "0"  # flip: on by default on VNNI CPUs


def test_zero_steps_keep_the_instruction_set(monkeypatch, pp):
    fake_cpu(monkeypatch, pp, features=AVX2, dispatch=DISPATCH_2_4)
    assert set(pp.profile(steps=0, onednn="on")) == {"MPLBACKEND", "TF_ENABLE_ONEDNN_OPTS"}
    assert pp.profile(target="avx2") == pp.profile(steps=0)


@pytest.mark.parametrize("kwargs", [{"steps": 2}, {"steps": -1}, {"target": "avx512"}, {"target": "neon"}])
def test_profiles_this_cpu_cannot_give_are_refused(monkeypatch, pp, kwargs):
    fake_cpu(monkeypatch, pp, features=AVX2, dispatch=DISPATCH_2_4)
    with pytest.raises(pp.ProfileError):
        pp.profile(**kwargs)


def test_an_impossible_profile_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, str(SCRIPT), "--steps", "9", sys.executable, "-c", "print('ran')"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ran" not in done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("portable_profile: this CPU is")


def test_the_lowest_profile_is_well_formed_on_this_machine():
    """The sweep's lowest profile (SSE4.1, oneDNN on) on this CPU: its variables, and NumPy really below AVX."""
    code = ("import os, json\n"
            "try:\n    from numpy._core._multiarray_umath import __cpu_features__ as f\n"
            "except ImportError:\n    from numpy.core._multiarray_umath import __cpu_features__ as f\n"
            "names = os.environ.get('NPY_DISABLE_CPU_FEATURES', '').split()\n"
            "print(json.dumps({'env': {k: os.environ.get(k) for k in ('ONEDNN_MAX_CPU_ISA', 'NUMBA_CPU_NAME',"
            " 'TF_ENABLE_ONEDNN_OPTS', 'MPLBACKEND')}, 'still_on': [k for k in names if f.get(k)],"
            " 'dropped': names}))")
    done = subprocess.run([sys.executable, str(SCRIPT), "--target", "sse41", "--onednn", "on", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)
    if done.returncode == 2 and "this CPU is other" in done.stderr:
        pytest.skip("not an x86 CPU: there is no instruction-set ladder")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["env"]["TF_ENABLE_ONEDNN_OPTS"] == "1" and seen["env"]["MPLBACKEND"] == "Agg"
    assert seen["still_on"] == []  # NumPy dispatches none of the dropped features
    if seen["env"]["ONEDNN_MAX_CPU_ISA"] is not None:  # None: this CPU is already at SSE4.1
        assert {"X86_V3", "AVX2"} & set(seen["dropped"])  # NumPy's AVX2 kernels are off
        assert seen["env"]["ONEDNN_MAX_CPU_ISA"] == "SSE41" and seen["env"]["NUMBA_CPU_NAME"] == "penryn"
