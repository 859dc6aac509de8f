"""Masking of personal data (个人信息保护法) and keyed hashing of ID numbers."""

from __future__ import annotations

import hashlib
import hmac

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


def keyed_hash(value: str, purpose: str, key: str | None = None) -> str:
    """HMAC-SHA256 of ``value``, separated by ``purpose`` so that one hash cannot stand in
    for another kind of value."""
    if key is None:
        key = current_app.config["ID_HASH_KEY"]
    message = f"{purpose}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def id_number_hash(id_number: str, key: str | None = None) -> str:
    return keyed_hash(id_number.strip().upper(), "id", key)
