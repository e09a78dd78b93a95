"""Classify audio files with a model saved by :func:`machinery.modelio.save_model`.

``python -m machinery.predict FILE [FILE ...] --model PATH [--json] [--segments]`` prints each file's genre and
top-3 probabilities: the file (wav, flac, ogg, mp3, au; any channels and sample rate) is cut into back-to-back
segments of the model's length and the segments' probabilities are averaged, leaving out segments over
:data:`QUIET_DB` dB quieter than the file's loudest (silence and near-silence, which the models would answer
with a genre all the same). A transfer model trained since
issue 29 also says whether it is unsure (:func:`is_unsure`); ``--segments`` adds each segment's genre. A missing, empty, non-audio,
corrupt, silent or too-short file gets one line naming it and the reason; the other files are still
classified. Exit status: 0 when every file was classified, 1 when any failed, 2 for usage errors.
"""
from __future__ import annotations

if __name__ == "__main__":  # first: Ctrl-C while the imports below load is one line
    __import__("machinery").on_interrupt("interrupted")

import argparse
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from helpers.audio import MAX_SECONDS, header_seconds, load_audio, segment
from helpers.config import import_tensorflow
from helpers.errors import AudioError, CourseError
from helpers.models import mahalanobis

from . import on_interrupt
from .modelio import load_model, prepare_features, read_metadata

__all__ = ["MAX_SECONDS", "QUIET_DB", "is_unsure", "predict_file", "main"]

#: A segment whose RMS is more than this many dB below the file's loudest segment is "quiet": silence or
#: near-silence between or after the music. Its genre says nothing about the music (a model answers jazz for
#: digital silence and metal for faint noise: issue 29), so it is left out of the file's average. 40 dB leaves in
#: the quiet passages of music (a few seconds' average rarely lies more than 30 dB below the loudest).
QUIET_DB = 40.0


def is_unsure(z: np.ndarray, proba: np.ndarray, stats: dict[str, Any]) -> tuple[bool, str]:
    """Whether a transfer model should not be trusted on a recording, and why (one line).

    Unsure when the mean of its patches' standardised embeddings ``z`` lies beyond ``stats["threshold"]`` in
    Mahalanobis distance from the training clips (:func:`machinery.train.unsure_statistics`: about 5 % of clips
    like them do), or when the top mean probability in ``proba`` is below ``stats["min_top_probability"]``
    (twice chance, at most 0.5: 0.2 for ten genres).

    Examples
    --------
    >>> stats = {"center": [0.0], "scale": 1.0, "components": [[0.0]], "threshold": 3.0, "min_top_probability": 0.2}
    >>> is_unsure(np.array([[5.0], [7.0]]), np.array([0.9, 0.1]), stats)
    (True, 'not like the music it was trained on (distance 6.0 > 3.0)')
    """
    distance, top = float(mahalanobis(np.mean(z, axis=0), stats)[0]), float(np.max(proba))
    if distance > stats["threshold"]:
        return True, f"not like the music it was trained on (distance {distance:.1f} > {stats['threshold']:.1f})"
    if top < stats["min_top_probability"]:
        return True, f"no genre stands out (top probability {top:.2f} < {stats['min_top_probability']:.2f})"
    return False, f"like the music it was trained on (distance {distance:.1f} <= {stats['threshold']:.1f}, top probability {top:.2f})"


@functools.lru_cache(maxsize=4)
def _with_embedding(model: Any) -> Any:
    """The transfer model with a second output: the standardised embedding (its ``normalise`` layer)."""
    import keras

    return keras.Model(model.input, [model.output, model.get_layer("normalise").output])


def predict_file(path: str | os.PathLike, model: Any, metadata: dict[str, Any], *, segments: bool = False,
                 quiet_db: float | None = QUIET_DB) -> dict[str, Any]:
    """Classify one audio file with a model and metadata from :func:`machinery.modelio.load_model`; never raises.

    Returns a dict: ``file``, ``genre`` (None on error), ``probabilities`` (genre -> mean over the segments;
    None on error), ``segments`` and ``error`` (None, or one line naming the file). Bytes of a file name that
    are not UTF-8 show as U+FFFD in ``file`` and ``error``, so that every line prints and is valid JSON. A
    model whose metadata has ``unsure`` (transfer models since issue 29) adds ``unsure`` (bool) and
    ``unsure_reason`` (:func:`is_unsure`; both None on error). A file longer than :data:`helpers.audio.MAX_SECONDS`
    (10 minutes) is classified on its beginning, and ``note`` says so. ``segments=True`` adds ``timeline``: per
    segment ``start``, ``end`` (seconds), ``genre`` and ``probabilities``; when the file does not end on a
    segment boundary a last segment ends at the file's end, overlapping the one before (not in the average).
    Segments over ``quiet_db`` dB (:data:`QUIET_DB`) quieter than the loudest are left out of the average and of
    the unsure decision: ``note`` counts them, ``segments`` does not, and their timeline entries have
    ``"quiet": true``; ``quiet_db=None`` counts every segment.

    Examples
    --------
    >>> predict_file("no_such.wav", *load_model("build/doctest.keras"))["error"]  # doctest: +SKIP
    'no_such.wav: file not found'
    """
    path = Path(path)
    out: dict[str, Any] = {"file": _text(path), "genre": None, "probabilities": None, "segments": 0, "error": None,
                           **({"unsure": None, "unsure_reason": None} if "unsure" in metadata else {}),
                           **({"timeline": None} if segments else {})}
    sr, seconds = int(metadata["sample_rate"]), float(metadata["segment_seconds"])
    genres = [str(g) for g in metadata["genres"]]
    try:
        y, sr = load_audio(path, sr=sr, mono=True, min_duration=seconds, allow_silent=False, max_seconds=MAX_SECONDS)
        total = header_seconds(path)  # wav, flac, ogg, mp3 say their length undecoded
        if total is not None and total > len(y) / sr + 0.5:
            out["note"] = f"only the first {len(y) / sr:.0f} s of {total:.0f} s were classified (memory bound)"
        segs = segment(y, sr=sr, seconds=seconds, source=path)
        n, length = len(segs), segs.shape[1]
        batch = np.vstack([segs, y[None, -length:]]) if segments and len(y) > n * length else segs
        level = 10 * np.log10(np.maximum(np.mean(np.square(batch, dtype=np.float64), axis=1), 1e-20))
        quiet = level < level[:n].max() - (np.inf if quiet_db is None else quiet_db)  # never the loudest
        if quiet[:n].any():
            out["note"] = "; ".join([*([out["note"]] if "note" in out else []), f"{int(quiet[:n].sum())} quiet "
                                     f"segment(s), over {quiet_db:g} dB below the loudest, left out"])
        with np.errstate(over="ignore", invalid="ignore"):  # checked below, in one line instead of warnings
            x = prepare_features(batch, metadata)
        if not np.isfinite(x).all():
            raise AudioError(f"{path}: its features are not finite numbers (peak sample {np.max(np.abs(y)):.3g}; "
                             "audio lies within -1..1)")
        outputs = (_with_embedding(model) if "unsure" in out else model).predict(x, verbose=0)
        proba = np.asarray(outputs[0] if "unsure" in out else outputs, dtype=np.float64)
        kept = np.flatnonzero(~quiet[:n])  # the segments the file's answer averages
        if "unsure" in out:
            out["unsure"], out["unsure_reason"] = is_unsure(outputs[1][kept], proba[kept].mean(axis=0),
                                                            metadata["unsure"])
    except Exception as exc:  # noqa: BLE001 - report, never crash on one file
        text = " ".join(str(exc).split()) or type(exc).__name__
        text = text if isinstance(exc, AudioError) else f"cannot be classified ({type(exc).__name__}: {text})"
        return {**out, "error": _text(text if str(path) in text else f"{path}: {text}")}
    mean = proba[kept].mean(axis=0)
    if not np.isfinite(mean).all():
        return {**out, "error": f"{out['file']}: the model gave probabilities that are not finite numbers",
                **({"unsure": None, "unsure_reason": None} if "unsure" in out else {})}
    if segments:
        starts = [i * length for i in range(n)] + [len(y) - length] * (len(proba) - n)
        out["timeline"] = [{"start": round(s / sr, 3), "end": round((s + length) / sr, 3), "genre": genres[int(p.argmax())],
                            "probabilities": {g: round(float(v), 6) for g, v in zip(genres, p)}, **({"quiet": True} if q else {})}
                           for s, p, q in zip(starts, proba, quiet)]
    return {**out, "genre": genres[int(mean.argmax())], "segments": len(kept),
            "probabilities": {g: round(float(p), 6) for g, p in zip(genres, mean)}}


def _text(text: Any) -> str:
    """``text`` with the undecodable bytes of a file name (kept by Python as lone surrogates) as U+FFFD."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _escaped(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _format_result(result: dict[str, Any], top: int = 3) -> str:
    """One line: ``FILE: GENRE (g1 0.91, g2 0.05, g3 0.02; N segments)`` or ``error: reason``; `` unsure: reason``
    after it when the model is unsure, and a line ``  START-END s: GENRE P`` per segment of a ``timeline``.

    Examples
    --------
    >>> _format_result({"file": "a.wav", "genre": "jazz", "probabilities": {"jazz": 0.8, "rock": 0.2},
    ...                "segments": 1, "error": None})
    'a.wav: jazz (jazz 0.800, rock 0.200; 1 segment)'

    A control character in a file name (a newline, a terminal escape) is printed escaped, as ``\\n`` or
    ``\\x1b``: a name cannot split a result over two lines or reach the terminal raw (``--json`` keeps it as is).
    """
    result = {**result, "file": _escaped(result["file"]), "error": result["error"] and _escaped(result["error"])}
    if result["error"]:
        return f"error: {result['error']}"
    probs = ", ".join(f"{g} {p:.3f}" for g, p in sorted(result["probabilities"].items(), key=lambda kv: -kv[1])[:top])
    n = result["segments"]
    mark = f" unsure: {result['unsure_reason']}" if result.get("unsure") else ""
    timeline = "".join(f"\n  {s['start']:.2f}-{s['end']:.2f} s: {s['genre']} {s['probabilities'][s['genre']]:.2f}"
                       + (" (quiet: not counted)" if s.get("quiet") else "") for s in result.get("timeline") or [])
    note = f" ({result['note']})" if result.get("note") else ""
    return f"{result['file']}: {result['genre']} ({probs}; {n} segment{'' if n == 1 else 's'}){note}{mark}{timeline}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Examples
    --------
    >>> main(["song.mp3", "--model", "build/models/lstm.keras", "--json"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m machinery.predict", usage="%(prog)s [-h] --model MODEL [--json] "
                                     "[--segments] FILE [FILE ...]", description="Predict the genre of "
                                     "audio files with a course model (.keras file from machinery.train).")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files (wav, flac, ogg, mp3, au)")
    parser.add_argument("--model", required=True, type=Path, help="model file written by python -m machinery.train")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.add_argument("--segments", action="store_true", help="also each segment's start and end (s), genre and "
                        "probabilities (JSON: timeline); any model kind")
    parser.epilog = ("A transfer model (machinery.train transfer, since issue 29) also says whether it is unsure: when the "
                     "recording is unlike the music it was trained on, or no genre stands out (JSON: unsure, unsure_reason; "
                     "lstm and cnn models and older transfer models do not, and their JSON has no such keys).")
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
    on_interrupt(None)  # from here Ctrl-C is a KeyboardInterrupt, caught below
    try:
        for f in args.files:
            result = predict_file(f, model, metadata, segments=args.segments)
            failed += result["error"] is not None
            line = json.dumps(result, allow_nan=False) if args.json else _format_result(result)
            print(line, file=sys.stderr if result["error"] and not args.json else sys.stdout, flush=True)
    except BrokenPipeError:  # the reader went away (`... --json | head -1`): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
