"""Jobs of the complaints: marking overdue tickets and closing resolutions the reporter left
unanswered. ``flask worker``'s sweep enqueues one at a time (a fixed job id); ``flask
feedback sweep`` runs it at once. Run twice, the second run changes nothing."""

from __future__ import annotations

import logging

from participation.common.jobs import ensure_job, job_id, sweeper, task
from participation.common.sql import db_now
from participation.extensions import db
from participation.feedback import services

log = logging.getLogger(__name__)


@task(timeout=600, retries=3, intervals=(5, 30, 120))
def sweep_tickets() -> dict:
    """Mark the tickets that became overdue and close unconfirmed resolutions."""
    overdue = services.mark_overdue()
    closed = services.close_unconfirmed()
    db.session.commit()
    if overdue or closed:
        log.info("tickets: %d marked overdue, %d closed unconfirmed", overdue, closed)
    return {"overdue": overdue, "closed": closed}


@sweeper
def schedule_ticket_sweep() -> None:
    """A sweep job when some ticket is due to be marked or closed (one at a time)."""
    if services.sweep_due(db_now()):
        ensure_job(sweep_tickets, job_id=job_id("ticket-sweep"))
