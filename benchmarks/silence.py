"""Does silence before or after the music change a model's answer? (issue 29)

Scores a model file (default: notebook 11's, ``build/models/transfer_11.keras``; or train one with ``python -m
machinery.train transfer --out FILE``) on the test clips of its own split (the seed and fractions in its metadata),
as ``machinery.predict.predict_file`` answers them: the clip as it is, then with 9 or 30 s of digital silence or of
faint white noise (-70 dBFS RMS) after it. Each twice in the same run: as ``predict_file`` answers today (segments
over ``QUIET_DB`` dB below the loudest left out) and with every segment counted (``quiet_db=None``, before)::

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/silence.py [--model FILE]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import soundfile as sf  # noqa: E402

from helpers.config import import_tensorflow  # noqa: E402
from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.errors import CourseError  # noqa: E402
from helpers.evaluation import group_train_val_test_split  # noqa: E402
from helpers.models import TEST_SIZE, VAL_SIZE  # noqa: E402
from machinery.modelio import load_model  # noqa: E402
from machinery.predict import QUIET_DB, predict_file  # noqa: E402

TAILS = {"as it is": None, "+9 s silence": (9, 0.0), "+30 s silence": (30, 0.0),
         "+9 s noise at -70 dBFS": (9, 10 ** (-70 / 20)), "+30 s noise at -70 dBFS": (30, 10 ** (-70 / 20))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="build/models/transfer_11.keras")
    args = parser.parse_args()
    import_tensorflow()
    try:
        model, meta = load_model(args.model)
    except CourseError as exc:
        print(f"error: {exc} (notebook 11 writes it, or: python -m machinery.train transfer --out FILE)",
              file=sys.stderr)
        return 1
    clips = gtzan_clips()
    _, _, test = group_train_val_test_split(clips["clip_id"].to_numpy(), labels=clips["genre"].to_numpy(),
                                            val_size=VAL_SIZE, test_size=TEST_SIZE, seed=int(meta["seed"]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for _, clip in clips.iloc[test].iterrows():
            y, sr = sf.read(clip["path"], dtype="float32")
            for name, tail in TAILS.items():
                path = os.path.join(tmp, "clip.wav")
                rest = np.zeros(0) if tail is None else \
                    np.random.default_rng(0).standard_normal(tail[0] * sr) * tail[1]
                sf.write(path, np.r_[y, rest.astype(np.float32)], sr)
                for answer, quiet_db in ((f"quiet segments left out ({QUIET_DB:g} dB)", QUIET_DB),
                                         ("every segment counted", None)):
                    result = predict_file(path, model, meta, quiet_db=quiet_db)
                    rows.append({"recording": name, "answer": answer, "right": result["genre"] == clip["genre"],
                                 "unsure": bool(result.get("unsure"))})
    table = pd.DataFrame(rows).pivot_table(index="recording", columns="answer", values=["right", "unsure"],
                                           sort=False)
    print(f"{args.model}: {len(test)} test clips ({meta['split']})")
    print(table.round(2).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
