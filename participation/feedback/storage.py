"""Where the photos of tickets are kept: a small key → bytes interface (:class:`PhotoStorage`)
that object storage (OSS, COS, S3) can implement later, and its local-disk form under
``FEEDBACK_DIR`` (the embedded default).

Keys are relative, lower case paths such as ``tickets/2026/12/<uuid>.jpg`` (:func:`new_key`);
anything else — ``..``, a leading ``/``, a backslash, upper case — is refused before the disk
is touched. A write is atomic: a reader sees the whole file or none.

Photos are written before the ticket's row is committed. :func:`store_photos` deletes what it
wrote when one write fails; a caller whose commit then fails calls :func:`discard` with the
keys, so no file is left without its row.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from flask import current_app

from participation.common.schemas import SHANGHAI
from participation.common.types import utcnow
from participation.feedback.photos import ProcessedPhoto

# Segments of lower case letters, digits, "_", "." and "-", each starting with a letter or digit
# (so never "..", "." or a hidden ".tmp-" file), separated by single "/".
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*")
MAX_KEY_LENGTH = 200

log = logging.getLogger(__name__)


class PhotoNotFound(LookupError):
    """No photo is stored under this key."""

    def __init__(self, key: str):
        super().__init__(f"no photo stored under {key!r}")
        self.key = key


class InvalidKey(ValueError):
    """A key outside the allowed shape (path traversal, absolute path, odd characters)."""


@runtime_checkable
class PhotoStorage(Protocol):
    """Bytes by key. ``put`` replaces atomically, ``get`` raises :class:`PhotoNotFound`,
    ``delete`` of a missing key does nothing. Keys are checked with :func:`check_key`."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def check_key(key: str) -> str:
    """``key`` itself if it is a safe relative key, else :class:`InvalidKey`."""
    if (
        not isinstance(key, str)
        or len(key) > MAX_KEY_LENGTH
        or not KEY_PATTERN.fullmatch(key)
        or ".." in key.split("/")
    ):
        raise InvalidKey(f"invalid storage key: {key!r}")
    return key


def new_key(prefix: str = "tickets", at: datetime | None = None, suffix: str = ".jpg") -> str:
    """A fresh key ``<prefix>/<year>/<month>/<uuid><suffix>``, year and month in Shanghai
    time (default: now)."""
    local = (at or utcnow()).astimezone(SHANGHAI)
    return check_key(f"{prefix}/{local:%Y}/{local:%m}/{uuid.uuid4().hex}{suffix}")


class LocalDiskStorage:
    """Files under ``root``, one per key; folders are made as needed."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file for ``key`` (checked, so always inside ``root``)."""
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes) -> None:
        """Write to a temporary file in the same folder, flush it to disk, then rename it
        over the key's file (``os.replace`` is atomic on one file system)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PhotoNotFound(key) from None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self.path(key).unlink()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def photo_storage() -> PhotoStorage:
    """The app's photo storage: the local disk under ``FEEDBACK_DIR``."""
    return LocalDiskStorage(Path(current_app.config["FEEDBACK_DIR"]))


@dataclass(frozen=True)
class StoredPhoto:
    """Where one processed photo went: the image and its thumbnail."""

    key: str
    thumbnail_key: str

    @property
    def keys(self) -> tuple[str, str]:
        return (self.key, self.thumbnail_key)


def store_photos(
    storage: PhotoStorage,
    photos: Sequence[ProcessedPhoto],
    prefix: str = "tickets",
    at: datetime | None = None,
) -> list[StoredPhoto]:
    """Write each photo and its thumbnail under fresh keys (``<uuid>.jpg`` and
    ``<uuid>.thumb.jpg``) and return them in order. If any write fails, what this call
    already wrote is deleted and the error is raised again: all or nothing."""
    stored: list[StoredPhoto] = []
    written: list[str] = []
    try:
        for photo in photos:
            key = new_key(prefix, at)
            thumbnail_key = key.removesuffix(".jpg") + ".thumb.jpg"
            for target, data in ((key, photo.image), (thumbnail_key, photo.thumbnail)):
                written.append(target)  # before the write: a failed put may leave a part
                storage.put(target, data)
            stored.append(StoredPhoto(key, thumbnail_key))
    except BaseException:
        discard(storage, written)
        raise
    return stored


def discard(storage: PhotoStorage, keys: Iterable[str | StoredPhoto]) -> None:
    """Delete stored photos (keys or :class:`StoredPhoto`), e.g. after the commit that should
    have recorded them failed. Errors are logged, not raised: this runs while handling
    another."""
    for item in keys:
        for key in item.keys if isinstance(item, StoredPhoto) else (item,):
            try:
                storage.delete(key)
            except Exception:
                log.exception("could not delete the orphaned photo %s", key)
