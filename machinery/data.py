"""Getting the course's data: downloads with mirrors, Kaggle copies, builds, and the command line.

``python -m machinery.data status`` shows what is in the data directory, which copy (verified) and where each
data set comes from; ``python -m machinery.data fetch NAME ...`` (``--make-data``: everything ``make data``
gets) downloads with pooch (checksums verified, archives extracted), trying each data set's sources of
:data:`helpers.datasets.REGISTRY` in turn. The loaders of :mod:`helpers.datasets` download nothing themselves;
:func:`fetch_when_missing` (the Colab setup cell calls it) lets them call :func:`fetch` for what they miss.
"""
from __future__ import annotations

if __name__ == "__main__":  # first: Ctrl-C while the imports below load is one line
    __import__("machinery").on_interrupt("interrupted")

import argparse
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
from importlib import metadata, resources
from pathlib import Path

import pandas as pd
import pooch

from helpers import __version__, datasets
from helpers.config import data_dir
from helpers.datasets import GTZAN_GENRES, GTZAN_SR, REGISTRY, DataFile, Dataset, KaggleCopy
from helpers.errors import AudioError, ChecksumError, CourseError, DataNotFoundError, DownloadError, one_line

from . import on_interrupt
from .clips import CLIP_RECORD, changed_clips
from .store import atomic_path, write_atomic

__all__ = ["status", "fetch", "fetch_when_missing", "build_gtzan_features", "main"]

logger = logging.getLogger("machinery.data")
_FEATURES = REGISTRY["gtzan-features"].layout[0]


def fetch_when_missing() -> None:
    """From now on, a loader of :mod:`helpers.datasets` fetches a data set it needs and does not find (once,
    checksums verified), and ``COURSE_FETCH_MISSING=1`` tells other code that downloads are allowed (notebook
    09's ImageNet weights). The Colab setup cell calls it; elsewhere the course downloads only when asked.

    Examples
    --------
    >>> fetch_when_missing()  # doctest: +SKIP
    >>> gtzan_clips()  # downloads GTZAN the first time  # doctest: +SKIP
    """
    datasets.fetch_missing_with(fetch)
    os.environ["COURSE_FETCH_MISSING"] = "1"


def _describe_copy(ds: Dataset, root: Path) -> str:
    """What is in the data directory for a present data set, in a few words."""
    words = [] if ds.files else [str((where := datasets.dataset_path(ds.name, root)).relative_to(root))]
    if ds.name == "gtzan":  # how much of it: a CI subset or a damaged copy is present too, but not all of GTZAN
        clips, bad = datasets.scan_gtzan(str(where))
        count = clips["genre"].value_counts().reindex(GTZAN_GENRES, fill_value=0)
        per = f"{count.iloc[0]} per genre" if count.nunique() == 1 else ", ".join(f"{g} {n}" for g, n in count.items())
        words[0] += (f": {len(clips):,} of 1,000 clips ({per}), {int((clips['duration'] >= 29.9).sum()):,} of them "
                     f"30 s long" + (f", {len(bad)} unreadable" if bad else ""))
        changed, recorded = changed_clips(clips), pd.read_csv(CLIP_RECORD)["clip_id"].isin(clips["clip_id"]).sum()
        named = [f"{c} ({why})" for c, why in changed.items()]
        words.append(f"{len(changed)} of the {recorded} recorded clips CHANGED: " + ", ".join(named[:3] + [
            f"and {len(named) - 3} more"] * (len(named) > 3)) if changed else f"the {recorded} recorded clips as recorded")
    elif ds.name == "fma-metadata":
        names = ("tracks.csv", "genres.csv", "echonest.csv", "features.csv")
        have = [n for n in names if any((root / "fma" / d / n).is_file() for d in ("fma_metadata", "."))]
        words[0] += ": all four files" if len(have) == 4 else f": {', '.join(have) or 'none'} of {', '.join(names)}"
    for f in ds.files:
        try:
            record = datasets.check_copy(root / f.path, f.known_hash)
        except DataNotFoundError:
            words.append(f"{f.path} missing")
        except ChecksumError:
            words.append(f"{f.path}: CHECKSUM MISMATCH (not used)")
        else:
            origin = "Kaggle copy" if ds.kaggle is not None and not f.urls else "published copy"
            words.append(f"built here from {record.get('n_clips', '?')} clips by {record.get('built_by', '?')} "
                         f"(helpers {record.get('helpers_version', '?')}; {datasets.record_path(root / f.path).name})"
                         if record else f"{origin}, {f.known_hash.partition(':')[0]} verified" if f.known_hash
                         else "present (not pinned)")
    return "; ".join(dict.fromkeys(words))


def _source_labels(ds: Dataset) -> list[str]:
    """Where :func:`fetch` gets a data set from, in the order it tries them."""
    labels = list(dict.fromkeys(u.split("/")[2] for item in (*ds.files, ds.archive) if item for u in item.urls))
    if ds.kaggle is not None:
        labels.append(f"Kaggle {ds.kaggle.handle} ({_kaggle_unavailable() or 'kagglehub ready'})")
    if ds.build:
        labels.append(ds.build)
    librosa = ["librosa's own registry, https://librosa.org/data/audio/ (pooch)"] if ds.name == "librosa" else []
    return labels or librosa or ["by hand only"]


def status(root: Path | None = None) -> pd.DataFrame:
    """Every registered data set: ``title``, ``present``, ``copy`` (which copy is there, verified),
    ``sources`` (in the order :func:`fetch` tries them), ``download size``, ``fetched by make data``, ``licence``.

    Examples
    --------
    >>> status().loc["echonest", "copy"]
    'published copy, sha256 verified'
    """
    root = data_dir(root)
    return pd.DataFrame([
        {"name": ds.name, "title": ds.title, "present": (present := datasets.dataset_path(ds.name, root, required=False) is not None),
         "copy": _describe_copy(ds, root) if present else "", "sources": "; ".join(_source_labels(ds)),
         "download size": ds.size, "fetched by make data": ds.in_make_data, "licence": ds.licence}
        for ds in REGISTRY.values()]).set_index("name")

# ----------------------------------------------------------------------------- downloads

def _reason(exc: BaseException) -> str:
    """Why a source failed, in a few words: refused (HTTP 404), connection refused, checksum mismatch, ..."""
    cause = exc.__cause__ or exc
    if isinstance(exc, ChecksumError) and isinstance(cause, ValueError) and cause is not exc:
        return "checksum mismatch (the download was discarded)"
    if (code := getattr(getattr(cause, "response", None), "status_code", None)) is not None:
        return f"refused (HTTP {code})"
    if "Connection refused" in str(cause):
        return "connection refused"
    return one_line(cause, with_type=cause is not exc)


def _download(item: DataFile, root: Path, progressbar: bool, extract_to: str | None = None) -> None:
    """Download a file with pooch from the first of its addresses that works; extract an archive, then delete it.

    Logs one line per failed address; raises the only address's error, or one naming each address.
    """
    registry = pooch.create(path=root, base_url="", registry={item.path: item.known_hash}, urls={})
    unpack = None if extract_to is None else pooch.Unzip if item.path.endswith(".zip") else pooch.Untar
    failures = []
    for url in item.urls:
        registry.urls[item.path] = url
        try:
            registry.fetch(item.path, processor=unpack and unpack(extract_dir=str(root / extract_to)),
                           downloader=pooch.HTTPDownloader(progressbar=progressbar))
            return (root / item.path).unlink() if unpack else None
        except ValueError as exc:  # pooch's checksum mismatch; the download was discarded
            error = ChecksumError(f"{url}: downloaded file does not match {item.known_hash}; it was discarded. "
                                  f"({exc})")
            error.__cause__ = exc
        except Exception as exc:  # noqa: BLE001 - network errors, interrupted transfers, bad archives
            error = DownloadError(f"could not download {url} to {root / item.path}: {one_line(exc, with_type=True)}")
            error.__cause__ = exc
        failures.append(f"{url}: {_reason(error)}")
        logger.warning("%s: source %s failed: %s", item.path, url, _reason(error))
    if len(failures) == 1:
        raise error
    raise DownloadError(f"could not download {item.path} from any of its {len(failures)} addresses "
                        f"({'; '.join(failures)})")


def _by_hand(ds: Dataset, root: Path) -> str:
    """How to place a copy of a data set by hand."""
    files = [f"download {Path(i.path).name}" + (f" ({i.known_hash.replace(':', ' ', 1)})" if i.known_hash else "")
             + f" from any copy and save it as {root / i.path}" for i in (*ds.files, ds.archive) if i and i.urls]
    ways = [" and ".join(files) + ", then run the same fetch again (it verifies what it finds)"] if files else []
    if ds.manual:
        ways.append(ds.manual.replace("<data dir>", str(root)))
    elif ds.kaggle is not None:
        placed = ", ".join(f"{src} as {root / dest}" for src, dest in ds.kaggle.members)
        ways.append(f"unzip https://www.kaggle.com/datasets/{ds.kaggle.handle} and place {placed}")
    return "; or ".join(ways)


def fetch(name: str, root: Path | None = None, *, progressbar: bool = True) -> Path:
    """Get a data set into the data directory (at once when it is there and verifies); returns its path.

    Tries its sources in turn, logging one line per failure: the addresses of its files and archive (pooch
    downloads to a temporary file and checks the checksum, so a bad file is never used or left behind;
    archives are extracted, then deleted), its Kaggle copy, its build. Raises the only source's error, or
    one DownloadError naming each source, why it failed and how to place a copy by hand.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    root : pathlib.Path, optional
        Data directory (default :func:`helpers.config.data_dir`).
    progressbar : bool
        Show a progress bar while downloading.

    Examples
    --------
    >>> fetch("gtzan-splits").name  # present: nothing is downloaded
    'train_filtered.txt'
    """
    present, ds, root = datasets.dataset_path(name, root, required=False), REGISTRY[name], data_dir(root)
    if name == "librosa":
        return _fetch_librosa_examples(root, progressbar)
    if present and all((root / f.path).is_file() for f in ds.files):
        for f in ds.files:
            datasets.check_copy(root / f.path, f.known_hash)
        logger.info("%s: already present in %s", name, root)
        return datasets.dataset_path(name, root)
    downloads = [(i, ds.extract_to if i is ds.archive else None) for i in (*ds.files, ds.archive) if i and i.urls]
    sources = [("", lambda: [_download(i, root, progressbar, to) for i, to in downloads])] if downloads else []
    if ds.kaggle is not None:
        sources.append((f"Kaggle {ds.kaggle.handle} (kagglehub)", lambda: _fetch_kaggle(ds.kaggle, root)))
    if name in _BUILDERS:
        sources.append((ds.build, lambda: _BUILDERS[name](root, progressbar)))
    failures = []
    for label, attempt in sources:
        try:
            attempt()
            return datasets.dataset_path(name, root)
        except CourseError as exc:
            if len(sources) == 1:
                raise
            if label:
                logger.warning("%s: source %s failed: %s", name, label, _reason(exc))
            failures.append(f"{label}: {_reason(exc)}" if label else str(exc))
    raise DownloadError(f"data set {name!r} could not be fetched from any of its sources ({'; '.join(failures)}). "
                        f"By hand: {_by_hand(ds, root)}")


def _kaggle_unavailable() -> str | None:
    """Why kagglehub cannot be used here (not installed, no credentials), or None when it can."""
    try:
        from kagglehub.config import get_kaggle_credentials  # optional: the `kaggle` extra

        return None if get_kaggle_credentials() else "no Kaggle credentials configured"
    except ImportError:
        return "kagglehub is not installed"
    except Exception as exc:  # noqa: BLE001 - an unreadable kaggle.json, ...
        return f"Kaggle credentials cannot be read ({exc})"


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another disk, or links not allowed
        shutil.copy2(src, dst)


def _fetch_kaggle(copy: KaggleCopy, root: Path) -> None:
    """Get a Kaggle copy with kagglehub and verify every member (checksums, counts) before placing any."""
    if reason := _kaggle_unavailable():
        raise DownloadError(f"skipped: {reason}")
    import kagglehub  # optional: the `kaggle` extra

    local, hashes = {}, {f.path: f.known_hash for ds in REGISTRY.values() for f in (*ds.files, ds.archive) if f}
    for src, dest in [(src, dest) for src, dest in copy.members if not (root / dest).exists()]:
        try:
            local[dest] = Path(kagglehub.dataset_download(copy.handle, path=src))
        except Exception as exc:  # noqa: BLE001 - kagglehub raises many types
            raise DownloadError(f"kagglehub could not download {src}: {one_line(exc, with_type=True)}") from exc
    for dest, path in local.items():
        if hashes.get(dest):
            datasets.check_hash(path, hashes[dest])
        for pattern, expected in copy.counts:
            if pattern.startswith(dest + "/") and (found := len(list(path.glob(pattern[len(dest) + 1:])))) != expected:
                raise ChecksumError(f"the Kaggle copy {copy.handle} holds {found} files matching {pattern}, "
                                    f"expected {expected}; nothing was placed")
    for dest, path in local.items():  # each under a temporary name, then renamed: never half a copy
        with atomic_path(root / dest) as staged:
            shutil.copytree(path, staged, copy_function=_link_or_copy) if path.is_dir() else _link_or_copy(path, staged)

def _fetch_librosa_examples(root: Path, progressbar: bool) -> Path:
    """Download librosa's example recordings into ``<root>/librosa`` with librosa's own pooch registry."""
    examples = pooch.create(path=root / "librosa", base_url="https://librosa.org/data/audio/", registry=None)
    examples.load_registry(resources.files("librosa.util.example_data").joinpath("registry.txt"))
    for fname in [f for f in examples.registry if f.endswith((".ogg", ".txt"))]:
        try:
            examples.fetch(fname, downloader=pooch.HTTPDownloader(progressbar=progressbar))
        except Exception as exc:  # noqa: BLE001 - network errors, checksum mismatches
            raise DownloadError(f"librosa example {fname} could not be fetched: {one_line(exc, with_type=True)}") from exc
    return root / "librosa"

def build_gtzan_features(root: Path | None = None, *, n_jobs: int = -1, cache: bool | str | os.PathLike = True,
                         progress: bool = False) -> Path:
    """Build ``gtzan/features_30_sec.csv`` from the GTZAN audio, without a Kaggle account; returns its path.

    Runs :func:`machinery.extract.extract_features` with :func:`helpers.features.gtzan_feature_vector` at
    22,050 Hz on every clip (``n_jobs`` workers, the extractor's ``cache``, a ``progress`` bar) and writes
    Kaggle's columns in Kaggle's order atomically, with the build record ``features_30_sec.built.json``
    (versions, clips, clips left out, sha256) by which :func:`helpers.datasets.load_gtzan_features` accepts it. A clip that
    cannot be decoded is left out and listed; AudioError if none can be.

    Examples
    --------
    >>> build_gtzan_features(n_jobs=2).name  # doctest: +SKIP
    'features_30_sec.csv'
    """
    # here, not at the top: they load librosa and joblib, which the loaders and `status` do not need
    from helpers.features import FEATURE_COLUMNS, gtzan_feature_vector
    from machinery.extract import extract_features

    root = data_dir(root)
    clips, unreadable = datasets.scan_gtzan.__wrapped__(str(folder := datasets.dataset_path("gtzan", root)))  # a fresh scan
    result = extract_features(clips[["clip_id", "genre", "path"]], gtzan_feature_vector, sr=GTZAN_SR,
                              n_jobs=n_jobs, cache=cache, progress=progress)
    failed = result.failures[["path", "reason"]].itertuples(index=False)
    skipped = [*unreadable.values(), *(why for _, why in failed)]
    if result.table.empty:
        raise AudioError(f"no GTZAN clip in {folder} could be decoded: {'; '.join(skipped) or 'no clips'}")
    if skipped:
        logger.warning("%s: left out %d clip(s) that cannot be decoded: %s", _FEATURES, len(skipped),
                       "; ".join(skipped))
    found, length = result.table, clips.set_index("clip_id")["duration"].mul(GTZAN_SR).round().astype("int64")
    table = pd.concat([pd.DataFrame({"filename": found["path"].map(lambda p: Path(p).name),
                                     "length": found["clip_id"].map(length)}),
                       found[list(FEATURE_COLUMNS)], found["genre"].rename("label")], axis=1)
    text, target = table.to_csv(index=False, lineterminator="\n"), root / _FEATURES
    write_atomic(datasets.record_path(target), json.dumps({
        "built_by": f"{gtzan_feature_vector.__module__}.{gtzan_feature_vector.__qualname__}",
        "helpers_version": __version__, "librosa_version": metadata.version("librosa"), "sample_rate": GTZAN_SR,
        "n_clips": len(table), "skipped": skipped, "sha256": f"sha256:{hashlib.sha256(text.encode()).hexdigest()}",
    }, indent=1))
    write_atomic(target, text)
    logger.info("built %s from the audio with the course's extractor (%d clips); "
                "the Kaggle copy is checksum-verified when present", _FEATURES, len(table))
    return target


#: How :func:`fetch` builds a data set from others, by name (``REGISTRY[name].build`` says it in words).
_BUILDERS = {"gtzan-features": lambda root, progressbar: build_gtzan_features(root, progress=progressbar)}


def main(argv: list[str] | None = None) -> int:
    """``python -m machinery.data status|fetch``: exit status 0 fine, 1 a fetch failed, 2 usage.

    ``status`` prints what is present, which copy and where each data set comes from (in the order fetch
    tries its sources); ``fetch NAME ...`` (``--make-data``: what ``make data`` gets) downloads.

    Examples
    --------
    >>> main(["fetch", "echonest"])  # doctest: +ELLIPSIS
    echonest: ready at ...
    0
    """
    parser = argparse.ArgumentParser(prog="python -m machinery.data", description="The course's data sets.")
    parser.add_argument("--data-dir", type=Path, help="data directory (default: $COURSE_DATA_DIR or <repo>/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="show which data sets are present, which copy, and where each comes from")
    fetching = sub.add_parser("fetch", help="download data sets (checksums verified)")
    fetching.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(REGISTRY)}")
    fetching.add_argument("--make-data", action="store_true", help="every data set that 'make data' downloads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = args.data_dir or data_dir()
    if args.command == "status":  # within 100 columns: a block per data set
        import textwrap

        table, wrap = status(root), functools.partial(textwrap.fill, width=100, subsequent_indent="    ",
                                                        break_on_hyphens=False)
        print(f"data directory: {root}")
        for name, row in table.iterrows():
            print(wrap(f"{name}: {'present' if row['present'] else 'missing'} ({row['title']}; {row['download size']}"
                       f"{'' if row['fetched by make data'] else '; not in make data'})"),
                  *(wrap(f"  {k}: {row[k]}") for k in ("copy", "sources", "licence") if row[k]), sep="\n")
        todo = [f"{n} ({r['download size']})" for n, r in table.iterrows() if r["fetched by make data"] and not r["present"]]
        print(wrap(f"make data would fetch: {', '.join(todo)}" if todo else "make data has nothing to fetch "
                   "(a data set present in part, such as a GTZAN subset, is not completed)"))
        return 0
    names = list(dict.fromkeys([*args.names, *(n for n, d in REGISTRY.items() if args.make_data and d.in_make_data)]))
    if not names or (unknown := [n for n in names if n not in REGISTRY]):
        parser.error(f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}" if names
                     else "name at least one data set, or use --make-data")
    failed = 0
    on_interrupt(None)  # from here Ctrl-C is a KeyboardInterrupt: a download's temporary file is removed
    for name in names:
        try:
            print(f"{name}: ready at {fetch(name, root)}")
        except CourseError as exc:
            failed += 1
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            print(f"{name}: interrupted", file=sys.stderr)
            return 130
    for d in [d for d in REGISTRY.values() if args.make_data and not d.in_make_data]:
        print(f"note: {d.name} ({d.size}) is not part of 'make data': {d.fetch_command}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
