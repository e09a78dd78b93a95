"""Course-wide settings: data and build folders, run size, seeds, TensorFlow import.

Importing this module changes nothing (no environment variable, no other package).
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np


__all__ = ["REPO_ROOT", "data_dir", "build_dir", "full_run", "seed_everything", "import_tensorflow"]

#: Root of the repository (the folder holding ``helpers/``).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent


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
    folder = REPO_ROOT.joinpath("build", *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def full_run() -> bool:
    """Whether notebooks use the full data sets (``COURSE_FULL=1``) instead of their quick default
    size.

    Examples
    --------
    >>> full_run()  # COURSE_FULL unset
    False
    """
    return os.environ.get("COURSE_FULL", "0").strip().lower() in {"1", "true", "yes", "on"}


def seed_everything(seed: int = 42) -> None:
    """Seed Python, NumPy and, only if already imported, TensorFlow
    (``keras.utils.set_random_seed``, op determinism).

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
    """Import TensorFlow without its start-up lines (CPU features, oneDNN), which differ between
    machines.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless set and sends standard error to a temporary file during
    the import; if the import fails, that text is written back to standard error.

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
