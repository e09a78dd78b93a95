"""Helpers for the 'From Waveforms to Genres' course: what several notebooks reuse, for learners to read.

The notebooks teach each idea in their own cells; this package holds what they share. The machinery that
serves them (downloads, model files, the command lines) is the package :mod:`machinery`, which
imports this one; this one never imports it. Importing it
has no side effects: it sets no environment variable, changes nothing in another package and does
not import TensorFlow.

- :mod:`helpers.config` - data, build and cache folders, run size, seeds, quiet TensorFlow, atomic writes
- :mod:`helpers.errors` - the exception types (all are :class:`CourseError`)
- :mod:`helpers.datasets` - the data set registry, verified copies, loaders
- :mod:`helpers.audio` - loading and segmenting audio
- :mod:`helpers.plotting` - the course's figures (waveform, spectrum, spectrogram, MFCC, confusion, training)
- :mod:`helpers.features` - the 57-feature GTZAN table and its parallel, cached extraction
- :mod:`helpers.evaluation` - splits by clip, clip-level voting, test accuracy, published figures beside ours
- :mod:`helpers.check` - band checks for results that differ from machine to machine
- :mod:`helpers.pretrained` - the musicnn tagger rebuilt in Keras, its input and embeddings (notebook 09)
- :mod:`helpers.models` - what the models read (segment features, the cached segment dataset, training copies) and
  the networks the notebooks build
"""
from __future__ import annotations

import importlib
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = ["AudioError", "ChecksumError", "CourseError", "DataNotFoundError", "DownloadError", "data_dir", "seed_everything"]


def __getattr__(name: str):
    """``helpers.CourseError`` and the other names above, imported on first use: importing the package loads
    none of its modules, so ``python -m helpers.errors`` (or ``.config``) runs into no half-imported module."""
    if name in __all__:
        return getattr(importlib.import_module(".config" if name[0].islower() else ".errors", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
