"""Background jobs of the roster: importing large roster files (rq; inline without Redis)."""

from __future__ import annotations

import logging
from functools import partial

from participation.common.jobs import report_progress, task
from participation.extensions import db
from participation.roster import importer
from participation.roster.models import ImportStatus, RosterImport

log = logging.getLogger(__name__)


@task
def run_roster_import(import_id: int) -> None:
    """Run a queued roster import.

    Idempotent: a finished import (done, rejected or failed) is left alone, and an import
    interrupted while running starts over, since nothing of it was committed. Progress goes
    to ``job.meta`` and to the import's row, committed while the rows are checked; the
    roster itself is written in one transaction at the end.
    """
    roster_import = db.session.get(RosterImport, import_id)
    if roster_import is None or roster_import.status in importer.FINISHED:
        return
    content = roster_import.content
    roster_import.status = ImportStatus.RUNNING
    db.session.commit()
    try:
        importer.run_import(roster_import, content, on_progress=partial(_progress, roster_import))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("roster import %s failed; marked as failed", import_id)
        importer.mark_failed(db.session.get(RosterImport, import_id))
        db.session.commit()
        raise


def _progress(roster_import: RosterImport, rows_done: int) -> None:
    roster_import.rows_done = rows_done
    report_progress(rows_done=rows_done, rows_total=roster_import.rows_total)
    db.session.commit()
