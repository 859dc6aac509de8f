"""Background jobs: rq when Redis is configured, inline otherwise (the embedded default).

Jobs take ids, reload their rows and are idempotent. Callers commit before enqueueing, so a
worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

log = logging.getLogger(__name__)


def redis_connection():
    from redis import Redis

    url = current_app.config.get("REDIS_URL")
    return Redis.from_url(url) if url else None


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
