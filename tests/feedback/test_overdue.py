"""The ticket sweep through Redis and an rq worker on PostgreSQL: exactly the late tickets are
marked (each lapse once), recorded and notified; a second run changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.auth.models import Notification, SubjectKind
from participation.common.sql import db_now
from participation.extensions import db as _db
from participation.feedback import tasks
from participation.feedback.models import (
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from participation.feedback.services import ensure_categories

PAST, FUTURE = timedelta(hours=-1), timedelta(days=3)


@pytest.fixture
def rq_queue(app, redis_url, monkeypatch):
    from redis import Redis
    from rq import Queue

    name = f"test-feedback-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", name)
    queue = Queue(name, connection=Redis.from_url(redis_url))
    yield queue
    queue.delete(delete_jobs=True)


def _run(queue) -> dict:
    from rq import SimpleWorker
    from rq.job import Job

    from participation.common.jobs import enqueue

    job_id = enqueue(tasks.sweep_tickets)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job = Job.fetch(job_id, connection=queue.connection)
    assert job.is_finished, job.latest_result()
    return job.return_value()


@pytest.mark.postgres
@pytest.mark.redis
def test_the_sweep_marks_exactly_the_late_tickets_once(postgres_url, works, rq_queue):
    district_id = works.compound.community.street.district_id
    ensure_categories(district_id)
    category_id = _db.session.scalar(
        select(func.min(TicketCategory.id)).where(TicketCategory.district_id == district_id)
    )
    now = db_now()
    cases = {  # name: (status, acknowledge by, resolve by): from now
        "late_ack": (TicketStatus.SUBMITTED, PAST, FUTURE),
        "in_time": (TicketStatus.SUBMITTED, FUTURE, FUTURE),
        "late_resolve": (TicketStatus.ACKNOWLEDGED, PAST, PAST),
        "working": (TicketStatus.IN_PROGRESS, PAST, FUTURE),
        "both_late": (TicketStatus.SUBMITTED, PAST, PAST),
        "resolved": (TicketStatus.RESOLVED, PAST, PAST),
        "closed": (TicketStatus.CLOSED, PAST, PAST),
        "rejected": (TicketStatus.REJECTED, PAST, PAST),
    }
    tickets = {}
    for name, (status, ack, resolve) in cases.items():
        ticket = Ticket(
            compound_id=works.compound.id,
            kind=TicketKind.COMPLAINT,
            category_id=category_id,
            description=name,
            reporter_id=works.owner_id,
            status=status,
            handler_id=works.contractor_id if name == "late_resolve" else None,
            ack_due_at=now + ack,
            resolve_due_at=now + resolve,
            confirm_due_at=now + FUTURE if status is TicketStatus.RESOLVED else None,
        )
        _db.session.add(ticket)
        tickets[name] = ticket
    _db.session.commit()
    ids = {name: ticket.id for name, ticket in tickets.items()}

    assert _run(rq_queue) == {"overdue": 4, "closed": 0}
    flags = {
        name: (
            _db.session.get(Ticket, tid).ack_overdue_at is not None,
            _db.session.get(Ticket, tid).resolve_overdue_at is not None,
        )
        for name, tid in ids.items()
    }
    assert flags == {
        "late_ack": (True, False),
        "in_time": (False, False),
        "late_resolve": (False, True),
        "working": (False, False),
        "both_late": (True, True),
        "resolved": (False, False),
        "closed": (False, False),
        "rejected": (False, False),
    }

    def recorded():
        return sorted(
            (event.ticket_id, event.note)
            for event in _db.session.scalars(
                select(TicketEvent).where(TicketEvent.action == "overdue")
            )
        )

    def notified():
        return sorted(
            (n.recipient_id, n.title)
            for n in _db.session.scalars(
                select(Notification).where(
                    Notification.kind == "ticket_overdue",
                    Notification.recipient_kind == SubjectKind.STAFF,
                )
            )
        )

    events, notes = recorded(), notified()
    assert [tid for tid, _ in events] == sorted(
        [ids["late_ack"], ids["late_resolve"], ids["both_late"], ids["both_late"]]
    )
    # The contractor handles one of them; the committee hears of all four lapses.
    assert [r for r, _ in notes].count(works.contractor_id) == 1
    assert [r for r, _ in notes].count(works.committee_id) == 4

    assert _run(rq_queue) == {"overdue": 0, "closed": 0}  # the second run changes nothing
    assert recorded() == events and notified() == notes
