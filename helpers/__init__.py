"""Helpers for the 'From Waveforms to Genres' course.

Importing :mod:`helpers` points librosa's example recordings at
``<data dir>/librosa`` (see :func:`helpers.config.configure_librosa_data`)
before anything imports librosa, so ``librosa.ex("trumpet")`` works offline.

Modules, by concern:

- :mod:`helpers.config` - data directory, build directory, run size, seeds
- :mod:`helpers.errors` - the exception types
- :mod:`helpers.datasets` - data set registry, downloads, loaders
- :mod:`helpers.audio` - loading, segmenting, padding audio
"""
from __future__ import annotations

import logging

from .config import configure_librosa_data, data_dir, seed_everything
from .errors import AudioError, ChecksumError, CourseError, DataNotFoundError, DownloadError

configure_librosa_data()

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "ChecksumError",
    "CourseError",
    "DataNotFoundError",
    "DownloadError",
    "configure_librosa_data",
    "data_dir",
    "seed_everything",
]
