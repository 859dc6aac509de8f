"""Background jobs of the roster: importing large roster files (rq; inline without Redis)."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from functools import partial

from sqlalchemy import select, text

from participation.common.jobs import (
    after_commit,
    ensure_job,
    job_id,
    report_progress,
    sweeper,
    task,
)
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster import importer
from participation.roster.models import ImportStatus, RosterImport

log = logging.getLogger(__name__)

# A run's timeout: a base plus a generous time per row (checking and writing take well under
# a millisecond a row; bench/import_roster.py), so a stuck run is stopped and retried.
IMPORT_TIMEOUT_BASE = 300
IMPORT_TIMEOUT_PER_ROW = 0.02
# The first retry at once (its worker died: another takes it now, without waiting for rq's
# scheduler, whose lock the dead worker may have held), the second after 30 s.
# pg_advisory_lock(IMPORT_LOCK_NAMESPACE, import_id): one run of an import at a time.
IMPORT_LOCK_NAMESPACE = int.from_bytes(b"rimp")
# Imports younger than this are left to the request that queued them.
SWEEP_GRACE = timedelta(seconds=60)


def import_timeout(rows: int) -> int:
    return int(IMPORT_TIMEOUT_BASE + IMPORT_TIMEOUT_PER_ROW * rows)


def enqueue_import(roster_import: RosterImport) -> str | None:
    """After the commit of a queued import: its job id, or None (inline, or Redis unreachable
    since the route checked it: the worker's sweep queues it later)."""
    return after_commit(
        f"roster import {roster_import.id}",
        run_roster_import,
        roster_import.id,
        job_id=job_id("roster-import", roster_import.id),
        timeout=import_timeout(roster_import.rows_total),
    )


def import_job_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback of an import's job, in the worker that saw the run fail or found
    it abandoned (its worker died): the import's row says it is being retried, or that it
    failed once no retry is left. A finished import is left alone."""
    (import_id,) = job.args
    try:
        roster_import = db.session.get(RosterImport, import_id)
        if roster_import is None or roster_import.status in importer.FINISHED:
            return
        if job.retries_left:
            interrupted = exc_type is not None and exc_type.__name__ == "AbandonedJobError"
            cause = "导入作业中断（处理它的后台进程退出）" if interrupted else "导入时出错"
            roster_import.status = ImportStatus.QUEUED
            roster_import.rows_done = 0
            roster_import.report = importer.retry_report(roster_import, f"{cause}，正在重试")
            log.warning("roster import %s: %s; retrying", import_id, exc_type.__name__)
        else:
            importer.mark_failed(roster_import)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("roster import %s: recording the failure of its job failed", import_id)
    finally:
        db.session.remove()


@task(timeout=IMPORT_TIMEOUT_BASE, retries=2, intervals=(0, 30), on_failure=import_job_failed)
def run_roster_import(import_id: int) -> None:
    """Run a queued roster import.

    Idempotent: a finished import (done, rejected or failed) is left alone, and an import
    interrupted while running starts over, since nothing of it was committed. On PostgreSQL
    a second run of the same import waits for the first (a session advisory lock, released
    by the server if the first one's worker dies), then finds it finished. Progress goes to
    ``job.meta`` and to the import's row, committed while the rows are checked; the roster
    itself is written in one transaction at the end. On rq a failed run is retried and the
    row says so (:func:`import_job_failed`); inline, it is marked failed at once.
    """
    from rq import get_current_job

    with _one_run_at_a_time(import_id):
        roster_import = db.session.get(RosterImport, import_id)
        if roster_import is None or roster_import.status in importer.FINISHED:
            return
        content = roster_import.content
        roster_import.status = ImportStatus.RUNNING
        roster_import.rows_done = 0
        db.session.commit()
        try:
            importer.run_import(
                roster_import, content, on_progress=partial(_progress, roster_import)
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            if get_current_job() is None:
                log.warning("roster import %s failed; marked as failed", import_id)
                importer.mark_failed(db.session.get(RosterImport, import_id))
                db.session.commit()
            raise


@contextlib.contextmanager
def _one_run_at_a_time(import_id: int):
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    params = {"ns": IMPORT_LOCK_NAMESPACE, "id": import_id}
    with db.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(CAST(:ns AS integer), :id)"), params)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(CAST(:ns AS integer), :id)"), params)
            connection.commit()


def _progress(roster_import: RosterImport, rows_done: int) -> None:
    roster_import.rows_done = rows_done
    report_progress(rows_done=rows_done, rows_total=roster_import.rows_total)
    db.session.commit()


@sweeper
def sweep_imports() -> None:
    """Queue again the imports left queued or running without a live job (the enqueue after
    their commit failed, or their job was lost)."""
    waiting = select(RosterImport.id, RosterImport.rows_total).where(
        RosterImport.status.in_([ImportStatus.QUEUED, ImportStatus.RUNNING]),
        RosterImport.created_at <= utcnow() - SWEEP_GRACE,
    )
    for import_id, rows in db.session.execute(waiting).all():
        ensure_job(
            run_roster_import,
            import_id,
            job_id=job_id("roster-import", import_id),
            timeout=import_timeout(rows),
        )
