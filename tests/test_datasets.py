"""helpers.datasets: registry, offline loaders on the real data, downloads from a local server."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import logging
import os
import shutil
import tarfile
import threading
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import datasets
from helpers.datasets import DataFile, Dataset
from helpers.errors import ChecksumError, CourseError, DataNotFoundError, DownloadError
from machinery import data as mdata
from machinery.clips import CLIP_RECORD, changed_clips, samples_sha256

from .conftest import finishes

# ----------------------------------------------------------------------------- registry


def test_registry_entries_are_complete():
    for name, ds in datasets.REGISTRY.items():
        assert ds.name == name
        assert ds.title and ds.licence and ds.citation and ds.layout
        for f in ds.files + ((ds.archive,) if ds.archive else ()):
            if f.known_hash is not None:
                algo, _, digest = f.known_hash.partition(":")
                assert algo in {"sha256", "sha1"} and len(digest) == {"sha256": 64, "sha1": 40}[algo]
        assert f"python -m machinery.data fetch {name}" in ds.fetch_command
    assert DataFile("x/a", "https://one.example/a", mirrors=("https://two.example/a",)).urls == (
        "https://one.example/a", "https://two.example/a")
    assert datasets.REGISTRY["fma-small"].fetch_command == "python -m machinery.data fetch fma-small"


def test_full_gtzan_archive_checksum_matches_shared_readme():
    assert datasets.REGISTRY["gtzan"].archive.known_hash == (
        "sha256:24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6"
    )


def test_gtzan_sources_in_order(tmp_path):
    """The web archive, then Hugging Face (same checksum), then Kaggle through kagglehub."""
    gtzan = datasets.REGISTRY["gtzan"]
    assert gtzan.archive.urls == (
        "https://web.archive.org/web/20220328223413/http://opihi.cs.uvic.ca/sound/genres.tar.gz",
        "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",
    )
    assert gtzan.kaggle.handle == "andradaolteanu/gtzan-dataset-music-genre-classification"
    assert dict(gtzan.kaggle.members) == {
        "Data/genres_original": "gtzan/genres_original",
        "Data/features_30_sec.csv": "gtzan/features_30_sec.csv",
    }
    assert [n for _, n in gtzan.kaggle.counts] == [100] * 10
    features = datasets.REGISTRY["gtzan-features"]
    assert features.in_make_data and features.kaggle is not None and features.build is not None
    assert [s.split(" (")[0] for s in mdata.status(tmp_path).loc["gtzan", "sources"].split("; ")] == [
        "web.archive.org", "huggingface.co", "Kaggle andradaolteanu/gtzan-dataset-music-genre-classification"]


# ----------------------------------------------------------------------------- loaders, real data


def test_echonest_merge(data_root):
    table = datasets.load_echonest(data_root)
    assert len(table) == 4802
    assert table["genre_top"].value_counts().to_dict() == {"Rock": 3892, "Hip-Hop": 910}
    assert {"acousticness", "danceability", "energy", "instrumentalness", "liveness",
            "speechiness", "tempo", "valence", "track_id"} <= set(table.columns)
    assert table["track_id"].is_unique


def test_where_a_data_set_is_and_which_copy_it_is(data_root, tmp_path):
    """The registry's public lookups, which the loaders and the machinery (status, fetch, bundles) share."""
    assert datasets.dataset_path("gtzan", data_root) == data_root / "gtzan/genres_original"
    assert datasets.dataset_path("fma-small", tmp_path, required=False) is None
    with pytest.raises(DataNotFoundError, match="python -m machinery.data fetch fma-small"):
        datasets.dataset_path("fma-small", tmp_path)
    table = data_root / "gtzan/features_30_sec.csv"
    assert datasets.check_copy(table, datasets.REGISTRY["gtzan-features"].files[0].known_hash) is None  # published
    assert datasets.record_path(table) == data_root / "gtzan/features_30_sec.built.json"
    clips, unreadable = datasets.scan_gtzan(str(data_root / "gtzan/genres_original"))
    assert len(clips) == 70 and unreadable == {} and clips["genre"].nunique() == 10


def test_gtzan_clips_on_subset(data_root):
    clips = datasets.gtzan_clips(data_root)
    assert len(clips) == 70
    assert sorted(clips["genre"].unique()) == list(datasets.GTZAN_GENRES)
    assert clips.groupby("genre").size().eq(7).all()
    assert clips["clip_id"].iloc[0] == "blues.00000"
    full = clips[clips["duration"] > 29]
    assert len(full) == 30  # clips 0-2 of each genre are full length
    assert set(clips["split"]) <= {"train", "valid", "test", "excluded"}
    assert datasets.gtzan_clips(data_root, genres=["jazz"], per_genre=2)["clip_id"].tolist() == [
        "jazz.00000", "jazz.00001"]
    with pytest.raises(CourseError, match="polka"):
        datasets.gtzan_clips(data_root, genres=["polka"])


def test_gtzan_split_sizes(data_root):
    split = datasets.gtzan_split(data_root)
    assert split.value_counts().to_dict() == {"train": 443, "test": 290, "valid": 197}


def test_gtzan_features_table(data_root):
    table = datasets.load_gtzan_features(data_root)
    assert table.shape == (1000, 61)
    assert table["clip_id"].iloc[0] == "blues.00000"
    assert table["label"].value_counts().eq(100).all()


def test_class_counts():
    table = datasets.class_counts(["rock", "jazz", "rock", "rock"])
    assert table.to_dict() == {"count": {"rock": 3, "jazz": 1}, "share": {"rock": 0.75, "jazz": 0.25}}


def test_librosa_example_offline(data_root, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_root))
    path = datasets.librosa_example("trumpet")
    assert Path(path).is_file() and Path(path).parent == data_root / "librosa"


def test_status_table(data_root):
    table = mdata.status(data_root)
    assert table.loc["echonest", "present"] and table.loc["gtzan", "present"]
    assert not table.loc["fma-small", "present"]
    assert table.loc["echonest", "copy"] == "published copy, sha256 verified"
    assert table.loc["gtzan", "copy"] == ("gtzan/genres_original: 70 of 1,000 clips (7 per genre), 30 of them 30 s "
                                          "long; the 70 recorded clips as recorded")


def test_a_clip_replaced_under_its_name_is_found_by_content(data_root, tmp_path):
    """Names are not content (issue 33): the record of the CI subset's samples finds a swapped, cut or stereo clip."""
    import soundfile as sf

    clips = datasets.gtzan_clips(data_root)
    assert changed_clips(clips) == {}
    folder = tmp_path / "gtzan" / "genres_original"
    for genre in ("rock", "classical", "jazz", "pop"):
        (folder / genre).mkdir(parents=True)
        shutil.copy(data_root / "gtzan" / "genres_original" / genre / f"{genre}.00000.wav", folder / genre)
    shutil.copy(folder / "classical" / "classical.00000.wav", folder / "rock" / "rock.00000.wav")  # a classical "rock"
    y, rate = sf.read(folder / "jazz" / "jazz.00000.wav")
    sf.write(folder / "jazz" / "jazz.00000.wav", y[: rate * 10], rate)  # cut to 10 s
    sf.write(folder / "pop" / "pop.00000.wav", np.stack([y, y], axis=1), rate)  # stereo
    changed = changed_clips(datasets.gtzan_clips(tmp_path, with_split=False))
    assert changed == {"rock.00000": "its samples differ from the recorded ones",
                       "jazz.00000": "not 661,794 mono samples at 22,050 Hz as recorded",
                       "pop.00000": "not 661,504 mono samples at 22,050 Hz as recorded"}
    copy = mdata.status(tmp_path).loc["gtzan", "copy"]
    assert "3 of the 4 recorded clips CHANGED: jazz.00000 (not 661,794 mono" in copy and "rock.00000 (its samples" in copy


def test_exact_asks_for_the_recorded_samples_and_no_more(data_root, tmp_path):
    """A bundle holds the CI subset's cut clips: a longer copy passes the usual check, not the exact one."""
    import soundfile as sf

    (tmp_path / "gtzan" / "genres_original" / "blues").mkdir(parents=True)
    y, rate = sf.read(data_root / "gtzan" / "genres_original" / "blues" / "blues.00003.wav", dtype="int16")
    sf.write(tmp_path / "gtzan" / "genres_original" / "blues" / "blues.00003.wav", np.r_[y, y[:100]], rate)
    clips = datasets.gtzan_clips(tmp_path, with_split=False)
    assert changed_clips(clips) == {}
    assert changed_clips(clips, exact=True) == {"blues.00003": f"not exactly {len(y):,} mono samples at 22,050 Hz as recorded"}
    assert changed_clips(datasets.gtzan_clips(data_root), exact=True) == {}
    assert samples_sha256(y) == pd.read_csv(CLIP_RECORD).set_index("clip_id").at["blues.00003", "samples_sha256"]


def test_fetch_of_present_data_verifies_and_downloads_nothing(data_root, caplog):
    caplog.set_level(logging.INFO, logger="machinery.data")
    assert mdata.fetch("gtzan-splits", data_root) == data_root / "gtzan/splits/train_filtered.txt"
    assert "gtzan-splits: already present in" in caplog.text


# ----------------------------------------------------------------------------- loaders, errors


def test_missing_data_gives_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        datasets.load_echonest(tmp_path)
    message = str(info.value)
    assert "'echonest'" in message and str(tmp_path / "echonest") in message and "make data" in message


def test_missing_gtzan_names_both_layouts(tmp_path):
    with pytest.raises(DataNotFoundError, match="genres_original or .*genres"):
        datasets.gtzan_clips(tmp_path)


def test_missing_librosa_example(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="librosa example 'trumpet'"):
        datasets.librosa_example("trumpet")
    with pytest.raises(CourseError, match="unknown librosa example"):
        datasets.librosa_example("kazoo")


def test_unknown_dataset():
    with pytest.raises(CourseError, match="unknown data set 'nope'"):
        mdata.fetch("nope")


def test_checksum_mismatch_is_never_used(data_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(data_root / "echonest", root / "echonest")
    bad = root / "echonest" / "fma-rock-vs-hiphop.csv"
    bad.write_text(bad.read_text().replace("Rock", "Rokk", 1))
    with pytest.raises(ChecksumError, match="fma-rock-vs-hiphop.csv: sha256 checksum mismatch"):
        datasets.load_echonest(root)
    assert datasets.data_file("echonest", "echonest/fma-rock-vs-hiphop.csv", data_root).is_file()  # the good copy
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        datasets.data_file("echonest", "echonest/fma-rock-vs-hiphop.csv", root)


def test_original_archive_layout_and_undecodable_clip(tmp_path, write_wav):
    """The original archive's genres/<genre>/*.au layout; a clip that cannot be decoded is skipped by name."""
    import numpy as np
    import soundfile as sf

    genre_dir = tmp_path / "gtzan" / "genres" / "jazz"
    genre_dir.mkdir(parents=True)
    sf.write(genre_dir / "jazz.00000.au", np.zeros(22050, dtype=np.float32) + 0.1, 22050, format="AU")
    (genre_dir / "jazz.00054.au").write_bytes(b"garbage" * 10)  # no header
    (genre_dir / "jazz.00055.wav").write_bytes(b"RIFF" + b"\x00" * 40)  # broken wav
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clips = datasets.gtzan_clips(tmp_path)
    assert clips["clip_id"].tolist() == ["jazz.00000"]
    assert clips["duration"].iloc[0] == pytest.approx(1.0)
    assert any("jazz.00054.au" in str(w.message) and "jazz.00055.wav" in str(w.message) for w in caught)
    assert [Path(p).name for p in clips.attrs["unreadable"]] == ["jazz.00054.au", "jazz.00055.wav"]
    assert all(why.startswith(f"{p}: ") for p, why in clips.attrs["unreadable"].items()), "each reason names its file"
    with pytest.warns(UserWarning, match="jazz.00054.au"):  # listed again on every call, not only the first
        datasets.gtzan_clips(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_pipe_among_the_clips_is_skipped_not_waited_for(tmp_path):
    """The clip scan read a FIFO's header with sf.info and waited for ever (issue 33)."""
    import numpy as np
    import soundfile as sf

    genre_dir = tmp_path / "gtzan" / "genres_original" / "rock"
    genre_dir.mkdir(parents=True)
    sf.write(genre_dir / "rock.00000.wav", 0.1 * np.ones(22050, dtype=np.float32), 22050)
    os.mkfifo(genre_dir / "rock.00001.wav")
    def scan():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return datasets.gtzan_clips(tmp_path, with_split=False)
    clips = finishes(scan)
    assert not isinstance(clips, (str, Exception)), f"the clip scan failed or is still waiting on the pipe: {clips!r}"
    assert clips["clip_id"].tolist() == ["rock.00000"]
    assert list(clips.attrs["unreadable"].values()) == [
        f"{genre_dir / 'rock.00001.wav'}: is not a regular file (a pipe, device or socket)"]


# ----------------------------------------------------------------------------- downloads (local server)


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate: set[str] = set()

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.lstrip("/") in self.truncate:
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/'srv'."""
    root = tmp_path / "srv"
    root.mkdir()

    def handler(*args, **kwargs):
        return _Handler(*args, directory=str(root), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    _Handler.truncate = set()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def registry(monkeypatch):
    """Register throw-away data sets for one test."""

    def add(ds: Dataset) -> str:
        monkeypatch.setitem(datasets.REGISTRY, ds.name, ds)
        return ds.name

    return add


def _dataset(name, **kwargs) -> Dataset:
    return Dataset(name=name, title=name, description="", licence="test", citation="test", **kwargs)


def test_fetch_file_with_good_checksum_then_offline_reuse(server, registry, tmp_path):
    srv, url = server
    payload = b"track_id,genre_top\n1,Rock\n"
    (srv / "t.csv").write_bytes(payload)
    name = registry(_dataset("tiny", layout=("tiny/t.csv",), files=(DataFile("tiny/t.csv", f"{url}/t.csv", _sha256(payload)),)))
    root = tmp_path / "data"
    assert mdata.fetch(name, root, progressbar=False) == root / "tiny/t.csv"
    assert (root / "tiny/t.csv").read_bytes() == payload
    (srv / "t.csv").unlink()  # the "network" is gone: a second fetch must not need it
    assert mdata.fetch(name, root, progressbar=False) == root / "tiny/t.csv"


def test_fetch_bad_checksum_leaves_no_file(server, registry, tmp_path):
    srv, url = server
    (srv / "t.csv").write_bytes(b"tampered")
    name = registry(_dataset("tiny", layout=("tiny/t.csv",), files=(DataFile("tiny/t.csv", f"{url}/t.csv", _sha256(b"original")),)))
    root = tmp_path / "data"
    with pytest.raises(ChecksumError, match="does not match"):
        mdata.fetch(name, root, progressbar=False)
    assert not (root / "tiny/t.csv").exists()


def test_fetch_interrupted_download_leaves_no_file(server, registry, tmp_path):
    srv, url = server
    payload = bytes(range(256)) * 4096
    (srv / "big.bin").write_bytes(payload)
    _Handler.truncate = {"big.bin"}
    name = registry(_dataset("big", layout=("big/big.bin",), files=(DataFile("big/big.bin", f"{url}/big.bin", _sha256(payload)),)))
    root = tmp_path / "data"
    with pytest.raises((DownloadError, ChecksumError)):
        mdata.fetch(name, root, progressbar=False)
    assert not (root / "big/big.bin").exists()


def test_fetch_unreachable_server(registry, tmp_path):
    name = registry(_dataset("gone", layout=("gone/x",), files=(DataFile("gone/x", "http://127.0.0.1:9/x", None),)))
    with pytest.raises(DownloadError, match="could not download http://127.0.0.1:9/x"):
        mdata.fetch(name, tmp_path, progressbar=False)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_fetch_extracts_archives(server, registry, tmp_path, kind):
    srv, url = server
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("meta/genres.csv", "genre_id,title\n1,Rock\n")
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            data = b"genre_id,title\n1,Rock\n"
            info = tarfile.TarInfo("meta/genres.csv")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    (srv / f"a.{kind}").write_bytes(buf.getvalue())
    name = registry(
        _dataset(
            "arch",
            layout=("arch/meta/genres.csv",),
            archive=DataFile(f"arch/a.{kind}", f"{url}/a.{kind}", _sha256(buf.getvalue())),
            extract_to="arch",
        )
    )
    root = tmp_path / "data"
    assert mdata.fetch(name, root, progressbar=False) == root / "arch/meta/genres.csv"
    assert pd.read_csv(root / "arch/meta/genres.csv")["title"].tolist() == ["Rock"]
    assert not (root / f"arch/a.{kind}").exists()  # the archive is removed after extraction


def test_feature_table_without_audio_or_kaggle_cannot_be_fetched(tmp_path, no_kaggle):
    with pytest.raises(DownloadError) as info:
        mdata.fetch("gtzan-features", tmp_path, progressbar=False)
    message = str(info.value)
    assert "Kaggle andradaolteanu/gtzan-dataset-music-genre-classification (kagglehub): skipped: no Kaggle" in message
    assert "built from the GTZAN audio with the course's extractor: data set 'gtzan'" in message
    assert f"save it as {tmp_path / 'gtzan/features_30_sec.csv'}" in message
    assert not any(tmp_path.rglob("*.csv"))


def test_verify_caches_and_detects_change(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"abc")
    good = _sha256(b"abc")
    assert datasets.check_hash(path, good) == path
    path.write_bytes(b"abd")
    with pytest.raises(ChecksumError):
        datasets.check_hash(path, good)
    with pytest.raises(DataNotFoundError):
        datasets.check_hash(tmp_path / "missing", good)


# ----------------------------------------------------------------------------- several sources (local server)


@pytest.fixture
def no_kaggle(monkeypatch):
    """As on a machine without Kaggle credentials, whether or not kagglehub is installed."""
    monkeypatch.setattr(mdata, "_kaggle_unavailable", lambda: "no Kaggle credentials configured")


def _gtzan_archive(amplitude: float = 0.1) -> bytes:
    """A tiny genres.tar.gz in the original layout: genres/blues/blues.00000.au (0.1 s)."""
    import numpy as np
    import soundfile as sf

    clip = io.BytesIO()
    sf.write(clip, np.full(2205, amplitude, dtype=np.float32), 22050, format="AU", subtype="PCM_16")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("genres/blues/blues.00000.au")
        info.size = len(clip.getvalue())
        t.addfile(info, io.BytesIO(clip.getvalue()))
    return buf.getvalue()


@pytest.fixture
def gtzan_at(server, monkeypatch, no_kaggle):
    """Point the registry's GTZAN archive at addresses of the local server, in the order given.

    The server holds good.tar.gz (whose sha256 is registered) and bad.tar.gz
    (another archive: wrong checksum); any other name is a 404; a full URL is used as is.
    """
    srv, url = server
    good = _gtzan_archive()
    (srv / "good.tar.gz").write_bytes(good)
    (srv / "bad.tar.gz").write_bytes(_gtzan_archive(amplitude=0.2))

    def use(*names: str) -> list[str]:
        urls = [n if n.startswith("http") else f"{url}/{n}" for n in names]
        gtzan = datasets.REGISTRY["gtzan"]
        archive = replace(gtzan.archive, url=urls[0], mirrors=tuple(urls[1:]), known_hash=_sha256(good))
        monkeypatch.setitem(datasets.REGISTRY, "gtzan", replace(gtzan, archive=archive))
        return urls

    return use


REFUSED = "http://127.0.0.1:9/genres.tar.gz"  # nothing listens on the discard port


def _failure_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.getMessage()]


@pytest.mark.parametrize("first, why", [("missing.tar.gz", "refused (HTTP 404)"), (REFUSED, "connection refused")])
def test_gtzan_falls_through_to_the_second_source(gtzan_at, tmp_path, caplog, first, why):
    urls = gtzan_at(first, "good.tar.gz")
    root = tmp_path / "data"
    assert mdata.fetch("gtzan", root, progressbar=False) == root / "gtzan/genres"
    assert datasets.gtzan_clips(root)["clip_id"].tolist() == ["blues.00000"]
    assert not (root / "gtzan/genres.tar.gz").exists()
    assert _failure_lines(caplog) == [f"gtzan/genres.tar.gz: source {urls[0]} failed: {why}"]


def test_gtzan_skips_a_source_with_the_wrong_checksum(gtzan_at, tmp_path, caplog):
    urls = gtzan_at("missing.tar.gz", "bad.tar.gz", "good.tar.gz")
    root = tmp_path / "data"
    mdata.fetch("gtzan", root, progressbar=False)
    assert _failure_lines(caplog) == [
        f"gtzan/genres.tar.gz: source {urls[0]} failed: refused (HTTP 404)",
        f"gtzan/genres.tar.gz: source {urls[1]} failed: checksum mismatch (the download was discarded)",
    ]
    # only the good archive was used: its clip, and nothing else, is in the data directory
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "gtzan/genres/blues/blues.00000.au"]
    with tarfile.open(fileobj=io.BytesIO(_gtzan_archive())) as t:
        assert (root / "gtzan/genres/blues/blues.00000.au").read_bytes() == t.extractfile(t.getmembers()[0]).read()


def test_gtzan_all_sources_fail_with_one_clear_error(gtzan_at, tmp_path, caplog):
    urls = gtzan_at(REFUSED, "missing.tar.gz", "bad.tar.gz")
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as info:
        mdata.fetch("gtzan", root, progressbar=False)
    message = str(info.value)
    assert "\n" not in message
    for url, why in zip(urls, ["connection refused", "refused (HTTP 404)", "checksum mismatch"]):
        assert f"{url}: {why}" in message
    assert f"Kaggle {datasets.REGISTRY['gtzan'].kaggle.handle} (kagglehub): skipped: no Kaggle credentials" in message
    assert "By hand: download genres.tar.gz (sha256 " in message
    assert f"save it as {root / 'gtzan/genres.tar.gz'}" in message
    assert f"Data/genres_original as {root / 'gtzan/genres_original'}" in message
    assert len(_failure_lines(caplog)) == 4  # one line per source: three addresses and Kaggle
    assert not [p for p in root.rglob("*") if p.is_file()]  # no partial or rejected file left behind


def test_archive_placed_by_hand_is_verified_and_extracted(gtzan_at, server, tmp_path):
    srv, _ = server
    gtzan_at(REFUSED)
    root = tmp_path / "data"
    (root / "gtzan").mkdir(parents=True)
    shutil.copy(srv / "good.tar.gz", root / "gtzan/genres.tar.gz")
    assert mdata.fetch("gtzan", root, progressbar=False) == root / "gtzan/genres"
    assert (root / "gtzan/genres/blues/blues.00000.au").is_file()
    assert not (root / "gtzan/genres.tar.gz").exists()


# ----------------------------------------------------------------------------- a feature table built here


def _write_table(root: Path, text: str, *, record: dict | None = None) -> Path:
    path = root / "gtzan/features_30_sec.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if record is not None:
        (root / "gtzan/features_30_sec.built.json").write_text(json.dumps(record))
    return path


_TABLE = "filename,length,tempo,label\nblues.00000.wav,661794,123.0,blues\nrock.00001.au,661500,99.4,rock\n"


def test_built_feature_table_is_recognised_by_its_record(tmp_path):
    _write_table(tmp_path, _TABLE, record={"sha256": _sha256(_TABLE.encode()), "n_clips": 2,
                                           "built_by": "helpers.features.gtzan_feature_vector"})
    table = datasets.load_gtzan_features(tmp_path)
    assert table["clip_id"].tolist() == ["blues.00000", "rock.00001"]
    assert table.columns[:3].tolist() == ["filename", "clip_id", "length"]
    assert "built here from 2 clips" in mdata.status(tmp_path).loc["gtzan-features", "copy"]


@pytest.mark.parametrize("record", [None, "altered", "not json"])
def test_feature_table_neither_kaggle_nor_built_here_is_rejected(tmp_path, record):
    if record is None:
        _write_table(tmp_path, _TABLE)
    else:
        _write_table(tmp_path, _TABLE.replace("123.0", "124.0"), record={"sha256": _sha256(_TABLE.encode())})
        if record == "not json":
            (tmp_path / "gtzan/features_30_sec.built.json").write_text("{")
    with pytest.raises(ChecksumError, match="features_30_sec.csv: sha256 checksum mismatch"):
        datasets.load_gtzan_features(tmp_path)
    assert "CHECKSUM MISMATCH" in mdata.status(tmp_path).loc["gtzan-features", "copy"]


def test_librosa_examples_already_present_are_verified_not_downloaded(data_root, tmp_path, monkeypatch):
    shutil.copytree(data_root / "librosa", tmp_path / "librosa")
    before = sorted(p.name for p in (tmp_path / "librosa").iterdir())
    assert mdata.fetch("librosa", tmp_path, progressbar=False) == tmp_path / "librosa"
    assert sorted(p.name for p in (tmp_path / "librosa").iterdir()) == before
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert Path(datasets.librosa_example("brahms", hq=True)).name.endswith(".hq.ogg")


def test_build_gtzan_features_writes_kaggles_columns_from_the_audio(data_root, tmp_path):
    """Two real clips and one broken file: the table has Kaggle's columns, the broken clip is listed, and
    load_gtzan_features accepts the table by its build record; the values equal the extractor's."""
    from helpers.features import FEATURE_COLUMNS, gtzan_feature_vector
    from helpers.audio import load_audio
    from threadpoolctl import threadpool_limits

    for genre in ("blues", "rock"):
        (tmp_path / f"gtzan/genres_original/{genre}").mkdir(parents=True)
        shutil.copy(data_root / f"gtzan/genres_original/{genre}/{genre}.00000.wav", tmp_path / f"gtzan/genres_original/{genre}")
    (tmp_path / "gtzan/genres_original/rock/rock.00009.wav").write_bytes(b"RIFF not really")
    path = mdata.build_gtzan_features(tmp_path, n_jobs=1, cache=False)
    table = datasets.load_gtzan_features(tmp_path)
    assert path == tmp_path / "gtzan/features_30_sec.csv"
    assert table.columns.tolist() == ["filename", "clip_id", "length", *FEATURE_COLUMNS, "label"]
    assert table["filename"].tolist() == ["blues.00000.wav", "rock.00000.wav"]
    record = json.loads((tmp_path / "gtzan/features_30_sec.built.json").read_text())
    assert record["n_clips"] == 2 and "rock.00009.wav" in record["skipped"][0]
    y, sr = load_audio(data_root / "gtzan/genres_original/blues/blues.00000.wav")
    with threadpool_limits(limits=1):  # as the extractor computes: single-threaded BLAS, the same bits
        expected = gtzan_feature_vector(y, sr)
    assert table.loc[0, "length"] == len(y)
    # equal up to the digits the CSV keeps
    assert all(abs(table.loc[0, k] - v) <= 1e-12 * abs(v) for k, v in expected.items())


def test_a_kaggle_copy_names_its_members_and_file_counts():
    copy = datasets.KaggleCopy("owner/name", (("Data/x.csv", "x/x.csv"),), (("x/*.csv", 1),))
    assert copy.members[0][1] == "x/x.csv" and datasets.REGISTRY["gtzan"].kaggle.handle.endswith("genre-classification")
