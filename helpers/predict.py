"""Classify audio files with a model saved by :func:`helpers.modelio.save_model`.

``python -m helpers.predict FILE [FILE ...] --model PATH [--json]`` prints,
for each file, the predicted genre and its top-3 probabilities. A file is cut
into back-to-back segments of the model's length (3 s; the remainder is
dropped), each segment is classified, and the segments' probabilities are
averaged. Any file of at least one segment works: wav, flac, ogg, mp3, au,
mono or stereo (mixed down), any sample rate (resampled).

A missing, empty, non-audio, corrupt, silent or too-short file is reported on
one line naming the file and the reason; the other files are still
classified. Exit status: 0 when every file was classified, 1 when any failed,
2 for usage errors (bad options, unusable model file).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .errors import AudioError, CourseError

__all__ = ["prepare_features", "predict_file", "format_result", "main"]


def prepare_features(segments: np.ndarray, metadata: dict[str, Any]) -> np.ndarray:
    """Model input for audio segments, as the model was trained.

    Computes the features of ``metadata["feature_spec"]``
    (:func:`helpers.sequences.segment_features`), applies ``(x - norm_mean) /
    norm_std`` when the metadata has them, and adds a trailing channel axis
    when ``metadata["input_ndim"] == 4``.
    """
    from .sequences import segment_features

    x = segment_features(segments, int(metadata["sample_rate"]), metadata["feature_spec"])
    if metadata.get("norm_mean") is not None and metadata.get("norm_std") is not None:
        x = (x - np.asarray(metadata["norm_mean"], dtype=np.float32)) / np.asarray(metadata["norm_std"], dtype=np.float32)
    if int(metadata.get("input_ndim", x.ndim)) == x.ndim + 1:
        x = x[..., None]
    return x.astype(np.float32)


def predict_file(path: str | os.PathLike, model: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """Classify one audio file; never raises for bad input.

    Parameters
    ----------
    path : path-like
        The audio file.
    model : keras.Model
        From :func:`helpers.modelio.load_model`.
    metadata : dict
        Its metadata (genres, sample rate, segment length, feature spec, normalisation).

    Returns
    -------
    dict
        ``file`` (str), ``genre`` (str or None), ``probabilities`` (genre ->
        mean probability over the segments, all genres; None on error),
        ``segments`` (int) and ``error`` (None, or a one-line reason naming the file).
    """
    from .audio import load_audio, segment
    from .models import predict_proba

    path = Path(path)
    out: dict[str, Any] = {"file": str(path), "genre": None, "probabilities": None, "segments": 0, "error": None}
    sr = int(metadata["sample_rate"])
    seconds = float(metadata["segment_seconds"])
    try:
        y, sr = load_audio(path, sr=sr, mono=True, min_duration=seconds, allow_silent=False)
        segs = segment(y, sr=sr, seconds=seconds, source=path)
        x = prepare_features(segs, metadata)
        proba = predict_proba(model, x)
    except AudioError as exc:
        out["error"] = _one_line(exc, path)
        return out
    except Exception as exc:  # noqa: BLE001 - report, never crash on one file
        out["error"] = _one_line(exc, path, prefix=f"cannot be classified ({type(exc).__name__}: ")
        return out
    mean = proba.mean(axis=0)
    if not np.isfinite(mean).all():
        out["error"] = f"{path}: the model gave probabilities that are not finite numbers"
        return out
    genres = [str(g) for g in metadata["genres"]]
    out["genre"] = genres[int(mean.argmax())]
    out["probabilities"] = {g: round(float(p), 6) for g, p in zip(genres, mean)}
    out["segments"] = int(len(segs))
    return out


def _one_line(exc: Exception, path: Path, prefix: str = "") -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if prefix:
        text = f"{prefix}{text})"
    return text if str(path) in text else f"{path}: {text}"


def format_result(result: dict[str, Any], top: int = 3) -> str:
    """One line: ``FILE: GENRE (g1 0.91, g2 0.05, g3 0.02; N segments)`` or ``FILE: error: reason``."""
    if result["error"]:
        return f"error: {result['error']}"
    ranked = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])[:top]
    probs = ", ".join(f"{g} {p:.3f}" for g, p in ranked)
    n = result["segments"]
    return f"{result['file']}: {result['genre']} ({probs}; {n} segment{'' if n == 1 else 's'})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.predict",
        description="Predict the genre of audio files with a course model (.keras file from helpers.train).",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files (wav, flac, ogg, mp3, au)")
    parser.add_argument("--model", required=True, type=Path, help="model file written by python -m helpers.train")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    from .config import import_tensorflow
    from .modelio import load_model, read_metadata

    try:
        read_metadata(args.model)  # fast checks before TensorFlow starts
        import_tensorflow()  # without its start-up log lines, so an error is the only line on stderr
        model, metadata = load_model(args.model)
    except CourseError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    failed = 0
    try:
        for f in args.files:
            result = predict_file(f, model, metadata)
            failed += result["error"] is not None
            if args.json:
                print(json.dumps(result, allow_nan=False), flush=True)
            else:
                stream = sys.stderr if result["error"] else sys.stdout
                print(format_result(result), file=stream, flush=True)
    except BrokenPipeError:  # the reader went away (`... --json | head -1`): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
