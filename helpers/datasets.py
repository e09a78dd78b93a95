"""The course's data sets: one registry, checksummed downloads, tidy loaders.

Every data set the course uses is described once, in :data:`REGISTRY`: where
it is published, its checksum, where its files go in the data directory
(:func:`helpers.config.data_dir`), its licence and how to cite it.

* :func:`fetch` downloads a data set with pooch (checksum verified, progress
  bar, archives extracted). Only ``make data`` and learners call it.
* The loaders (:func:`load_echonest`, :func:`gtzan_clips`, ...) never touch
  the network: they read what is in the data directory, verify registered
  checksums, and raise :class:`~helpers.errors.DataNotFoundError` naming the
  data set, the expected path and the command that fetches it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from .config import data_dir
from .errors import ChecksumError, CourseError, DataNotFoundError, DownloadError

__all__ = [
    "DataFile",
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
    """

    path: str
    url: str | None = None
    known_hash: str | None = None


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
    urls: tuple[str, ...] = field(default=())

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
            ),
            extract_to="gtzan",
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
            layout=("gtzan/features_30_sec.csv",),
            files=(
                DataFile(
                    "gtzan/features_30_sec.csv",
                    None,
                    "sha256:e5fe20f4e2f61d1aa3e07b17ffdea6b565970b3a1811746bd31f182a401fc3bc",
                ),
            ),
            manual=(
                "download 'features_30_sec.csv' from "
                "https://www.kaggle.com/datasets/andradaolteanu/gtzan-dataset-music-genre-classification "
                "(free Kaggle account) and save it as <data dir>/gtzan/features_30_sec.csv"
            ),
            size="1.1 MB",
            in_make_data=False,
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
    root = Path(root) if root is not None else data_dir()
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
    """A table of every registered data set: present or not, where, size, licence.

    Parameters
    ----------
    root : pathlib.Path, optional
        Data directory; defaults to :func:`helpers.config.data_dir`.

    Returns
    -------
    pandas.DataFrame
        One row per data set, indexed by name.
    """
    rows = []
    for ds in REGISTRY.values():
        present = is_available(ds.name, root)
        rows.append(
            {
                "name": ds.name,
                "title": ds.title,
                "present": present,
                "download size": ds.size,
                "fetched by make data": ds.in_make_data,
                "licence": ds.licence,
            }
        )
    return pd.DataFrame(rows).set_index("name")


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


def _data_file(name: str, rel: str, root: Path | None) -> Path:
    """Locate, verify and return one registered file of a data set."""
    ds = _get(name)
    root = Path(root) if root is not None else data_dir()
    path = root / rel
    if not path.is_file():
        raise DataNotFoundError(
            f"data set {name!r} ({ds.title}): file {path} is missing. "
            f"Fetch it with: {ds.fetch_command}; or point COURSE_DATA_DIR at a folder that has it."
        )
    registered = {f.path: f.known_hash for f in ds.files}
    return verify_file(path, registered.get(rel))


# ----------------------------------------------------------------------------- downloads


def _download(item: DataFile, root: Path, progressbar: bool, processor=None) -> Path:
    import pooch

    if item.url is None:
        raise DownloadError(f"{item.path}: no download address is registered")
    target = root / item.path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        out = pooch.retrieve(
            url=item.url,
            known_hash=item.known_hash,
            fname=target.name,
            path=target.parent,
            progressbar=progressbar,
            processor=processor,
        )
    except ValueError as exc:  # pooch's checksum mismatch
        raise ChecksumError(
            f"{item.url}: downloaded file does not match {item.known_hash}; it was discarded. ({exc})"
        ) from exc
    except Exception as exc:  # network errors, interrupted transfers, bad archives
        raise DownloadError(
            f"could not download {item.url} to {target}: {type(exc).__name__}: {exc}"
        ) from exc
    return Path(out) if isinstance(out, (str, os.PathLike)) else target


def fetch(name: str, root: Path | None = None, *, progressbar: bool = True, force: bool = False) -> Path:
    """Download a data set into the data directory (skipping what is already there).

    Files are checked against their registered checksums; archives are
    extracted and then removed. A failed or interrupted download leaves
    no partial file behind (pooch downloads to a temporary file first).

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
        When the transfer fails or the file does not match its checksum.
    """
    import pooch

    ds = _get(name)
    root = Path(root) if root is not None else data_dir()
    if name == "librosa":
        return _fetch_librosa_examples(root)
    if ds.manual and not (ds.files or ds.archive):
        raise DownloadError(f"data set {name!r} cannot be downloaded automatically: {ds.manual}")
    if not force and is_available(name, root) and all((root / f.path).is_file() for f in ds.files):
        for f in ds.files:
            verify_file(root / f.path, f.known_hash)
        logger.info("%s: already present in %s", name, root)
        return dataset_path(name, root)
    for f in ds.files:
        if f.url is None:
            if not (root / f.path).is_file():
                raise DownloadError(f"data set {name!r} cannot be downloaded automatically: {ds.manual}")
            continue
        if force and (root / f.path).exists():
            (root / f.path).unlink()
        _download(f, root, progressbar)
    if ds.archive is not None:
        extract_dir = root / ds.extract_to
        suffix = ds.archive.path
        if suffix.endswith(".zip"):
            processor = pooch.Unzip(extract_dir=str(extract_dir))
        elif suffix.endswith((".tar.gz", ".tgz", ".tar")):
            processor = pooch.Untar(extract_dir=str(extract_dir))
        else:
            processor = None
        _download(ds.archive, root, progressbar, processor=processor)
        archive_file = root / ds.archive.path
        if processor is not None and archive_file.exists():
            archive_file.unlink()
    return dataset_path(name, root)


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
        The local file path, as ``librosa.ex`` would return it.

    Raises
    ------
    DataNotFoundError
        If the recording is not in the data directory (no download is tried).
    """
    from .config import configure_librosa_data

    folder = configure_librosa_data()
    import librosa

    index = _librosa_index()
    if key not in index:
        raise CourseError(f"unknown librosa example {key!r}; known: {', '.join(sorted(index))}")
    fname = index[key]["path"] + (".hq.ogg" if hq else ".ogg")
    path = folder / fname
    if not path.is_file():
        raise DataNotFoundError(
            f"librosa example {key!r} is not in {folder} (expected {path}). "
            f"Fetch it with: {REGISTRY['librosa'].fetch_command}; or point COURSE_DATA_DIR at a "
            "folder that has a librosa/ sub-folder."
        )
    return librosa.ex(key, hq=hq)


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
    return dataset_path("gtzan", root)


@lru_cache(maxsize=8)
def _scan_gtzan(folder: str) -> pd.DataFrame:
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
    return pd.DataFrame(rows, columns=["clip_id", "genre", "path", "duration", "sample_rate"])


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
    table = _scan_gtzan(str(gtzan_root(root))).copy()
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

    Returns
    -------
    pandas.DataFrame
        The table as published (``filename``, ``length``, 57 feature columns,
        ``label``) plus ``clip_id`` (``filename`` without ``.wav``).
    """
    table = pd.read_csv(_data_file("gtzan-features", "gtzan/features_30_sec.csv", root))
    table.insert(1, "clip_id", table["filename"].str.replace(r"\.wav$", "", regex=True))
    return table


def _fma_file(name: str, root: Path | None) -> Path:
    ds = _get("fma-metadata")
    root = Path(root) if root is not None else data_dir()
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

