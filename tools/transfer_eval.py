"""How well ``python -m machinery.train transfer`` generalises: held-out clips over seeds, and 5-fold CV.

For each seed: the command line's 60/15/25 split by clip (its test clips are never seen in training or
early stopping), and 5-fold cross-validation by clip (``StratifiedGroupKFold``; inside each fold 15 % of
the training clips serve for early stopping). Clip accuracy from mean patch probabilities. Prints one line
per seed and the ranges::

    COURSE_DATA_DIR=../shared/data .venv/bin/python tools/transfer_eval.py --seeds 1 2 3
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.evaluation import group_train_val_test_split  # noqa: E402
from helpers.models import TEST_SIZE, VAL_SIZE  # noqa: E402
from machinery.segments import segment_dataset  # noqa: E402
from helpers.evaluation import evaluate  # noqa: E402
from machinery.train import KINDS, fit_model  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--kind", default="transfer", choices=sorted(KINDS))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    spec, _, sr, seconds = KINDS[args.kind]
    ds = segment_dataset(gtzan_clips(), spec, sr=sr, segment_seconds=seconds)
    X, y, clip = ds["X"], ds["y"], ds["clip_id"]
    held, cv = [], []
    for seed in args.seeds:
        tr, va, te = group_train_val_test_split(clip, labels=y, val_size=VAL_SIZE, test_size=TEST_SIZE, seed=seed)
        model, _ = fit_model(args.kind, X, y, {"train": tr, "val": va}, seed=seed)
        held.append(evaluate(model, X[te], y[te], clip[te])["clip_accuracy_mean"])
        correct = n = 0
        for fold, (rest, test) in enumerate(StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed).split(X, y, clip)):
            inner = StratifiedGroupKFold(6, shuffle=True, random_state=seed + fold)  # one sixth for early stopping
            inner_tr, inner_va = next(inner.split(X[rest], y[rest], clip[rest]))
            model, _ = fit_model(args.kind, X, y, {"train": rest[inner_tr], "val": rest[inner_va]}, seed=seed)
            result = evaluate(model, X[test], y[test], clip[test])
            correct += result["clip_accuracy_mean"] * result["n_clips"]
            n += result["n_clips"]
        cv.append(correct / n)
        print(f"seed {seed}: held-out test clips {held[-1]:.3f} ({len(set(clip[te]))} clips); "
              f"{args.folds}-fold CV {cv[-1]:.3f} ({n} clips)", flush=True)
    print(f"{args.kind}: held-out {min(held):.3f}-{max(held):.3f} (mean {np.mean(held):.3f}); "
          f"{args.folds}-fold CV {min(cv):.3f}-{max(cv):.3f} (mean {np.mean(cv):.3f}) over seeds {args.seeds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
