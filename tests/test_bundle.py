"""tools/bundle.py: the offline data bundle (make bundle, make data BUNDLE=...), on small fake data trees."""
from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from .conftest import dead_pid, load_script

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "bundle.py"
bundle = load_script(SCRIPT)

FILES = {"echonest/tracks.csv": b"track_id,genre\n1,Rock\n", "librosa/a.ogg": b"OggS" + b"\x01" * 5000,
         "gtzan/genres_original/blues/blues.00000.wav": bytes(range(256)) * 900, "librosa/a.txt": b"CC0\n"}


def tree(root: Path, files: dict[str, bytes] = FILES) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def archive(tmp_path) -> Path:
    out = tmp_path / "out" / "course-data.tar"
    assert bundle.main(["--data-dir", str(tree(tmp_path / "src")), "create", "--out", str(out), "echonest", "gtzan",
                        "librosa"]) == 0
    return out


def unpack(archive: Path, target: Path, *extra: str) -> int:
    return bundle.main(["unpack", str(archive), "--data-dir", str(target), *extra])


def test_an_unpack_killed_midway_leaves_nothing_after_the_next_one(archive, tmp_path):
    """kill -9 during an unpack leaves its staging folder; the next unpack removes it (issue 33)."""
    left = tmp_path / "data" / f".bundle-unpack.{dead_pid()}.partial"
    (left / "gtzan").mkdir(parents=True)
    (left / "gtzan" / "half.wav").write_bytes(b"RIFF")
    assert unpack(archive, tmp_path / "data") == 0
    assert files_under(tmp_path / "data") == FILES


def refused(capsys, *words: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert all(w in err for w in words), err


def test_round_trip_gives_the_same_files_and_a_checked_manifest(archive, tmp_path, capsys):
    assert list(archive.parent.iterdir()) == [archive]  # written under a temporary name, then renamed
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "course-data/SHA256SUMS"
        sums = tar.extractfile("course-data/SHA256SUMS").read().decode().splitlines()
    assert f"{hashlib.sha256(FILES['librosa/a.ogg']).hexdigest()}  librosa/a.ogg" in sums
    assert len(sums) == len(FILES) + 1  # and BUNDLE-README.txt
    assert unpack(archive, tmp_path / "data") == 0
    assert files_under(tmp_path / "data") == FILES  # the bundle's notes and staging folder are not left behind
    assert "4 files verified (sha256); 4 unpacked" in capsys.readouterr().out
    assert unpack(archive, tmp_path / "data") == 0  # again: everything is already there
    assert "0 unpacked" in capsys.readouterr().out and files_under(tmp_path / "data") == FILES


def test_the_same_data_gives_the_same_archive_and_gzip_is_accepted(archive, tmp_path):
    again = tmp_path / "again.tar"
    assert bundle.main(["--data-dir", str(tmp_path / "src"), "create", "--out", str(again), "echonest", "gtzan",
                        "librosa"]) == 0
    assert again.read_bytes() == archive.read_bytes()
    (zipped := tmp_path / "b.tar.gz").write_bytes(gzip.compress(archive.read_bytes()))
    assert unpack(zipped, tmp_path / "data") == 0 and files_under(tmp_path / "data") == FILES


def test_a_corrupted_member_is_refused_and_nothing_is_written(archive, tmp_path, capsys):
    with tarfile.open(archive) as tar:
        offset = tar.getmember("course-data/gtzan/genres_original/blues/blues.00000.wav").offset_data
    data = bytearray(archive.read_bytes())
    data[offset + 100] ^= 0xFF
    archive.write_bytes(bytes(data))
    assert unpack(archive, tmp_path / "data") == 1
    refused(capsys, "blues.00000.wav does not match its sha256", "nothing was unpacked")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("where", ["inside a file", "between files"])
def test_a_truncated_archive_is_refused(archive, tmp_path, capsys, where):
    with tarfile.open(archive) as tar:
        last = tar.getmembers()[-1]
    cut = last.offset_data + 10 if where == "inside a file" else last.offset
    archive.write_bytes(archive.read_bytes()[:cut])
    (tmp_path / "data").mkdir()
    assert unpack(archive, tmp_path / "data") == 1
    refused(capsys, str(archive), "truncated" if where == "inside a file" else "listed in SHA256SUMS but not in")
    assert list((tmp_path / "data").iterdir()) == []


@pytest.mark.parametrize("content, words", [
    (b"just some text\n", ["not a tar archive"]),
    ("foreign", ["not a course data bundle (no course-data/SHA256SUMS in it)"]),
    ("escape", ["not a course data bundle", "'course-data/../evil.txt'"]),
])
def test_a_non_archive_or_foreign_archive_is_refused(tmp_path, capsys, content, words):
    path = tmp_path / "x.tar"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        names = {"foreign": ["echonest/tracks.csv"], "escape": ["course-data/SHA256SUMS", "course-data/../evil.txt"]}
        with tarfile.open(path, "w") as tar:
            for name in names[content]:
                info = tarfile.TarInfo(name)
                body = f"{'0' * 64}  ../evil.txt\n".encode() if name.endswith("SUMS") else b"evil"
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    assert unpack(path, tmp_path / "data") == 1
    refused(capsys, *words)
    assert not (tmp_path / "data").exists() and not (tmp_path / "evil.txt").exists()


def test_an_existing_different_file_is_not_silently_overwritten(archive, tmp_path, capsys):
    mine = tree(tmp_path / "data", {"librosa/a.txt": b"my own notes\n"})
    assert unpack(archive, mine) == 1
    refused(capsys, str(mine / "librosa" / "a.txt"), "exists and differs", "--overwrite")
    assert files_under(mine) == {"librosa/a.txt": b"my own notes\n"}  # nothing else was written either
    assert unpack(archive, mine, "--overwrite") == 0
    assert f"replaced {mine / 'librosa' / 'a.txt'}" in capsys.readouterr().out
    assert files_under(mine) == FILES


def test_create_refuses_a_path_that_is_not_there(tmp_path, capsys):
    assert bundle.main(["--data-dir", str(tmp_path), "create", "--out", str(tmp_path / "b.tar"), "nope"]) == 1
    refused(capsys, "nope: no such file or folder")
    assert not (tmp_path / "b.tar").exists()


def test_help_works_and_bad_usage_exits_2():
    run = [sys.executable, str(SCRIPT)]
    for args, words in ((["--help"], ["create", "unpack"]), (["unpack", "--help"], ["--overwrite", "ARCHIVE"])):
        done = subprocess.run(run + args, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and all(w in done.stdout for w in words), done.stdout
    assert subprocess.run(run + ["unpack"], capture_output=True, text=True, timeout=60).returncode == 2


def test_the_ci_bundle_has_all_make_data_needs_offline(data_root, tmp_path, capsys):
    from machinery.data import main as datasets_main

    out = tmp_path / "ci.tar"
    assert bundle.main(["--data-dir", str(data_root), "create", "--out", str(out)]) == 0
    assert "120 files" in capsys.readouterr().out
    assert unpack(out, tmp_path / "data") == 0
    assert datasets_main(["--data-dir", str(tmp_path / "data"), "fetch", "--make-data"]) == 0
    assert "librosa: ready at" in capsys.readouterr().out
    assert bundle.main(["--data-dir", str(tmp_path / "src"), "create", "--out", str(tmp_path / "no.tar")]) == 1
    refused(capsys, "file not found", "tools/ci_subset.py")
