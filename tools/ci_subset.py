"""Build the course's CI-size data directory from a full download, so `make test` can pass anywhere.

The committed notebook outputs are made on the CI data: the Echo Nest pair, the splits, the feature table,
librosa's examples, the musicnn weights and a 70-clip GTZAN subset (clips 0-6 of each genre, clips 3-6 cut
to their first 15-20 s). This script cuts that subset out of a full GTZAN download (`make data`), checks every clip
against `machinery/gtzan_ci_subset.csv` (number of samples and sha256 of the 16-bit samples), and links the other
data sets, so that `COURSE_DATA_DIR=<out> make test` compares like with like.

    python tools/ci_subset.py data build/ci-data
    python tools/ci_subset.py --write-manifest ../shared/data   # maintainers: record the subset

Exit status 1, with one line saying which clip differs, when the download does not give the same samples.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import soundfile as sf

MANIFEST = Path(__file__).resolve().parents[1] / "machinery" / "gtzan_ci_subset.csv"  # machinery.clips.CLIP_RECORD
OTHERS = ["echonest", "librosa", "fma", "musicnn"]  # linked as they are
GTZAN_FILES = ["features_30_sec.csv", "features_30_sec.built.json", "splits"]  # the record exists for a built table


def write_manifest(root: Path) -> None:
    from helpers.datasets import gtzan_clips
    from machinery.clips import samples_sha256

    with MANIFEST.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["clip_id", "genre", "n_samples", "samples_sha256"])
        for row in gtzan_clips(root, with_split=False).itertuples():
            samples, _ = sf.read(row.path, dtype="int16")
            writer.writerow([row.clip_id, row.genre, len(samples), samples_sha256(samples)])


def build(source: Path, out: Path) -> int:
    from machinery.store import atomic_path
    from helpers.datasets import gtzan_clips
    from machinery.clips import changed_clips

    found = gtzan_clips(source, with_split=False)
    with MANIFEST.open() as f:
        wanted = list(csv.DictReader(f))
    if missing := [c["clip_id"] for c in wanted if c["clip_id"] not in set(found["clip_id"])]:
        print(f"error: {missing[0]} is not in {source}/gtzan (run `make data` first)", file=sys.stderr)
        return 1
    if changed := changed_clips(found):  # the same check as `python -m machinery.data status` and training
        clip, why = next(iter(changed.items()))
        print(f"error: {clip} in {source} does not have the samples of the CI subset ({why})", file=sys.stderr)
        return 1
    target, path_of = out / "gtzan" / "genres_original", dict(zip(found["clip_id"], found["path"]))
    for clip in wanted:
        samples, rate = sf.read(path_of[clip["clip_id"]], dtype="int16", frames=int(clip["n_samples"]))
        path = target / clip["genre"] / f"{clip['clip_id']}.wav"
        with atomic_path(path) as partial:
            sf.write(partial, samples, rate, subtype="PCM_16", format="WAV")
    for name in OTHERS + [f"gtzan/{n}" for n in GTZAN_FILES]:
        link, real = out / name, (source / name).resolve()
        if real.exists() and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(real)
    print(f"{len(wanted)} GTZAN clips cut and checked; CI data directory: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a data directory with the full GTZAN (make data)")
    parser.add_argument("out", type=Path, nargs="?", help="the CI data directory to write")
    parser.add_argument("--write-manifest", action="store_true", help="record the subset found in SOURCE")
    args = parser.parse_args(argv)
    if args.write_manifest:
        write_manifest(args.source)
        return 0
    if args.out is None:
        parser.error("give the folder to write the CI data directory to")
    return build(args.source, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
