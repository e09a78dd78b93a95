"""tools/ci_subset.py: cutting the CI-size data directory out of a full download."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "ci_subset.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_subset_cut_from_the_data_is_the_ci_data(data_root, tmp_path):
    out = tmp_path / "ci"
    done = run(data_root, out)
    assert done.returncode == 0, done.stderr
    assert "70 GTZAN clips cut and checked" in done.stdout
    written = sorted(out.glob("gtzan/genres_original/*/*.wav"))
    assert len(written) == 70
    for path in written[::9]:  # byte for byte the CI copy
        assert path.read_bytes() == (data_root / "gtzan" / "genres_original" / path.parent.name / path.name).read_bytes()
    assert (out / "echonest").resolve() == (data_root / "echonest").resolve()
    assert (out / "gtzan" / "splits").is_dir()


def test_longer_source_clips_are_cut_to_the_ci_length(data_root, tmp_path):
    source = tmp_path / "full"
    shutil.copytree(data_root / "gtzan" / "genres_original", source / "gtzan" / "genres_original")
    clip = source / "gtzan" / "genres_original" / "rock" / "rock.00004.wav"
    samples, rate = sf.read(clip, dtype="int16")
    sf.write(clip, np.concatenate([samples, samples]), rate, subtype="PCM_16")  # a 'full-length' original
    done = run(source, tmp_path / "ci")
    assert done.returncode == 0, done.stderr
    cut, _ = sf.read(tmp_path / "ci" / "gtzan" / "genres_original" / "rock" / "rock.00004.wav", dtype="int16")
    assert np.array_equal(cut, samples)


def test_a_clip_with_other_samples_is_named_and_fails(data_root, tmp_path):
    source = tmp_path / "full"
    shutil.copytree(data_root / "gtzan" / "genres_original", source / "gtzan" / "genres_original")
    clip = source / "gtzan" / "genres_original" / "jazz" / "jazz.00002.wav"
    samples, rate = sf.read(clip, dtype="int16")
    samples[1000] += 1
    sf.write(clip, samples, rate, subtype="PCM_16")
    done = run(source, tmp_path / "ci")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: jazz.00002 in {source} does not have the samples of the CI subset "
                                                "(its samples differ from the recorded ones)"]
    assert "Traceback" not in done.stderr


def test_missing_gtzan_clips_say_what_to_run(data_root, tmp_path):
    source = tmp_path / "full"
    shutil.copytree(data_root / "gtzan" / "genres_original" / "blues", source / "gtzan" / "genres_original" / "blues")
    done = run(source, tmp_path / "ci")
    assert done.returncode == 1
    assert "classical.00000 is not in" in done.stderr and "make data" in done.stderr
