"""Course-wide settings: where the data lives, run size, random seeds.

The data directory is read from the environment variable ``COURSE_DATA_DIR``
and defaults to ``<repository>/data``. Tests and CI point it at a
pre-downloaded copy (``../shared/data``); a learner runs ``make data`` once.
"""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "REPO_ROOT",
    "DATA_ENV_VAR",
    "data_dir",
    "build_dir",
    "cache_dir",
    "full_run",
    "seed_everything",
    "configure_librosa_data",
    "librosa_data_dir",
    "import_tensorflow",
    "write_atomic",
]

#: Root of the repository (the folder holding ``helpers/``).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent

#: Environment variable that overrides the data directory.
DATA_ENV_VAR = "COURSE_DATA_DIR"

#: A LIBROSA_DATA_DIR the user set before importing helpers (respected over the data directory).
_USER_LIBROSA_DIR = os.environ.get("LIBROSA_DATA_DIR", "").strip() or None

#: Environment variable that asks notebooks for the full-size run.
FULL_ENV_VAR = "COURSE_FULL"


def data_dir() -> Path:
    """Return the course's data directory.

    Returns
    -------
    pathlib.Path
        ``$COURSE_DATA_DIR`` if set (``~`` expanded, made absolute), else
        ``<repository>/data``. The folder need not exist.

    Examples
    --------
    >>> import os
    >>> os.environ["COURSE_DATA_DIR"] = "/tmp/course-data"
    >>> str(data_dir())
    '/tmp/course-data'
    """
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    return REPO_ROOT / "data"


def build_dir(*parts: str) -> Path:
    """Return (and create) a folder under ``<repository>/build`` for generated files.

    Parameters
    ----------
    *parts : str
        Sub-folders below ``build/``.

    Returns
    -------
    pathlib.Path
        The existing folder.
    """
    path = REPO_ROOT.joinpath("build", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(*parts: str) -> Path:
    """Return (and create) the on-disk cache folder for computed features.

    ``$COURSE_CACHE_DIR`` if set, else ``<repository>/build/cache``; never
    committed. Deleting it is always safe: results are recomputed.
    """
    value = os.environ.get("COURSE_CACHE_DIR", "").strip()
    base = Path(value).expanduser().resolve() if value else REPO_ROOT / "build" / "cache"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def full_run() -> bool:
    """Whether notebooks should use the full data sets (``COURSE_FULL=1``).

    Notebooks default to a size that runs in minutes on two CPU cores; a
    learner sets ``COURSE_FULL=1`` (or edits the notebook's parameter cell)
    to run on everything in the data directory.
    """
    return os.environ.get(FULL_ENV_VAR, "0").strip().lower() in {"1", "true", "yes", "on"}


def seed_everything(seed: int = 42) -> None:
    """Seed Python's, NumPy's and (if imported) TensorFlow's random generators.

    TensorFlow is seeded through ``keras.utils.set_random_seed`` and made
    deterministic with ``tf.config.experimental.enable_op_determinism`` only
    when it has already been imported, so calling this never loads TensorFlow.

    Parameters
    ----------
    seed : int
        The seed.
    """
    import sys

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()


def import_tensorflow():
    """Import TensorFlow without the log lines it writes while it starts.

    TensorFlow writes a few lines to the process's standard error while it
    loads (which CPU features it uses, whether oneDNN is on), with a
    timestamp and a process id, and before its own log level
    (``TF_CPP_MIN_LOG_LEVEL``) takes effect. They differ from machine to
    machine, so in a notebook they would land in the stored outputs. This
    sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless it is set already, and sends
    standard error to a temporary file during the import; if the import
    fails, that text is written back to standard error so nothing is lost.

    Returns
    -------
    module
        The ``tensorflow`` module (already imported ones are returned as they are).

    Examples
    --------
    >>> tf = import_tensorflow()
    >>> tf.constant([1, 2]).shape
    TensorShape([2])
    """
    import sys
    import tempfile

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


def librosa_data_dir(root: Path | None = None) -> Path:
    """The folder of librosa's example recordings: ``<data dir>/librosa``.

    A ``LIBROSA_DATA_DIR`` the user set before importing :mod:`helpers` wins
    when no ``root`` is given. Nothing is changed: no environment variable is
    set and librosa is not touched.

    Parameters
    ----------
    root : pathlib.Path, optional
        The data directory; defaults to :func:`data_dir`.

    Returns
    -------
    pathlib.Path
    """
    if _USER_LIBROSA_DIR and root is None:
        return Path(_USER_LIBROSA_DIR)
    return (root or data_dir()) / "librosa"


def configure_librosa_data(root: Path | None = None) -> Path:
    """Make ``librosa.ex(...)`` read its example recordings from ``<data dir>/librosa``.

    librosa reads ``LIBROSA_DATA_DIR`` once, when it is first imported; if
    librosa was imported earlier, its download cache is re-pointed as well.
    An explicit ``LIBROSA_DATA_DIR`` set by the user is respected. Only
    ``python -m helpers.data fetch librosa`` needs this (librosa downloads its
    own examples); reading them goes through
    :func:`helpers.datasets.librosa_example`, which changes nothing.

    Parameters
    ----------
    root : pathlib.Path, optional
        The data directory; defaults to :func:`data_dir`.

    Returns
    -------
    pathlib.Path
        The folder librosa will read examples from.
    """
    import sys

    target = librosa_data_dir(root)
    if not (_USER_LIBROSA_DIR and root is None):
        os.environ["LIBROSA_DATA_DIR"] = str(target)
    files = sys.modules.get("librosa.util.files")
    if files is not None:
        goodboy = getattr(files, "__GOODBOY", None)
        if goodboy is not None:
            goodboy.path = target
    return target


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader never sees a half-written file, and an interrupted write leaves
    the previous file (if any) untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> write_atomic(target, "a,b").read_text()
    'a,b'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
