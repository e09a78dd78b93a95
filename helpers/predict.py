"""Classify audio files with a model saved by :func:`helpers.modelio.save_model`.

``python -m helpers.predict FILE [FILE ...] --model PATH [--json]`` prints each file's genre and top-3
probabilities: the file (wav, flac, ogg, mp3, au; any channels and sample rate) is cut into back-to-back
segments of the model's length and the segments' probabilities are averaged. A missing, empty, non-audio,
corrupt, silent or too-short file gets one line naming it and the reason; the other files are still
classified. Exit status: 0 when every file was classified, 1 when any failed, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .audio import load_audio, segment
from .config import import_tensorflow
from .errors import AudioError, CourseError
from .modelio import load_model, read_metadata
from .train import CNN_SPEC, model_input, segment_features

__all__ = ["prepare_features", "predict_file", "format_result", "main"]


def prepare_features(segments: np.ndarray, metadata: dict[str, Any]) -> np.ndarray:
    """Model input for audio segments, as the model was trained: the features of ``metadata["feature_spec"]``
    (:func:`helpers.train.segment_features`), a channel axis for a CNN. The model normalises them itself.

    Examples
    --------
    >>> x = np.zeros((2, 66150), dtype=np.float32)
    >>> prepare_features(x, {"kind": "cnn", "sample_rate": 22050, "feature_spec": CNN_SPEC}).shape
    (2, 64, 130, 1)
    """
    return model_input(segment_features(segments, int(metadata["sample_rate"]), metadata["feature_spec"]), metadata["kind"])


def predict_file(path: str | os.PathLike, model: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """Classify one audio file with a model and metadata from :func:`helpers.modelio.load_model`; never raises.

    Returns a dict: ``file``, ``genre`` (None on error), ``probabilities`` (genre -> mean over the segments;
    None on error), ``segments`` and ``error`` (None, or one line naming the file). Bytes of a file name that
    are not UTF-8 show as U+FFFD in ``file`` and ``error``, so that every line prints and is valid JSON.

    Examples
    --------
    >>> predict_file("no_such.wav", *load_model("build/doctest.keras"))["error"]  # doctest: +SKIP
    'no_such.wav: file not found'
    """
    path = Path(path)
    out: dict[str, Any] = {"file": _text(path), "genre": None, "probabilities": None, "segments": 0, "error": None}
    sr, seconds = int(metadata["sample_rate"]), float(metadata["segment_seconds"])
    try:
        y, sr = load_audio(path, sr=sr, mono=True, min_duration=seconds, allow_silent=False)
        segs = segment(y, sr=sr, seconds=seconds, source=path)
        proba = np.asarray(model.predict(prepare_features(segs, metadata), verbose=0), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - report, never crash on one file
        text = " ".join(str(exc).split()) or type(exc).__name__
        text = text if isinstance(exc, AudioError) else f"cannot be classified ({type(exc).__name__}: {text})"
        return {**out, "error": _text(text if str(path) in text else f"{path}: {text}")}
    mean = proba.mean(axis=0)
    if not np.isfinite(mean).all():
        return {**out, "error": f"{out['file']}: the model gave probabilities that are not finite numbers"}
    genres = [str(g) for g in metadata["genres"]]
    return {**out, "genre": genres[int(mean.argmax())], "segments": int(len(segs)),
            "probabilities": {g: round(float(p), 6) for g, p in zip(genres, mean)}}


def _text(text: Any) -> str:
    """``text`` with the undecodable bytes of a file name (kept by Python as lone surrogates) as U+FFFD."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def format_result(result: dict[str, Any], top: int = 3) -> str:
    """One line: ``FILE: GENRE (g1 0.91, g2 0.05, g3 0.02; N segments)`` or ``error: reason``.

    Examples
    --------
    >>> format_result({"file": "a.wav", "genre": "jazz", "probabilities": {"jazz": 0.8, "rock": 0.2},
    ...                "segments": 1, "error": None})
    'a.wav: jazz (jazz 0.800, rock 0.200; 1 segment)'
    """
    if result["error"]:
        return f"error: {result['error']}"
    probs = ", ".join(f"{g} {p:.3f}" for g, p in sorted(result["probabilities"].items(), key=lambda kv: -kv[1])[:top])
    n = result["segments"]
    return f"{result['file']}: {result['genre']} ({probs}; {n} segment{'' if n == 1 else 's'})"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Examples
    --------
    >>> main(["song.mp3", "--model", "build/models/lstm.keras", "--json"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.predict", description="Predict the genre of "
                                     "audio files with a course model (.keras file from helpers.train).")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files (wav, flac, ogg, mp3, au)")
    parser.add_argument("--model", required=True, type=Path, help="model file written by python -m helpers.train")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    args = parser.parse_args(argv)
    try:
        read_metadata(args.model)  # fast checks before TensorFlow starts
        # no start-up log lines (an error is the only line on stderr), no notes on tf.function retracing
        import_tensorflow().get_logger().setLevel("ERROR")
        model, metadata = load_model(args.model)  # checks the metadata against the network: once, not per file
    except CourseError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    failed = 0
    try:
        for f in args.files:
            result = predict_file(f, model, metadata)
            failed += result["error"] is not None
            line = json.dumps(result, allow_nan=False) if args.json else format_result(result)
            print(line, file=sys.stderr if result["error"] and not args.json else sys.stdout, flush=True)
    except BrokenPipeError:  # the reader went away (`... --json | head -1`): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
