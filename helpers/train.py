"""Train a genre classifier on GTZAN segments: the code notebook 07 runs, and its command line.

``python -m helpers.train lstm --out PATH [--data-dir DIR] [--epochs N] [--seed S]``
trains the MFCC-sequence LSTM on every GTZAN clip in the data directory, writes
one ``.keras`` file that :mod:`helpers.predict` can use, and prints the
held-out clip-level accuracy. ``python -m helpers.train cnn ...`` (same
options) runs :func:`helpers.cnn.train_cnn_cli`.

The steps, each a function the notebook calls too:

1. :func:`gtzan_segment_dataset` - clips -> 3 s segments -> features (cached
   under ``build/cache/features``);
2. :func:`clip_split` - train / validation / test *by clip*: the
   fault-filtered partition when it covers every genre in every part (the
   full data set), else a stratified random split of clips;
   :func:`segment_split` is the leaky per-segment split, for comparison only;
3. :func:`train_segment_model` - standardise with training statistics, fit
   with early stopping, evaluate per segment and per clip on the test part;
4. :func:`model_metadata` + :func:`helpers.modelio.save_model` - one file.

Exit status: 0 when fine, 1 when training failed (e.g. no data), 2 for usage errors.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .config import cache_dir, seed_everything
from .errors import CourseError
from .splits import group_train_val_test_split, require_classes

__all__ = [
    "TrainResult",
    "gtzan_segment_dataset",
    "clip_split",
    "segment_split",
    "train_segment_model",
    "train_lstm",
    "model_metadata",
    "main",
]

logger = logging.getLogger(__name__)

DEFAULT_EPOCHS = 40
DEFAULT_SEED = 42
VAL_SIZE = 0.15
TEST_SIZE = 0.25


@dataclass
class TrainResult:
    """What :func:`train_segment_model` returns.

    Attributes
    ----------
    model : keras.Model
        The trained model (best epoch by validation loss).
    history : dict
        Per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``; ``best_epoch``.
    test : dict
        :func:`helpers.models.evaluate_segments` on the test part.
    norm_mean, norm_std : numpy.ndarray
        Standardisation statistics from the training part.
    parts : dict
        ``"train"``, ``"val"``, ``"test"`` -> segment indices.
    split : str
        How the split was made.
    """

    model: Any
    history: dict
    test: dict
    norm_mean: np.ndarray
    norm_std: np.ndarray
    parts: dict
    split: str
    extra: dict = field(default_factory=dict)

    @property
    def epochs_run(self) -> int:
        return len(self.history["loss"])


def gtzan_segment_dataset(
    spec: dict[str, Any],
    *,
    root: Path | None = None,
    per_genre: int | None = None,
    clips: pd.DataFrame | None = None,
    sr: int = 22050,
    segment_seconds: float = 3.0,
    cache: bool = True,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """GTZAN clips and their segment features, cached as ``.npz`` under :func:`helpers.config.cache_dir` (``features``).

    Parameters
    ----------
    spec : dict
        Feature spec (:func:`helpers.sequences.check_spec`).
    root : pathlib.Path, optional
        Data directory (default: :func:`helpers.config.data_dir`).
    per_genre : int, optional
        Use only the first ``per_genre`` clips of each genre.
    clips : pandas.DataFrame, optional
        Use these clips instead of scanning ``root``.
    sr, segment_seconds : int, float
        Sample rate (Hz) and segment length (s).
    cache : bool
        Reuse / write the cache file (its name hashes the clips and settings).
    progress : bool
        Progress bar while computing features.

    Returns
    -------
    clips : pandas.DataFrame
        As :func:`helpers.datasets.gtzan_clips` (with ``split`` when the
        fault-filtered partition is present).
    ds : dict
        As :func:`helpers.sequences.build_segment_dataset`.
    """
    from .datasets import gtzan_clips
    from .sequences import build_segment_dataset, check_spec, load_or_build_dataset

    spec = check_spec(spec)
    if clips is None:
        clips = gtzan_clips(root, per_genre=per_genre)
    if clips.empty:
        raise CourseError(f"no GTZAN clips found in {root or 'the data directory'}")
    kwargs = dict(sr=sr, segment_seconds=segment_seconds, progress=progress)
    if not cache:
        return clips, build_segment_dataset(clips, spec, **kwargs)
    key = json.dumps([spec, sr, segment_seconds, sorted(clips["path"].astype(str))])
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    path = cache_dir("features") / f"gtzan_{spec['type']}_{len(clips)}clips_{digest}.npz"
    return clips, load_or_build_dataset(path, clips, spec, **kwargs)


def clip_split(
    ds: dict[str, Any],
    clips: pd.DataFrame | None = None,
    *,
    seed: int = DEFAULT_SEED,
    val_size: float = VAL_SIZE,
    test_size: float = TEST_SIZE,
) -> tuple[dict[str, np.ndarray], str]:
    """Train / validation / test segment indices with every clip's segments on one side.

    The rule: if ``clips`` has the fault-filtered partition (a ``split``
    column) and each of its three parts holds at least one clip of every genre
    in ``ds`` (true for the full GTZAN set), use it - clips it excludes are
    left out. Otherwise (e.g. a small subset, where it is lopsided) split the
    clips at random, stratified by genre (:func:`helpers.splits.group_train_val_test_split`).

    Returns
    -------
    parts : dict
        ``"train"``, ``"val"``, ``"test"`` -> sorted segment indices.
    description : str
        One line saying which split was used.
    """
    genres = list(ds["genres"])
    cid = np.asarray(ds["clip_id"])
    if clips is not None and "split" in clips.columns:
        part_of = clips.set_index("clip_id")["split"]
        seg_part = pd.Series(cid).map(part_of).fillna("excluded").to_numpy()
        seg_genre = np.asarray(genres)[np.asarray(ds["y"])]
        covered = all(
            set(genres) <= set(seg_genre[seg_part == p]) for p in ("train", "valid", "test")
        )
        if covered:
            parts = {
                "train": np.flatnonzero(seg_part == "train"),
                "val": np.flatnonzero(seg_part == "valid"),
                "test": np.flatnonzero(seg_part == "test"),
            }
            n_clips = {k: len(set(cid[v])) for k, v in parts.items()}
            return parts, (
                "fault-filtered GTZAN partition (Kereliuk, Sturm & Larsen 2015): "
                f"{n_clips['train']}/{n_clips['val']}/{n_clips['test']} clips, "
                f"{len(set(cid[seg_part == 'excluded']))} excluded"
            )
    tr, va, te = group_train_val_test_split(cid, labels=ds["y"], val_size=val_size, test_size=test_size, seed=seed)
    parts = {"train": tr, "val": va, "test": te}
    n_clips = {k: len(set(cid[v])) for k, v in parts.items()}
    return parts, (
        f"random split by clip, stratified by genre (seed {seed}): "
        f"{n_clips['train']}/{n_clips['val']}/{n_clips['test']} clips"
    )


def segment_split(
    ds: dict[str, Any], *, seed: int = DEFAULT_SEED, val_size: float = VAL_SIZE, test_size: float = TEST_SIZE
) -> tuple[dict[str, np.ndarray], str]:
    """The LEAKY split: segments shuffled into train / validation / test regardless of clip.

    Segments of one clip land on both sides, so the test score partly
    measures recognising the clip. Only for showing the leak.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(ds["y"]))
    y = np.asarray(ds["y"])
    rest, te = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    tr, va = train_test_split(rest, test_size=val_size / (1 - test_size), stratify=y[rest], random_state=seed)
    parts = {"train": np.sort(tr), "val": np.sort(va), "test": np.sort(te)}
    cid = np.asarray(ds["clip_id"])
    shared = len(set(cid[parts["train"]]) & set(cid[parts["test"]]))
    return parts, (
        f"random split by segment (seed {seed}): {len(tr)}/{len(va)}/{len(te)} segments; "
        f"{shared} of {len(set(cid[parts['test']]))} test clips also have segments in training"
    )


def train_segment_model(
    build: Callable[[tuple, int], Any],
    ds: dict[str, Any],
    parts: dict[str, np.ndarray],
    *,
    split: str = "",
    epochs: int = DEFAULT_EPOCHS,
    seed: int = DEFAULT_SEED,
    batch_size: int = 32,
    patience: int = 5,
    norm_axis: tuple[int, ...] = (0, 1),
    add_channel: bool = False,
) -> TrainResult:
    """Standardise, fit with early stopping, and evaluate on the test part.

    Parameters
    ----------
    build : callable
        ``build(input_shape, n_classes) -> compiled keras.Model``.
    ds : dict
        Segment data set (:func:`helpers.sequences.build_segment_dataset`).
    parts : dict
        ``"train"``, ``"val"``, ``"test"`` -> segment indices.
    split : str
        Description of the split, kept in the result.
    epochs, batch_size, patience : int
        Training settings (early stopping on validation loss).
    seed : int
        Seeds Python, NumPy and TensorFlow (deterministic ops) before building.
    norm_axis : tuple of int
        Axes of ``X`` the standardisation statistics average over; the
        default gives one mean/std per MFCC coefficient.
    add_channel : bool
        Add a trailing channel axis (for 2-D convolutions).

    Returns
    -------
    TrainResult
    """
    from .config import import_tensorflow
    from .models import evaluate_segments, fit_model, fit_normaliser, normalise

    import_tensorflow()  # before seeding, so that seed_everything also makes TensorFlow's ops deterministic
    seed_everything(seed)
    X, y, cid = ds["X"], np.asarray(ds["y"]), np.asarray(ds["clip_id"])
    mean, std = fit_normaliser(X[parts["train"]], axis=norm_axis)

    def prep(idx: np.ndarray) -> np.ndarray:
        out = normalise(X[idx], mean, std)
        return out[..., None] if add_channel else out

    Xtr, Xva, Xte = prep(parts["train"]), prep(parts["val"]), prep(parts["test"])
    model = build(Xtr.shape[1:], len(ds["genres"]))
    history = fit_model(
        model, Xtr, y[parts["train"]], Xva, y[parts["val"]], epochs=epochs, batch_size=batch_size, patience=patience
    )
    test = evaluate_segments(model, Xte, y[parts["test"]], cid[parts["test"]])
    logger.info(
        "%s: %d epochs, test segment accuracy %.3f, clip accuracy %.3f (mean) %.3f (majority)",
        split, len(history["loss"]), test["segment_accuracy"], test["clip_accuracy_mean"], test["clip_accuracy_majority"],
    )
    return TrainResult(model, history, test, mean, std, parts, split, {"seed": seed, "add_channel": add_channel})


def train_lstm(
    ds: dict[str, Any], parts: dict[str, np.ndarray], *, split: str = "", epochs: int = DEFAULT_EPOCHS, seed: int = DEFAULT_SEED, **kwargs: Any
) -> TrainResult:
    """:func:`train_segment_model` with :func:`helpers.models.build_lstm` on MFCC sequences."""
    from .models import build_lstm

    if ds["spec"]["type"] != "mfcc":
        raise CourseError(f"the LSTM expects MFCC sequences, got {ds['spec']['type']} features")
    return train_segment_model(
        lambda shape, n: build_lstm(shape, n), ds, parts, split=split, epochs=epochs, seed=seed, **kwargs
    )


def model_metadata(kind: str, ds: dict[str, Any], result: TrainResult) -> dict[str, Any]:
    """Everything :mod:`helpers.predict` needs (and what the model's test score was)."""
    t = result.test
    return {
        "kind": kind,
        "genres": [str(g) for g in ds["genres"]],
        "sample_rate": int(ds["sample_rate"]),
        "segment_seconds": float(ds["segment_seconds"]),
        "feature_spec": dict(ds["spec"]),
        "norm_mean": result.norm_mean,
        "norm_std": result.norm_std,
        "input_ndim": 4 if result.extra.get("add_channel") else 3,
        "split": result.split,
        "seed": result.extra.get("seed"),
        "epochs_run": result.epochs_run,
        "best_epoch": result.history["best_epoch"][0],
        "test_metrics": {k: t[k] for k in ("segment_accuracy", "clip_accuracy_majority", "clip_accuracy_mean", "n_segments", "n_clips")},
    }


def report_lines(result: TrainResult) -> list[str]:
    """Human-readable summary of a training run (what the CLI prints)."""
    t = result.test
    return [
        f"split: {result.split}",
        f"epochs run: {result.epochs_run} (best by validation loss: {result.history['best_epoch'][0]})",
        f"test segments: {t['n_segments']}, test clips: {t['n_clips']}",
        f"test accuracy per segment: {t['segment_accuracy']:.3f}",
        f"test accuracy per clip (majority vote): {t['clip_accuracy_majority']:.3f}",
        f"held-out clip-level accuracy (mean probability): {t['clip_accuracy_mean']:.3f}",
    ]


def _train_lstm_cli(args: argparse.Namespace) -> int:
    from .modelio import save_model
    from .sequences import MFCC_SPEC

    clips, ds = gtzan_segment_dataset(MFCC_SPEC, root=args.data_dir, progress=sys.stderr.isatty())
    print(f"data: {len(clips)} GTZAN clips -> {len(ds['y'])} segments of {ds['segment_seconds']:g} s, "
          f"{len(ds['genres'])} genres; skipped {len(ds['skipped'])} clip(s)")
    for s in ds["skipped"]:
        print(f"  skipped {s}")
    require_classes(ds["clip_id"], ds["y"], names=ds["genres"])
    parts, split = clip_split(ds, clips, seed=args.seed)
    result = train_lstm(ds, parts, split=split, epochs=args.epochs, seed=args.seed)
    path = save_model(result.model, args.out, model_metadata("lstm", ds, result))
    for line in report_lines(result):
        print(line)
    print(f"model written to {path}")
    return 0


def _train_cnn_cli(args: argparse.Namespace) -> int:
    try:
        import helpers.cnn as cnn
    except ModuleNotFoundError as exc:
        if exc.name not in {"helpers.cnn"}:
            raise
        print("error: the cnn model is not available in this version of the course (helpers/cnn.py is missing)", file=sys.stderr)
        return 2
    if not hasattr(cnn, "train_cnn_cli"):
        print("error: helpers.cnn has no train_cnn_cli(args)", file=sys.stderr)
        return 2
    status = cnn.train_cnn_cli(args)
    return int(status or 0)


def _unwritable(path: Path) -> str | None:
    """Why a model cannot be written at ``path`` (a folder, under a file, not writable), or None."""
    if path.is_dir():
        return "is a folder; name a .keras file"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the folder {parent} is not writable"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.train",
        description="Train a genre classifier on the GTZAN clips in the data directory and save it as one .keras file.",
    )
    sub = parser.add_subparsers(dest="model", required=True, metavar="{lstm,cnn}")
    for name, text in (
        ("lstm", "LSTM on 3 s MFCC sequences (notebook 07)"),
        ("cnn", "CNN on 3 s log-mel spectrograms (notebooks 08-09)"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--out", required=True, type=Path, help="model file to write (.keras)")
        p.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $COURSE_DATA_DIR or <repo>/data)")
        p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"maximum epochs, early stopping on validation loss (default {DEFAULT_EPOCHS})")
        p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.out.suffix != ".keras":
        parser.error(f"--out must name a .keras file, got {args.out}")
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir} is not a folder")
    problem = _unwritable(args.out)
    if problem:  # checked before any work, so a bad path does not waste a training run
        parser.error(f"--out {args.out}: {problem}")
    existed = args.out.exists()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from .config import import_tensorflow

    import_tensorflow()  # without its start-up log lines, so an error is the only line on stderr
    try:
        if args.model == "lstm":
            return _train_lstm_cli(args)
        return _train_cnn_cli(args)
    except KeyboardInterrupt:
        print("interrupted; " + ("the previous model is unchanged" if existed else "nothing was written"), file=sys.stderr)
        return 130
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # e.g. too few clips per genre for a three-way split
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
