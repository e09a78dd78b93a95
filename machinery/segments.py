"""The segment datasets the models train on: every clip cut into 3-s segments, their features computed in worker
processes and cached by the clips' content, and the training copies changed as a learner's recordings differ.

What one segment becomes is :func:`helpers.models.segment_features` (notebooks 07-09 call it in their cells);
:func:`segment_dataset` does it for a folder of clips, :func:`add_augmented_copies` for the changed copies of
the transfer model's training clips (issue 29). :mod:`machinery.train` and notebooks 07-09 and 11 use them.
"""
from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pooch
from tqdm.std import tqdm

from helpers.audio import DEFAULT_SR, MAX_SECONDS, augment, load_audio, segment
from helpers.datasets import GTZAN_GENRES
from helpers.errors import AudioError, CourseError, not_a_command
from helpers.models import check_spec, segment_features
from .extract import in_workers
from .store import cached

__all__ = ["segment_dataset", "AUGMENTATIONS", "AUGMENTED", "add_augmented_copies"]


def _clip_features(path: str, sr: int, seconds: float, spec: dict,
                   change: tuple | None = None) -> np.ndarray | str:
    """Features of one clip (changed by :func:`helpers.audio.augment` with ``change = (kind, amount, seed)``), or
    why it cannot be used."""
    try:
        y, sr = load_audio(path, sr=sr, mono=True, max_seconds=MAX_SECONDS)
        y = y if change is None else augment(y, sr=sr, kind=change[0], amount=change[1], seed=change[2])
        return segment_features(segment(y, sr=sr, seconds=seconds, source=path), sr, spec)
    except AudioError as exc:
        return str(exc)


#: The modules whose code makes a segment's features (loading, changed copies, cutting, log-mel or MFCC): a change to
#: any of them is a new cache key, so that an entry made by older code is never served (issue 31).
_FEATURE_CODE = ("helpers.audio", "helpers.pretrained", "helpers.models", __name__)


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """A digest of the source files of :data:`_FEATURE_CODE`.

    Examples
    --------
    >>> len(_code_digest())
    16
    """
    digest = hashlib.sha1()
    for name in _FEATURE_CODE:
        digest.update(Path(sys.modules[name].__file__).read_bytes())
    return digest.hexdigest()[:16]


def _content_key(clips: pd.DataFrame, settings: list) -> str:
    """A digest of the settings, of the feature code (:func:`_code_digest`) and of every clip's id, genre and file bytes
    (a changed clip or a changed function changes it)."""
    digest = hashlib.sha1(json.dumps(settings).encode())
    digest.update(_code_digest().encode())
    for clip_id, genre, path in clips[["clip_id", "genre", "path"]].itertuples(index=False):
        try:
            content = pooch.file_hash(path, alg="sha1")
        except OSError:
            content = "unreadable"
        digest.update(f"{clip_id}\0{genre}\0{content}".encode())
    return digest.hexdigest()[:16]


def segment_dataset(clips: pd.DataFrame, spec: dict[str, Any], *, sr: int = DEFAULT_SR, segment_seconds: float = 3.0,
                    cache: bool = True, n_jobs: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Cut every clip into segments and compute their features (cached, keyed by the clips'
    content).

    ``clips`` has columns ``clip_id``, ``genre``, ``path`` (:func:`helpers.datasets.gtzan_clips`),
    and optionally ``augment``: ``(kind, amount, seed)`` for each clip, changed by
    :func:`helpers.audio.augment`; a clip shorter than one segment is skipped. The arrays are cached
    (:func:`machinery.store.cached`, in ``build/cache/segments/``), keyed by the settings, clip ids,
    genres and file contents; ``cache=False`` computes them afresh. ``n_jobs``: joblib workers
    (default 1 below 200 clips, else 2).

    Returns a dict: ``X`` (float32, one row per segment), ``y`` (int64), ``genres``, ``clip_id``, ``row``
    (each segment's clip as its position in ``clips``),
    ``spec``, ``sample_rate``, ``segment_seconds`` and ``skipped``: one line per clip left out,
    naming its file and why (the same lines as :func:`machinery.extract.extract_features`' failures),
    the files that ``clips.attrs["unreadable"]`` lists (:func:`helpers.datasets.gtzan_clips`) first.

    Examples
    --------
    >>> segment_dataset(gtzan_clips(per_genre=1).head(2), MFCC_SPEC)["X"].shape  # doctest: +SKIP
    (20, 130, 13)
    """
    spec = check_spec(spec)
    if missing := {"clip_id", "genre", "path"} - set(clips.columns):
        raise CourseError(f"clips table lacks column(s) {sorted(missing)}")
    meta = {"spec": spec, "sample_rate": int(sr), "segment_seconds": float(segment_seconds)}
    listed = list(dict(clips.attrs.get("unreadable") or {}).values())  # files gtzan_clips could not decode
    changes = [(str(k), float(a), int(s)) for k, a, s in clips["augment"]] if "augment" in clips else [None] * len(clips)
    key = _content_key(clips, list(meta.values()) + ([list(c) for c in changes] if "augment" in clips else []))

    def compute() -> dict[str, np.ndarray]:
        found = set(clips["genre"])
        genres = [g for g in GTZAN_GENRES if g in found] + sorted(found - set(GTZAN_GENRES))
        rows = list(clips[["clip_id", "genre", "path"]].itertuples(index=False, name=None))
        calls = [(str(p), sr, segment_seconds, spec, c) for (_, _, p), c in zip(rows, changes)]
        jobs = n_jobs or (1 if len(rows) < 200 else 2)
        done = dict(tqdm(in_workers(_clip_features, calls, n_jobs=jobs), total=len(calls),
                         disable=not progress, unit="clip"))
        results = [done[i] for i in range(len(calls))]
        kept = [(c, g, r, i) for i, ((c, g, _), r) in enumerate(zip(rows, results)) if not isinstance(r, str)]
        skipped = [r for r in results if isinstance(r, str)]
        if not kept:
            raise CourseError(f"none of the {len(rows)} clips gave a {segment_seconds:g} s "
                              f"segment: {'; '.join(listed + skipped)}")
        label = [np.full(len(r), genres.index(g), dtype=np.int64) for _, g, r, _ in kept]
        return {"X": np.concatenate([r for _, _, r, _ in kept]).astype(np.float32),
                "y": np.concatenate(label),
                "genres": np.array(genres, dtype=str), "skipped": np.array(skipped, dtype=str),
                "clip_id": np.concatenate([np.full(len(r), c) for c, _, r, _ in kept]).astype(str),
                "row": np.concatenate([np.full(len(r), i, dtype=np.int64) for _, _, r, i in kept])}

    ds = cached("segments", key, compute) if cache else compute()
    return {**ds, **meta, "skipped": listed + ds["skipped"].tolist()}


#: The training copies of ``python -m machinery.train transfer`` (issue 29): one per kind for each training clip, its
#: amount drawn uniformly from the range (a pitch shift up or down): the ways a learner's recordings differ from GTZAN.
AUGMENTATIONS = {"noise": (0.0, 20.0), "band": (6000.0, 12000.0), "pitch": (0.5, 2.5),
                 "tempo": (0.85, 1.15), "mp3": (0.6, 0.95)}


AUGMENTED = ("copies of each training clip with white noise (0-20 dB SNR), a band limit "
             "(resampled to 6-12 kHz), a pitch shift (0.5-2.5 semitones up or down), a tempo "
             "change (0.85-1.15 times) and MP3 coding (about 16-64 kbit/s)")


def add_augmented_copies(ds: dict[str, Any], clips: pd.DataFrame, parts: dict[str, np.ndarray], *, seed: int,
                         kinds: tuple[str, ...] = tuple(AUGMENTATIONS)) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Add a changed copy of every training clip for each of ``kinds`` (the transfer model's
    augmentation, issue 29).

    ``ds``: :func:`segment_dataset` of ``clips``; ``parts``: its rows' ``train`` and ``val``
    indices. Each clip of ``parts["train"]`` (never a validation or test clip) gets, per kind, an
    amount drawn from :data:`AUGMENTATIONS` with ``seed`` (white noise at 0-20 dB SNR, a band limit
    of 6-12 kHz resampling, a pitch shift of 0.5-2.5 semitones up or down, 0.85-1.15 times the
    tempo, MP3 at libsndfile's compression level 0.6-0.95: :func:`helpers.audio.augment`); its
    features are computed as ``ds``'s. Returns ``(X, y, parts)``: ``ds``'s rows, then the copies'
    rows (``parts["augmented"]``; ``parts["augmented_clip_id"]``: the clip each of them was copied from;
    ``parts["augmented_kind"]``: the kind of change).

    Examples
    --------
    >>> X, y, parts = add_augmented_copies(ds, clips, {"train": tr, "val": va}, seed=42)  # doctest: +SKIP
    >>> len(X) - len(ds["X"]) == len(parts["augmented"])  # doctest: +SKIP
    True
    """
    chosen = clips[clips["clip_id"].isin(set(ds["clip_id"][parts["train"]]))]
    rng, copies = np.random.default_rng(seed), []
    for kind in kinds:
        amount = rng.uniform(*AUGMENTATIONS[kind], len(chosen)) * (rng.choice([-1, 1], len(chosen)) if kind == "pitch" else 1)
        copies.append(chosen.assign(augment=list(zip([kind] * len(chosen), amount, rng.integers(2**31, size=len(chosen))))))
    frame = pd.concat(copies, ignore_index=True)
    extra = segment_dataset(frame, ds["spec"], sr=ds["sample_rate"], segment_seconds=ds["segment_seconds"])
    labels = np.array([list(ds["genres"]).index(g) for g in extra["genres"]])[extra["y"]]
    rows = np.arange(len(ds["X"]), len(ds["X"]) + len(labels))
    return (np.concatenate([ds["X"], extra["X"]]), np.concatenate([ds["y"], labels]),
            {**parts, "augmented": rows, "augmented_clip_id": extra["clip_id"],
             "augmented_kind": np.array([change[0] for change in frame["augment"]])[extra["row"]]})


if __name__ == "__main__":
    not_a_command(__spec__.name)
