"""Background jobs: rq when Redis is configured, inline otherwise (the embedded default).

Jobs take ids, reload their rows and are idempotent. Callers commit before enqueueing, so a
worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app

log = logging.getLogger(__name__)


def redis_connection():
    """The app's Redis client (one per app and URL, with its connection pool), or None."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    cached = current_app.extensions.get("participation.redis")
    if cached is None or cached[0] != url:
        from redis import BlockingConnectionPool, Redis

        # A new client per call would open a connection and read package metadata each
        # time: about 1.5 ms on the cast path. Threads beyond the pool's size wait for a
        # connection instead of failing.
        pool = BlockingConnectionPool.from_url(url, max_connections=64, timeout=30)
        cached = current_app.extensions["participation.redis"] = (url, Redis(connection_pool=pool))
    return cached[1]


def queue():
    from rq import Queue

    connection = redis_connection()
    if connection is None:
        return None
    return Queue(current_app.config["RQ_QUEUE"], connection=connection)


def enqueue(func: Callable, *args, job_timeout: int = 1800) -> str | None:
    """Run ``func(*args)`` on a worker, or right here when no Redis is configured.

    Returns the rq job id, or None when the job ran inline.
    """
    q = queue()
    if q is None:
        func(*args)
        return None
    job = q.enqueue(func, *args, job_timeout=job_timeout)
    return job.id


def enqueue_at(due: int, func: Callable, *args) -> str | None:
    """Like :func:`enqueue`, but not before ``due`` (a Unix time in whole seconds: rq's
    scheduler, which ``flask worker`` runs, scores jobs by the second, so a fraction would
    be cut off and the job could run up to a second early). Inline, it runs at once."""
    q = queue()
    if q is None:
        func(*args)
        return None
    return q.enqueue_at(datetime.fromtimestamp(due, UTC), func, *args).id


def report_progress(**meta) -> None:
    """Put progress into the current rq job's meta (no-op when running inline)."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        job.meta.update(meta)
        job.save_meta()


def task(func: Callable) -> Callable:
    """Mark a job function. On a worker, which runs many jobs in one app context, its
    database session is closed when it ends; inline, the caller's session is left alone."""
    import functools

    from rq import get_current_job

    from participation.extensions import db

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            if get_current_job() is not None:
                db.session.remove()

    return wrapper
