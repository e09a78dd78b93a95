"""What the machinery keeps on disk: files written whole or not at all, and the course's one cache.

- :func:`atomic_path` / :func:`write_atomic`: write under a temporary name beside the target, then rename, so that an
  interrupted run never leaves half a file (:func:`partial_name` names it and clears what killed writers left).
- :func:`cached` (with :func:`read_cached`, :func:`write_cached` and the key :func:`digest`): arrays kept in
  ``cache_dir(kind)`` under a digest of what they depend on, each entry checksummed; the feature tables
  (:mod:`machinery.extract`), segment datasets (:mod:`machinery.segments`) and the tagger's embeddings
  (:mod:`machinery.train`) use it.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from helpers.config import build_dir
from helpers.errors import not_a_command

__all__ = ["cache_dir", "digest", "cached", "read_cached", "write_cached", "atomic_path", "write_atomic",
           "partial_name"]

logger = logging.getLogger(__name__)
# as `helpers`' loggers: warnings reach the handlers a program sets up (the commands' logging.basicConfig), and none
# by default, where the caller reports what matters (`result.failures`, a notebook's own print)
logger.addHandler(logging.NullHandler())


def cache_dir(*parts: str) -> Path:
    """The cache folder ``$COURSE_CACHE_DIR/<parts...>`` (default ``build/cache``), created; safe to delete.

    Examples
    --------
    >>> cache_dir("features").name
    'features'
    """
    if not (value := os.environ.get("COURSE_CACHE_DIR", "").strip()):
        return build_dir("cache", *parts)
    folder = Path(value).expanduser().resolve().joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
    if isinstance(kind, Path):  # a folder of the caller's own
        folder = kind
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = cache_dir(kind)  # the course's, made by cache_dir
    return name, folder / f"{name}.npz"


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


if __name__ == "__main__":
    not_a_command(__spec__.name)
