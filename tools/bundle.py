"""The offline data bundle: one archive with the data the CI-size course needs, for a room with bad network.

    python tools/bundle.py create [--data-dir DIR] [--out FILE] [PATH ...]   # make bundle
    python tools/bundle.py unpack ARCHIVE [--data-dir DIR] [--overwrite]      # make data BUNDLE=ARCHIVE

`create` reads a CI-size data directory (the one `make test` runs on: the Echo Nest pair, the 70-clip GTZAN subset
of machinery/gtzan_ci_subset.csv, the feature table, the splits, fma/genres.csv, the musicnn wheel, librosa's examples),
checks every file against its registered checksum (the GTZAN clips sample by sample against machinery/gtzan_ci_subset.csv),
and writes an uncompressed tar (audio compresses poorly) through a temporary name: every file under
`course-data/`, with `course-data/SHA256SUMS` (`sha256sum -c` reads it) and `course-data/BUNDLE-README.txt`
(each data set's licence and citation). PATH ...: bundle these files or folders of DIR instead.

`unpack` extracts into a temporary folder inside the data directory, verifies every checksum, then moves the
files into place. A foreign, truncated or damaged archive, or an existing file that differs from the bundle's copy
(unless --overwrite, which names each file it replaces), stops it with one line and nothing written. Exit status
0 done, 1 refused, 2 usage.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import sys
import tarfile
import zlib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: import helpers
if __name__ == "__main__":  # Ctrl-C before main's own handling (below) starts: one line
    from machinery import on_interrupt
    on_interrupt("interrupted; nothing was written")

PREFIX = "course-data"
SUMS = "SHA256SUMS"
README = "BUNDLE-README.txt"
CHUNK = 1 << 20


class BundleError(Exception):
    """A refusal: the message names the file and what is wrong."""


def sha256(path: Path) -> str:
    import pooch  # the course's one file hash (helpers' caches and checksums use it too)

    return pooch.file_hash(str(path))


def ci_files(root: Path) -> list[tuple[str, Path]]:
    """(path in the data directory, file) for everything the CI-size course reads, each checked."""
    from importlib import resources

    from helpers.datasets import REGISTRY, data_file
    from helpers.errors import CourseError

    fix = f"; put a checked copy there (make data, or python tools/ci_subset.py DATA {root})"
    files: list[tuple[str, Path]] = []
    for name in ("echonest", "gtzan-splits", "gtzan-features", "musicnn"):
        for f in REGISTRY[name].files:
            if not (root / f.path).is_file():
                raise BundleError(f"{root / f.path}: file not found{fix}")
            try:
                files.append((f.path, data_file(name, f.path, root)))
            except CourseError as exc:
                raise BundleError(f"{exc}{fix}") from None
            built = Path(f.path).with_suffix(".built.json").as_posix()
            if (root / built).is_file():  # a feature table built here travels with its build record
                files.append((built, root / built))
    genres = next((p for p in (root / "fma/genres.csv", root / "fma/fma_metadata/genres.csv") if p.is_file()), None)
    if genres is None:
        raise BundleError(f"{root / 'fma/genres.csv'}: file not found{fix}")
    files.append(("fma/genres.csv", genres))
    registry = resources.files("librosa.util.example_data").joinpath("registry.txt").read_text().splitlines()
    for name, known in (line.split() for line in registry if len(line.split()) == 2):
        if name.endswith((".ogg", ".txt")):  # what machinery.data fetches for librosa
            path = root / "librosa" / name
            if not path.is_file() or sha256(path) != known:
                raise BundleError(f"{path}: missing or not librosa's copy (sha256 {known}){fix}")
            files.append((f"librosa/{name}", path))
    import pandas as pd

    from machinery.clips import CLIP_RECORD, changed_clips

    record = pd.read_csv(CLIP_RECORD)
    rels = [f"gtzan/genres_original/{g}/{c}.wav" for c, g in zip(record["clip_id"], record["genre"])]
    changed = changed_clips(record.assign(path=[str(root / rel) for rel in rels]), exact=True)
    for rel, clip in zip(rels, record["clip_id"]):
        if clip in changed:
            raise BundleError(f"{root / rel}: not the CI subset's clip ({changed[clip]}; machinery/gtzan_ci_subset.csv); "
                              f"cut the CI data first: python tools/ci_subset.py {root} build/ci-data, then make bundle "
                              "COURSE_DATA_DIR=build/ci-data")
        files.append((rel, root / rel))
    return files


def chosen_files(root: Path, paths: list[str]) -> list[tuple[str, Path]]:
    """(path in the data directory, file) for the files and folders named, relative to ``root``."""
    files = []
    for rel in paths:
        path = root / rel
        if path.is_file():
            files.append((PurePosixPath(Path(rel)).as_posix(), path))
        elif path.is_dir():
            files += [(p.relative_to(root).as_posix(), p) for p in sorted(path.rglob("*"))
                      if p.is_file() and not p.name.startswith(".")]
        else:
            raise BundleError(f"{path}: no such file or folder in the data directory")
    if not files:
        raise BundleError(f"{root}: nothing to bundle")
    return files


def readme(names: list[str]) -> str:
    from helpers.datasets import REGISTRY

    lines = ["Offline data bundle of the course 'From Waveforms to Genres' (make bundle; unpack with",
             "make data BUNDLE=<this archive>, or check by hand: cd course-data && sha256sum -c SHA256SUMS).",
             "Use each data set under its licence:", ""]
    for ds in REGISTRY.values():
        if any(n == p or n.startswith(f"{p}/") for n in names for p in (*ds.layout, *(f.path for f in ds.files))):
            lines += [f"{ds.name}: {ds.title}", f"  licence: {ds.licence}", f"  cite: {ds.citation}", ""]
    return "\n".join(lines)


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(f"{PREFIX}/{name}")  # the same bytes for the same data: fixed times and owners
    info.size, info.mode, info.mtime, info.uname, info.gname = size, 0o644, 0, "", ""
    return info


def create(root: Path, out: Path, paths: list[str]) -> str:
    files = sorted(chosen_files(root, paths) if paths else ci_files(root))
    sums = "".join(f"{sha256(path)}  {name}\n" for name, path in files)
    text = readme([name for name, _ in files]).encode()
    sums = f"{hashlib.sha256(text).hexdigest()}  {README}\n{sums}".encode()
    from machinery.store import atomic_path

    with atomic_path(out) as tmp, tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_member(SUMS, len(sums)), io.BytesIO(sums))
        tar.addfile(_member(README, len(text)), io.BytesIO(text))
        for name, path in files:
            with open(path, "rb") as f:
                tar.addfile(_member(name, os.fstat(f.fileno()).st_size), f)
    size = sum(path.stat().st_size for _, path in files)
    return f"{out}: {len(files)} files ({size / 1e6:.0f} MB) and their sha256 in {PREFIX}/{SUMS}"


def _relative(archive: Path, name: str) -> str:
    """``name`` without the ``course-data/`` prefix, refused if it could land outside the data directory."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or parts[0] != PREFIX or any(p in ("", ".", "..") for p in parts) or "\\" in name:
        raise BundleError(f"{archive}: not a course data bundle (member {name!r} is not under {PREFIX}/)")
    return "/".join(parts[1:])


def _manifest(archive: Path, tar: tarfile.TarFile) -> dict[str, str]:
    try:
        data = tar.extractfile(f"{PREFIX}/{SUMS}").read().decode()
    except KeyError:
        raise BundleError(f"{archive}: not a course data bundle (no {PREFIX}/{SUMS} in it)") from None
    sums = {}
    for line in data.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name or name in sums:
            raise BundleError(f"{archive}: {PREFIX}/{SUMS} is damaged (line {line[:60]!r})")
        sums[_relative(archive, f"{PREFIX}/{name}")] = digest.lower()
    return sums


def _stage(archive: Path, tar: tarfile.TarFile, sums: dict[str, str], staging: Path) -> list[str]:
    """Copy every file member into ``staging``, checking it against SHA256SUMS; returns their names."""
    names = []
    for member in tar:
        if member.isdir():  # allowed (tar by hand writes them), checked like files
            if member.name.rstrip("/") != PREFIX:
                _relative(archive, member.name.rstrip("/"))
            continue
        rel = _relative(archive, member.name)
        if rel == SUMS:
            continue
        if not member.isfile():
            raise BundleError(f"{archive}: {member.name} is a link or device; a course data bundle holds only files")
        if rel not in sums:
            raise BundleError(f"{archive}: {member.name} is not listed in {PREFIX}/{SUMS}")
        if rel in names:
            raise BundleError(f"{archive}: {member.name} appears twice")
        target, digest = staging / rel, hashlib.sha256()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        if digest.hexdigest() != sums[rel]:
            raise BundleError(f"{archive}: {member.name} does not match its sha256 in {PREFIX}/{SUMS} "
                              "(the archive is damaged); nothing was unpacked")
        names.append(rel)
    if missing := sorted(set(sums) - set(names)):
        raise BundleError(f"{archive}: {PREFIX}/{missing[0]} is listed in {SUMS} but not in the archive "
                          f"({len(missing)} missing: truncated?)")
    return names


def unpack(archive: Path, root: Path, overwrite: bool) -> str:
    from machinery.store import partial_name

    if not archive.is_file():
        raise BundleError(f"{archive}: no such file")
    try:
        tar = tarfile.open(archive, "r:*")
    except tarfile.TarError:
        raise BundleError(f"{archive}: not a tar archive (nor .tar.gz, .tar.bz2, .tar.xz); "
                          "nothing was unpacked") from None
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        # .bundle-unpack.PID.partial: a folder that a killed unpack left behind goes at the next unpack
        staging = partial_name(root / "bundle-unpack")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as exc:
        tar.close()
        raise BundleError(f"{root}: cannot write to the data directory ({exc.strerror})") from None
    try:
        try:
            with tar:
                names = _stage(archive, tar, _manifest(archive, tar), staging)
        except (tarfile.TarError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise BundleError(f"{archive}: the archive is truncated or damaged ({exc or type(exc).__name__}); "
                              "nothing was unpacked") from None
        names = [n for n in names if n != README]  # the bundle's own notes stay in the archive
        new, same, replaced = [], 0, []
        for rel in names:
            target = root / rel
            blocked = next((p for p in target.parents if p != root and root in p.parents and p.exists()
                            and not p.is_dir()), None)
            if blocked is not None or target.is_dir():
                raise BundleError(f"{blocked or target}: is in the way of the bundle's {rel}; nothing was unpacked")
            if not target.exists():
                new.append(rel)
            elif sha256(target) == sha256(staging / rel):
                same += 1
            elif overwrite:
                replaced.append(rel)
            else:
                raise BundleError(f"{target}: exists and differs from the bundle's copy; nothing was unpacked "
                                  "(move it away, or unpack with --overwrite to replace it)")
        for rel in new + replaced:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, root / rel)
        for rel in replaced:
            print(f"replaced {root / rel}: it differed from the bundle's copy")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(root.iterdir()):  # refused: leave no empty data directory behind
            root.rmdir()
    return (f"{archive}: {len(names)} files verified (sha256); {len(new)} unpacked into {root}, {same} already "
            f"there" + (f", {len(replaced)} replaced" if replaced else ""))


def main(argv: list[str] | None = None) -> int:
    from helpers import __version__
    from helpers.config import data_dir

    parser = argparse.ArgumentParser(prog="python tools/bundle.py", description=__doc__.splitlines()[0],
                                     epilog="Exit status: 0 done, 1 refused (one line says why), 2 usage.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data directory (default: $COURSE_DATA_DIR or <repo>/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create", help="write the archive (make bundle)")
    make.add_argument("--out", type=Path, default=ROOT / "build" / f"course-data-{__version__}.tar",
                      help="archive to write (default: build/course-data-<version>.tar)")
    make.add_argument("paths", nargs="*", metavar="PATH",
                      help="files or folders of the data directory to bundle (default: what the CI-size course needs)")
    take = sub.add_parser("unpack", help="verify an archive and unpack it into the data directory (make data BUNDLE=)")
    take.add_argument("archive", type=Path, metavar="ARCHIVE", help="a .tar or .tar.gz that make bundle wrote")
    take.add_argument("--overwrite", action="store_true",
                      help="replace existing files that differ from the bundle's copy (each is named)")
    for p in (make, take):
        p.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help="as above")
    args = parser.parse_args(argv)
    root = (args.data_dir or data_dir()).expanduser().absolute()
    from machinery import on_interrupt

    on_interrupt(None)  # from here Ctrl-C is a KeyboardInterrupt: the temporary archive or staging folder goes
    try:
        print(create(root, args.out, args.paths) if args.command == "create"
              else unpack(args.archive, root, args.overwrite))
    except KeyboardInterrupt:
        print(f"interrupted; {'no archive was written' if args.command == 'create' else 'nothing was unpacked'}",
              file=sys.stderr)
        return 130
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder without write permission, ...
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
