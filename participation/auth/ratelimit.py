"""Fixed-window rate limits, counted in the ``rate_counters`` table.

One hit is one ``INSERT … ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING
count``: atomic under concurrency, no check-then-write. Keys are keyed hashes, so the table
holds no phone number or address in clear. Hits belong to the caller's transaction: a request
that is refused rolls back, so only the requests that went through are counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete

from participation.auth.models import RateCounter
from participation.common.errors import ApiError
from participation.common.privacy import keyed_hash
from participation.common.sql import upsert
from participation.common.types import utcnow
from participation.extensions import db


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` per ``seconds`` for ``subject`` (a phone number, an address)
    under the name ``name`` (e.g. ``code-phone-minute``)."""

    name: str
    subject: str
    max_hits: int
    seconds: int


def hit(limits: Iterable[Limit]) -> None:
    """Count one hit on each limit; 429 ``rate_limited`` with ``Retry-After`` when one of them
    is exceeded (the caller's rollback then takes the hits back)."""
    now = utcnow().timestamp()
    retry_after = 0
    for limit in limits:
        window = int(now // limit.seconds)
        key = keyed_hash(f"{limit.name}:{limit.subject}", "rate-limit")
        if _count(key, window) > limit.max_hits:
            retry_after = max(retry_after, math.ceil((window + 1) * limit.seconds - now))
    if retry_after:
        raise ApiError(
            429,
            "rate_limited",
            f"操作过于频繁，请{_wait(retry_after)}后再试",
            headers={"Retry-After": str(retry_after)},
        )


def _count(key: str, window: int) -> int:
    stmt = (
        upsert(RateCounter)
        .values(key=key, window=window, count=1)
        .on_conflict_do_update(
            index_elements=[RateCounter.key, RateCounter.window],
            set_={"count": RateCounter.count + 1},
        )
        .returning(RateCounter.count)
    )
    count = db.session.execute(stmt).scalar_one()
    # Earlier windows of this key are over: drop them so the table stays small.
    db.session.execute(
        delete(RateCounter).where(RateCounter.key == key, RateCounter.window < window)
    )
    return count


def _wait(seconds: int) -> str:
    return f" {seconds} 秒" if seconds < 60 else f" {math.ceil(seconds / 60)} 分钟"
