"""Masking of personal data (个人信息保护法) and keyed hashing of ID numbers."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; organisations keep their first and last character."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# A run of digits long enough to be a phone or an ID number (an ID may end in X).
_LONG_NUMBER = re.compile(r"\d{7,}[\dXx]*")


def mask_numbers(text: str) -> str:
    """Mask what could be a phone or an ID number in free text that goes public:
    ``电话13812345678`` → ``电话138******78``."""
    return _LONG_NUMBER.sub(lambda m: m[0][:3] + "*" * (len(m[0]) - 5) + m[0][-2:], text)


def mask_public_text(text: str, names: set[str]) -> str:
    """Free text that goes public (an objection, an answer): the ``names`` it contains
    masked (``徐丽华`` → ``徐**``, longest first) and long numbers masked."""
    for name in sorted((n for n in names if len(n) > 1 and n in text), key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return mask_numbers(text)


def keyed_hash(value: str, purpose: str, key: str | None = None) -> str:
    """HMAC-SHA256 of ``value``, separated by ``purpose`` so that one hash cannot stand in
    for another kind of value."""
    if key is None:
        key = current_app.config["ID_HASH_KEY"]
    message = f"{purpose}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def id_number_hash(id_number: str, key: str | None = None) -> str:
    return keyed_hash(id_number.strip().upper(), "id", key)
