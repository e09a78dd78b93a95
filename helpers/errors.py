"""The course's exception types.

Every error the helpers raise on purpose is a :class:`CourseError`, so a
notebook or a script can catch one type. The subclasses also inherit from the
matching built-in exception, so ``except FileNotFoundError`` keeps working.
"""
from __future__ import annotations

__all__ = ["CourseError", "DataNotFoundError", "ChecksumError", "DownloadError", "AudioError"]


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
