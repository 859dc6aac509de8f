"""Reminders to non-voters and the closing notification, through the pluggable notifier:
inline (no Redis) and through a real rq worker."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Account, Role
from participation.common.notify import TestNotifier
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Owner
from participation.votes import tasks
from participation.votes.casting import owned_persons
from participation.votes.models import (
    Channel,
    Choice,
    Matter,
    Vote,
    VoteEvent,
    VoteReminder,
    VoteStatus,
)
from participation.votes.services import record_cast


@pytest.fixture
def outbox(app, monkeypatch):
    notifier = TestNotifier()
    monkeypatch.setitem(app.extensions, "notifier", notifier)
    return notifier.outbox


@pytest.fixture
def staff(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


def cast(vote, account, channel=Channel.ONLINE, **kwargs):
    (person,) = owned_persons(vote.id, account.id)
    return record_cast(vote.id, person.id, Choice.AGREE, channel, **kwargs)


@pytest.fixture
def building_2(sample_compound, make_vote, make_staff, make_account, owner_account):
    """An open elevator vote on 2栋 (22 persons). Four owners have an account: one voted
    online, one on paper (entered by staff), two have not voted. A fifth owner, without an
    account, voted through a proxy; the other owners have no account."""
    vote = make_vote(sample_compound, buildings=("2",), matter=Matter.ELEVATOR, open=True)
    accounts = {
        label: owner_account(sample_compound, label)
        for label in ("2栋1单元101", "2栋1单元201", "2栋1单元301", "2栋2单元101", "2栋2单元201")
    }
    online, paper, _, _, proxied = accounts.values()
    cast(vote, online, account_id=online.id)
    staff = make_staff(Role.COMPOUND, sample_compound.id)
    cast(vote, paper, Channel.PAPER, staff_id=staff.id)
    proxy = make_account()
    cast(vote, proxied, Channel.PROXY, account_id=proxy.id)
    # the proxied owner's account is unlinked again: only the proxy's account remains
    _db.session.execute(
        sa.update(Owner).where(Owner.account_id == proxied.id).values(account_id=None)
    )
    _db.session.flush()
    return vote, accounts, proxy


def reminders_url(vote: Vote) -> str:
    return f"/api/v1/votes/{vote.id}/reminders"


def waiting_ids(accounts) -> list[int]:
    return sorted(accounts[label].id for label in ("2栋1单元301", "2栋2单元101"))


# Reminders --------------------------------------------------------------------------------


def test_reminder_reaches_only_owners_who_have_not_voted(client, staff, building_2, outbox):
    vote, accounts, _ = building_2
    response = client.post(reminders_url(vote), headers=staff)
    assert response.status_code == 202, response.json
    assert response.json["job_id"] is None  # no Redis: sent right away
    reminder = response.json["reminder"]
    assert (reminder["status"], reminder["notified_count"]) == ("done", 2)
    [(account_ids, message, kind)] = outbox
    assert (account_ids, kind) == (waiting_ids(accounts), "vote_reminder")
    assert "测试表决" in message and "尚未投票" in message

    listed = client.get(reminders_url(vote), headers=staff)
    assert listed.status_code == 200
    assert [(r["id"], r["notified_count"], r["status"]) for r in listed.json] == [
        (reminder["id"], 2, "done")
    ]


def test_co_owner_of_a_voted_dwelling_is_not_reminded(
    client, make_compound, make_dwelling, make_account, make_vote, make_staff, sign_in, outbox
):
    compound = make_compound()
    wife, husband, neighbour = (
        make_dwelling.owner(compound, name) for name in ("王芳", "李强", "赵敏")
    )
    make_dwelling(compound, room="101", owners=[wife, husband])
    make_dwelling(compound, room="102", owners=[neighbour])
    for owner in (wife, husband, neighbour):
        owner.account_id = make_account().id
    _db.session.flush()
    vote = make_vote(compound, open=True)
    cast(vote, _db.session.get(Account, wife.account_id), account_id=wife.account_id)
    headers = sign_in(make_staff(Role.COMPOUND, compound.id))
    assert client.post(reminders_url(vote), headers=headers).status_code == 202
    assert [ids for ids, _, _ in outbox] == [[neighbour.account_id]]


def test_reminder_runs_once_per_id(client, staff, building_2, outbox):
    vote, accounts, _ = building_2
    reminder_id = client.post(reminders_url(vote), headers=staff).json["reminder"]["id"]
    tasks.remind_non_voters(vote.id, reminder_id)
    tasks.remind_non_voters(vote.id, reminder_id)
    assert len(outbox) == 1
    assert _db.session.get(VoteReminder, reminder_id).notified_count == 2
    # a second reminder is a new one: it reaches whoever still has not voted
    assert client.post(reminders_url(vote), headers=staff).status_code == 202
    assert [ids for ids, _, _ in outbox] == [waiting_ids(accounts)] * 2


def test_reminder_goes_in_batches_and_resumes_after_its_cursor(
    staff, building_2, outbox, monkeypatch, make_staff, sample_compound
):
    vote, accounts, _ = building_2
    monkeypatch.setattr(tasks, "NOTIFY_BATCH", 1)
    first, second = waiting_ids(accounts)
    interrupted = VoteReminder(
        vote_id=vote.id,
        created_by_id=make_staff(Role.COMPOUND, sample_compound.id).id,
        notified_count=1,
        last_account_id=first,  # a worker sent the first batch, then died
    )
    _db.session.add(interrupted)
    _db.session.commit()
    tasks.remind_non_voters(vote.id, interrupted.id)
    assert [ids for ids, _, _ in outbox] == [[second]]
    reminder = _db.session.get(VoteReminder, interrupted.id)
    assert (reminder.notified_count, reminder.last_account_id, reminder.status) == (
        2,
        second,
        "done",
    )


def test_reminder_stops_when_voting_is_over(building_2, outbox, make_staff, sample_compound):
    vote, _, _ = building_2
    reminder = tasks.start_reminder(vote, make_staff(Role.COMPOUND, sample_compound.id).id)
    vote.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    tasks.remind_non_voters(vote.id, reminder.id)
    assert outbox == []
    reminder = _db.session.get(VoteReminder, reminder.id)
    assert (reminder.status, reminder.sent_count, reminder.notified_count) == ("done", 0, 0)


def test_reminders_only_in_the_voting_period_and_by_staff(
    client, staff, sample_compound, make_vote, owner_account, sign_in, outbox
):
    draft = make_vote(sample_compound, buildings=("2",))
    closed = make_vote(sample_compound, buildings=("2",), open=True)
    closed.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.flush()
    for vote in (draft, closed):
        response = client.post(reminders_url(vote), headers=staff)
        assert (response.status_code, response.json["code"]) == (409, "vote_not_accepting")
        assert "投票期" in response.json["message"]
    open_vote = make_vote(sample_compound, buildings=("2",), open=True)
    resident = sign_in(owner_account(sample_compound, "2栋1单元101"))
    for method in ("get", "post"):
        response = client.open(reminders_url(open_vote), method=method, headers=resident)
        assert (response.status_code, response.json["code"]) == (403, "staff_only")
    assert _db.session.scalar(sa.select(sa.func.count(VoteReminder.id))) == 0
    assert outbox == []


# After closing ----------------------------------------------------------------------------


def closed_notified(vote: Vote) -> int:
    return _db.session.scalar(
        sa.select(sa.func.count(VoteEvent.id)).filter_by(vote_id=vote.id, kind="closed_notified")
    )


def test_after_close_closes_and_tells_owners_and_participants_once(building_2, outbox):
    vote, accounts, proxy = building_2
    vote.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    assert tasks.enqueue_after_close(vote.id) is None  # inline
    vote = _db.session.get(Vote, vote.id)
    assert vote.status is VoteStatus.CLOSED and vote.result is not None
    linked = {a.id for label, a in accounts.items() if label != "2栋2单元201"}
    [(account_ids, message, kind)] = outbox
    assert (set(account_ids), kind) == (linked | {proxy.id}, "vote_result")
    assert account_ids == sorted(account_ids)
    assert "测试表决" in message and "结果" in message
    tasks.after_close(vote.id)
    assert len(outbox) == 1 and closed_notified(vote) == 1


def test_after_close_leaves_an_open_vote_alone(building_2, outbox):
    vote, _, _ = building_2
    tasks.after_close(vote.id)
    assert _db.session.get(Vote, vote.id).status is VoteStatus.OPEN
    assert outbox == [] and closed_notified(vote) == 0


# Through Redis and a worker ---------------------------------------------------------------


@pytest.fixture
def rq_queue(app, redis_url, monkeypatch):
    from redis import Redis
    from rq import Queue

    name = f"test-votes-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", name)
    queue = Queue(name, connection=Redis.from_url(redis_url))
    yield queue
    queue.delete(delete_jobs=True)


def run_worker(queue):
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection).work(burst=True)


@pytest.mark.redis
def test_reminder_through_rq_reports_progress(
    client, staff, building_2, outbox, rq_queue, monkeypatch
):
    from rq.job import Job

    vote, accounts, _ = building_2
    vote_id, waiting = vote.id, waiting_ids(accounts)
    monkeypatch.setattr(tasks, "NOTIFY_BATCH", 1)
    response = client.post(reminders_url(vote), headers=staff)
    assert response.status_code == 202
    job_id = response.json["job_id"]
    assert job_id is not None and rq_queue.job_ids == [job_id]
    assert response.json["reminder"]["status"] == "queued"
    assert outbox == []

    run_worker(rq_queue)
    job = Job.fetch(job_id, connection=rq_queue.connection)
    assert job.is_finished
    assert (job.meta["status"], job.meta["notified"]) == ("done", 2)
    assert [ids for ids, _, _ in outbox] == [[i] for i in waiting]
    vote = _db.session.get(Vote, vote_id)  # the worker closed the session
    [listed] = client.get(reminders_url(vote), headers=staff).json
    assert (listed["status"], listed["notified_count"]) == ("done", 2)


@pytest.mark.redis
def test_after_close_through_rq(building_2, outbox, rq_queue):
    from rq.job import Job

    vote, accounts, _ = building_2
    vote_id = vote.id
    vote.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    job_ids = [tasks.enqueue_after_close(vote_id), tasks.enqueue_after_close(vote_id)]
    run_worker(rq_queue)
    assert len(outbox) == 1  # two jobs, one notification
    [(account_ids, _, kind)] = outbox
    assert kind == "vote_result" and len(account_ids) == len(accounts)  # 4 owners + the proxy
    assert Job.fetch(job_ids[0], connection=rq_queue.connection).meta == {
        "sent": len(accounts),
        "total": len(accounts),
    }
    vote = _db.session.get(Vote, vote_id)
    assert vote.status is VoteStatus.CLOSED and closed_notified(vote) == 1


# The notifier -----------------------------------------------------------------------------


def test_console_notifier_logs_how_many_and_what_kind_only(caplog):
    from participation.common.notify import ConsoleNotifier

    with caplog.at_level("INFO", logger="participation.common.notify"):
        ConsoleNotifier().notify([3, 5, 8], "「2栋加装电梯」正在表决，13812345678", "vote_reminder")
    assert caplog.messages == ["notify 3 accounts: vote_reminder"]


def test_unknown_notifier_is_refused_at_start():
    from participation import create_app
    from participation.common import notify

    app = create_app({"NOTIFIER": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert isinstance(app.extensions["notifier"], TestNotifier)
    app.config["NOTIFIER"] = "carrier-pigeon"
    with pytest.raises(RuntimeError, match="NOTIFIER"):
        notify.init_app(app)
