"""When does the transfer model say "unsure"? Music it never saw against recordings that are not music (issue 29).

The command line's model calls a file unsure when the mean of its patches' standardised embeddings lies beyond a
held-out 95 % quantile of the training clips' (Mahalanobis distance), or when no genre reaches twice chance
(``machinery.predict.is_unsure``). This script measures that flag by 5-fold cross-validation by clip over every GTZAN
clip in the data directory (``StratifiedGroupKFold``, shuffled with each seed): per fold, the command line's head
(``machinery.train.transfer_head``: the same fit, on the training folds' clean patches and their augmented copies,
``add_augmented_copies`` with the seed) and its unsure statistics (of the clips and their band-limited copies,
``machinery.train.FAMILIAR_COPIES``; ``--familiar`` chooses other copies, ``--familiar`` alone the clips only); then
``is_unsure`` on

- **music it never saw**: the held-out fold's clips, clean and under each degradation of
  ``benchmarks/robustness.py``; each clip is scored once per seed;
- **not music**: librosa's non-music examples (three LibriSpeech readings, a humpback whale, a dog; the robin is
  shorter than one patch), and recordings made here from them or from scratch (at -20 dBFS RMS, 15 s where made
  from scratch; fixed up front, never tuned): the three readings overlapped (babble), a reading with white noise at
  10 dB SNR, a reading resampled to 8 kHz and back (telephone band), white, pink and brown noise, pure tones of
  440 Hz and 1 kHz, a sine sweep (50 Hz to 8 kHz), mains hum (50 Hz and six harmonics), a 220 Hz square wave, a
  click track (two clicks a second) and a telephone key tone (697 + 1,209 Hz);
- **other music**: librosa's eight music examples, reported without a target (they are music, but not GTZAN's).

Every file is scored as ``machinery.predict`` scores it: 2.992-s patches at -20 dBFS RMS (``TRANSFER_SPEC``),
segments more than ``QUIET_DB`` dB below the loudest left out. The tagger's embeddings come from the course's cache
(``machinery.train.tagger_embeddings``), so after ``benchmarks/taggers.py`` a run takes about three minutes::

    COURSE_DATA_DIR=../shared/data nice .venv/bin/python benchmarks/unsure.py [--seeds 42 1] [--familiar band ...]

Writes ``benchmarks/unsure.csv`` (one row per seed, fold and recording or condition).
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
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

from helpers.audio import add_noise, load_audio, segment  # noqa: E402
from helpers.config import data_dir, import_tensorflow  # noqa: E402
from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.models import TRANSFER_SPEC, segment_features  # noqa: E402
from helpers.pretrained import MUSICNN_SR, PATCH_SECONDS  # noqa: E402
from machinery import segments, train  # noqa: E402
from machinery.musicnn import load_musicnn, musicnn_embedding_model  # noqa: E402
from machinery.predict import QUIET_DB, is_unsure  # noqa: E402
from robustness import CONDITIONS, degraded_patches  # noqa: E402

SR = 22050  # where the recordings made here are made, as GTZAN's clips
SPEECH = ("198-209-0000", "3436-172162-0000", "5703-47212-0000")
NOT_MUSIC = (*SPEECH, "glacier-bay-humpback", "pibble", "456440__inspectorj__bird-whistling-robin-single-13")


def _made(seconds: float = 15.0, seed: int = 2929) -> dict[str, np.ndarray]:
    """The non-music recordings made here (module docstring), at :data:`SR`, before their level is set."""
    n, rng = int(seconds * SR), np.random.default_rng(seed)
    t = np.arange(n) / SR

    def coloured(power: float) -> np.ndarray:  # white noise with a spectrum falling as 1 / f ** power
        f = np.fft.rfftfreq(n, 1 / SR)
        f[0] = f[1]
        return np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) / f ** (power / 2), n)

    speech = [librosa.load(os.path.join(data_dir(), "librosa", f"{name}.ogg"), sr=SR)[0] for name in SPEECH]
    shortest = min(len(s) for s in speech)
    return {
        "babble (the three readings at once)": sum(np.roll(s[:shortest], k * SR // 4) for k, s in enumerate(speech)),
        "a reading + white noise at 10 dB SNR": add_noise(speech[0], snr_db=10, seed=seed),
        "a reading, telephone band (8 kHz)": librosa.resample(librosa.resample(speech[1], orig_sr=SR, target_sr=8000),
                                                              orig_sr=8000, target_sr=SR),
        "white noise": rng.standard_normal(n),
        "pink noise": coloured(1.0),
        "brown noise": coloured(2.0),
        "pure tone 440 Hz": np.sin(2 * np.pi * 440 * t),
        "pure tone 1 kHz": np.sin(2 * np.pi * 1000 * t),
        "sine sweep 50 Hz - 8 kHz": np.sin(2 * np.pi * (50 * t + (8000 - 50) / (2 * seconds) * t ** 2)),
        "mains hum 50 Hz": sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8)),
        "square wave 220 Hz": np.sign(np.sin(2 * np.pi * 220 * t)),
        "click track (2 per s)": (np.arange(n) % (SR // 2) < 50) * rng.standard_normal(n),
        "telephone key tone": np.sin(2 * np.pi * 697 * t) + np.sin(2 * np.pi * 1209 * t),
    }


def _patches(y: np.ndarray, sr: int, source: str) -> np.ndarray:
    """What ``machinery.predict`` gives the tagger for a recording: its 16 kHz patches at -20 dBFS, quiet ones out."""
    y = librosa.resample(np.asarray(y, dtype=np.float32), orig_sr=sr, target_sr=MUSICNN_SR) if sr != MUSICNN_SR else y
    segs = segment(np.asarray(y, dtype=np.float32), sr=MUSICNN_SR, seconds=PATCH_SECONDS, source=source)
    level = 10 * np.log10(np.maximum(np.mean(np.square(segs, dtype=np.float64), axis=1), 1e-20))
    return segment_features(segs[level >= level.max() - QUIET_DB], MUSICNN_SR, TRANSFER_SPEC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--familiar", nargs="*", choices=list(segments.AUGMENTATIONS), default=list(train.FAMILIAR_COPIES),
                        help="the copies that the unsure statistics count as familiar (none: the clips alone)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("unsure.csv"))
    args = parser.parse_args()
    import_tensorflow()
    start = time.time()
    clips = gtzan_clips()
    number = {c: i for i, c in enumerate(clips["clip_id"])}
    paths = dict(zip(clips["clip_id"], clips["path"].astype(str)))
    ds = segments.segment_dataset(clips, TRANSFER_SPEC, sr=MUSICNN_SR, segment_seconds=PATCH_SECONDS)
    genres, every = list(ds["genres"]), np.arange(len(ds["y"]))
    ids = np.array(sorted(set(ds["clip_id"])))
    labels = np.array([genres.index(c.split(".")[0]) for c in ids])
    embed = functools.partial(train.tagger_embeddings, musicnn_embedding_model(load_musicnn()))
    clean = embed(ds["X"])
    heard = {(c, clip): clean[ds["clip_id"] == clip] if c == "clean" else embed(degraded_patches(paths[clip], c, number[clip], TRANSFER_SPEC))
             for c in CONDITIONS for clip in ids}
    others: dict[tuple[str, str], np.ndarray] = {}
    folder = Path(data_dir()) / "librosa"
    for path in sorted(folder.glob("*.ogg")):
        if path.name.endswith(".hq.ogg"):
            continue
        group = "not music" if path.stem in NOT_MUSIC else "other music"
        y, sr = load_audio(path, sr=None)
        if len(y) < PATCH_SECONDS * sr:
            print(f"{path.name}: {len(y) / sr:.1f} s, shorter than one patch; not scored")
            continue
        others[group, path.stem] = embed(_patches(y, sr, str(path)))
    for name, y in _made().items():
        others["not music (made here)", name] = embed(_patches(y / np.sqrt(np.mean(np.square(y))) * 0.1, SR, name))
    print(f"{len(ids)} clips, {len(others)} other recordings embedded ({time.time() - start:.0f} s)", flush=True)
    rows = []
    for seed in args.seeds:
        X, y, parts = segments.add_augmented_copies(ds, clips, {"train": every, "val": every[:0]}, seed=seed)
        copies, of, kind = embed(X[parts["augmented"]]), parts["augmented_clip_id"], parts["augmented_kind"]
        folds = StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed).split(ids, labels, ids)
        for fold, (rest, held) in enumerate(folds):
            fit_rows, copy_rows = np.isin(ds["clip_id"], ids[rest]), np.isin(of, ids[rest])
            names, origins = train.familiar_recordings(ds["clip_id"][fit_rows], of[copy_rows], kind[copy_rows],
                                                       familiar=args.familiar)
            head = train.transfer_head(np.concatenate([clean[fit_rows], copies[copy_rows]]),
                                       np.concatenate([ds["y"][fit_rows], y[parts["augmented"]][copy_rows]]),
                                       n_classes=len(genres), groups=names, origins=origins)

            def verdict(E: np.ndarray) -> tuple[bool, str]:
                proba = head["pipe"].predict_proba(E).mean(axis=0)
                unsure, _ = is_unsure((E - head["mean"]) / np.sqrt(head["variance"]), proba, head["unsure"])
                return unsure, genres[int(proba.argmax())]

            scored = [(f"GTZAN, {c}", c, clip) for c in CONDITIONS for clip in ids[held]]
            scored += [(group, name, name) for group, name in others]
            for group, what, key in scored:
                unsure, genre = verdict(heard[what, key] if group.startswith("GTZAN") else others[group, key])
                gtzan = group.startswith("GTZAN")
                rows.append({"seed": seed, "fold": fold, "group": "GTZAN (held out)" if gtzan else group,
                             "recording": what, "clip": key, "unsure": unsure, "genre": genre,
                             "right": genre == key.split(".")[0] if gtzan else None})
        print(f"seed {seed}: {args.folds} folds ({time.time() - start:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    share = table.pivot_table(index=["group", "recording"], columns="seed", values="unsure", aggfunc="mean", sort=False)
    by = table.groupby(["group", "recording"], sort=False)
    share["verdicts per seed"] = by.size() // len(args.seeds)
    share["right"] = by["right"].agg(lambda r: f"{r.astype(float).mean():.2f}" if r.notna().all() else "")
    share["genre most often"] = by["genre"].agg(lambda g: g.mode()[0])
    share.loc["GTZAN (held out)", "genre most often"] = ""  # their own genres differ: "right" says how often it is theirs
    print(f"\nshare called unsure (familiar: the clips{''.join(f', their {k} copies' for k in args.familiar)}), "
          f"{args.folds}-fold cross-validation by clip over {len(ids)} GTZAN clips, seeds "
          f"{args.seeds} (a GTZAN clip: once per seed, by the fold that held it out; any other recording: by every fold)")
    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print(share.round(2).to_string())
    made = table[table.group.str.startswith("not music")].groupby("recording")["unsure"].mean()
    print(f"\nnot music called unsure: {int((made == 1).sum())} of {len(made)} recordings by every fit, "
          f"{made.mean():.2f} of all verdicts; clean GTZAN clips called unsure: "
          f"{table[table.recording == 'clean'].unsure.mean():.3f} of {int((table.recording == 'clean').sum())} verdicts")
    print(f"written to {args.out} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
