"""The course's data sets: one registry, checksummed downloads, tidy loaders, and their command line.

:data:`REGISTRY` describes each data set once: its sources (download addresses in order, then a Kaggle copy
through ``kagglehub``, then a build from other data), checksums, place in the data directory, licence and
citation. :func:`fetch` downloads with pooch (checksums verified, archives extracted). The loaders read the
data directory ``root`` (default :func:`helpers.config.data_dir`) and download nothing unless
``COURSE_FETCH_MISSING=1`` (the Colab setup cell sets it); a missing file raises
:class:`~helpers.errors.DataNotFoundError` naming the data set, the path and the command that fetches it::

    python -m helpers.datasets status              # what is present, which copy, where each comes from
    python -m helpers.datasets fetch NAME ...      # --make-data: everything `make data` gets
"""
from __future__ import annotations

if __name__ == "__main__":  # first: Ctrl-C while the imports below load is one line
    __import__("helpers.errors").errors.on_interrupt("interrupted")

import argparse
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd
import pooch
import soundfile as sf

from . import __version__
from .config import atomic_path, data_dir, write_atomic
from .errors import AudioError, ChecksumError, CourseError, DataNotFoundError, DownloadError, on_interrupt, one_line

__all__ = ["DataFile", "KaggleCopy", "Dataset", "REGISTRY", "GTZAN_GENRES", "data_file", "status", "fetch",
           "CLIP_RECORD", "changed_clips", "load_echonest", "gtzan_clips", "gtzan_split", "load_gtzan_features",
           "librosa_example", "class_counts", "main"]

logger = logging.getLogger("helpers.datasets")

#: The ten GTZAN genres, in the order of the data set's folders.
GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
#: Sample rate (Hz) of the GTZAN clips, at which ``features_30_sec.csv`` is computed.
_GTZAN_SR = 22050
#: Environment variable that lets loaders download a missing data set the first time it is needed.
FETCH_ENV_VAR = "COURSE_FETCH_MISSING"


@dataclass(frozen=True)
class DataFile:
    """A file: path in the data directory, addresses (``url``, then ``mirrors``), checksum (``"sha256:..."``).

    Examples
    --------
    >>> DataFile("x/a.csv", "https://one.example/a.csv", mirrors=("https://two.example/a.csv",)).urls
    ('https://one.example/a.csv', 'https://two.example/a.csv')
    """

    path: str
    url: str | None = None
    known_hash: str | None = None
    mirrors: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        """Every download address, in the order :func:`fetch` tries them."""
        return tuple(u for u in (self.url, *self.mirrors) if u)


@dataclass(frozen=True)
class KaggleCopy:
    """A Kaggle copy: ``members`` (path on Kaggle, path here) checked against ``counts`` (glob, files).

    Examples
    --------
    >>> REGISTRY["gtzan"].kaggle.members[0]
    ('Data/genres_original', 'gtzan/genres_original')
    """

    handle: str
    members: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A data set: present when one of ``layout`` exists; fetched from ``files`` and ``archive`` (extracted
    into ``extract_to``), then ``kaggle``, then ``build(root, progressbar)``; ``manual``: how by hand.

    Examples
    --------
    >>> REGISTRY["echonest"].fetch_command
    'make data  (or: python -m helpers.datasets fetch echonest)'
    """

    name: str
    title: str
    description: str
    licence: str
    citation: str
    layout: tuple[str, ...]
    files: tuple[DataFile, ...] = ()
    archive: DataFile | None = None
    extract_to: str = ""
    manual: str = ""
    size: str = ""
    in_make_data: bool = True
    kaggle: KaggleCopy | None = None
    build: Callable[[Path, bool], Path] | None = None

    @property
    def fetch_command(self) -> str:
        """Shell command that downloads this data set."""
        command = f"python -m helpers.datasets fetch {self.name}"
        return f"make data  (or: {command})" if self.in_make_data else command


_FMA = "Defferrard, Benzi, Vandergheynst & Bresson, 'FMA: A Dataset for Music Analysis', ISMIR 2017."
_ECHONEST = "https://raw.githubusercontent.com/Technocolabs100/Mini-Project-Classify-Song-Genres-from-Audio-Data"
_SPLITS = "https://raw.githubusercontent.com/coreyker/dnn-mgr/master/gtzan"
_KAGGLE = "andradaolteanu/gtzan-dataset-music-genre-classification"
_FEATURES = "gtzan/features_30_sec.csv"
_WHEEL = "musicnn/musicnn-0.1.0-py3-none-any.whl"
_SPLIT_HASHES = {"train": "45b0559cf45903ec086b2574c90b25a7c13afe8a745b3e0a75c88cf638f9a3f6",
                 "valid": "c34d8571b9faa99824e24ba03f148896c214edb2d45c9dba9e5aa4e00d61c6ab",
                 "test": "3cf8153aadb753633149901616416027ba4fd03b91ad5fdf7bed687398dc226a"}


def _features_from_audio(root: Path, progressbar: bool) -> Path:
    """built from the GTZAN audio with the course's extractor"""
    return _build_gtzan_features(root, progress=progressbar)


#: Every data set the course uses, by name.
REGISTRY: dict[str, Dataset] = {d.name: d for d in (
    Dataset("echonest", "Echo Nest metrics of FMA tracks (Rock vs Hip-Hop)",
            "fma-rock-vs-hiphop.csv (17,734 tracks with genre_top Rock or Hip-Hop) and echonest-metrics.json "
            "(13,129 tracks, 8 Echo Nest audio features); they merge on track_id to 4,802 tracks.",
            "CC BY 4.0 (FMA metadata)", _FMA, ("echonest/fma-rock-vs-hiphop.csv",), size="5.4 MB", files=(
                DataFile("echonest/fma-rock-vs-hiphop.csv",
                         f"{_ECHONEST}/991f9210c8fcd4bc75843727bf17666cbe0f45c3/fma-rock-vs-hiphop.csv",
                         "sha256:f6e7409825a49e8f2c13293425f3e913547e834bb03868eadf9fae2a6aa39419"),
                DataFile("echonest/echonest-metrics.json",
                         f"{_ECHONEST}/21d26b9c0af3a11ef596e579b330084afdf1385b/datasets/echonest-metrics.json",
                         "sha256:e87ae89735beddc2786409d791a162aec641b638c597ae59400588ea4d1bc0ca"))),
    Dataset("gtzan", "GTZAN genre collection (audio)",
            "1,000 clips of 30 s, 10 genres x 100, 22,050 Hz mono. Accepted layouts: gtzan/genres_original/"
            "<genre>/<genre>.000NN.wav (Kaggle) or gtzan/genres/<genre>/<genre>.000NN.au (original archive).",
            "No copyright clearance; research and teaching use only",
            "Tzanetakis & Cook, 'Musical genre classification of audio signals', "
            "IEEE Trans. Speech and Audio Processing 10(5), 2002.", ("gtzan/genres_original", "gtzan/genres"),
            archive=DataFile("gtzan/genres.tar.gz",
                             "https://web.archive.org/web/20220328223413/http://opihi.cs.uvic.ca/sound/genres.tar.gz",
                             "sha256:24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6",
                             ("https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",)),
            extract_to="gtzan", size="1.2 GB", kaggle=KaggleCopy(
                _KAGGLE, (("Data/genres_original", "gtzan/genres_original"), ("Data/features_30_sec.csv", _FEATURES)),
                tuple((f"gtzan/genres_original/{g}/{g}.*.wav", 100) for g in GTZAN_GENRES))),
    Dataset("gtzan-splits", "Fault-filtered GTZAN partition",
            "train/valid/test lists (443/197/290 clips) without the 70 faulty clips and without artist "
            "overlap between parts.", "List of file names",
            "Kereliuk, Sturm & Larsen, 'Deep learning and music adversaries', IEEE Trans. Multimedia 17(11), 2015.",
            ("gtzan/splits/train_filtered.txt",), size="20 KB",
            files=tuple(DataFile(f"gtzan/splits/{p}_filtered.txt", f"{_SPLITS}/{p}_filtered.txt", f"sha256:{h}")
                        for p, h in _SPLIT_HASHES.items())),
    Dataset("gtzan-features", "GTZAN feature table features_30_sec.csv",
            "One row per GTZAN clip (1,000): 57 librosa summary features plus filename, length and label, "
            "from the Kaggle 'GTZAN Dataset - Music Genre Classification'.",
            "As GTZAN", "Olteanu, 'GTZAN Dataset - Music Genre Classification', Kaggle, 2020.", (_FEATURES,),
            files=(DataFile(_FEATURES, None,
                            "sha256:e5fe20f4e2f61d1aa3e07b17ffdea6b565970b3a1811746bd31f182a401fc3bc"),),
            manual=f"download 'features_30_sec.csv' from https://www.kaggle.com/datasets/{_KAGGLE} (free Kaggle "
                   "account) and save it as <data dir>/gtzan/features_30_sec.csv; or, with the GTZAN audio in "
                   "place, run make data, which builds it from the audio",
            size="1.1 MB", kaggle=KaggleCopy(_KAGGLE, (("Data/features_30_sec.csv", _FEATURES),)),
            build=_features_from_audio),
    Dataset("fma-metadata", "FMA metadata (tracks, genres, echonest, features)",
            "fma_metadata.zip: tracks.csv (two-row header), genres.csv, echonest.csv, features.csv for the "
            "106,574 tracks of the Free Music Archive.", "CC BY 4.0", _FMA,
            ("fma/fma_metadata/genres.csv", "fma/genres.csv"), extract_to="fma", size="342 MB",
            archive=DataFile("fma/fma_metadata.zip", "https://os.unil.cloud.switch.ch/fma/fma_metadata.zip",
                             "sha1:f0df49ffe5f2a6008d7dc83c6915b31835dfe733")),
    Dataset("fma-small", "FMA small (8,000 clips of 30 s, 8 genres)",
            "fma_small.zip: mp3 clips in fma/fma_small/<3-digit folder>/<track_id>.mp3.",
            "Each track under its artist's Creative Commons licence", _FMA, ("fma/fma_small",),
            extract_to="fma", size="7.2 GB", in_make_data=False,
            archive=DataFile("fma/fma_small.zip", "https://os.unil.cloud.switch.ch/fma/fma_small.zip",
                             "sha1:ade154f733639d52e35e32f5593efe5be76c6d70")),
    Dataset("musicnn", "musicnn 0.1.0 pretrained music taggers (weights for notebook 09's transfer learning)",
            "The musicnn wheel from the Python package index, used as data: TensorFlow-1 checkpoints of four taggers "
            "trained on 50 tags of the Million Song Dataset or MagnaTagATune; the course reads MSD_vgg "
            "(helpers.pretrained). The package itself is not installed.",
            "ISC (keep the notice: musicnn-0.1.0.dist-info/LICENSE.md in the wheel)",
            "Pons & Serra, 'musicnn: pre-trained convolutional neural networks for music audio tagging', "
            "ISMIR 2019 late-breaking/demo.", (_WHEEL,), size="29 MB", files=(DataFile(
                _WHEEL, "https://files.pythonhosted.org/packages/py3/m/musicnn/musicnn-0.1.0-py3-none-any.whl",
                "sha256:f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"),)),
    Dataset("librosa", "librosa example recordings",
            "librosa.ex('trumpet'), 'brahms', 'choice', 'nutcracker', 'libri1', ... read offline from "
            "<data dir>/librosa.", "Creative Commons / public domain (each file's .txt)",
            "McFee et al., librosa, https://librosa.org", ("librosa",), size="13 MB"),
)}


def _root(root: Path | str | None) -> Path:
    return Path(root) if root is not None else data_dir()


def _get(name: str) -> Dataset:
    if name not in REGISTRY:
        raise CourseError(f"unknown data set {name!r}; known data sets: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _path(name: str, root: Path | None = None, *, required: bool = True) -> Path | None:
    """The first existing layout path of a data set; else None, or a DataNotFoundError naming paths and fix."""
    ds, root = _get(name), _root(root)
    found = next((root / rel for rel in ds.layout if (root / rel).exists()), None)
    if found is None and required:
        raise DataNotFoundError(f"data set {name!r} ({ds.title}) is not in the data directory: expected "
                                f"{' or '.join(str(root / rel) for rel in ds.layout)}. Fetch it with: "
                                f"{ds.fetch_command}; or point COURSE_DATA_DIR at a folder that has it.")
    return found


def _fetch_if_allowed(name: str, root: Path | None) -> None:
    """Fetch a data set on first use when ``COURSE_FETCH_MISSING=1`` (the Colab setup cell sets it)."""
    if os.environ.get(FETCH_ENV_VAR, "").strip() == "1":
        fetch(name, root)


@cache
def _hash_matches(path: str, size: int, mtime_ns: int, known_hash: str) -> bool:
    algorithm, _, expected = known_hash.partition(":")
    return pooch.file_hash(path, alg=algorithm) == expected.lower()


def _check_hash(path: Path | str, known_hash: str | None) -> Path:
    """``path`` if it exists and matches ``known_hash`` (hashed once per size and mtime), else raise."""
    if not (path := Path(path)).is_file():
        raise DataNotFoundError(f"{path}: file not found")
    if known_hash and not _hash_matches(str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns, known_hash):
        algorithm, _, expected = known_hash.partition(":")
        raise ChecksumError(f"{path}: {algorithm} checksum mismatch (expected {expected}, got "
                            f"{pooch.file_hash(str(path), alg=algorithm)}); the file is damaged or a different "
                            "version. Delete it and fetch it again (make data).")
    return path


def _record_path(path: Path) -> Path:
    """The build record that marks a registered file as built here: ``<stem>.built.json``."""
    return path.with_name(f"{path.stem}.built.json")


def _check_copy(path: Path, known_hash: str | None) -> dict | None:
    """Verify a registered file: the published copy (None), or one built here (returns its build record).

    A file that does not match its registered checksum is accepted only when its build record says it was
    built here and it matches the checksum recorded at build time.
    """
    try:
        _check_hash(path, known_hash)
        return None
    except ChecksumError as exc:
        mismatch = exc
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
        built_here = str(record["sha256"]).startswith("sha256:")
    except (OSError, ValueError, KeyError, TypeError):
        built_here = False
    if not built_here:
        raise mismatch
    _check_hash(path, record["sha256"])
    return record


def data_file(name: str, rel: str, root: Path | str | None = None) -> Path:
    """One registered file of a data set, verified against its checksum (fetched first where allowed).

    Examples
    --------
    >>> data_file("echonest", "echonest/fma-rock-vs-hiphop.csv").name  # doctest: +SKIP
    'fma-rock-vs-hiphop.csv'
    """
    _fetch_if_allowed(name, root)
    ds, path = _get(name), _root(root) / rel
    if not path.is_file():
        raise DataNotFoundError(f"data set {name!r} ({ds.title}): file {path} is missing. Fetch it with: "
                                f"{ds.fetch_command}; or point COURSE_DATA_DIR at a folder that has it.")
    _check_copy(path, {f.path: f.known_hash for f in ds.files}.get(rel))
    return path


def _describe_copy(ds: Dataset, root: Path) -> str:
    """What is in the data directory for a present data set, in a few words."""
    words = [] if ds.files else [str((where := _path(ds.name, root)).relative_to(root))]
    if ds.name == "gtzan":  # how much of it: a CI subset or a damaged copy is present too, but not all of GTZAN
        clips, bad = _scan_gtzan(str(where))
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
            record = _check_copy(root / f.path, f.known_hash)
        except DataNotFoundError:
            words.append(f"{f.path} missing")
        except ChecksumError:
            words.append(f"{f.path}: CHECKSUM MISMATCH (not used)")
        else:
            origin = "Kaggle copy" if ds.kaggle is not None and not f.urls else "published copy"
            words.append(f"built here from {record.get('n_clips', '?')} clips by {record.get('built_by', '?')} "
                         f"(helpers {record.get('helpers_version', '?')}; {_record_path(root / f.path).name})"
                         if record else f"{origin}, {f.known_hash.partition(':')[0]} verified" if f.known_hash
                         else "present (not pinned)")
    return "; ".join(dict.fromkeys(words))


def _source_labels(ds: Dataset) -> list[str]:
    """Where :func:`fetch` gets a data set from, in the order it tries them."""
    labels = list(dict.fromkeys(u.split("/")[2] for item in (*ds.files, ds.archive) if item for u in item.urls))
    if ds.kaggle is not None:
        labels.append(f"Kaggle {ds.kaggle.handle} ({_kaggle_unavailable() or 'kagglehub ready'})")
    if ds.build is not None:
        labels.append(ds.build.__doc__.strip())
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
    root = _root(root)
    return pd.DataFrame([
        {"name": ds.name, "title": ds.title, "present": (present := _path(ds.name, root, required=False) is not None),
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
    ds, root = _get(name), _root(root)
    if name == "librosa":
        return _fetch_librosa_examples(root, progressbar)
    if _path(name, root, required=False) and all((root / f.path).is_file() for f in ds.files):
        for f in ds.files:
            _check_copy(root / f.path, f.known_hash)
        logger.info("%s: already present in %s", name, root)
        return _path(name, root)
    downloads = [(i, ds.extract_to if i is ds.archive else None) for i in (*ds.files, ds.archive) if i and i.urls]
    sources = [("", lambda: [_download(i, root, progressbar, to) for i, to in downloads])] if downloads else []
    if ds.kaggle is not None:
        sources.append((f"Kaggle {ds.kaggle.handle} (kagglehub)", lambda: _fetch_kaggle(ds.kaggle, root)))
    if ds.build is not None:
        sources.append((ds.build.__doc__.strip(), lambda: ds.build(root, progressbar)))
    failures = []
    for label, attempt in sources:
        try:
            attempt()
            return _path(name, root)
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
            _check_hash(path, hashes[dest])
        for pattern, expected in copy.counts:
            if pattern.startswith(dest + "/") and (found := len(list(path.glob(pattern[len(dest) + 1:])))) != expected:
                raise ChecksumError(f"the Kaggle copy {copy.handle} holds {found} files matching {pattern}, "
                                    f"expected {expected}; nothing was placed")
    for dest, path in local.items():  # each under a temporary name, then renamed: never half a copy
        with atomic_path(root / dest) as staged:
            shutil.copytree(path, staged, copy_function=_link_or_copy) if path.is_dir() else _link_or_copy(path, staged)


# ----------------------------------------------------------------------------- librosa's examples


@cache
def _librosa_index() -> dict:
    """librosa's example index (key -> file stem), as shipped with librosa."""
    return json.loads(resources.files("librosa.util.example_data").joinpath("index.json").read_text())


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


def librosa_example(key: str, *, hq: bool = False) -> str:
    """Path of librosa's example recording ``key`` (``hq``: stereo 44.1 kHz) in ``<data dir>/librosa``.

    The file ``librosa.ex(key, hq=hq)`` gives, without changing anything in librosa or the environment and
    without downloading (unless ``COURSE_FETCH_MISSING=1``); DataNotFoundError naming the fix if missing.

    Examples
    --------
    >>> Path(librosa_example("trumpet")).name
    'sorohanro_-_solo-trumpet-06.ogg'
    """
    if key not in (index := _librosa_index()):
        raise CourseError(f"unknown librosa example {key!r}; known: {', '.join(sorted(index))}")
    path = data_dir() / "librosa" / (index[key]["path"] + (".hq.ogg" if hq else ".ogg"))
    if not path.is_file():
        _fetch_if_allowed("librosa", None)
    if not path.is_file():
        raise DataNotFoundError(f"librosa example {key!r} is not in {path.parent} (expected {path}). Fetch it with: "
                                f"{REGISTRY['librosa'].fetch_command}; or point COURSE_DATA_DIR at a folder that "
                                "has a librosa/ sub-folder.")
    return str(path)


# ----------------------------------------------------------------------------- loaders


def load_echonest(root: Path | None = None) -> pd.DataFrame:
    """Echo Nest metrics of FMA tracks merged on ``track_id`` with their label ``genre_top`` (Rock, Hip-Hop).

    4,802 rows: ``track_id``, acousticness, danceability, energy, instrumentalness, liveness, speechiness,
    tempo, valence and ``genre_top``.

    Examples
    --------
    >>> load_echonest()["genre_top"].value_counts().to_dict()
    {'Rock': 3892, 'Hip-Hop': 910}
    """
    tracks = pd.read_csv(data_file("echonest", "echonest/fma-rock-vs-hiphop.csv", root))
    metrics = pd.read_json(data_file("echonest", "echonest/echonest-metrics.json", root), precise_float=True)
    return metrics.merge(tracks[["track_id", "genre_top"]], on="track_id").reset_index(drop=True)


_MIN_CLIP_SECONDS = 0.05  # shorter is a cut-off file: not even one 2,048-sample analysis window


@cache
def _scan_gtzan(folder: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The clips of a GTZAN folder, and for each that cannot be decoded its path -> the one line that
    :func:`helpers.audio.load_audio` gives (so that every list of faulty clips says the same)."""
    rows, bad = [], {}
    for path in sorted(p for p in Path(folder).glob("*/*") if p.suffix.lower() in {".wav", ".au"}):
        try:
            if not path.is_file():  # a pipe or device: sf.info would wait for ever; the loader says what it is
                raise ValueError("not a regular file")
            info = sf.info(str(path))
            if info.format == "RAW" or info.frames < _MIN_CLIP_SECONDS * info.samplerate:
                raise ValueError("no audio header, or (nearly) no samples")
            duration, rate = info.frames / info.samplerate, info.samplerate
        except Exception:  # noqa: BLE001 - no readable header, or (nearly) empty: ask the loader why (rare)
            from .audio import load_audio  # here: librosa is not needed to list good clips

            try:
                y, rate = load_audio(path, sr=None, min_duration=_MIN_CLIP_SECONDS)
                duration = y.shape[-1] / rate
            except AudioError as exc:
                bad[str(path)] = str(exc)
                continue
        rows.append({"clip_id": path.stem, "genre": path.parent.name, "path": str(path),
                     "duration": duration, "sample_rate": rate})
    return pd.DataFrame(rows, columns=["clip_id", "genre", "path", "duration", "sample_rate"]), bad


def gtzan_clips(root: Path | None = None, *, genres: Iterable[str] | None = None, per_genre: int | None = None,
                with_split: bool = True) -> pd.DataFrame:
    """One row per GTZAN clip: ``clip_id``, ``genre``, ``path``, ``duration`` (s), ``sample_rate`` (Hz), ``split``.

    Reads the Kaggle layout or the original archive's. A clip that cannot be decoded (the full Kaggle copy's
    ``jazz.00054.wav``) or is shorter than 0.05 s (cut off) is left out, named in a warning and in
    ``table.attrs["unreadable"]``: path -> the reason, the same line that
    :func:`helpers.features.extract_features` and :func:`helpers.models.segment_dataset` give when they report
    those files again.

    Parameters
    ----------
    genres : iterable of str, optional
        Keep only these genres.
    per_genre : int, optional
        Keep the first ``per_genre`` clips of each genre.
    with_split : bool
        Add ``split`` ("train", "valid", "test" or "excluded") when ``gtzan/splits`` is present.

    Examples
    --------
    >>> gtzan_clips(genres=["jazz"], per_genre=2)["clip_id"].tolist()
    ['jazz.00000', 'jazz.00001']
    """
    _fetch_if_allowed("gtzan", root)
    folder = _path("gtzan", root)
    table, unreadable = _scan_gtzan(str(folder))
    table = table.copy()  # not the cached one
    if unreadable:
        warnings.warn(f"skipped {len(unreadable)} GTZAN clip(s) that cannot be decoded: "
                      f"{'; '.join(unreadable.values())}", stacklevel=2)
    if genres is not None:
        if unknown := set(genres := list(genres)) - set(table["genre"]):
            raise CourseError(f"no GTZAN clips for genre(s) {sorted(unknown)} in {folder}")
        table = table[table["genre"].isin(genres)]
    if per_genre is not None:
        table = table.groupby("genre", group_keys=False).head(per_genre)
    if with_split and _path("gtzan-splits", root, required=False):
        table = table.assign(split=table["clip_id"].map(gtzan_split(root)).fillna("excluded"))
    table = table.sort_values("clip_id").reset_index(drop=True)
    table.attrs["unreadable"] = dict(unreadable)
    return table


#: The course's record of the 70 clips of the CI subset: per clip, the number of 16-bit samples and their sha256
CLIP_RECORD = Path(__file__).with_name("gtzan_ci_subset.csv")


def changed_clips(clips: pd.DataFrame) -> dict[str, str]:
    """The clips among ``clips`` (rows of :func:`gtzan_clips`) whose audio is not what the course recorded:
    ``clip_id`` -> why. :data:`CLIP_RECORD` holds, for the 70 clips of the CI subset, the number of 16-bit samples
    at 22,050 Hz and their sha256; a copy must begin with those samples (a full 30-s clip does). Other clips are
    not checked. A name is not content: a rock clip replaced by a classical one under its name is found here.

    Examples
    --------
    >>> changed_clips(gtzan_clips(per_genre=1))
    {}
    """
    record = pd.read_csv(CLIP_RECORD).set_index("clip_id")
    changed = {}
    for clip_id, path in clips.loc[clips["clip_id"].isin(record.index), ["clip_id", "path"]].itertuples(index=False):
        n = int(record.at[clip_id, "n_samples"])
        try:
            samples, rate = sf.read(path, dtype="int16", frames=n)
        except Exception as exc:  # noqa: BLE001 - decoders raise many types
            changed[clip_id] = f"cannot be read ({type(exc).__name__})"
            continue
        digest = hashlib.sha256(samples.astype("<i2").tobytes()).hexdigest()
        if rate != _GTZAN_SR or samples.ndim != 1 or len(samples) < n:
            changed[clip_id] = f"not {n:,} mono samples at {_GTZAN_SR:,} Hz as recorded"
        elif digest != record.at[clip_id, "samples_sha256"]:
            changed[clip_id] = "its samples differ from the recorded ones"
    return changed


def gtzan_split(root: Path | None = None) -> pd.Series:
    """The fault-filtered GTZAN partition: a Series ``split``, clip id -> "train" / "valid" / "test".

    Examples
    --------
    >>> gtzan_split().value_counts().to_dict()
    {'train': 443, 'test': 290, 'valid': 197}
    """
    parts = {}
    for part in _SPLIT_HASHES:
        for line in data_file("gtzan-splits", f"gtzan/splits/{part}_filtered.txt", root).read_text().split():
            parts[Path(line).stem if line.endswith((".wav", ".au")) else line] = part
    return pd.Series(parts, name="split")


def load_gtzan_features(root: Path | None = None) -> pd.DataFrame:
    """The GTZAN feature table: ``filename``, ``clip_id``, ``length``, 57 features, ``label`` (1,000 clips).

    Kaggle's copy (verified by its sha256) or one built here by :func:`_build_gtzan_features` (verified by
    the checksum in its build record); anything else raises :class:`~helpers.errors.ChecksumError`.

    Examples
    --------
    >>> load_gtzan_features().shape
    (1000, 61)
    """
    table = pd.read_csv(data_file("gtzan-features", _FEATURES, root))
    table.insert(1, "clip_id", table["filename"].str.replace(r"\.(wav|au)$", "", regex=True))
    return table


def _build_gtzan_features(root: Path | None = None, *, n_jobs: int = -1, cache: bool | str | os.PathLike = True,
                         progress: bool = False) -> Path:
    """Build ``gtzan/features_30_sec.csv`` from the GTZAN audio, without a Kaggle account; returns its path.

    Runs :func:`helpers.features.extract_features` with :func:`helpers.features.gtzan_feature_vector` at
    22,050 Hz on every clip (``n_jobs`` workers, the extractor's ``cache``, a ``progress`` bar) and writes
    Kaggle's columns in Kaggle's order atomically, with the build record ``features_30_sec.built.json``
    (versions, clips, clips left out, sha256) by which :func:`load_gtzan_features` accepts it. A clip that
    cannot be decoded is left out and listed; AudioError if none can be.

    Examples
    --------
    >>> _build_gtzan_features(n_jobs=2).name  # doctest: +SKIP
    'features_30_sec.csv'
    """
    # here, not at the top: helpers.features loads librosa and joblib, which the loaders and `status` do not need
    from .features import FEATURE_COLUMNS, extract_features, gtzan_feature_vector

    root = _root(root)
    clips, unreadable = _scan_gtzan.__wrapped__(str(folder := _path("gtzan", root)))  # a fresh scan
    result = extract_features(clips[["clip_id", "genre", "path"]], gtzan_feature_vector, sr=_GTZAN_SR,
                              n_jobs=n_jobs, cache=cache, progress=progress)
    failed = result.failures[["path", "reason"]].itertuples(index=False)
    skipped = [*unreadable.values(), *(why for _, why in failed)]
    if result.table.empty:
        raise AudioError(f"no GTZAN clip in {folder} could be decoded: {'; '.join(skipped) or 'no clips'}")
    if skipped:
        logger.warning("%s: left out %d clip(s) that cannot be decoded: %s", _FEATURES, len(skipped),
                       "; ".join(skipped))
    found, length = result.table, clips.set_index("clip_id")["duration"].mul(_GTZAN_SR).round().astype("int64")
    table = pd.concat([pd.DataFrame({"filename": found["path"].map(lambda p: Path(p).name),
                                     "length": found["clip_id"].map(length)}),
                       found[list(FEATURE_COLUMNS)], found["genre"].rename("label")], axis=1)
    text, target = table.to_csv(index=False, lineterminator="\n"), root / _FEATURES
    write_atomic(_record_path(target), json.dumps({
        "built_by": f"{gtzan_feature_vector.__module__}.{gtzan_feature_vector.__qualname__}",
        "helpers_version": __version__, "librosa_version": metadata.version("librosa"), "sample_rate": _GTZAN_SR,
        "n_clips": len(table), "skipped": skipped, "sha256": f"sha256:{hashlib.sha256(text.encode()).hexdigest()}",
    }, indent=1))
    write_atomic(target, text)
    logger.info("built %s from the audio with the course's extractor (%d clips); "
                "the Kaggle copy is checksum-verified when present", _FEATURES, len(table))
    return target


def class_counts(labels: Iterable[str]) -> pd.DataFrame:
    """Count and share (3 decimals) of each class, most frequent first, for balance tables.

    Examples
    --------
    >>> class_counts(["rock", "rock", "jazz", "rock"]).to_dict()
    {'count': {'rock': 3, 'jazz': 1}, 'share': {'rock': 0.75, 'jazz': 0.25}}
    """
    counts = pd.Series(list(labels)).value_counts()
    return pd.DataFrame({"count": counts, "share": (counts / counts.sum()).round(3)})


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.datasets status|fetch``: exit status 0 fine, 1 a fetch failed, 2 usage.

    ``status`` prints what is present, which copy and where each data set comes from (in the order fetch
    tries its sources); ``fetch NAME ...`` (``--make-data``: what ``make data`` gets) downloads.

    Examples
    --------
    >>> main(["fetch", "echonest"])  # doctest: +ELLIPSIS
    echonest: ready at ...
    0
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.datasets", description="The course's data sets.")
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
