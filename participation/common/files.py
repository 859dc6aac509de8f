"""Uploaded documents (plans, notices' attachments, photos of paper ballots): PDF, JPEG or PNG,
recognised by their content (never by their name), at most ``MAX_UPLOAD_BYTES``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

from participation.common.errors import ApiError

MAX_UPLOAD_BYTES = 10 * 2**20
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
DOWNLOAD_DOC = {
    "200": {
        "description": "the file as uploaded",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in SIGNATURES.values()
        },
    }
}


@dataclass(frozen=True)
class Document:
    filename: str
    content_type: str
    content: bytes
    sha256: str


def read_upload(file) -> bytes:
    """The upload's bytes, one more than the limit at most (enough to refuse it)."""
    return file.read(MAX_UPLOAD_BYTES + 1)


def check_document(filename: str, content: bytes) -> Document:
    """413 ``file_too_large`` over 10 MB, 415 ``unsupported_file_type`` unless PDF, JPEG or
    PNG; the name reduced to its last path part (a client may send ``C:\\dir\\plan.pdf``)."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "file_too_large", "文件过大：附件不能超过 10 MB")
    content_type = next(
        (kind for magic, kind in SIGNATURES.items() if content.startswith(magic)), None
    )
    if content_type is None:
        raise ApiError(415, "unsupported_file_type", "只能上传 PDF、JPEG 或 PNG 文件")
    return Document(
        filename=PurePath(filename.replace("\\", "/")).name[-200:] or "附件",
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )
