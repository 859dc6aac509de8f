"""Rolling-window rate limits, kept in the ``rate_logs`` table.

A limit allows at most ``max_hits`` in any ``seconds``-long span, wherever it starts: a second
code one second after the first is refused even if a minute began in between (a fixed window
would let it through). Each key's row holds the times of its latest accepted hits; one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` locks and reads it, so concurrent hits on one key
are counted one after another, never check-then-write. Keys are keyed hashes, so the table holds
no phone number or address in clear. Hits belong to the caller's transaction: a request that is
refused rolls back, so only the requests that went through are counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update

from participation.auth.models import RateLog
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

    def __post_init__(self) -> None:
        if self.max_hits < 1 or self.seconds < 1:
            raise ValueError(f"rate limit {self.name}: max_hits and seconds must be at least 1")


def hit(limits: Iterable[Limit]) -> None:
    """Count one hit on each limit; 429 ``rate_limited`` with ``Retry-After`` (the seconds
    until every limit has room again) when one of them is full. Locks are taken in the order
    of ``limits``, so callers that list them in one order cannot deadlock."""
    _take(limits, record=True)


def refuse_if_full(limits: Iterable[Limit]) -> None:
    """429 as :func:`hit` when a limit is full, without counting a hit (for limits that
    count failures only, such as wrong passwords)."""
    _take(limits, record=False)


def _take(limits: Iterable[Limit], record: bool) -> None:
    now = int(utcnow().timestamp() * 1000)
    retry_after_ms = 0
    accepted: list[tuple[str, list[int]]] = []
    for limit in limits:
        key = _key(limit)
        span = limit.seconds * 1000
        recent = [at for at in _locked_hits(key) if at > now - span]
        if len(recent) >= limit.max_hits:
            # Room again once the hit that makes the count max_hits leaves the span.
            leaving = recent[len(recent) - limit.max_hits]
            retry_after_ms = max(retry_after_ms, leaving + span - now)
        else:
            accepted.append((key, [*recent, now]))
    if retry_after_ms:
        retry_after = math.ceil(retry_after_ms / 1000)
        raise ApiError(
            429,
            "rate_limited",
            f"操作过于频繁，请{_wait(retry_after)}后再试",
            headers={"Retry-After": str(retry_after)},
        )
    for key, hits in accepted if record else ():
        db.session.execute(
            update(RateLog).where(RateLog.key == key).values(hits=" ".join(map(str, hits)))
        )


def give_back(limit: Limit) -> None:
    """Take the latest hit off ``limit`` (for a request that went through but whose effect
    did not happen, e.g. an SMS the provider refused). A conditional UPDATE: if another
    request changed the row meanwhile, nothing is given back (the safe side: a limit is never
    loosened by more than this request's hit)."""
    key = _key(limit)
    hits = db.session.scalar(select(RateLog.hits).where(RateLog.key == key))
    if not hits:
        return
    times = sorted(hits.split(), key=int)
    db.session.execute(
        update(RateLog)
        .where(RateLog.key == key, RateLog.hits == hits)
        .values(hits=" ".join(times[:-1]))
    )


def _key(limit: Limit) -> str:
    return keyed_hash(f"{limit.name}:{limit.subject}", "rate-limit")


def _locked_hits(key: str) -> list[int]:
    """The times of ``key``'s latest accepted hits, its row locked until the transaction ends
    (created empty on its first hit)."""
    stmt = (
        upsert(RateLog)
        .values(key=key, hits="")
        .on_conflict_do_update(index_elements=[RateLog.key], set_={"hits": RateLog.hits})
        .returning(RateLog.hits)
    )
    return [int(at) for at in db.session.execute(stmt).scalar_one().split()]


def _wait(seconds: int) -> str:
    return f" {seconds} 秒" if seconds < 60 else f" {math.ceil(seconds / 60)} 分钟"
