"""Print the environment of the 'portable' test profile: this machine, one CPU step lower.

``make test-portable`` runs the notebook checks a second time with these variables, so a cell
whose output depends on the processor (an unrounded training result, a float at rounding-noise
level) fails here, not on a learner's or a CI service's machine. The profile

- lowers the instruction set one step below what this CPU has (AVX-512 -> AVX2, AVX2 -> SSE4.1)
  for NumPy (``NPY_DISABLE_CPU_FEATURES``), oneDNN (``ONEDNN_MAX_CPU_ISA``) and numba
  (``NUMBA_CPU_NAME``), which changes how their vector code rounds;
- switches TensorFlow's oneDNN operations the other way from this machine's default
  (``TF_ENABLE_ONEDNN_OPTS``): TensorFlow turns them on by itself on CPUs with AVX512-VNNI,
  AVX512-BF16 or AMX;
- sets ``MPLBACKEND=Agg``, as some CI runners do: notebooks must show their figures anyway.

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are left alone on purpose: some OpenBLAS builds
compute wrong results or crash when they are forced.

Usage: ``python tools/portable_profile.py`` prints the profile as ``NAME=value`` lines;
``python tools/portable_profile.py COMMAND [ARGS...]`` prints it to standard error and runs the
command with it.
"""
from __future__ import annotations

import os
import platform
import sys

try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__  # numpy >= 2
except ImportError:  # numpy 1.26
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__


def cpu_level() -> str:
    """The x86 instruction-set level of this CPU: 'avx512', 'avx2', 'sse41' or 'other'."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return "other"
    if __cpu_features__.get("AVX512F") and __cpu_features__.get("AVX512_SKX"):
        return "avx512"
    if __cpu_features__.get("AVX2") and __cpu_features__.get("FMA3"):
        return "avx2"
    return "sse41"


def onednn_on_by_default() -> bool:
    """Whether TensorFlow turns its oneDNN operations on by itself on this CPU."""
    flags = ("AVX512VNNI", "AVX512BF16", "AVX512_SPR", "AMX_TILE")
    return cpu_level() == "avx512" and any(__cpu_features__.get(f) for f in flags)


def profile() -> dict[str, str]:
    """The environment variables of the portable profile for this machine."""
    level = cpu_level()
    env = {"MPLBACKEND": "Agg", "TF_ENABLE_ONEDNN_OPTS": "0" if onednn_on_by_default() else "1"}
    if level == "avx512":  # one step down: AVX2 (Haswell)
        drop = [f for f in __cpu_dispatch__ if f.startswith("AVX512") or f == "X86_V4"]
        env.update(ONEDNN_MAX_CPU_ISA="AVX2", NUMBA_CPU_NAME="haswell")
    elif level == "avx2":  # one step down: SSE4.1 (Penryn); NumPy stops at its own baseline
        drop = [f for f in __cpu_dispatch__ if f.startswith(("AVX", "FMA", "F16C", "X86_V3", "X86_V4"))]
        env.update(ONEDNN_MAX_CPU_ISA="SSE41", NUMBA_CPU_NAME="penryn")
    else:
        drop = []
    if drop:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(drop)
    return env


def main(argv: list[str]) -> int:
    env = profile()
    lines = [f"{name}={value}" for name, value in env.items()]
    if not argv:
        print("\n".join(lines))
        return 0
    print(f"portable profile (this CPU: {cpu_level()}, oneDNN on by default: {onednn_on_by_default()}): "
          + " ".join(lines), file=sys.stderr, flush=True)
    os.execvpe(argv[0], argv, {**os.environ, **env})


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
