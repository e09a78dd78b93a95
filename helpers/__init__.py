"""Helpers for the 'From Waveforms to Genres' course: what several notebooks reuse, for learners to
read.

The notebooks teach each idea in their own cells; this package holds what they share. The machinery
that serves them (downloads, caches, model files, the command lines) is the package
:mod:`machinery`, which imports this one; this one never imports it. Importing it has no side
effects: it sets no environment variable, changes nothing in another package and does not import
TensorFlow.

- :mod:`helpers.config` - data and build folders, run size, seeds, quiet TensorFlow
- :mod:`helpers.errors` - the exception types (all are :class:`CourseError`)
- :mod:`helpers.datasets` - the data set registry, verified copies, loaders
- :mod:`helpers.audio` - loading and segmenting audio
- :mod:`helpers.plotting` - the course's figures (waveform, spectrum, spectrogram, MFCC, confusion,
  training)
- :mod:`helpers.features` - the 57-feature GTZAN table
- :mod:`helpers.evaluation` - splits by clip, clip-level voting, test accuracy, published figures
  beside ours
- :mod:`helpers.check` - band checks for results that differ from machine to machine
- :mod:`helpers.pretrained` - the musicnn tagger rebuilt in Keras, its input and embeddings
  (notebook 09)
- :mod:`helpers.models` - what the models read (segment features) and the networks the notebooks
  build
"""
from __future__ import annotations

import importlib
import logging
import sys

logging.getLogger(__name__).addHandler(logging.NullHandler())

# `python -m helpers.<module>`: no module here is a command; say so in one line, exit status 2
# (not a silent 0). sys.argv[0] is "-m" only while Python locates the module to run: an import
# never gets here.
if sys.argv[:1] == ["-m"] and "-m" in sys.orig_argv:
    from .errors import not_a_command

    not_a_command(sys.orig_argv[sys.orig_argv.index("-m") + 1])

__version__ = "0.1.0"

__all__ = ["AudioError", "ChecksumError", "CourseError", "DataNotFoundError", "DownloadError",
           "data_dir", "seed_everything"]


def __getattr__(name: str):
    """``helpers.CourseError`` and the other names above, imported on first use: importing the
    package loads none of its modules, so ``python -m helpers.errors`` (or ``.config``) runs into no
    half-imported module."""
    if name in __all__:
        module = ".config" if name[0].islower() else ".errors"
        return getattr(importlib.import_module(module, __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
