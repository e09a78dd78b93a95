"""Which pretrained tagger should the transfer model listen through? (issue 29)

Three of the musicnn 0.1.0 taggers, all from the same input:

- ``MSD_vgg``: notebook 09's network, trained on the Million Song Dataset's tags; its five blocks' outputs averaged
  (640 values, ``helpers.pretrained``);
- ``MSD_musicnn``: the authors' musically motivated network, trained on the same tags; each mid-end value's maximum
  and mean over the patch (1,506 values, ``machinery.musicnn``);
- ``MTT_musicnn``: the same network trained on MagnaTagATune's tags, which name classical music and its instruments
  (classical, strings, violin, harpsichord, ...) where the MSD's name none; tried for the classical recordings that
  the transfer model misses (issue 29).

For each, the embeddings of every GTZAN clip in the data directory (patches at -20 dBFS, as the command line makes
them), of the command line's augmented copies of every clip (``add_augmented_copies``, one set per seed) and of each
degradation of ``benchmarks/robustness.py``. Then, per seed, 5-fold cross-validation by clip (``StratifiedGroupKFold``,
shuffled with the seed): ``VarianceThreshold`` + ``StandardScaler`` + ``LogisticRegression(C=0.1)``, the command
line's fit, on the training folds' clips and their copies; clip accuracy (mean patch probability) on the held-out
fold's clips, clean and degraded. Every clip is scored once per seed (70 clips with the shared data), never by a
model that saw it or a copy of it.

The embeddings are cached by content (``machinery.train.tagger_embeddings``), so a rerun takes a minute::

    COURSE_DATA_DIR=../shared/data nice .venv/bin/python benchmarks/taggers.py [--seeds 42 1]

Writes ``benchmarks/taggers.csv`` (one row per tagger, seed and condition).
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

import pandas as pd  # noqa: E402
from sklearn.feature_selection import VarianceThreshold  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from helpers.config import import_tensorflow  # noqa: E402
from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.models import TRANSFER_SPEC  # noqa: E402
from helpers.pretrained import embedding_model  # noqa: E402
from machinery import segments, train  # noqa: E402
from machinery.modelio import load_tagger  # noqa: E402
from machinery.musicnn import load_musicnn, musicnn_embedding_model  # noqa: E402
from robustness import CONDITIONS, degraded_patches  # noqa: E402

TAGGERS = {"MSD_vgg": lambda: embedding_model(load_tagger()),
           "MSD_musicnn": lambda: musicnn_embedding_model(load_musicnn()),
           "MTT_musicnn": lambda: musicnn_embedding_model(load_musicnn(model="MTT_musicnn"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--taggers", nargs="+", choices=list(TAGGERS), default=list(TAGGERS))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("taggers.csv"))
    args = parser.parse_args()
    import_tensorflow()
    start = time.time()
    clips = gtzan_clips()
    number = {c: i for i, c in enumerate(clips["clip_id"])}
    paths = dict(zip(clips["clip_id"], clips["path"].astype(str)))
    _, _, sr, seconds = train.KINDS["transfer"]
    ds = segments.segment_dataset(clips, TRANSFER_SPEC, sr=sr, segment_seconds=seconds)
    every = np.arange(len(ds["y"]))
    copies = {seed: segments.add_augmented_copies(ds, clips, {"train": every, "val": every[:0]}, seed=seed)
              for seed in args.seeds}
    ids = np.array(sorted(set(ds["clip_id"])))
    labels = np.array([list(ds["genres"]).index(c.split(".")[0]) for c in ids])
    degraded = {(c, clip): degraded_patches(paths[clip], c, number[clip], TRANSFER_SPEC)
                for c in CONDITIONS if c != "clean" for clip in ids}
    print(f"{len(ids)} clips, {len(ds['y'])} patches; copies and degradations made ({time.time() - start:.0f} s)", flush=True)
    rows = []
    for name in args.taggers:
        embed = functools.partial(train.tagger_embeddings, TAGGERS[name]())
        clean = embed(ds["X"])
        scored = {"clean": (clean, ds["clip_id"])}
        for condition in [c for c in CONDITIONS if c != "clean"]:
            E = [embed(degraded[condition, clip]) for clip in ids]
            scored[condition] = (np.concatenate(E), np.repeat(ids, [len(e) for e in E]))
        for seed in args.seeds:
            X, y, parts = copies[seed]
            E_copies, of = embed(X[parts["augmented"]]), parts["augmented_clip_id"]
            right = {c: 0 for c in scored}
            for rest, held in StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed).split(ids, labels, ids):
                fit_rows, copy_rows = np.isin(ds["clip_id"], ids[rest]), np.isin(of, ids[rest])
                head = make_pipeline(VarianceThreshold(1e-8), StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
                pipe = head.fit(np.concatenate([clean[fit_rows], E_copies[copy_rows]]),
                                np.concatenate([ds["y"][fit_rows], y[parts["augmented"]][copy_rows]]))
                for condition, (E, clip_of) in scored.items():
                    keep = np.isin(clip_of, ids[held])
                    proba = pd.DataFrame(pipe.predict_proba(E[keep])).groupby(clip_of[keep]).mean()
                    right[condition] += int(np.sum(proba.to_numpy().argmax(axis=1) == labels[np.searchsorted(ids, proba.index)]))
            rows += [{"tagger": name, "seed": seed, "condition": c, "clips": len(ids), "accuracy": n / len(ids)}
                     for c, n in right.items()]
            print(f"{name} seed {seed}: " + ", ".join(f"{r['condition']} {r['accuracy']:.2f}" for r in rows[-len(scored):]),
                  f"({time.time() - start:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False, float_format="%.3f")
    wide = table.pivot_table(index="condition", columns=["tagger", "seed"], values="accuracy", sort=False)
    for name in args.taggers:
        wide[(name, "mean")] = table[table.tagger == name].groupby("condition", sort=False)["accuracy"].mean()
    print(f"\nclip accuracy, {args.folds}-fold cross-validation by clip ({len(ids)} clips per seed, seeds {args.seeds})")
    print(wide.round(3).to_string())
    means = table[table.condition != "clean"].groupby("tagger", sort=False)["accuracy"].mean()
    print("mean over the degraded conditions: " + ", ".join(f"{t} {m:.3f}" for t, m in means.items()))
    print(f"\nwritten to {args.out} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
