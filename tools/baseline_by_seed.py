"""The course's baseline on the split of each seed, and the baselines notebooks 07-09 used before it.

Since issue 30, notebooks 07, 08 and 09 share one baseline: an RBF SVM (``C=10``) on the means and standard
deviations of 20 MFCCs per 3-s segment (``helpers.models.BASELINE_SPEC``), fit on the 40 training clips that the
networks learn from, one vote per test segment. Before, 07 used 13 MFCCs and 08 20 MFCCs of its 64-band log-mel
arrays, both fit on the training and validation clips, and 09 a logistic regression on MFCCs computed over 500
segments at once (so one dB floor for all of them). The baseline is scikit-learn on fixed features: the same on
every CPU profile, so a sweep run before the change is brought up to date by adding, for its seed, the new
baseline minus the old one to its "SVM minus network" figure (``notebooks/results.md``).

Usage: ``python tools/baseline_by_seed.py --seeds 42 1 2 3 4`` prints one JSON line per seed.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import librosa
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.evaluation import clip_level, group_train_val_test_split  # noqa: E402
from helpers.models import BASELINE_SPEC, CNN_SPEC, MFCC_SPEC, TEST_SIZE, VAL_SIZE  # noqa: E402
from machinery.segments import segment_dataset  # noqa: E402


def _statistics(X: np.ndarray) -> np.ndarray:
    """Means and standard deviations over the frames of ``(segments, frames, coefficients)``."""
    return np.concatenate([X.mean(axis=1), X.std(axis=1)], axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4])
    args = parser.parse_args(argv)

    clips = gtzan_clips(per_genre=7)
    data = {name: segment_dataset(clips, spec, segment_seconds=3.0)
            for name, spec in (("now", BASELINE_SPEC), ("07", MFCC_SPEC), ("08", CNN_SPEC))}
    y, clip_id = data["now"]["y"], data["now"]["clip_id"]
    assert all(np.array_equal(d["clip_id"], clip_id) for d in data.values())
    features = {"now": _statistics(data["now"]["X"]), "07": _statistics(data["07"]["X"])}
    mfcc08 = librosa.feature.mfcc(S=data["08"]["X"], n_mfcc=20)  # 08's old route: MFCCs of its log-mel arrays
    features["08"] = np.concatenate([mfcc08.mean(axis=-1), mfcc08.std(axis=-1)], axis=1)
    n_genres = len(data["now"]["genres"])

    def svm_clip_accuracy(F, fit, test):
        svm = make_pipeline(StandardScaler(), SVC(C=10)).fit(F[fit], y[fit])
        y_clip, p_clip = clip_level(np.eye(n_genres)[svm.predict(F[test])], y[test], clip_id[test])
        return round(float((y_clip == p_clip).mean()), 4)

    for seed in args.seeds:
        train, val, test = group_train_val_test_split(clip_id, labels=y, val_size=VAL_SIZE, test_size=TEST_SIZE,
                                                      seed=seed)
        both = np.concatenate([train, val])
        row = {"seed": seed, "baseline": svm_clip_accuracy(features["now"], train, test),
               "07 before": svm_clip_accuracy(features["07"], both, test),
               "08 before": svm_clip_accuracy(features["08"], both, test)}
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
