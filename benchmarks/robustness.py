"""Does ``python -m machinery.train transfer`` hear the music or the recording? (issue 29)

Trains the transfer model the way the command line does (``segment_dataset``, the course's split
``group_train_val_test_split`` with ``VAL_SIZE``/``TEST_SIZE``, ``fit_model``) three ways:

- ``before``: the raw level (``MUSICNN_SPEC``), no augmentation: the model of issue 29's report;
- ``level``: each patch scaled to -20 dBFS RMS (``TRANSFER_SPEC``), no augmentation;
- ``noise``: ``level`` plus one noisy copy of each training clip (white noise, 0-20 dB SNR): the command line
  from the first fix of issue 29 until the next one;
- ``after``: ``level`` plus one copy of each training clip per kind of :data:`machinery.segments.AUGMENTATIONS` (noise,
  band limit, pitch, tempo, MP3; ``add_augmented_copies``): today's command line.

and reports clip accuracy (mean patch probability) on held-out clips, clean and degraded. The degradations
are fixed up front, not tuned: 6/20/30 dB quieter; white noise at 20/10/0 dB SNR (noise seed 2929 + clip
number, never a training seed); telephone band (resampled to 8 kHz and back); pitch +2 semitones and 10 %
faster (``librosa.effects``); clipping at a quarter of the clip's peak (-12 dB); MP3 at 24 kbit/s (libsndfile). Each is applied to the clip
at its own rate (22,050 Hz), which is then resampled to the tagger's 16 kHz as ``librosa.load`` does.

Two blocks, for seeds 42 and 1:

- ``validation``: fitted on the training clips only, scored on the validation clips. Whether each augmentation
  step is kept is decided here (mean accuracy over the degraded conditions: ``noise`` against ``level``, ``after``
  against ``noise``).
- ``test``: fitted on training + validation clips as the command line does, scored on the test clips, which
  no choice looked at. For ``after`` it also reports how many test clips ``machinery.predict`` would call
  unsure.

The tagger's embeddings are cached by patch content (``machinery.train.tagger_embeddings``, in
``$COURSE_CACHE_DIR/embeddings``, as ``fit_model`` caches them), so a rerun costs minutes less::

    COURSE_DATA_DIR=../shared/data nice .venv/bin/python benchmarks/robustness.py [--seeds 42 1]

Writes ``benchmarks/robustness.csv`` (one row per block, seed, model and condition).
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import librosa  # noqa: E402
import pandas as pd  # noqa: E402

from helpers import models  # noqa: E402
from helpers.audio import add_noise, augment, load_audio, segment  # noqa: E402
from helpers.config import import_tensorflow  # noqa: E402
from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.evaluation import group_train_val_test_split  # noqa: E402
from machinery.predict import is_unsure  # noqa: E402
from helpers.pretrained import MUSICNN_SPEC, MUSICNN_SR, PATCH_SECONDS  # noqa: E402
from machinery import segments, train  # noqa: E402
from machinery.musicnn import load_musicnn, musicnn_embedding_model  # noqa: E402

CONDITIONS = {
    "clean": lambda y, sr, i: y,
    "6 dB quieter": lambda y, sr, i: y * 10 ** (-6 / 20),
    "20 dB quieter": lambda y, sr, i: y * 10 ** (-20 / 20),
    "30 dB quieter": lambda y, sr, i: y * 10 ** (-30 / 20),
    "noise 20 dB SNR": lambda y, sr, i: add_noise(y, snr_db=20, seed=2929 + i),
    "noise 10 dB SNR": lambda y, sr, i: add_noise(y, snr_db=10, seed=2929 + i),
    "noise 0 dB SNR": lambda y, sr, i: add_noise(y, snr_db=0, seed=2929 + i),
    "telephone (8 kHz)": lambda y, sr, i: librosa.resample(librosa.resample(y, orig_sr=sr, target_sr=8000), orig_sr=8000, target_sr=sr),
    "pitch +2 semitones": lambda y, sr, i: librosa.effects.pitch_shift(y, sr=sr, n_steps=2),
    "10 % faster": lambda y, sr, i: librosa.effects.time_stretch(y, rate=1.1),
    "clipped at peak/4": lambda y, sr, i: np.clip(y, -np.abs(y).max() / 4, np.abs(y).max() / 4),
    "MP3 (24 kbit/s)": lambda y, sr, i: augment(y, sr=sr, kind="mp3", amount=0.9),
}
MODELS = {"before": MUSICNN_SPEC, "level": models.TRANSFER_SPEC, "noise": models.TRANSFER_SPEC, "after": models.TRANSFER_SPEC}
KINDS = {"noise": ("noise",), "after": tuple(segments.AUGMENTATIONS)}  # the models trained with augmented copies



def head(model):
    """The transfer model after its embedding, in NumPy: embedding -> (probabilities, standardised embedding)."""
    norm = model.get_layer("normalise")
    mean, std = np.ravel(norm.mean), np.maximum(np.sqrt(np.ravel(norm.variance)), 1e-7)
    W, b = model.get_layer("genre").get_weights()

    def apply(E):
        z = (E - mean) / std
        logits = z @ W + b
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True), z
    return apply


def degraded_patches(path: str, condition: str, i: int, spec: dict) -> np.ndarray:
    """The model input of a clip after a degradation: applied at the clip's rate, then resampled to 16 kHz."""
    y, sr = load_audio(path, sr=None)
    y = np.asarray(CONDITIONS[condition](y, sr, i), dtype=np.float32)
    y = librosa.resample(y, orig_sr=sr, target_sr=MUSICNN_SR)  # what librosa.load(sr=16000) does
    return models.segment_features(segment(y, sr=MUSICNN_SR, seconds=PATCH_SECONDS, source=path), MUSICNN_SR, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1])
    parser.add_argument("--blocks", nargs="+", choices=["validation", "test"], default=["validation", "test"])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("robustness.csv"))
    args = parser.parse_args()
    import_tensorflow()
    start = time.time()
    tagger = musicnn_embedding_model(load_musicnn())  # the command line's tagger (fit_model's)
    embed = functools.partial(train.tagger_embeddings, tagger)  # cached by content, as fit_model's

    clips = gtzan_clips()
    number = {c: i for i, c in enumerate(clips["clip_id"])}
    paths = dict(zip(clips["clip_id"], clips["path"].astype(str)))
    kind = train.KINDS["transfer"]
    data = {name: segments.segment_dataset(clips, spec, sr=kind[2], segment_seconds=kind[3]) for name, spec in MODELS.items()}
    rows = []
    for seed in args.seeds:
        ds = data["after"]
        tr, va, te = group_train_val_test_split(ds["clip_id"], labels=ds["y"], val_size=models.VAL_SIZE,
                                                test_size=models.TEST_SIZE, seed=seed)
        for block, parts, scored in (("validation", {"train": tr, "val": va[:0]}, va), ("test", {"train": tr, "val": va}, te)):
            if block not in args.blocks:
                continue
            for name, spec in [(m, s) for m, s in MODELS.items() if m in args.models]:
                ds = data[name]
                X, y, fit_parts = ((ds["X"], ds["y"], parts) if name not in KINDS else
                                   segments.add_augmented_copies(ds, clips, {"train": tr, "val": va}, seed=seed, kinds=KINDS[name]))
                fit_parts = {**fit_parts, "val": parts["val"]}  # the copies are of training clips only
                model, history = train.fit_model("transfer", X, y, fit_parts, seed=seed,
                                                 groups=np.r_[ds["clip_id"], np.full(len(X) - len(ds["X"]), "")])
                apply, stats = head(model), (history.get("unsure") or [None])[0]
                for condition in CONDITIONS:
                    correct = flagged = 0
                    ids = sorted(set(ds["clip_id"][scored]))
                    for clip in ids:
                        E = embed(degraded_patches(paths[clip], condition, number[clip], spec))
                        proba, z = apply(E)
                        mean = proba.mean(axis=0)
                        correct += ds["genres"][mean.argmax()] == clip.split(".")[0]
                        if stats and name == "after" and block == "test":
                            flagged += is_unsure(z, mean, stats)[0]
                    rows.append({"block": block, "seed": seed, "model": name, "condition": condition, "clips": len(ids),
                                 "accuracy": correct / len(ids),
                                 "unsure": flagged / len(ids) if stats and name == "after" and block == "test" else np.nan})
                print(f"{block} seed {seed} {name}: " + ", ".join(f"{r['condition']} {r['accuracy']:.2f}" for r in rows[-len(CONDITIONS):]),
                      f"({time.time() - start:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False, float_format="%.3f")
    shown = [m for m in MODELS if m in args.models]
    for block in args.blocks:
        part = table[table.block == block]
        wide = part.pivot_table(index="condition", columns=["model", "seed"], values="accuracy", sort=False)
        wide = wide.reindex(columns=[(m, s) for m in shown for s in args.seeds])
        for m in shown:
            wide[(m, "mean")] = part[part.model == m].groupby("condition", sort=False)["accuracy"].mean()
        if block == "test" and "after" in shown and part["unsure"].notna().any():
            wide[("after", "unsure")] = part[part.model == "after"].groupby("condition", sort=False)["unsure"].mean()
        n = part.groupby("seed")["clips"].first().tolist()
        print(f"\n{block}: clip accuracy ({n} clips per seed, seeds {args.seeds})")
        print(wide.round(2).to_string())
        if block == "validation":
            degraded = part[part.condition != "clean"].groupby("model")["accuracy"].mean()
            for step, without, with_it in (("noise copies", "level", "noise"), ("band, pitch, tempo and MP3 copies", "noise", "after")):
                if without not in degraded or with_it not in degraded:
                    continue
                gain = (wide[(with_it, "mean")] - wide[(without, "mean")]).drop("clean")
                print(f"{step}: mean accuracy over the degraded conditions {degraded[with_it]:.3f} with them, "
                      f"{degraded[without]:.3f} without; largest gains: "
                      + ", ".join(f"{c} {g:+.2f}" for c, g in gain.nlargest(3).items()) + "; largest losses: "
                      + ", ".join(f"{c} {g:+.2f}" for c, g in gain.nsmallest(3).items()))
    print(f"\nwritten to {args.out} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
