"""The course's exception types.

Every error the helpers raise on purpose is a :class:`CourseError`, so a
notebook or a script can catch one type. The subclasses also inherit from the
matching built-in exception, so ``except FileNotFoundError`` keeps working.
"""
from __future__ import annotations

__all__ = ["CourseError", "DataNotFoundError", "ChecksumError", "DownloadError", "AudioError",
           "one_line", "not_a_command"]


class CourseError(Exception):
    """Base class of every error raised on purpose by :mod:`helpers`."""


class DataNotFoundError(CourseError, FileNotFoundError):
    """A data set (or one of its files) is not in the data directory."""


class ChecksumError(CourseError, ValueError):
    """A file's checksum does not match the registry; the file is not used."""


class DownloadError(CourseError, OSError):
    """A download failed (network, interrupted transfer, bad archive)."""


class AudioError(CourseError, ValueError):
    """An audio file is missing, empty, not audio, corrupt, silent or too short."""


def one_line(exc: BaseException, *, with_type: bool = False) -> str:
    """An exception as one line: the first line of its message (``"Type: message"`` with
    ``with_type``), or the name of its type when it has no message. The course's one way to say why
    something failed.

    Examples
    --------
    >>> one_line(ValueError("bad value\\nmore detail")), one_line(KeyError(), with_type=True)
    ('bad value', 'KeyError')
    """
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}" if text and with_type else text or type(exc).__name__


def not_a_command(module: str) -> None:
    """Refuse ``python -m <module>`` for a library module: one line on standard error and exit
    status 2 (instead of a silent exit 0 that looks like success).

    Examples
    --------
    >>> not_a_command("helpers.audio")
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    import sys

    print(f"python -m {module}: a library module, not a command; the commands are python -m "
          "machinery.data, machinery.train and machinery.predict (each has --help)",
          file=sys.stderr)
    raise SystemExit(2)
