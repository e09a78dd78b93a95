"""Helpers for the 'From Waveforms to Genres' course.

Importing :mod:`helpers` has no side effects on other packages: it sets no
environment variable, changes nothing inside librosa and does not import
TensorFlow. librosa's example recordings are read offline from
``<data dir>/librosa`` with :func:`helpers.datasets.librosa_example`.

Modules, by concern:

- :mod:`helpers.config` - data directory, build directory, run size, seeds
- :mod:`helpers.errors` - the exception types
- :mod:`helpers.datasets` - data set registry, downloads, loaders
- :mod:`helpers.audio` - loading, segmenting, padding audio
- :mod:`helpers.features`, :mod:`helpers.cleaning`, :mod:`helpers.plotting` - audio features,
  noise and silence, figures (notebooks 01-03)
- :mod:`helpers.gtzan_features`, :mod:`helpers.eda` - the 57 GTZAN reference features, EDA (04)
- :mod:`helpers.extract` - parallel, cached, resumable feature extraction (04, 06, 10)
- :mod:`helpers.evaluation`, :mod:`helpers.model_selection` - CV tables, published-vs-ours,
  curves, grid-search tables (05, 06)
- :mod:`helpers.splits` - splits that keep a clip's segments together, clip voting
- :mod:`helpers.sequences`, :mod:`helpers.models`, :mod:`helpers.cnn`, :mod:`helpers.tfdata`,
  :mod:`helpers.modelio` - segment datasets, Keras models, tf.data/TFRecord, model files (07-09)
- :mod:`helpers.train`, :mod:`helpers.predict`, :mod:`helpers.data` - command lines
- :mod:`helpers.check` - band checks for run-dependent results (every notebook that trains)
"""
from __future__ import annotations

import logging
import warnings

from .config import configure_librosa_data, data_dir, seed_everything
from .errors import AudioError, ChecksumError, CourseError, DataNotFoundError, DownloadError

# pooch (loaded by librosa) imports tqdm.auto; without ipywidgets, tqdm warns in every notebook
# that it falls back to a text bar. The text bar is what the course wants, so silence that one warning.
warnings.filterwarnings("ignore", message="IProgress not found")

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
