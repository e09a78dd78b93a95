"""The course's record of the GTZAN clips of the CI subset, and the check of a copy against it (issue 33).

A name is not content: the data commands (``python -m machinery.data status``), training and ``tools/ci_subset.py``
check that the clips they use are the ones the course's results were measured on.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from helpers.datasets import GTZAN_SR
from helpers.errors import not_a_command

__all__ = ["CLIP_RECORD", "samples_sha256", "changed_clips"]

#: For the 70 clips of the CI subset: the number of 16-bit samples at 22,050 Hz and their sha256.
CLIP_RECORD = Path(__file__).with_name("gtzan_ci_subset.csv")


def samples_sha256(samples: np.ndarray) -> str:
    """The sha256 of 16-bit samples as :data:`CLIP_RECORD` keeps it (little-endian bytes).

    Examples
    --------
    >>> samples_sha256(np.zeros(2, dtype=np.int16))[:12]
    'df3f619804a9'
    """
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<i2").tobytes()).hexdigest()


def changed_clips(clips: pd.DataFrame, *, exact: bool = False) -> dict[str, str]:
    """The clips among ``clips`` (rows of :func:`helpers.datasets.gtzan_clips`) whose audio is not what the course recorded:
    ``clip_id`` -> why. :data:`CLIP_RECORD` holds, for the 70 clips of the CI subset, the number of 16-bit samples
    at 22,050 Hz and their sha256; a copy must begin with those samples (a full 30-s clip does). Other clips are
    not checked. A name is not content: a rock clip replaced by a classical one under its name is found here.
    ``exact``: a copy must hold the recorded samples and no more (the CI subset's cut clips, as a bundle has them).

    Examples
    --------
    >>> from helpers.datasets import gtzan_clips
    >>> changed_clips(gtzan_clips(per_genre=1))
    {}
    """
    record = pd.read_csv(CLIP_RECORD).set_index("clip_id")
    changed = {}
    for clip_id, path in clips.loc[clips["clip_id"].isin(record.index), ["clip_id", "path"]].itertuples(index=False):
        n = int(record.at[clip_id, "n_samples"])
        try:
            samples, rate = sf.read(path, dtype="int16", frames=n + 1 if exact else n)
        except Exception as exc:  # noqa: BLE001 - decoders raise many types
            changed[clip_id] = f"cannot be read ({type(exc).__name__})"
            continue
        if rate != GTZAN_SR or samples.ndim != 1 or len(samples) < n or (exact and len(samples) > n):
            changed[clip_id] = f"not {'exactly ' * exact}{n:,} mono samples at {GTZAN_SR:,} Hz as recorded"
        elif samples_sha256(samples[:n]) != record.at[clip_id, "samples_sha256"]:
            changed[clip_id] = "its samples differ from the recorded ones"
    return changed


if __name__ == "__main__":
    not_a_command(__spec__.name)
