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
- sets ``MPLBACKEND=Agg``, as some CI runners do: notebooks must show their figures anyway;
- keeps numba's machine code for the lower CPU in a folder of its own (``NUMBA_CACHE_DIR``:
  ``build/numba/<level>``, or ``<level>`` under the folder that ``NUMBA_CACHE_DIR`` already names), so
  that this profile's numba warm-up can run beside the native one without the two writing the same
  cache files (numba/numba#10128; ``make test`` runs both warm-ups at once, issue 31).

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are left alone on purpose: some OpenBLAS builds
compute wrong results or crash when they are forced.

For the seed sweep behind the notebooks' bands (``tools/seed_sweep.py``) the step and the oneDNN
setting can be chosen: ``--steps 2`` (or ``--target sse41``) goes two steps down from AVX-512,
``--onednn on|off`` sets oneDNN instead of flipping it (``flip``, the default, is what
``make test-portable`` uses); ``--steps 0`` keeps the instruction set and changes only oneDNN and
the backend. A step below SSE4.1, or a target above this CPU, is refused.

Usage: ``python tools/portable_profile.py [--steps N | --target LEVEL] [--onednn MODE]`` prints
the profile as ``NAME=value`` lines; add ``COMMAND [ARGS...]`` to print it to standard error and
run the command with it.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__  # numpy >= 2
except ImportError:  # numpy 1.26
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__

REPO = Path(__file__).resolve().parents[1]
LEVELS = ("avx512", "avx2", "sse41")  # the x86 ladder, from the top; each profile step goes one down
ONEDNN_MODES = ("flip", "on", "off")


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


class ProfileError(ValueError):
    """A profile this machine cannot give (a step below SSE4.1, a target above this CPU)."""


def target_level(*, steps: int | None = None, target: str | None = None) -> str:
    """The instruction-set level a profile runs at: ``steps`` below this CPU's, or ``target``.

    On a CPU that is not x86 (``cpu_level() == 'other'``) there is no ladder: the level stays 'other'.
    """
    level = cpu_level()
    if level == "other":
        return level
    here = LEVELS.index(level)
    if target is not None:
        if target not in LEVELS:
            raise ProfileError(f"unknown target {target!r}: choose one of {', '.join(LEVELS)}")
        if LEVELS.index(target) < here:
            raise ProfileError(f"this CPU is {level}: it cannot run a profile at {target}")
        return target
    if steps is None:  # make test-portable: one step down, or none on a CPU already at the bottom
        steps = min(1, len(LEVELS) - 1 - here)
    if steps < 0 or here + steps >= len(LEVELS):
        raise ProfileError(f"this CPU is {level}: {steps} steps down is outside {' > '.join(LEVELS[here:])}")
    return LEVELS[here + steps]


def profile(*, steps: int | None = None, target: str | None = None, onednn: str = "flip") -> dict[str, str]:
    """The environment variables of the portable profile for this machine.

    By default one step below this CPU with oneDNN switched the other way (``make test-portable``).
    """
    if onednn not in ONEDNN_MODES:
        raise ProfileError(f"unknown oneDNN mode {onednn!r}: choose one of {', '.join(ONEDNN_MODES)}")
    level, to = cpu_level(), target_level(steps=steps, target=target)
    on = {"flip": not onednn_on_by_default(), "on": True, "off": False}[onednn]
    env = {"MPLBACKEND": "Agg", "TF_ENABLE_ONEDNN_OPTS": "1" if on else "0"}
    drop: list[str] = []
    if to == "avx2" and level != "avx2":  # AVX2 (Haswell)
        drop = [f for f in __cpu_dispatch__ if f.startswith("AVX512") or f == "X86_V4"]
        env.update(ONEDNN_MAX_CPU_ISA="AVX2", NUMBA_CPU_NAME="haswell")
    elif to == "sse41" and level != "sse41":  # SSE4.1 (Penryn); NumPy stops at its own baseline
        drop = [f for f in __cpu_dispatch__ if f.startswith(("AVX", "FMA", "F16C", "X86_V3", "X86_V4"))]
        env.update(ONEDNN_MAX_CPU_ISA="SSE41", NUMBA_CPU_NAME="penryn")
    if drop:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(drop)
    if "NUMBA_CPU_NAME" in env:  # numba's code for that CPU, cached apart from this CPU's
        base = os.environ.get("NUMBA_CACHE_DIR")
        env["NUMBA_CACHE_DIR"] = str(Path(base) / to if base else REPO / "build" / "numba" / to)
    return env


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--steps", type=int, help="instruction-set steps below this CPU (default 1)")
    where.add_argument("--target", choices=LEVELS, help="the instruction-set level to run at")
    parser.add_argument("--onednn", choices=ONEDNN_MODES, default="flip",
                        help="TensorFlow's oneDNN: the other way from this CPU's default (flip), on or off")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run under the profile")
    args = parser.parse_args(argv)
    try:
        env = profile(steps=args.steps, target=args.target, onednn=args.onednn)
    except ProfileError as exc:
        print(f"portable_profile: {exc}", file=sys.stderr)
        return 2
    lines = [f"{name}={value}" for name, value in env.items()]
    if not args.command:
        print("\n".join(lines))
        return 0
    print(f"portable profile (this CPU: {cpu_level()}, oneDNN on by default: {onednn_on_by_default()}): "
          + " ".join(lines), file=sys.stderr, flush=True)
    os.execvpe(args.command[0], args.command, {**os.environ, **env})


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
