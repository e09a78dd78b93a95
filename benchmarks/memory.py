"""Peak memory of ``python -m machinery.predict`` on long files, against a 30-s file in the same run (issue 33).

Before the bound, a 60-minute WAV needed about 3.2 GB for an LSTM or CNN model, and a 20 MB WAV whose header
declares 2 kHz decoded to 83 minutes and 4.2 GB. ``machinery.predict.predict_file`` now reads at most
``MAX_SECONDS`` (and as many samples as that at 48 kHz). This script writes four files into a temporary folder
(a 30-s clip, the same as 60 minutes, a 20 MB WAV declaring 2 kHz, and 60 minutes at 96 kHz), saves an untrained
LSTM and CNN (the memory is the audio's and the features', not the weights'), runs the command line on each file
under ``/usr/bin/time -v`` and prints its maximum resident set size, and the ratio to the 30-s file's.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/memory.py
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_wav(path: Path, seconds: float, rate: int) -> Path:
    """A tone with a little noise, written a minute at a time (the writer needs no memory for the whole file)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        done = 0
        while done < seconds * rate:
            n = int(min(60 * rate, seconds * rate - done))
            t = (done + np.arange(n)) / rate
            f.write((0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32))
            done += n
    return path


def peak_mb(args: list[str]) -> tuple[float, str]:
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "machinery.predict", *args], cwd=ROOT,
                          capture_output=True, text=True)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    lines = [line for line in done.stdout.splitlines() if line.strip()] or done.stderr.splitlines()[:1]
    return kb / 1024, lines[0] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    if not Path("/usr/bin/time").exists():
        print("needs /usr/bin/time (GNU time: apt-get install time)", file=sys.stderr)
        return 2
    from helpers.config import import_tensorflow
    from machinery.modelio import save_model
    from machinery.predict import MAX_SECONDS
    from helpers.models import CNN_SPEC, MFCC_SPEC, build_cnn, build_lstm

    import_tensorflow()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {"30 s, 22,050 Hz": write_wav(tmp / "clip.wav", 30, 22050),
                 "60 min, 22,050 Hz": write_wav(tmp / "hour.wav", 3600, 22050),
                 "20 MB declaring 2 kHz (83 min)": write_wav(tmp / "slow.wav", 10_000_000 / 2000, 2000),
                 "60 min, 96 kHz": write_wav(tmp / "hour96.wav", 3600, 96000)}
        base = {"genres": [f"g{i}" for i in range(10)], "sample_rate": 22050, "segment_seconds": 3.0}
        models = {"lstm": save_model(build_lstm((130, 13), 10), tmp / "lstm.keras",
                                     {**base, "kind": "lstm", "feature_spec": MFCC_SPEC}),
                  "cnn": save_model(build_cnn((64, 130, 1), 10), tmp / "cnn.keras",
                                    {**base, "kind": "cnn", "feature_spec": CNN_SPEC})}
        print(f"python -m machinery.predict FILE --model M; maximum resident set size (MB, /usr/bin/time -v); "
              f"MAX_SECONDS = {MAX_SECONDS:g}")
        for kind, model in models.items():
            first = None
            for name, path in files.items():
                mb, line = peak_mb([str(path), "--model", str(model)])
                first = first or mb
                print(f"{kind:5s} {name:32s} {mb:7.0f} MB  x{mb / first:4.2f}  | {line.split(': ', 1)[-1][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
