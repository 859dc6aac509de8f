"""Photo storage on the local disk: keys that cannot leave the root, atomic writes, a clear
not-found error, and a batch that leaves nothing behind when it fails midway."""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from participation.feedback import storage as storage_module
from participation.feedback.photos import ProcessedPhoto
from participation.feedback.storage import (
    InvalidKey,
    LocalDiskStorage,
    PhotoNotFound,
    PhotoStorage,
    StoredPhoto,
    check_key,
    discard,
    new_key,
    photo_storage,
    store_photos,
)


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def photo(n: int) -> ProcessedPhoto:
    return ProcessedPhoto(
        image=b"\xff\xd8image%d" % n, thumbnail=b"\xff\xd8thumb%d" % n, width=1, height=1, sha256=""
    )


def test_put_get_exists_delete(tmp_path):
    disk = LocalDiskStorage(tmp_path)
    assert isinstance(disk, PhotoStorage)
    key = "tickets/2026/12/0f3a.jpg"
    assert not disk.exists(key)
    disk.put(key, b"abc")
    assert disk.exists(key)
    assert disk.get(key) == b"abc"
    assert (tmp_path / "tickets" / "2026" / "12" / "0f3a.jpg").read_bytes() == b"abc"
    disk.put(key, b"replaced")
    assert disk.get(key) == b"replaced"
    disk.delete(key)
    assert not disk.exists(key)
    disk.delete(key)  # missing is fine
    disk.delete("tickets/never/was.jpg")
    with pytest.raises(PhotoNotFound) as caught:
        disk.get(key)
    assert caught.value.key == key
    with pytest.raises(PhotoNotFound):
        disk.get("tickets/2026")  # a folder is not a photo


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "tickets/../../secret.jpg",
        "tickets/./a.jpg",
        "/etc/passwd",
        "tickets//a.jpg",
        "tickets/a.jpg/",
        "Tickets/A.JPG",
        "tickets\\..\\a.jpg",
        ".hidden",
        "tickets/.tmp-x.part",
        "tickets/a b.jpg",
        "tickets/照片.jpg",
        "tickets/a.jpg\x00.png",
        "",
        "a" * 201,
    ],
)
def test_keys_that_could_escape_are_refused(key, tmp_path):
    disk = LocalDiskStorage(tmp_path / "root")
    for call in (
        lambda: disk.put(key, b"x"),
        lambda: disk.get(key),
        lambda: disk.delete(key),
        lambda: disk.exists(key),
    ):
        with pytest.raises(InvalidKey):
            call()
    assert files(tmp_path) == []


def test_new_keys():
    key = new_key(at=datetime(2026, 12, 31, 17, 0, tzinfo=UTC))  # 2027-01-01 01:00 in Shanghai
    assert re.fullmatch(r"tickets/2027/01/[0-9a-f]{32}\.jpg", key)
    assert check_key(key) == key
    assert new_key() != new_key()


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    disk = LocalDiskStorage(tmp_path)
    disk.put("tickets/a.jpg", b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        disk.put("tickets/a.jpg", b"new")
    monkeypatch.undo()
    assert disk.get("tickets/a.jpg") == b"old"
    assert files(tmp_path) == ["tickets/a.jpg"]


def test_readers_never_see_half_a_file(tmp_path):
    disk = LocalDiskStorage(tmp_path)
    key = "tickets/big.jpg"
    versions = [bytes([n]) * 2_000_000 for n in range(1, 6)]
    disk.put(key, versions[0])
    seen: set[bytes] = set()
    done = threading.Event()

    def read():
        while not done.is_set():
            data = disk.get(key)
            seen.add(data[:1] + data[-1:] + len(data).to_bytes(4))

    reader = threading.Thread(target=read)
    reader.start()
    for data in versions * 4:
        disk.put(key, data)
    done.set()
    reader.join()
    assert seen <= {v[:1] + v[-1:] + len(v).to_bytes(4) for v in versions}
    assert files(tmp_path) == ["tickets/big.jpg"]


def test_store_photos_writes_each_photo_and_its_thumbnail(tmp_path):
    disk = LocalDiskStorage(tmp_path)
    stored = store_photos(disk, [photo(1), photo(2)], at=datetime(2026, 12, 6, tzinfo=UTC))
    assert [type(s) for s in stored] == [StoredPhoto, StoredPhoto]
    for n, item in enumerate(stored, start=1):
        assert item.key.startswith("tickets/2026/12/") and item.key.endswith(".jpg")
        assert item.thumbnail_key == item.key[: -len(".jpg")] + ".thumb.jpg"
        assert disk.get(item.key) == photo(n).image
        assert disk.get(item.thumbnail_key) == photo(n).thumbnail
    assert len(files(tmp_path)) == 4
    discard(disk, stored)
    assert files(tmp_path) == []


class FailingStorage(LocalDiskStorage):
    """Fails on the ``fail_at``-th put, after writing part of the file."""

    def __init__(self, root: Path, fail_at: int):
        super().__init__(root)
        self.fail_at = fail_at
        self.puts = 0

    def put(self, key: str, data: bytes) -> None:
        self.puts += 1
        if self.puts == self.fail_at:
            self.path(key).parent.mkdir(parents=True, exist_ok=True)
            self.path(key).write_bytes(data[:3])  # a careless backend's partial object
            raise OSError("connection reset")
        super().put(key, data)


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4, 5])
def test_a_batch_failing_midway_leaves_nothing(tmp_path, fail_at):
    disk = FailingStorage(tmp_path, fail_at)
    with pytest.raises(OSError, match="connection reset"):
        store_photos(disk, [photo(1), photo(2), photo(3)])
    assert files(tmp_path) == []


def test_discard_keeps_going_when_a_delete_fails(tmp_path, caplog):
    disk = LocalDiskStorage(tmp_path)
    stored = store_photos(disk, [photo(1)])

    class Flaky(LocalDiskStorage):
        def delete(self, key: str) -> None:
            if key.endswith(".thumb.jpg"):
                raise OSError("busy")
            super().delete(key)

    discard(Flaky(tmp_path), [stored[0].thumbnail_key, stored[0].key])
    assert files(tmp_path) == [stored[0].thumbnail_key]
    assert "could not delete" in caplog.text


def test_photo_storage_uses_feedback_dir(tmp_path):
    app = Flask(__name__)
    app.config["FEEDBACK_DIR"] = str(tmp_path / "feedback")
    with app.app_context():
        disk = photo_storage()
    assert isinstance(disk, LocalDiskStorage)
    assert disk.root == tmp_path / "feedback"
    assert storage_module.MAX_KEY_LENGTH == 200


def test_the_config_has_a_feedback_dir(monkeypatch, tmp_path):
    from participation import config

    monkeypatch.setenv("PARTICIPATION_SECRET_KEY", "x")
    assert config.load()["FEEDBACK_DIR"] == str(config.INSTANCE_DIR / "feedback")
    monkeypatch.setenv("PARTICIPATION_FEEDBACK_DIR", str(tmp_path))
    assert config.load()["FEEDBACK_DIR"] == str(tmp_path)
