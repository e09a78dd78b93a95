"""The course's data sets: one registry, checksummed downloads, tidy loaders.

Every data set the course uses is described once, in :data:`REGISTRY`: where
it is published, its checksum, where its files go in the data directory
(:func:`helpers.config.data_dir`), its licence and how to cite it.

* :func:`fetch` downloads a data set with pooch (checksum verified, progress
  bar, archives extracted), trying its sources in turn: each address of a
  :class:`DataFile` (``url``, then ``mirrors``), then a :class:`KaggleCopy`
  (through ``kagglehub``, when it is installed and has credentials), then a
  build from other data (``features_30_sec.csv`` from the GTZAN audio, see
  :func:`build_gtzan_features`). Only ``make data`` and learners call it.
* The loaders (:func:`load_echonest`, :func:`gtzan_clips`, ...) never touch
  the network: they read what is in the data directory, verify registered
  checksums, and raise :class:`~helpers.errors.DataNotFoundError` naming the
  data set, the expected path and the command that fetches it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

import pandas as pd

from .config import data_dir
from .errors import AudioError, ChecksumError, CourseError, DataNotFoundError, DownloadError

__all__ = [
    "DataFile",
    "KaggleCopy",
    "Dataset",
    "REGISTRY",
    "GTZAN_GENRES",
    "dataset_path",
    "is_available",
    "status",
    "verify_file",
    "fetch",
    "load_echonest",
    "gtzan_root",
    "gtzan_clips",
    "gtzan_split",
    "load_gtzan_features",
    "build_gtzan_features",
    "load_fma_tracks",
    "load_fma_genres",
    "load_fma_echonest",
    "librosa_example",
    "class_counts",
]

logger = logging.getLogger(__name__)

#: The ten GTZAN genres, in the order of the data set's folders.
GTZAN_GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Parameters
    ----------
    path : str
        Location relative to the data directory.
    url : str or None
        Where :func:`fetch` downloads it from (None: comes inside an archive,
        or cannot be downloaded automatically).
    known_hash : str or None
        ``"sha256:<hex>"`` or ``"sha1:<hex>"``, verified after download and
        whenever a loader reads the file; None when the file is not pinned.
    mirrors : tuple of str
        Further addresses of the same file (same checksum), tried in order
        when ``url`` fails.

    Examples
    --------
    >>> f = DataFile("x/a.csv", "https://one.example/a.csv", mirrors=("https://two.example/a.csv",))
    >>> [urlsplit(u).hostname for u in f.urls]
    ['one.example', 'two.example']
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
    """A copy of a data set on Kaggle, fetched with ``kagglehub``.

    Tried by :func:`fetch` after every download address has failed, and only
    when the ``kagglehub`` package is importable and Kaggle credentials are
    configured (``KAGGLE_USERNAME``/``KAGGLE_KEY``, ``KAGGLE_API_TOKEN`` or
    ``~/.kaggle/kaggle.json``). Files are hard-linked from kagglehub's cache
    into the data directory (copied when the cache is on another disk).

    Parameters
    ----------
    handle : str
        ``"owner/dataset"`` on Kaggle.
    members : tuple of (str, str)
        ``(path in the Kaggle data set, path relative to the data directory)``
        for each file or folder to place. A file registered in
        :data:`REGISTRY` with a checksum is verified before it is placed; a
        member whose destination exists already is left alone.
    counts : tuple of (str, int)
        ``(glob relative to the data directory, number of files)`` that the
        Kaggle copy must hold, checked before anything is placed.
    """

    handle: str
    members: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A data set the course uses.

    Parameters
    ----------
    name : str
        Registry key, used by ``python -m helpers.data fetch NAME``.
    title, description, licence, citation : str
        What it is, its licence and how to cite it.
    layout : tuple of str
        Alternative paths (relative to the data directory) of which at least
        one must exist for the data set to count as present.
    files : tuple of DataFile
        Single files to download and verify.
    archive : DataFile, optional
        An archive (``.zip``/``.tar.gz``) to download and extract into
        ``extract_to``; it is deleted after a successful extraction.
    extract_to : str
        Folder (relative to the data directory) the archive is extracted into.
    manual : str
        Instructions when the data set cannot be downloaded automatically.
    size : str
        Download size, for the status table.
    in_make_data : bool
        Whether ``make data`` fetches it.
    kaggle : KaggleCopy, optional
        A Kaggle copy, tried when every download address has failed.
    build : callable, optional
        ``build(root, progressbar)``: makes the data set from other data in
        the data directory; the last source :func:`fetch` tries.
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
        if self.manual and not (self.files or self.archive):
            return self.manual
        return f"make data  (or: python -m helpers.data fetch {self.name})"


_FMA_CITATION = (
    "Defferrard, Benzi, Vandergheynst & Bresson, 'FMA: A Dataset for Music Analysis', ISMIR 2017."
)
_GTZAN_CITATION = (
    "Tzanetakis & Cook, 'Musical genre classification of audio signals', "
    "IEEE Trans. Speech and Audio Processing 10(5), 2002."
)
_ECHONEST_REPO = "https://raw.githubusercontent.com/Technocolabs100/Mini-Project-Classify-Song-Genres-from-Audio-Data"
_SPLITS_REPO = "https://raw.githubusercontent.com/coreyker/dnn-mgr/master/gtzan"
_GTZAN_KAGGLE = "andradaolteanu/gtzan-dataset-music-genre-classification"
_GTZAN_FEATURES = "gtzan/features_30_sec.csv"


def _features_from_audio(root: Path, progressbar: bool) -> Path:
    """built from the GTZAN audio with the course's extractor"""
    return build_gtzan_features(root, progress=progressbar)


#: Every data set the course uses, by name.
REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="echonest",
            title="Echo Nest metrics of FMA tracks (Rock vs Hip-Hop)",
            description=(
                "fma-rock-vs-hiphop.csv (17,734 tracks with genre_top Rock or Hip-Hop) and "
                "echonest-metrics.json (13,129 tracks, 8 Echo Nest audio features); "
                "they merge on track_id to 4,802 tracks."
            ),
            licence="CC BY 4.0 (FMA metadata)",
            citation=_FMA_CITATION,
            layout=("echonest/fma-rock-vs-hiphop.csv",),
            files=(
                DataFile(
                    "echonest/fma-rock-vs-hiphop.csv",
                    f"{_ECHONEST_REPO}/991f9210c8fcd4bc75843727bf17666cbe0f45c3/fma-rock-vs-hiphop.csv",
                    "sha256:f6e7409825a49e8f2c13293425f3e913547e834bb03868eadf9fae2a6aa39419",
                ),
                DataFile(
                    "echonest/echonest-metrics.json",
                    f"{_ECHONEST_REPO}/21d26b9c0af3a11ef596e579b330084afdf1385b/datasets/echonest-metrics.json",
                    "sha256:e87ae89735beddc2786409d791a162aec641b638c597ae59400588ea4d1bc0ca",
                ),
            ),
            size="5.4 MB",
        ),
        Dataset(
            name="gtzan",
            title="GTZAN genre collection (audio)",
            description=(
                "1,000 clips of 30 s, 10 genres x 100, 22,050 Hz mono. Accepted layouts: "
                "gtzan/genres_original/<genre>/<genre>.000NN.wav (Kaggle) or "
                "gtzan/genres/<genre>/<genre>.000NN.au (original archive)."
            ),
            licence="No copyright clearance; research and teaching use only",
            citation=_GTZAN_CITATION,
            layout=("gtzan/genres_original", "gtzan/genres"),
            archive=DataFile(
                "gtzan/genres.tar.gz",
                "https://web.archive.org/web/20220328223413/http://opihi.cs.uvic.ca/sound/genres.tar.gz",
                "sha256:24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6",
                mirrors=("https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",),
            ),
            extract_to="gtzan",
            kaggle=KaggleCopy(
                _GTZAN_KAGGLE,
                members=(
                    ("Data/genres_original", "gtzan/genres_original"),
                    ("Data/features_30_sec.csv", _GTZAN_FEATURES),
                ),
                counts=tuple((f"gtzan/genres_original/{g}/{g}.*.wav", 100) for g in GTZAN_GENRES),
            ),
            size="1.2 GB",
        ),
        Dataset(
            name="gtzan-splits",
            title="Fault-filtered GTZAN partition",
            description=(
                "train/valid/test lists (443/197/290 clips) without the 70 faulty clips "
                "and without artist overlap between parts."
            ),
            licence="List of file names",
            citation=(
                "Kereliuk, Sturm & Larsen, 'Deep learning and music adversaries', "
                "IEEE Trans. Multimedia 17(11), 2015."
            ),
            layout=("gtzan/splits/train_filtered.txt",),
            files=(
                DataFile(
                    "gtzan/splits/train_filtered.txt",
                    f"{_SPLITS_REPO}/train_filtered.txt",
                    "sha256:45b0559cf45903ec086b2574c90b25a7c13afe8a745b3e0a75c88cf638f9a3f6",
                ),
                DataFile(
                    "gtzan/splits/valid_filtered.txt",
                    f"{_SPLITS_REPO}/valid_filtered.txt",
                    "sha256:c34d8571b9faa99824e24ba03f148896c214edb2d45c9dba9e5aa4e00d61c6ab",
                ),
                DataFile(
                    "gtzan/splits/test_filtered.txt",
                    f"{_SPLITS_REPO}/test_filtered.txt",
                    "sha256:3cf8153aadb753633149901616416027ba4fd03b91ad5fdf7bed687398dc226a",
                ),
            ),
            size="20 KB",
        ),
        Dataset(
            name="gtzan-features",
            title="GTZAN feature table features_30_sec.csv",
            description=(
                "One row per GTZAN clip (1,000): 57 librosa summary features plus filename, "
                "length and label, from the Kaggle 'GTZAN Dataset - Music Genre Classification'."
            ),
            licence="As GTZAN",
            citation="Olteanu, 'GTZAN Dataset - Music Genre Classification', Kaggle, 2020.",
            layout=(_GTZAN_FEATURES,),
            files=(
                DataFile(
                    _GTZAN_FEATURES,
                    None,
                    "sha256:e5fe20f4e2f61d1aa3e07b17ffdea6b565970b3a1811746bd31f182a401fc3bc",
                ),
            ),
            manual=(
                "download 'features_30_sec.csv' from "
                f"https://www.kaggle.com/datasets/{_GTZAN_KAGGLE} "
                "(free Kaggle account) and save it as <data dir>/gtzan/features_30_sec.csv; "
                "or, with the GTZAN audio in place, run make data, which builds it from the audio"
            ),
            size="1.1 MB",
            kaggle=KaggleCopy(_GTZAN_KAGGLE, members=(("Data/features_30_sec.csv", _GTZAN_FEATURES),)),
            build=_features_from_audio,
        ),
        Dataset(
            name="fma-metadata",
            title="FMA metadata (tracks, genres, echonest, features)",
            description=(
                "fma_metadata.zip: tracks.csv (two-row header), genres.csv, echonest.csv, "
                "features.csv for the 106,574 tracks of the Free Music Archive."
            ),
            licence="CC BY 4.0",
            citation=_FMA_CITATION,
            layout=("fma/fma_metadata/genres.csv", "fma/genres.csv"),
            archive=DataFile(
                "fma/fma_metadata.zip",
                "https://os.unil.cloud.switch.ch/fma/fma_metadata.zip",
                "sha1:f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
            ),
            extract_to="fma",
            size="342 MB",
        ),
        Dataset(
            name="fma-small",
            title="FMA small (8,000 clips of 30 s, 8 genres)",
            description="fma_small.zip: mp3 clips in fma/fma_small/<3-digit folder>/<track_id>.mp3.",
            licence="Each track under its artist's Creative Commons licence",
            citation=_FMA_CITATION,
            layout=("fma/fma_small",),
            archive=DataFile(
                "fma/fma_small.zip",
                "https://os.unil.cloud.switch.ch/fma/fma_small.zip",
                "sha1:ade154f733639d52e35e32f5593efe5be76c6d70",
            ),
            extract_to="fma",
            size="7.2 GB",
            in_make_data=False,
        ),
        Dataset(
            name="librosa",
            title="librosa example recordings",
            description=(
                "librosa.ex('trumpet'), 'brahms', 'choice', 'nutcracker', 'libri1', ... "
                "read offline from <data dir>/librosa."
            ),
            licence="Creative Commons / public domain (each file's .txt)",
            citation="McFee et al., librosa, https://librosa.org",
            layout=("librosa",),
            manual="python -m helpers.data fetch librosa  (librosa downloads its own examples)",
            size="13 MB",
        ),
    )
}


def _root(root: Path | str | None) -> Path:
    return Path(root) if root is not None else data_dir()


def _get(name: str) -> Dataset:
    try:
        return REGISTRY[name]
    except KeyError:
        raise CourseError(
            f"unknown data set {name!r}; known data sets: {', '.join(REGISTRY)}"
        ) from None


def dataset_path(name: str, root: Path | None = None) -> Path:
    """Return the first existing layout path of a data set, or raise.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    root : pathlib.Path, optional
        Data directory; defaults to :func:`helpers.config.data_dir`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataNotFoundError
        Naming the data set, the expected path(s) and the command that fetches it.
    """
    ds = _get(name)
    root = _root(root)
    for rel in ds.layout:
        if (root / rel).exists():
            return root / rel
    expected = " or ".join(str(root / rel) for rel in ds.layout)
    raise DataNotFoundError(
        f"data set {name!r} ({ds.title}) is not in the data directory: expected {expected}. "
        f"Fetch it with: {ds.fetch_command}; or point COURSE_DATA_DIR at a folder that has it."
    )


def is_available(name: str, root: Path | None = None) -> bool:
    """Whether a data set is present in the data directory (no checksum check)."""
    try:
        dataset_path(name, root)
    except DataNotFoundError:
        return False
    return True


def status(root: Path | None = None) -> pd.DataFrame:
    """A table of every registered data set: present or not, which copy, where from.

    Parameters
    ----------
    root : pathlib.Path, optional
        Data directory; defaults to :func:`helpers.config.data_dir`.

    Returns
    -------
    pandas.DataFrame
        One row per data set, indexed by name: ``title``, ``present``,
        ``copy`` (what is there: the layout found, or whether each registered
        file is the published copy, checksum verified, or one built here),
        ``sources`` (where :func:`fetch` gets it, in the order it tries them),
        ``download size``, ``fetched by make data`` and ``licence``.
    """
    root = _root(root)
    rows = []
    for ds in REGISTRY.values():
        present = is_available(ds.name, root)
        rows.append(
            {
                "name": ds.name,
                "title": ds.title,
                "present": present,
                "copy": _describe_copy(ds, root) if present else "",
                "sources": "; ".join(_source_labels(ds)),
                "download size": ds.size,
                "fetched by make data": ds.in_make_data,
                "licence": ds.licence,
            }
        )
    return pd.DataFrame(rows).set_index("name")


def _describe_copy(ds: Dataset, root: Path) -> str:
    """What is in the data directory for a present data set, in a few words."""
    if not ds.files:
        return str(dataset_path(ds.name, root).relative_to(root))
    words = []
    for f in ds.files:
        path = root / f.path
        if not path.is_file():
            words.append(f"{f.path} missing")
            continue
        try:
            record = _verify_copy(path, f.known_hash)
        except ChecksumError:
            words.append(f"{f.path}: CHECKSUM MISMATCH (not used)")
            continue
        if record is not None:
            words.append(
                f"built here from {record.get('n_clips', '?')} clips by {record.get('built_by', '?')} "
                f"(helpers {record.get('helpers_version', '?')}; {_record_path(path).name})"
            )
        elif f.known_hash:
            origin = "Kaggle copy" if ds.kaggle is not None and not f.urls else "published copy"
            words.append(f"{origin}, {f.known_hash.partition(':')[0]} verified")
        else:
            words.append("present (not pinned)")
    return "; ".join(dict.fromkeys(words))


def _source_labels(ds: Dataset) -> list[str]:
    """Where :func:`fetch` gets a data set from, in the order it tries them."""
    labels: list[str] = []
    for item in (*ds.files, ds.archive):
        if item is not None:
            labels += [h for h in (urlsplit(u).hostname for u in item.urls) if h not in labels]
    if ds.kaggle is not None:
        labels.append(f"Kaggle {ds.kaggle.handle} ({_kaggle_unavailable() or 'kagglehub ready'})")
    if ds.build is not None:
        labels.append(_first_line(ds.build.__doc__))
    return labels or [ds.manual or "by hand only"]


def _first_line(text: str | None) -> str:
    return (text or "").strip().partition("\n")[0]


def _hash_file(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _verified(path: str, size: int, mtime_ns: int, known_hash: str) -> bool:
    algorithm, _, expected = known_hash.partition(":")
    return _hash_file(Path(path), algorithm) == expected.lower()


def verify_file(path: Path | str, known_hash: str | None) -> Path:
    """Check that a file exists and matches its registered checksum.

    The result is cached per (path, size, modification time), so a loader
    called many times hashes a file once.

    Parameters
    ----------
    path : path-like
        The file.
    known_hash : str or None
        ``"sha256:<hex>"`` or ``"sha1:<hex>"``; None skips the check.

    Returns
    -------
    pathlib.Path
        ``path``, when it is good.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ChecksumError
        If the checksum differs; the message says how to replace the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    if known_hash:
        st = path.stat()
        if not _verified(str(path.resolve()), st.st_size, st.st_mtime_ns, known_hash):
            algorithm, _, expected = known_hash.partition(":")
            actual = _hash_file(path, algorithm)
            raise ChecksumError(
                f"{path}: {algorithm} checksum mismatch (expected {expected}, got {actual}); "
                "the file is damaged or a different version. Delete it and fetch it again "
                "(make data)."
            )
    return path


def _record_path(path: Path) -> Path:
    """The sidecar that marks a registered file as built here: ``<stem>.built.json``."""
    return path.with_name(f"{path.stem}.built.json")


def _build_record(path: Path) -> dict | None:
    """The build record of a file built here, or None (no sidecar, or unreadable)."""
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not str(record.get("sha256", "")).startswith("sha256:"):
        return None
    return record


def _verify_copy(path: Path, known_hash: str | None) -> dict | None:
    """Verify a registered file: the published copy (returns None) or one built here (returns its record).

    A file that does not match its registered checksum is accepted only when a
    build record (:func:`_record_path`) says it was built here and it matches
    the checksum recorded at build time.

    Raises
    ------
    DataNotFoundError, ChecksumError
        As :func:`verify_file`.
    """
    try:
        verify_file(path, known_hash)
    except ChecksumError:
        record = _build_record(path)
        if record is None:
            raise
        verify_file(path, record["sha256"])
        return record
    return None


#: Environment variable that lets loaders download a missing data set the first time it is needed.
FETCH_ENV_VAR = "COURSE_FETCH_MISSING"


def _fetch_if_allowed(name: str, root: Path | None) -> None:
    """Download a missing data set when ``COURSE_FETCH_MISSING=1`` (set by the Colab setup cell).

    Off by default: nothing is downloaded behind a learner's back. The Colab
    setup cell turns it on, so each notebook gets the data it needs on first
    use, checksum-verified like ``make data``; :func:`fetch` returns at once
    when the data set is already complete.
    """
    if os.environ.get(FETCH_ENV_VAR, "").strip() == "1":
        fetch(name, root)


def _data_file(name: str, rel: str, root: Path | None) -> Path:
    """Locate, verify and return one registered file of a data set."""
    _fetch_if_allowed(name, root)
    ds = _get(name)
    root = _root(root)
    path = root / rel
    if not path.is_file():
        raise DataNotFoundError(
            f"data set {name!r} ({ds.title}): file {path} is missing. "
            f"Fetch it with: {ds.fetch_command}; or point COURSE_DATA_DIR at a folder that has it."
        )
    registered = {f.path: f.known_hash for f in ds.files}
    _verify_copy(path, registered.get(rel))
    return path


# ----------------------------------------------------------------------------- downloads


def _retrieve(url: str, item: DataFile, root: Path, progressbar: bool, processor=None) -> Path:
    """Download ``item`` from one address with pooch (checksum verified; nothing left on failure)."""
    import pooch

    target = root / item.path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        out = pooch.retrieve(
            url=url,
            known_hash=item.known_hash,
            fname=target.name,
            path=target.parent,
            progressbar=progressbar,
            processor=processor,
        )
    except ValueError as exc:  # pooch's checksum mismatch
        raise ChecksumError(
            f"{url}: downloaded file does not match {item.known_hash}; it was discarded. ({exc})"
        ) from exc
    except Exception as exc:  # network errors, interrupted transfers, bad archives
        raise DownloadError(
            f"could not download {url} to {target}: {type(exc).__name__}: {exc}"
        ) from exc
    return Path(out) if isinstance(out, (str, os.PathLike)) else target


def _reason(exc: BaseException) -> str:
    """Why a source failed, in a few words: refused (HTTP 404), connection refused, checksum mismatch, ..."""
    if isinstance(exc, ChecksumError) and isinstance(exc.__cause__, ValueError):
        return "checksum mismatch (the download was discarded)"
    cause = exc.__cause__ or exc
    status_code = getattr(getattr(cause, "response", None), "status_code", None)
    if status_code is not None:
        return f"refused (HTTP {status_code})"
    if "Connection refused" in str(cause):
        return "connection refused"
    text = str(cause).strip().partition("\n")[0]
    return f"{type(cause).__name__}: {text}" if cause is not exc else text


def _download(item: DataFile, root: Path, progressbar: bool, processor=None) -> Path:
    """Download one file from the first of its addresses that works (one log line per failure).

    Raises
    ------
    ChecksumError, DownloadError
        The error of its only address; or a DownloadError naming each address
        and why it failed, when it has several.
    """
    if not item.urls:
        raise DownloadError(f"{item.path}: no download address is registered")
    failures: list[str] = []
    for url in item.urls:
        try:
            return _retrieve(url, item, root, progressbar, processor)
        except (ChecksumError, DownloadError) as exc:
            failures.append(f"{url}: {_reason(exc)}")
            logger.warning("%s: source %s failed: %s", item.path, url, _reason(exc))
            error = exc
    if len(failures) == 1:
        raise error
    raise DownloadError(
        f"could not download {item.path} from any of its {len(failures)} addresses ({'; '.join(failures)})"
    )


def _fetch_downloads(ds: Dataset, root: Path, *, progressbar: bool, force: bool) -> None:
    """Download a data set's files and archive (each from its addresses in turn); extract the archive."""
    import pooch

    for f in ds.files:
        if f.url is None:
            if not (root / f.path).is_file():
                raise DownloadError(f"data set {ds.name!r} cannot be downloaded automatically: {ds.manual}")
            continue
        if force and (root / f.path).exists():
            (root / f.path).unlink()
        _download(f, root, progressbar)
    if ds.archive is not None:
        extract_dir = str(root / ds.extract_to)
        suffix = ds.archive.path
        if suffix.endswith(".zip"):
            processor = pooch.Unzip(extract_dir=extract_dir)
        elif suffix.endswith((".tar.gz", ".tgz", ".tar")):
            processor = pooch.Untar(extract_dir=extract_dir)
        else:
            processor = None
        _download(ds.archive, root, progressbar, processor=processor)
        archive_file = root / ds.archive.path
        if processor is not None and archive_file.exists():
            archive_file.unlink()


def _sources(ds: Dataset, root: Path, *, progressbar: bool, force: bool) -> list[tuple[str, Callable[[], object]]]:
    """Each way to get a data set, in the order :func:`fetch` tries them: ``(label, attempt)``.

    The downloads come first, labelled ``""``: each of their addresses reports its own failure.
    """
    sources: list[tuple[str, Callable[[], object]]] = []
    if any(f.urls for f in ds.files) or (ds.archive is not None and ds.archive.urls):
        sources.append(("", partial(_fetch_downloads, ds, root, progressbar=progressbar, force=force)))
    if ds.kaggle is not None:
        sources.append((f"Kaggle {ds.kaggle.handle} (kagglehub)", partial(_fetch_kaggle, ds.kaggle, root)))
    if ds.build is not None:
        sources.append((_first_line(ds.build.__doc__), partial(ds.build, root, progressbar)))
    return sources


def _by_hand(ds: Dataset, root: Path) -> str:
    """How to place a copy of a data set by hand."""
    downloads = [
        f"download {Path(item.path).name}"
        + (f" ({item.known_hash.replace(':', ' ', 1)})" if item.known_hash else "")
        + f" from any copy and save it as {root / item.path}"
        for item in (*ds.files, ds.archive)
        if item is not None and item.urls
    ]
    ways = []
    if downloads:
        ways.append(" and ".join(downloads) + ", then run the same fetch again (it verifies what it finds)")
    if ds.manual:
        ways.append(ds.manual.replace("<data dir>", str(root)))
    elif ds.kaggle is not None:
        placed = ", ".join(f"{src} as {root / dest}" for src, dest in ds.kaggle.members)
        ways.append(f"unzip https://www.kaggle.com/datasets/{ds.kaggle.handle} and place {placed}")
    return "; or ".join(ways)


def fetch(name: str, root: Path | None = None, *, progressbar: bool = True, force: bool = False) -> Path:
    """Get a data set into the data directory (skipping what is already there).

    Its sources are tried in turn until one works: each download address of
    its files and archive (``url``, then ``mirrors``, pooch doing each
    download), then its Kaggle copy (:class:`KaggleCopy`), then its build
    from other data (``Dataset.build``). Each failed source is logged in one
    line (which source, why) before the next is tried. Files are checked
    against their registered checksums (a file that does not match is never
    used and never left behind: pooch downloads to a temporary file first);
    archives are extracted and then removed.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    root : pathlib.Path, optional
        Data directory; defaults to :func:`helpers.config.data_dir`.
    progressbar : bool
        Show a tqdm progress bar while downloading.
    force : bool
        Download even when the data set looks present.

    Returns
    -------
    pathlib.Path
        The data set's path in the data directory.

    Raises
    ------
    DownloadError, ChecksumError
        When its only source fails (that source's error), or when every
        source fails: one DownloadError naming each source, why it failed,
        and how to place a copy by hand.
    """
    ds = _get(name)
    root = _root(root)
    if name == "librosa":
        return _fetch_librosa_examples(root)
    if not force and is_available(name, root) and all((root / f.path).is_file() for f in ds.files):
        for f in ds.files:
            _verify_copy(root / f.path, f.known_hash)
        logger.info("%s: already present in %s", name, root)
        return dataset_path(name, root)
    sources = _sources(ds, root, progressbar=progressbar, force=force)
    if not sources:
        raise DownloadError(f"data set {name!r} cannot be downloaded automatically: {ds.manual}")
    failures = []
    for label, attempt in sources:
        try:
            attempt()
            return dataset_path(name, root)
        except CourseError as exc:
            if len(sources) == 1:
                raise
            if label:
                logger.warning("%s: source %s failed: %s", name, label, _reason(exc))
            failures.append(f"{label}: {_reason(exc)}" if label else str(exc))
    raise DownloadError(
        f"data set {name!r} could not be fetched from any of its sources ({'; '.join(failures)}). "
        f"By hand: {_by_hand(ds, root)}"
    )


# ----------------------------------------------------------------------------- Kaggle


def _kaggle_unavailable() -> str | None:
    """Why kagglehub cannot be used here (not installed, no credentials), or None when it can."""
    try:
        from kagglehub.config import get_kaggle_credentials
    except ImportError:
        return "kagglehub is not installed"
    try:
        credentials = get_kaggle_credentials()
    except Exception as exc:  # noqa: BLE001 - an unreadable kaggle.json, ...
        return f"Kaggle credentials cannot be read ({exc})"
    return None if credentials else "no Kaggle credentials configured"


def _registered_hash(rel: str) -> str | None:
    """The checksum registered for a file (by its path in the data directory), if any."""
    for ds in REGISTRY.values():
        for f in (*ds.files, ds.archive):
            if f is not None and f.path == rel and f.known_hash:
                return f.known_hash
    return None


def _check_kaggle_copy(copy: KaggleCopy, local: dict[str, Path]) -> None:
    """Verify downloaded members (registered checksums, expected file counts) before placing any."""
    for dest, path in local.items():
        known = _registered_hash(dest)
        if known:
            verify_file(path, known)
    for pattern, expected in copy.counts:
        for dest, path in local.items():
            if pattern.startswith(dest + "/"):
                found = len(list(path.glob(pattern[len(dest) + 1 :])))
                if found != expected:
                    raise ChecksumError(
                        f"the Kaggle copy {copy.handle} holds {found} files matching {pattern}, "
                        f"expected {expected}; nothing was placed"
                    )


def _link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another disk, or links not allowed
        shutil.copy2(src, dst)


def _place(src: Path, dest: Path) -> None:
    """Link (or copy) a file or folder to ``dest``: staged under a temporary name, then renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        staged = staging / dest.name
        if src.is_dir():
            shutil.copytree(src, staged, copy_function=_link_or_copy)
        else:
            _link_or_copy(src, staged)
        os.replace(staged, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_kaggle(copy: KaggleCopy, root: Path) -> None:
    """Get a data set's Kaggle copy with kagglehub, verify it, and place its members."""
    reason = _kaggle_unavailable()
    if reason:
        raise DownloadError(f"skipped: {reason}")
    import kagglehub

    local: dict[str, Path] = {}
    for src, dest in copy.members:
        if (root / dest).exists():
            continue
        try:
            local[dest] = Path(kagglehub.dataset_download(copy.handle, path=src))
        except Exception as exc:  # noqa: BLE001 - kagglehub raises many types
            raise DownloadError(f"kagglehub could not download {src}: {type(exc).__name__}: {exc}") from exc
        if not local[dest].exists():
            raise DownloadError(f"kagglehub returned {local[dest]} for {src}, which does not exist")
    _check_kaggle_copy(copy, local)
    for dest, path in local.items():
        _place(path, root / dest)


def _fetch_librosa_examples(root: Path) -> Path:
    from .config import configure_librosa_data

    target = configure_librosa_data(root)
    import librosa

    for key in _librosa_keys():
        for hq in (False, True):
            try:
                librosa.ex(key, hq=hq)
            except Exception as exc:  # noqa: BLE001 - librosa/pooch raise many types
                raise DownloadError(f"librosa example {key!r} could not be fetched: {exc}") from exc
    return target


def _librosa_keys() -> list[str]:
    import librosa

    return sorted(_librosa_index())


def _librosa_index() -> dict:
    import importlib

    return getattr(importlib.import_module("librosa.util.files"), "__TRACKMAP")


def librosa_example(key: str, *, hq: bool = False) -> str:
    """Path of one of librosa's example recordings, read offline from ``<data dir>/librosa``.

    Parameters
    ----------
    key : str
        An example name such as ``"trumpet"``, ``"brahms"``, ``"choice"`` or ``"libri1"``.
    hq : bool
        The high-quality (stereo, 44.1 kHz) version.

    Returns
    -------
    str
        The local file path, the one ``librosa.ex`` would return with
        ``LIBROSA_DATA_DIR`` pointing at the folder.

    Raises
    ------
    DataNotFoundError
        If the recording is not in the data directory (no download is tried,
        unless ``COURSE_FETCH_MISSING=1``, as on Colab).
    """
    from .config import librosa_data_dir

    folder = librosa_data_dir()
    index = _librosa_index()
    if key not in index:
        raise CourseError(f"unknown librosa example {key!r}; known: {', '.join(sorted(index))}")
    fname = index[key]["path"] + (".hq.ogg" if hq else ".ogg")
    path = folder / fname
    if not path.is_file():
        _fetch_if_allowed("librosa", None)
    if not path.is_file():
        raise DataNotFoundError(
            f"librosa example {key!r} is not in {folder} (expected {path}). "
            f"Fetch it with: {REGISTRY['librosa'].fetch_command}; or point COURSE_DATA_DIR at a "
            "folder that has a librosa/ sub-folder."
        )
    return str(path)  # where librosa.ex(key) would find it, without touching librosa's settings


# ----------------------------------------------------------------------------- loaders


def load_echonest(root: Path | None = None) -> pd.DataFrame:
    """Echo Nest metrics of FMA tracks merged with their Rock / Hip-Hop label.

    Reads ``echonest/fma-rock-vs-hiphop.csv`` and ``echonest/echonest-metrics.json``
    (checksums verified) and merges them on ``track_id``, as the classic
    exercise does.

    Returns
    -------
    pandas.DataFrame
        4,802 rows: ``track_id``, the 8 metrics (acousticness, danceability,
        energy, instrumentalness, liveness, speechiness, tempo, valence) and
        ``genre_top`` ("Rock" or "Hip-Hop").
    """
    tracks = pd.read_csv(_data_file("echonest", "echonest/fma-rock-vs-hiphop.csv", root))
    metrics = pd.read_json(_data_file("echonest", "echonest/echonest-metrics.json", root), precise_float=True)
    merged = metrics.merge(tracks[["track_id", "genre_top"]], on="track_id")
    return merged.reset_index(drop=True)


def gtzan_root(root: Path | None = None) -> Path:
    """The folder holding GTZAN's genre sub-folders (``genres_original`` or ``genres``)."""
    _fetch_if_allowed("gtzan", root)
    return dataset_path("gtzan", root)


@lru_cache(maxsize=8)
def _scan_gtzan(folder: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The clips of a GTZAN folder, and ``"name (why)"`` for each that cannot be decoded (warned once)."""
    import soundfile as sf

    rows, bad = [], []
    for genre_dir in sorted(Path(folder).iterdir()):
        if not genre_dir.is_dir():
            continue
        for path in sorted(genre_dir.iterdir()):
            if path.suffix.lower() not in {".wav", ".au"}:
                continue
            try:
                info = sf.info(str(path))
                if info.frames == 0:
                    raise ValueError("no samples")
                if info.format == "RAW":
                    raise ValueError("no audio header")
            except Exception as exc:  # noqa: BLE001 - any decoder failure means skip
                bad.append(f"{path.name} ({exc})")
                continue
            rows.append(
                {
                    "clip_id": path.stem,
                    "genre": genre_dir.name,
                    "path": str(path),
                    "duration": info.frames / info.samplerate,
                    "sample_rate": info.samplerate,
                }
            )
    if bad:
        warnings.warn(
            f"skipped {len(bad)} GTZAN clip(s) that cannot be decoded: {'; '.join(bad)}",
            stacklevel=3,
        )
    return pd.DataFrame(rows, columns=["clip_id", "genre", "path", "duration", "sample_rate"]), tuple(bad)


def gtzan_clips(
    root: Path | None = None,
    *,
    genres: Iterable[str] | None = None,
    per_genre: int | None = None,
    with_split: bool = True,
) -> pd.DataFrame:
    """One row per GTZAN clip found in the data directory.

    Accepts the Kaggle layout (``gtzan/genres_original/<genre>/*.wav``) and the
    original archive's (``gtzan/genres/<genre>/*.au``). Clips that cannot be
    decoded (the full Kaggle copy's ``jazz.00054.wav``) are skipped with a
    warning naming them.

    Parameters
    ----------
    root : pathlib.Path, optional
        Data directory; defaults to :func:`helpers.config.data_dir`.
    genres : iterable of str, optional
        Keep only these genres.
    per_genre : int, optional
        Keep the first ``per_genre`` clips (by clip id) of each genre.
    with_split : bool
        Add a ``split`` column from the fault-filtered partition ("train",
        "valid", "test", or "excluded" for clips the partition leaves out)
        when ``gtzan/splits`` is present.

    Returns
    -------
    pandas.DataFrame
        Columns ``clip_id`` (e.g. ``"blues.00000"``), ``genre``, ``path``,
        ``duration`` (s), ``sample_rate`` (Hz) and optionally ``split``,
        sorted by clip id.
    """
    table = _scan_gtzan(str(gtzan_root(root)))[0].copy()
    if genres is not None:
        genres = list(genres)
        unknown = set(genres) - set(table["genre"])
        if unknown:
            raise CourseError(f"no GTZAN clips for genre(s) {sorted(unknown)} in {gtzan_root(root)}")
        table = table[table["genre"].isin(genres)]
    if per_genre is not None:
        table = table.groupby("genre", group_keys=False).head(per_genre)
    if with_split and is_available("gtzan-splits", root):
        table["split"] = table["clip_id"].map(gtzan_split(root)).fillna("excluded")
    return table.sort_values("clip_id").reset_index(drop=True)


def gtzan_split(root: Path | None = None) -> pd.Series:
    """The fault-filtered GTZAN partition as a Series: clip id -> "train" / "valid" / "test".

    Returns
    -------
    pandas.Series
        930 entries indexed by clip id such as ``"blues.00029"``.
    """
    parts = {}
    for part in ("train", "valid", "test"):
        rel = f"gtzan/splits/{part}_filtered.txt"
        path = _data_file("gtzan-splits", rel, root)
        for line in path.read_text().split():
            parts[Path(line.strip()).stem if line.endswith((".wav", ".au")) else line.strip()] = part
    return pd.Series(parts, name="split")


def load_gtzan_features(root: Path | None = None) -> pd.DataFrame:
    """The GTZAN feature table ``features_30_sec.csv`` (1,000 clips, 57 features).

    Either copy is accepted: Kaggle's, verified by its sha256, or one built
    here from the audio by :func:`build_gtzan_features`, recognised by its
    build record ``features_30_sec.built.json`` and verified by the checksum
    recorded there.

    Returns
    -------
    pandas.DataFrame
        The table as published (``filename``, ``length``, 57 feature columns,
        ``label``) plus ``clip_id`` (``filename`` without ``.wav``/``.au``).

    Raises
    ------
    DataNotFoundError
        If the table is missing.
    ChecksumError
        If it is neither Kaggle's copy nor an unaltered copy built here.
    """
    table = pd.read_csv(_data_file("gtzan-features", _GTZAN_FEATURES, root))
    table.insert(1, "clip_id", table["filename"].str.replace(r"\.(wav|au)$", "", regex=True))
    return table


#: Sample rate (Hz) of the GTZAN clips, at which ``features_30_sec.csv`` is computed.
GTZAN_SR = 22050


def build_gtzan_features(
    root: Path | None = None, *, n_jobs: int = -1, cache: bool | str | os.PathLike = True, progress: bool = False
) -> Path:
    """Build ``gtzan/features_30_sec.csv`` from the GTZAN audio, without a Kaggle account.

    Runs the course's extractor (:func:`helpers.extract.extract_features`
    with :func:`helpers.gtzan_features.gtzan_feature_vector` at 22,050 Hz,
    parallel and cached) on every clip of the data directory and writes a
    table with Kaggle's columns in Kaggle's order: ``filename`` (e.g.
    ``blues.00000.wav``), ``length`` (samples at 22,050 Hz), the 57
    features and ``label``. A clip that cannot be decoded is left out and
    listed (a warning, and ``skipped`` in the build record). The table is
    written atomically (a temporary name in the same folder, then
    ``os.replace``), next to its build record ``features_30_sec.built.json``
    (code version, number of clips, checksum), by which
    :func:`load_gtzan_features` recognises it.

    Parameters
    ----------
    root : pathlib.Path, optional
        Data directory; defaults to :func:`helpers.config.data_dir`.
    n_jobs : int
        Worker processes (-1: all cores).
    cache : bool or path-like
        The extractor's feature cache (True: ``build/cache/features``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    pathlib.Path
        The table's path.

    Raises
    ------
    DataNotFoundError
        If the GTZAN audio is not in the data directory.
    AudioError
        If no clip can be decoded.
    """
    from . import __version__
    from .extract import CACHE_VERSION, _write_atomic, extract_features, function_name
    from .gtzan_features import gtzan_feature_vector

    root = _root(root)
    folder = gtzan_root(root)
    clips, unreadable = _scan_gtzan.__wrapped__(str(folder))  # a fresh scan, not the cached one
    result = extract_features(
        clips[["clip_id", "genre", "path"]], gtzan_feature_vector, sr=GTZAN_SR,
        n_jobs=n_jobs, cache=cache, progress=progress,
    )
    skipped = [*unreadable, *(f"{Path(p).name} ({why})" for p, why in result.failures.itertuples(index=False))]
    if result.table.empty:
        raise AudioError(f"no GTZAN clip in {folder} could be decoded: {'; '.join(skipped) or 'no clips'}")
    if skipped:
        logger.warning(
            "%s: left out %d clip(s) that cannot be decoded: %s", _GTZAN_FEATURES, len(skipped), "; ".join(skipped)
        )
    table = _features_table(result.table, clips)
    target = root / _GTZAN_FEATURES
    staged = target.with_name(f".{target.name}.building")
    try:
        _write_atomic(staged, table.to_csv(index=False, lineterminator="\n"))
        record = {
            "built_by": function_name(gtzan_feature_vector),
            "helpers_version": __version__,
            "extract_cache_version": CACHE_VERSION,
            "librosa_version": _librosa_version(),
            "sample_rate": GTZAN_SR,
            "n_clips": len(table),
            "skipped": skipped,
            "sha256": "sha256:" + _hash_file(staged, "sha256"),
        }
        _write_atomic(_record_path(target), json.dumps(record, indent=1))
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    logger.info(
        "built %s from the audio with the course's extractor (%d clips); "
        "the Kaggle copy is checksum-verified when present", _GTZAN_FEATURES, len(table),
    )
    return target


def _features_table(features: pd.DataFrame, clips: pd.DataFrame) -> pd.DataFrame:
    """Kaggle's columns, in Kaggle's order, from the extractor's table and the clip list."""
    from .gtzan_features import FEATURE_COLUMNS

    length = clips.set_index("clip_id")["duration"].mul(GTZAN_SR).round().astype("int64")
    head = pd.DataFrame(
        {
            "filename": features["path"].map(lambda p: Path(p).name),
            "length": features["clip_id"].map(length),
        }
    )
    return pd.concat([head, features[list(FEATURE_COLUMNS)], features["genre"].rename("label")], axis=1)


def _librosa_version() -> str:
    import librosa

    return librosa.__version__


def _fma_file(name: str, root: Path | None) -> Path:
    ds = _get("fma-metadata")
    root = _root(root)
    for rel in (f"fma/fma_metadata/{name}", f"fma/{name}"):
        if (root / rel).is_file():
            return root / rel
    raise DataNotFoundError(
        f"data set 'fma-metadata' ({ds.title}): {name} not found in {root / 'fma/fma_metadata'} "
        f"or {root / 'fma'}. Fetch it with: {ds.fetch_command}"
    )


def load_fma_tracks(root: Path | None = None) -> pd.DataFrame:
    """FMA ``tracks.csv``, read with its two-row header into ``(group, field)`` columns.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``track_id``; columns are a MultiIndex such as
        ``("track", "genre_top")`` and ``("set", "subset")``.
    """
    return pd.read_csv(_fma_file("tracks.csv", root), index_col=0, header=[0, 1], low_memory=False)


def load_fma_genres(root: Path | None = None) -> pd.DataFrame:
    """FMA ``genres.csv``: 163 genres with parent and top-level genre, indexed by ``genre_id``."""
    path = _fma_file("genres.csv", root)
    if path.parent.name == "fma":
        verify_file(path, "sha256:cbd1d1b8f8922b2164f22ca0eacab23fe7107a283586026cf74dbc259b471da2")
    return pd.read_csv(path, index_col=0)


def load_fma_echonest(root: Path | None = None) -> pd.DataFrame:
    """FMA ``echonest.csv`` (three-row header) indexed by ``track_id``."""
    return pd.read_csv(_fma_file("echonest.csv", root), index_col=0, header=[0, 1, 2])


def class_counts(labels: Iterable[str]) -> pd.DataFrame:
    """Count and share of each class, for balance tables."""
    counts = pd.Series(list(labels)).value_counts()
    return pd.DataFrame({"count": counts, "share": (counts / counts.sum()).round(3)})

