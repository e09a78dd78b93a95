"""Course-wide settings: data and build folders, run size, seeds, TensorFlow import, atomic writes,
the cache, worker processes.

Importing this module changes nothing (no environment variable, no other package).
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import not_a_command

__all__ = ["REPO_ROOT", "data_dir", "build_dir", "cache_dir", "digest", "cached", "read_cached",
           "write_cached", "full_run", "seed_everything", "import_tensorflow", "atomic_path",
           "write_atomic", "partial_name", "in_workers"]

logger = logging.getLogger(__name__)

#: Root of the repository (the folder holding ``helpers/``).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """The data directory: ``root`` when given (a function's ``root=`` argument), else
    ``$COURSE_DATA_DIR`` (``~`` expanded, made absolute), else ``<repository>/data``.

    Examples
    --------
    >>> data_dir().is_absolute(), data_dir("elsewhere").name
    (True, 'elsewhere')
    """
    if root is not None:
        return Path(root)
    value = os.environ.get("COURSE_DATA_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "data"


def build_dir(*parts: str) -> Path:
    """The folder ``<repository>/build/<parts...>`` for generated files, created if needed.

    Examples
    --------
    >>> build_dir("figures").relative_to(REPO_ROOT).as_posix()
    'build/figures'
    """
    return _made(REPO_ROOT.joinpath("build", *parts))


def cache_dir(*parts: str) -> Path:
    """The cache folder ``$COURSE_CACHE_DIR/<parts...>`` (default ``build/cache``), created; safe to delete.

    Examples
    --------
    >>> cache_dir("features").name
    'features'
    """
    value = os.environ.get("COURSE_CACHE_DIR", "").strip()
    return _made((Path(value).expanduser().resolve() if value else REPO_ROOT / "build" / "cache").joinpath(*parts))


def digest(*parts: Any) -> str:
    """A sha1 of strings and arrays (dtype, shape and bytes): a :func:`cached` key that follows
    content.

    Examples
    --------
    >>> digest(np.zeros(3)) == digest(np.zeros(3)), digest(np.zeros(3)) == digest(np.zeros(4))
    (True, False)
    """
    h = hashlib.sha1()
    for part in parts:
        a = np.asarray(part.encode() if isinstance(part, str) else part)
        a = np.ascontiguousarray(a.astype(str) if a.dtype == object else a)
        h.update(f"{a.dtype.str}{a.shape}".encode() + a.tobytes())
    return h.hexdigest()


def _entry(kind: str | Path, key: Any) -> tuple[str, Path]:
    name = hashlib.sha256(json.dumps(key, sort_keys=True, default=repr).encode()).hexdigest()[:32]
    return name, _made(kind if isinstance(kind, Path) else cache_dir(kind)) / f"{name}.npz"


def read_cached(kind: str | Path, key: Any) -> dict[str, np.ndarray] | None:
    """The arrays :func:`cached` keeps for ``key``, or None: none yet, or unreadable, altered or
    written for another key (with a warning). ``kind``: a folder of the course's cache, or a folder
    of your own (a ``Path``).

    Examples
    --------
    >>> read_cached("demo", {"never": "written"}) is None
    True
    """
    try:
        name, path = _entry(kind, key)
        if not path.is_file():
            return None
    except OSError:  # the cache folder cannot be made: as good as empty (write_cached says so)
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "check"}
            if str(z["check"]) != digest(name, *(arrays[k] for k in sorted(arrays))):
                raise ValueError("it was altered, or written for another key")
        return arrays
    except Exception as exc:  # noqa: BLE001 - zip, zlib or NumPy: compute again, never stop
        logger.warning("%s: unreadable cache (%s); computing it again", path, exc)
        return None


def write_cached(kind: str | Path, key: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Keep ``arrays`` for ``key`` (:func:`cached`), written atomically with a checksum; returns
    them. A cache that cannot be written (the folder is a file, the disk is full) costs a warning,
    never the arrays.

    Examples
    --------
    >>> write_cached("demo", {"n": 2}, {"x": np.arange(2)})["x"]
    array([0, 1])
    """
    try:
        name, path = _entry(kind, key)
    except OSError as exc:
        logger.warning("the cache folder cannot be used (%s); going on without it", exc)
        return arrays
    buffer = io.BytesIO()
    check = digest(name, *(arrays[k] for k in sorted(arrays)))
    np.savez_compressed(buffer, check=np.array(check), **arrays)
    try:
        write_atomic(path, buffer.getvalue())
    except OSError as exc:  # read-only or full: what was computed is used all the same
        logger.warning("%s: cannot write the cache (%s); going on without it", path,
                       exc.strerror or exc)
    return arrays


def cached(kind: str | Path, key: Any, compute: Callable[[], dict]) -> dict[str, np.ndarray]:
    """``compute()``'s arrays, kept in ``cache_dir(kind)`` under a digest of ``key``, read from
    there next time.

    ``key``: JSON-able values the arrays depend on (for data, its :func:`digest`). An entry holds a
    checksum of its key and arrays: one that is unreadable, altered or written for another key is
    computed again, with a warning. When the cache cannot be used (the folder is a file, the disk is
    full), the arrays are computed all the same.

    Examples
    --------
    >>> cached("demo", {"n": 3}, lambda: {"x": np.arange(3)})["x"]
    array([0, 1, 2])
    """
    arrays = read_cached(kind, key)
    return arrays if arrays is not None else write_cached(kind, key, compute())


def full_run() -> bool:
    """Whether notebooks use the full data sets (``COURSE_FULL=1``) instead of their quick default size.

    Examples
    --------
    >>> full_run()  # COURSE_FULL unset
    False
    """
    return os.environ.get("COURSE_FULL", "0").strip().lower() in {"1", "true", "yes", "on"}


def seed_everything(seed: int = 42) -> None:
    """Seed Python, NumPy and, only if already imported, TensorFlow (``keras.utils.set_random_seed``, op determinism).

    Examples
    --------
    >>> seed_everything(7); a = np.random.rand()
    >>> seed_everything(7); a == np.random.rand()
    True
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras  # already imported: costs nothing
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()


def import_tensorflow():
    """Import TensorFlow without its start-up lines (CPU features, oneDNN), which differ between machines.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless set and sends standard error to a temporary file during the
    import; if the import fails, that text is written back to standard error.

    Examples
    --------
    >>> tf = import_tensorflow()
    >>> tf.constant([1, 2]).shape
    TensorShape([2])
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import tensorflow
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tensorflow


def partial_name(path: str | os.PathLike, *, suffix: str = "") -> Path:
    """A hidden name beside ``path`` to write it under, then rename: ``.NAME.PID.partial<suffix>``. Partial
    files of ``path`` whose process has ended (killed while writing) are removed first.

    Examples
    --------
    >>> partial_name("build/models/cnn.keras", suffix=".keras").name  # doctest: +ELLIPSIS
    '.cnn.keras....partial.keras'
    """
    path = Path(path)
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.partial*") if os.name == "posix" else ():
        try:  # (not on Windows, where os.kill(pid, 0) stops the process)
            os.kill(int(old.name[len(path.name) + 2:].split(".", 1)[0]), 0)
        except ProcessLookupError:  # its writer is gone
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        except (ValueError, OSError):  # not a number, or another user's process: leave it
            continue
    return path.with_name(f".{path.name}.{os.getpid()}.partial{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """A temporary name beside ``path`` to write to (:func:`partial_name` plus a random part, ending in ``suffix``):
    renamed to ``path`` when the ``with`` block ends, removed when it raises or is interrupted (never half a file).

    Examples
    --------
    >>> target = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("a,b")
    >>> target.read_text()
    'a,b'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(path, suffix=f"-{os.urandom(4).hex()}{suffix}")  # random: threads may write the same path
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_path`, synced to disk before the rename.

    Examples
    --------
    >>> target = Path(tempfile.mkdtemp()) / "table.csv"
    >>> write_atomic(target, "a,b").read_text()
    'a,b'
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


_WATCHDOG: list[threading.Thread] = []


def in_workers(task: Callable, calls: list[tuple], *, n_jobs: int) -> Iterator[tuple[int, Any]]:
    """``(i, task(*calls[i]))`` for every call, as they finish: in ``n_jobs`` joblib worker
    processes (-1: one per core; 1: here, in order), the first call here before any worker starts.

    The first call here: numba compiles and caches librosa's code once, where workers compiling it
    at the same time on a fresh install can crash (numba/numba#10128). A worker stops as soon as
    this process is gone: one killed with SIGKILL cannot stop its workers, and joblib's (loky's)
    would go on computing for nobody.

    Examples
    --------
    >>> sorted(in_workers(pow, [(2, 3), (3, 2), (5, 1)], n_jobs=2))
    [(0, 8), (1, 9), (2, 5)]
    """
    for i, call in enumerate(calls[:1] if n_jobs != 1 and len(calls) > 1 else calls):
        yield i, task(*call)
    if n_jobs != 1 and len(calls) > 1:
        from joblib import Parallel, delayed  # here: importing joblib sets KMP_INIT_AT_FORK

        jobs = min(len(calls) - 1, n_jobs) if n_jobs > 0 else n_jobs
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
        yield from parallel(delayed(_in_worker)(os.getpid(), i, task, call)
                            for i, call in enumerate(calls[1:], 1))


def _in_worker(parent: int, i: int, task: Callable, call: tuple) -> tuple[int, Any]:
    """One call in a worker process started by ``parent``, which it does not outlive (a thread
    watches)."""
    if not _WATCHDOG and os.getppid() == parent:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        _WATCHDOG.append(threading.Thread(target=watch, name="stop_with_parent", daemon=True))
        _WATCHDOG[0].start()
    return i, task(*call)


if __name__ == "__main__":
    not_a_command(__spec__.name)
