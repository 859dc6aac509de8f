"""Background jobs: rq when Redis is configured, inline otherwise (the embedded default).

Jobs take ids, reload their rows and are idempotent. Callers commit before enqueueing, so a
worker never looks for a row that is not there yet.

After a commit nothing may turn the committed write into an error answer:
:func:`after_commit` logs a failure to enqueue (Redis down, a timeout) and the work is made
up later — by the next request that schedules it, by the worker's periodic sweep
(:func:`sweeper`) or, for a vote, by its closing. When Redis fails, this process leaves it
alone for ``REDIS_RETRY_SECONDS`` so that requests do not each wait for it.

Every job kind declares its policy with :func:`task`: a timeout sized to its work and a
retry policy; ``flask worker`` (``common/worker.py``) keeps a running job's heartbeat and
sweeps the started-job registries, so the job of a worker that died is run again.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

log = logging.getLogger(__name__)

# After a failure to reach Redis, skip it in this process for this long (seconds).
REDIS_RETRY_SECONDS = 5.0
_redis_down_until = 0.0


class QueueUnavailable(Exception):
    """Redis is configured but cannot be reached (or is being left alone after a failure)."""


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
        # connection instead of failing. Short socket timeouts: an unreachable Redis costs
        # a request at most about a second, and only once per REDIS_RETRY_SECONDS.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=64,
            timeout=30,
            socket_connect_timeout=current_app.config.get("REDIS_CONNECT_TIMEOUT", 1.0),
            socket_timeout=current_app.config.get("REDIS_SOCKET_TIMEOUT", 5.0),
        )
        cached = current_app.extensions["participation.redis"] = (url, Redis(connection_pool=pool))
    return cached[1]


def redis_failed(what: str, error: BaseException) -> None:
    """Note a failure to reach Redis: logged, and Redis left alone for a while."""
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    log.warning("%s: Redis unreachable (%s); left for later", what, error)


def redis_resting() -> bool:
    """True while this process leaves Redis alone after a failure."""
    return time.monotonic() < _redis_down_until


def queue():
    from rq import Queue

    connection = redis_connection()
    if connection is None:
        return None
    return Queue(current_app.config["RQ_QUEUE"], connection=connection)


def require_queue() -> None:
    """Before writing work that must be queued: raise :class:`QueueUnavailable` unless
    Redis answers (or none is configured: the work then runs inline)."""
    connection = redis_connection()
    if connection is None:
        return
    if redis_resting():
        raise QueueUnavailable("Redis was unreachable moments ago")
    from redis.exceptions import RedisError

    try:
        connection.ping()
    except RedisError as error:
        redis_failed("queue check", error)
        raise QueueUnavailable(str(error)) from error


# Job kinds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How a job kind runs on rq: ``timeout`` seconds per run (rq stops it after that),
    ``retries`` more runs after a failure or the death of its worker, ``intervals`` seconds
    before each retry, ``on_failure`` a function ``(job, connection, type, value, traceback)``
    called in the worker when a run fails or is found abandoned (``job.retries_left`` then
    says whether it will run again)."""

    timeout: int = 300
    retries: int = 3
    intervals: tuple[int, ...] = (5, 30, 120)
    on_failure: Callable | None = None


def task(func: Callable | None = None, **policy) -> Callable:
    """Mark a job function, with its :class:`Policy` (``@task`` or ``@task(timeout=…)``).
    On a worker, which runs many jobs in one app context, its database session is closed
    when it ends; inline, the caller's session is left alone."""
    if func is None:
        return functools.partial(task, **policy)

    from rq import get_current_job

    from participation.extensions import db

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            if get_current_job() is not None:
                db.session.remove()

    wrapper.job_policy = Policy(**policy)
    return wrapper


def _enqueue_options(func: Callable, timeout: int | None) -> dict:
    from rq import Callback, Retry

    policy: Policy = getattr(func, "job_policy", None) or Policy()
    options = {"job_timeout": timeout or policy.timeout}
    if policy.retries:
        options["retry"] = Retry(max=policy.retries, interval=list(policy.intervals))
    if policy.on_failure is not None:
        options["on_failure"] = Callback(policy.on_failure)
    return options


def enqueue(
    func: Callable, *args, timeout: int | None = None, job_id: str | None = None
) -> str | None:
    """Run ``func(*args)`` on a worker, or right here when no Redis is configured. The job
    gets its kind's policy (:func:`task`); ``timeout`` overrides its timeout.

    Returns the rq job id, or None when the job ran inline. Raises Redis's errors: after a
    commit, call :func:`after_commit` instead.
    """
    q = queue()
    if q is None:
        func(*args)
        return None
    return q.enqueue(func, *args, job_id=job_id, **_enqueue_options(func, timeout)).id


def enqueue_at(due: int, func: Callable, *args) -> str | None:
    """Like :func:`enqueue`, but not before ``due`` (a Unix time in whole seconds: rq's
    scheduler, which ``flask worker`` runs, scores jobs by the second, so a fraction would
    be cut off and the job could run up to a second early). Inline, it runs at once."""
    q = queue()
    if q is None:
        func(*args)
        return None
    when = datetime.fromtimestamp(due, UTC)
    return q.enqueue_at(when, func, *args, **_enqueue_options(func, None)).id


def after_commit(what: str, func: Callable, *args, **options) -> str | None:
    """:func:`enqueue` for work after a commit: never raises. A failure (Redis unreachable,
    or the job itself when it runs inline) is logged and left to be made up later; returns
    the job id, or None."""
    from participation.extensions import db

    if queue() is not None and redis_resting():
        log.warning("%s: Redis unreachable moments ago; left for later", what)
        return None
    try:
        return enqueue(func, *args, **options)
    except Exception as error:
        from redis.exceptions import RedisError

        if isinstance(error, RedisError):
            redis_failed(what, error)
        else:
            db.session.rollback()
            log.warning("%s failed; left for later", what, exc_info=True)
        return None


def job_id(kind: str, *ids: int) -> str:
    """A job's fixed id, for jobs of which one per row may exist (``ensure_job`` finds
    them); prefixed with the queue's name, since rq's job ids are global to a Redis db."""
    return "-".join([current_app.config["RQ_QUEUE"], kind, *map(str, ids)])


LIVE_STATUSES = frozenset({"queued", "started", "scheduled", "deferred"})


def ensure_job(func: Callable, *args, job_id: str, timeout: int | None = None) -> bool:
    """Enqueue ``func(*args)`` as job ``job_id`` unless that job is queued, running or
    scheduled already (the sweep's way of making up lost work). True if enqueued."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    q = queue()
    if q is None:
        return False
    try:
        status = Job.fetch(job_id, connection=q.connection).get_status()
    except NoSuchJobError:
        status = None
    if status in LIVE_STATUSES:  # rq's JobStatus is a str enum
        return False
    enqueue(func, *args, job_id=job_id, timeout=timeout)
    return True


def report_progress(**meta) -> None:
    """Put progress into the current rq job's meta (no-op when running inline)."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        job.meta.update(meta)
        job.save_meta()


# The sweep ------------------------------------------------------------------------------------

_sweepers: list[Callable[[], None]] = []


def sweeper(func: Callable[[], None]) -> Callable[[], None]:
    """Register a function that makes up lost work (a seal job never enqueued, an import whose
    job was lost); ``flask worker`` runs every one of them periodically (:func:`sweep`)."""
    _sweepers.append(func)
    return func


def sweep() -> None:
    """Run every registered sweeper; one failing does not stop the others."""
    from participation.extensions import db

    for func in list(_sweepers):
        try:
            func()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.warning("sweep %s failed", func.__name__, exc_info=True)
