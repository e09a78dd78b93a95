"""The course's data sets: one registry, verified copies and tidy loaders.

:data:`REGISTRY` describes each data set once: what it is, its place in the data directory, its
sources (download addresses in order, then a Kaggle copy, then a build from other data), checksums,
licence and citation. The loaders read the data directory ``root`` (default
:func:`helpers.config.data_dir`), check each registered file's checksum and download nothing; a
missing file raises :class:`~helpers.errors.DataNotFoundError` naming the data set, the path and the
command that fetches it. Fetching is the machinery's (:mod:`machinery.data`, ``python -m
machinery.data status|fetch``); on Colab the setup cell lets the loaders call it for a data set they
miss (:func:`fetch_missing_with`).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd
import pooch
import soundfile as sf

from .config import data_dir
from .errors import AudioError, ChecksumError, CourseError, DataNotFoundError

__all__ = ["DataFile", "KaggleCopy", "Dataset", "REGISTRY", "GTZAN_GENRES", "GTZAN_SR",
           "dataset_path", "check_hash", "check_copy", "record_path", "data_file",
           "fetch_missing_with", "load_echonest", "scan_gtzan", "gtzan_clips", "gtzan_split",
           "load_gtzan_features", "librosa_example", "class_counts"]

#: The ten GTZAN genres, in the order of the data set's folders.
GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
                "reggae", "rock")
#: Sample rate (Hz) of the GTZAN clips, at which ``features_30_sec.csv`` is computed.
GTZAN_SR = 22050


@dataclass(frozen=True)
class DataFile:
    """A file: data-directory path, addresses (``url``, then ``mirrors``), checksum ("sha256:...").

    Examples
    --------
    >>> DataFile("x/a.csv", "https://one.example/a.csv",
    ...          mirrors=("https://two.example/a.csv",)).urls
    ('https://one.example/a.csv', 'https://two.example/a.csv')
    """

    path: str
    url: str | None = None
    known_hash: str | None = None
    mirrors: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        """Every download address, in the order :func:`machinery.data.fetch` tries them."""
        return tuple(u for u in (self.url, *self.mirrors) if u)


@dataclass(frozen=True)
class KaggleCopy:
    """A Kaggle copy: ``members`` (path on Kaggle, path here) checked by ``counts`` (glob, files).

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
    """A data set: present when one of ``layout`` exists; fetched from ``files`` and ``archive``
    (extracted into ``extract_to``), then ``kaggle``, then built from other data as ``build`` says;
    ``manual``: how by hand.

    Examples
    --------
    >>> REGISTRY["echonest"].fetch_command
    'make data  (or: python -m machinery.data fetch echonest)'
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
    build: str = ""

    @property
    def fetch_command(self) -> str:
        """Shell command that downloads this data set."""
        command = f"python -m machinery.data fetch {self.name}"
        return f"make data  (or: {command})" if self.in_make_data else command


_FMA = ("Defferrard, Benzi, Vandergheynst & Bresson, 'FMA: A Dataset for Music Analysis', "
        "ISMIR 2017.")
_ECHONEST = ("https://raw.githubusercontent.com/Technocolabs100/"
             "Mini-Project-Classify-Song-Genres-from-Audio-Data")
_SPLITS = "https://raw.githubusercontent.com/coreyker/dnn-mgr/master/gtzan"
_FMA_ZIPS = "https://os.unil.cloud.switch.ch/fma"
_KAGGLE = "andradaolteanu/gtzan-dataset-music-genre-classification"
_FEATURES = "gtzan/features_30_sec.csv"
_WHEEL = "musicnn/musicnn-0.1.0-py3-none-any.whl"
_SPLIT_HASHES = {"train": "45b0559cf45903ec086b2574c90b25a7c13afe8a745b3e0a75c88cf638f9a3f6",
                 "valid": "c34d8571b9faa99824e24ba03f148896c214edb2d45c9dba9e5aa4e00d61c6ab",
                 "test": "3cf8153aadb753633149901616416027ba4fd03b91ad5fdf7bed687398dc226a"}


#: Every data set the course uses, by name.
REGISTRY: dict[str, Dataset] = {d.name: d for d in (
    Dataset("echonest", "Echo Nest metrics of FMA tracks (Rock vs Hip-Hop)",
            "fma-rock-vs-hiphop.csv (17,734 tracks with genre_top Rock or Hip-Hop) and "
            "echonest-metrics.json (13,129 tracks, 8 Echo Nest audio features); they merge on "
            "track_id to 4,802 tracks.", "CC BY 4.0 (FMA metadata)", _FMA,
            ("echonest/fma-rock-vs-hiphop.csv",), size="5.4 MB", files=(
                DataFile("echonest/fma-rock-vs-hiphop.csv", f"{_ECHONEST}/"
                         "991f9210c8fcd4bc75843727bf17666cbe0f45c3/fma-rock-vs-hiphop.csv",
                         "sha256:f6e7409825a49e8f2c13293425f3e913547e834bb03868eadf9fae2a6aa39419"),
                DataFile("echonest/echonest-metrics.json", f"{_ECHONEST}/"
                         "21d26b9c0af3a11ef596e579b330084afdf1385b/datasets/echonest-metrics.json",
                         "sha256:e87ae89735beddc2786409d791a162aec641b638c597ae59400588ea4d1bc0ca"),
            )),
    Dataset("gtzan", "GTZAN genre collection (audio)",
            "1,000 clips of 30 s, 10 genres x 100, 22,050 Hz mono. Accepted layouts: "
            "gtzan/genres_original/<genre>/<genre>.000NN.wav (Kaggle) or gtzan/genres/<genre>/"
            "<genre>.000NN.au (original archive).",
            "No copyright clearance; research and teaching use only",
            "Tzanetakis & Cook, 'Musical genre classification of audio signals', IEEE Trans. "
            "Speech and Audio Processing 10(5), 2002.", ("gtzan/genres_original", "gtzan/genres"),
            extract_to="gtzan", size="1.2 GB", archive=DataFile(
                "gtzan/genres.tar.gz", "https://web.archive.org/web/20220328223413/"
                "http://opihi.cs.uvic.ca/sound/genres.tar.gz",
                "sha256:24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6",
                ("https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/"
                 "genres.tar.gz",)), kaggle=KaggleCopy(
                _KAGGLE, (("Data/genres_original", "gtzan/genres_original"),
                          ("Data/features_30_sec.csv", _FEATURES)),
                tuple((f"gtzan/genres_original/{g}/{g}.*.wav", 100) for g in GTZAN_GENRES))),
    Dataset("gtzan-splits", "Fault-filtered GTZAN partition",
            "train/valid/test lists (443/197/290 clips) without the 70 faulty clips and without "
            "artist overlap between parts.", "List of file names", "Kereliuk, Sturm & Larsen, "
            "'Deep learning and music adversaries', IEEE Trans. Multimedia 17(11), 2015.",
            ("gtzan/splits/train_filtered.txt",), size="20 KB",
            files=tuple(DataFile(f"gtzan/splits/{p}_filtered.txt", f"{_SPLITS}/{p}_filtered.txt",
                                 f"sha256:{h}") for p, h in _SPLIT_HASHES.items())),
    Dataset("gtzan-features", "GTZAN feature table features_30_sec.csv",
            "One row per GTZAN clip (1,000): 57 librosa summary features plus filename, length and "
            "label, from the Kaggle 'GTZAN Dataset - Music Genre Classification'.", "As GTZAN",
            "Olteanu, 'GTZAN Dataset - Music Genre Classification', Kaggle, 2020.", (_FEATURES,),
            files=(DataFile(
                _FEATURES, None,
                "sha256:e5fe20f4e2f61d1aa3e07b17ffdea6b565970b3a1811746bd31f182a401fc3bc"),),
            manual="download 'features_30_sec.csv' from https://www.kaggle.com/datasets/"
                   f"{_KAGGLE} (free Kaggle account) and save it as <data dir>/gtzan/"
                   "features_30_sec.csv; or, with the GTZAN audio in place, run make data, which "
                   "builds it from the audio",
            size="1.1 MB", kaggle=KaggleCopy(_KAGGLE, (("Data/features_30_sec.csv", _FEATURES),)),
            build="built from the GTZAN audio with the course's extractor"),
    Dataset("fma-metadata", "FMA metadata (tracks, genres, echonest, features)",
            "fma_metadata.zip: tracks.csv (two-row header), genres.csv, echonest.csv, features.csv "
            "for the 106,574 tracks of the Free Music Archive.", "CC BY 4.0", _FMA,
            ("fma/fma_metadata/genres.csv", "fma/genres.csv"), extract_to="fma", size="342 MB",
            archive=DataFile("fma/fma_metadata.zip", f"{_FMA_ZIPS}/fma_metadata.zip",
                             "sha1:f0df49ffe5f2a6008d7dc83c6915b31835dfe733")),
    Dataset("fma-small", "FMA small (8,000 clips of 30 s, 8 genres)",
            "fma_small.zip: mp3 clips in fma/fma_small/<3-digit folder>/<track_id>.mp3.",
            "Each track under its artist's Creative Commons licence", _FMA, ("fma/fma_small",),
            extract_to="fma", size="7.2 GB", in_make_data=False,
            archive=DataFile("fma/fma_small.zip", f"{_FMA_ZIPS}/fma_small.zip",
                             "sha1:ade154f733639d52e35e32f5593efe5be76c6d70")),
    Dataset("musicnn", "musicnn 0.1.0 pretrained music taggers "
            "(weights for notebook 09's transfer learning)", "The musicnn wheel from the Python "
            "package index, used as data: TensorFlow-1 checkpoints of four taggers trained on 50 "
            "tags of the Million Song Dataset or MagnaTagATune; the course reads MSD_vgg "
            "(helpers.pretrained, notebook 09) and MSD_musicnn (machinery.musicnn, the command "
            "line's transfer model). The package itself is not installed.",
            "ISC (keep the notice: musicnn-0.1.0.dist-info/LICENSE.md in the wheel)",
            "Pons & Serra, 'musicnn: pre-trained convolutional neural networks for music audio "
            "tagging', ISMIR 2019 late-breaking/demo.", (_WHEEL,), size="29 MB", files=(DataFile(
                _WHEEL, "https://files.pythonhosted.org/packages/py3/m/musicnn/"
                "musicnn-0.1.0-py3-none-any.whl",
                "sha256:f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"),)),
    Dataset("librosa", "librosa example recordings",
            "librosa.ex('trumpet'), 'brahms', 'choice', 'nutcracker', 'libri1', ... read offline "
            "from <data dir>/librosa.", "Creative Commons / public domain (each file's .txt)",
            "McFee et al., librosa, https://librosa.org", ("librosa",), size="13 MB"),
)}


def _get(name: str) -> Dataset:
    if name not in REGISTRY:
        raise CourseError(f"unknown data set {name!r}; known data sets: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def dataset_path(name: str, root: Path | str | None = None, *,
                 required: bool = True) -> Path | None:
    """Where a data set is in the data directory (its first layout path that exists); if none, None
    (``required=False``) or a DataNotFoundError naming the paths and how to fetch it.

    Examples
    --------
    >>> dataset_path("gtzan").name  # the Kaggle layout
    'genres_original'
    """
    ds, root = _get(name), data_dir(root)
    found = next((root / rel for rel in ds.layout if (root / rel).exists()), None)
    if found is None and required:
        raise DataNotFoundError(f"data set {name!r} ({ds.title}) is not in the data directory: "
                                f"expected {' or '.join(str(root / rel) for rel in ds.layout)}. "
                                f"Fetch it with: {ds.fetch_command}; or point COURSE_DATA_DIR at a "
                                "folder that has it.")
    return found


_FETCHER: list[Callable[[str, Path | None], object]] = []  # what loaders call for data they need


def fetch_missing_with(fetcher: Callable[[str, Path | None], object] | None) -> None:
    """Make loaders call ``fetcher(name, root)`` for a data set before reading it (None: never).

    By default the loaders read what is in the data directory and download nothing. The Colab setup
    cell calls :func:`machinery.data.fetch_when_missing`, which passes :func:`machinery.data.fetch`
    here, so that a notebook downloads (and verifies) only the data sets it uses, the first time it
    needs them.

    Examples
    --------
    >>> fetch_missing_with(None)  # the default: read only what is there
    """
    _FETCHER[:] = [fetcher] if fetcher is not None else []


def _fetch_if_allowed(name: str, root: Path | str | None) -> None:
    """Call the :func:`fetch_missing_with` fetcher, if any, for the data set a loader needs."""
    for fetcher in _FETCHER:
        fetcher(name, None if root is None else Path(root))


@cache
def _hash_matches(path: str, size: int, mtime_ns: int, known_hash: str) -> bool:
    algorithm, _, expected = known_hash.partition(":")
    return pooch.file_hash(path, alg=algorithm) == expected.lower()


def check_hash(path: Path | str, known_hash: str | None) -> Path:
    """``path`` if it exists and matches ``known_hash`` (``"sha256:..."``; hashed once per size and
    mtime), else DataNotFoundError or ChecksumError saying what to do.

    Examples
    --------
    >>> check_hash(data_dir() / "gtzan/splits/test_filtered.txt",
    ...            REGISTRY["gtzan-splits"].files[2].known_hash).name
    'test_filtered.txt'
    """
    if not (path := Path(path)).is_file():
        raise DataNotFoundError(f"{path}: file not found")
    if known_hash and not _hash_matches(str(path.resolve()), path.stat().st_size,
                                        path.stat().st_mtime_ns, known_hash):
        algorithm, _, expected = known_hash.partition(":")
        raise ChecksumError(f"{path}: {algorithm} checksum mismatch (expected {expected}, got "
                            f"{pooch.file_hash(str(path), alg=algorithm)}); the file is damaged "
                            "or a different version. Delete it and fetch it again (make data).")
    return path


def record_path(path: Path) -> Path:
    """The build record that marks a registered file as built here: ``<stem>.built.json``.

    Examples
    --------
    >>> record_path(Path("gtzan/features_30_sec.csv")).name
    'features_30_sec.built.json'
    """
    return path.with_name(f"{path.stem}.built.json")


def check_copy(path: Path, known_hash: str | None) -> dict | None:
    """Verify a registered file: the published copy (None), or one built here (its build record).

    A file that does not match its registered checksum is accepted only when its build record says
    it was built here and it matches the checksum recorded at build time; else ChecksumError.

    Examples
    --------
    >>> check_copy(data_dir() / "gtzan/features_30_sec.csv",
    ...            REGISTRY["gtzan-features"].files[0].known_hash) is None
    True
    """
    try:
        check_hash(path, known_hash)
        return None
    except ChecksumError as exc:
        mismatch = exc
    try:
        record = json.loads(record_path(path).read_text(encoding="utf-8"))
        built_here = str(record["sha256"]).startswith("sha256:")
    except (OSError, ValueError, KeyError, TypeError):
        built_here = False
    if not built_here:
        raise mismatch
    check_hash(path, record["sha256"])
    return record


def data_file(name: str, rel: str, root: Path | str | None = None) -> Path:
    """A data set's registered file, verified against its checksum (fetched first where allowed).

    Examples
    --------
    >>> data_file("echonest", "echonest/fma-rock-vs-hiphop.csv").name  # doctest: +SKIP
    'fma-rock-vs-hiphop.csv'
    """
    _fetch_if_allowed(name, root)
    ds, path = _get(name), data_dir(root) / rel
    if not path.is_file():
        raise DataNotFoundError(f"data set {name!r} ({ds.title}): file {path} is missing. Fetch "
                                f"it with: {ds.fetch_command}; or point COURSE_DATA_DIR at a "
                                "folder that has it.")
    check_copy(path, {f.path: f.known_hash for f in ds.files}.get(rel))
    return path

# ----------------------------------------------------------------------------- librosa's examples


@cache
def _librosa_index() -> dict:
    """librosa's example index (key -> file stem), as shipped with librosa."""
    return json.loads((resources.files("librosa.util.example_data") / "index.json").read_text())


def librosa_example(key: str, *, hq: bool = False) -> str:
    """Path of librosa's example ``key`` (``hq``: stereo 44.1 kHz) in ``<data dir>/librosa``.

    The file ``librosa.ex(key, hq=hq)`` gives, without changing anything in librosa or the
    environment and without downloading (unless :func:`fetch_missing_with` says how);
    DataNotFoundError naming the fix if missing.

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
        raise DataNotFoundError(f"librosa example {key!r} is not in {path.parent} (expected "
                                f"{path}). Fetch it with: {REGISTRY['librosa'].fetch_command}; or "
                                "point COURSE_DATA_DIR at a folder that has a librosa/ sub-folder.")
    return str(path)


# ----------------------------------------------------------------------------- loaders


def load_echonest(root: Path | None = None) -> pd.DataFrame:
    """FMA tracks' Echo Nest metrics merged on ``track_id`` with label ``genre_top`` (Rock/Hip-Hop).

    4,802 rows: ``track_id``, acousticness, danceability, energy, instrumentalness, liveness,
    speechiness, tempo, valence and ``genre_top``.

    Examples
    --------
    >>> load_echonest()["genre_top"].value_counts().to_dict()
    {'Rock': 3892, 'Hip-Hop': 910}
    """
    tracks = pd.read_csv(data_file("echonest", "echonest/fma-rock-vs-hiphop.csv", root))
    metrics = pd.read_json(data_file("echonest", "echonest/echonest-metrics.json", root),
                           precise_float=True)
    return metrics.merge(tracks[["track_id", "genre_top"]], on="track_id").reset_index(drop=True)


_MIN_CLIP_SECONDS = 0.05  # shorter is a cut-off file: not even one 2,048-sample analysis window


@cache
def scan_gtzan(folder: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The clips of a GTZAN folder, and for each undecodable one its path -> the one line that
    :func:`helpers.audio.load_audio` gives (so every list of faulty clips says the same). Cached
    per folder (``scan_gtzan.__wrapped__(folder)`` rescans); use the loader :func:`gtzan_clips`.

    Examples
    --------
    >>> len(scan_gtzan(str(dataset_path("gtzan")))[0])  # the CI subset
    70
    """
    rows, bad = [], {}
    for path in sorted(p for p in Path(folder).glob("*/*") if p.suffix.lower() in {".wav", ".au"}):
        try:
            if not path.is_file():  # pipe/device: sf.info would block; the loader says what it is
                raise ValueError("not a regular file")
            info = sf.info(str(path))
            if info.format == "RAW" or info.frames < _MIN_CLIP_SECONDS * info.samplerate:
                raise ValueError("no audio header, or (nearly) no samples")
            duration, rate = info.frames / info.samplerate, info.samplerate
        except Exception:  # noqa: BLE001 - no readable header or near-empty: ask loader why (rare)
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


def gtzan_clips(root: Path | None = None, *, genres: Iterable[str] | None = None,
                per_genre: int | None = None, with_split: bool = True) -> pd.DataFrame:
    """One row per GTZAN clip: ``clip_id``, ``genre``, ``path``, ``duration`` (s), ``sample_rate``
    (Hz), ``split``.

    Reads the Kaggle layout or the original archive's. A clip that cannot be decoded (the full
    Kaggle copy's ``jazz.00054.wav``) or is shorter than 0.05 s (cut off) is left out, named in a
    warning and in ``table.attrs["unreadable"]``: path -> the reason, the same line that
    :func:`machinery.extract.extract_features` and :func:`machinery.segments.segment_dataset` give
    when they report those files again.

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
    folder = dataset_path("gtzan", root)
    table, unreadable = scan_gtzan(str(folder))
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
    if with_split and dataset_path("gtzan-splits", root, required=False):
        table = table.assign(split=table["clip_id"].map(gtzan_split(root)).fillna("excluded"))
    table = table.sort_values("clip_id").reset_index(drop=True)
    table.attrs["unreadable"] = dict(unreadable)
    return table


def gtzan_split(root: Path | None = None) -> pd.Series:
    """The fault-filtered GTZAN partition: Series ``split``, clip id -> "train" / "valid" / "test".

    Examples
    --------
    >>> gtzan_split().value_counts().to_dict()
    {'train': 443, 'test': 290, 'valid': 197}
    """
    parts = {}
    for part in _SPLIT_HASHES:
        for line in data_file("gtzan-splits", f"gtzan/splits/{part}_filtered.txt",
                              root).read_text().split():
            parts[Path(line).stem if line.endswith((".wav", ".au")) else line] = part
    return pd.Series(parts, name="split")


def load_gtzan_features(root: Path | None = None) -> pd.DataFrame:
    """GTZAN features (1,000 clips): ``filename``, ``clip_id``, ``length``, 57 features, ``label``.

    Kaggle's copy (verified by its sha256) or one built here by
    :func:`machinery.data.build_gtzan_features` (verified by the checksum in its build record);
    anything else raises :class:`~helpers.errors.ChecksumError`.

    Examples
    --------
    >>> load_gtzan_features().shape
    (1000, 61)
    """
    table = pd.read_csv(data_file("gtzan-features", _FEATURES, root))
    table.insert(1, "clip_id", table["filename"].str.replace(r"\.(wav|au)$", "", regex=True))
    return table


def class_counts(labels: Iterable[str]) -> pd.DataFrame:
    """Count and share (3 decimals) of each class, most frequent first, for balance tables.

    Examples
    --------
    >>> class_counts(["rock", "rock", "jazz", "rock"]).to_dict()
    {'count': {'rock': 3, 'jazz': 1}, 'share': {'rock': 0.75, 'jazz': 0.25}}
    """
    counts = pd.Series(list(labels)).value_counts()
    return pd.DataFrame({"count": counts, "share": (counts / counts.sum()).round(3)})
