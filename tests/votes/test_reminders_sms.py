"""Reminders by SMS to the roster's phones (入户发动): who gets one, one a phone a day, the
quiet hours, provider failures; and two jobs at once on PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth import reminders
from participation.auth.models import Role
from participation.auth.reminders import ReminderSms
from participation.auth.sms import SmsFailed, TestSender
from participation.common.jobs import Policy
from participation.common.notify import TestNotifier
from participation.extensions import db as _db
from participation.notices.models import ShortLink
from participation.roster.models import Compound
from participation.votes import tasks
from participation.votes.models import (
    Channel,
    Choice,
    Vote,
    VotePersonOwner,
    VoteReminder,
)
from participation.votes.services import record_cast

BASE = "https://canyu.example.cn"
# Owners who have not taken part, with a phone: the co-owners of 2栋1单元101 (never signed
# in) and the owner of 10栋1单元101 (signed in, not voted).
WAITING = {"13800000001", "13800000002", "13800000006"}


@pytest.fixture
def texts(app, monkeypatch):
    """The SMS sent, as the test sender records them: (phone, template, params)."""
    sender = TestSender()
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)
    return sender.notices


@pytest.fixture
def inbox(app, monkeypatch):
    notifier = TestNotifier()
    monkeypatch.setitem(app.extensions, "notifier", notifier)
    return notifier.outbox


def person_of(vote, owner) -> int:
    return _db.session.scalar(
        sa.select(VotePersonOwner.person_id).filter_by(vote_id=vote.id, owner_id=owner.id)
    )


@pytest.fixture
def campaign(make_compound, make_dwelling, make_account, make_vote, make_staff, sign_in):
    """An open whole-compound vote: in 2栋1单元, 101 co-owned by two owners who never signed
    in, 201 voted online, 301 voted on paper, 102 (no phone on the roster) and 202 abstained;
    in 10栋1单元, 101 signed in and has not voted, 102 voted."""
    compound = make_compound("幸福小区")
    owner = make_dwelling.owner
    wife, husband = owner(compound, "王芳", "13800000001"), owner(compound, "李强", "13800000002")
    online, paper = owner(compound, "赵敏", "13800000003"), owner(compound, "孙丽", "13800000004")
    no_phone, abstains = owner(compound, "周杰"), owner(compound, "吴刚", "13800000005")
    waiting, voted = owner(compound, "郑华", "13800000006"), owner(compound, "钱进", "13800000007")
    for room, floor, owners in (
        ("101", 1, [wife, husband]),
        ("201", 2, [online]),
        ("301", 3, [paper]),
        ("102", 1, [no_phone]),
        ("202", 2, [abstains]),
    ):
        make_dwelling(compound, "2", "1", room, floor=floor, owners=owners)
    make_dwelling(compound, "10", "1", "101", owners=[waiting])
    make_dwelling(compound, "10", "1", "102", owners=[voted])
    for o in (online, waiting, abstains):
        o.account_id = make_account().id
    _db.session.flush()
    vote = make_vote(compound, open=True, title="加装电梯")
    staff = make_staff(Role.COMPOUND, compound.id)
    record_cast(vote.id, person_of(vote, online), Choice.AGREE, Channel.ONLINE,
                account_id=online.account_id)  # fmt: skip
    record_cast(vote.id, person_of(vote, paper), Choice.DISAGREE, Channel.PAPER, staff_id=staff.id)
    record_cast(vote.id, person_of(vote, abstains), Choice.ABSTAIN, Channel.ONLINE,
                account_id=abstains.account_id)  # fmt: skip
    record_cast(vote.id, person_of(vote, voted), Choice.AGREE, Channel.PAPER, staff_id=staff.id)
    _db.session.flush()
    return vote, sign_in(staff), waiting


def url(vote: Vote) -> str:
    return f"/api/v1/votes/{vote.id}/reminders"


def counts(reminder: dict) -> tuple:
    keys = ("status", "sent_count", "skipped_count", "failed_count")
    return tuple(reminder[k] for k in keys)


def test_sms_reaches_every_roster_phone_of_those_who_have_not_taken_part(
    client, campaign, texts, inbox
):
    vote, staff, signed_in = campaign
    response = client.post(url(vote), headers=staff)
    assert response.status_code == 202, response.json
    reminder = response.json["reminder"]
    # 周杰 has no phone: skipped; voters, paper voters and abstainers get nothing
    assert counts(reminder) == ("done", 3, 1, 0)
    assert sorted(phone for phone, _, _ in texts) == sorted(WAITING)
    link = _db.session.scalar(
        sa.select(ShortLink).filter_by(compound_id=vote.compound_id, rotated_at=None)
    )
    for _, template, params in texts:
        assert template == "vote_reminder"
        assert params["compound"] == "幸福小区" and params["title"] == "加装电梯"
        assert params["link"] == f"{BASE}/c/{link.code}"
        local = vote.closes_at.astimezone(tasks.SHANGHAI)
        assert params["deadline"] == f"{local:%Y-%m-%d %H:%M}"
    # the one who signed in also gets the in-app notification
    assert [(ids, kind) for ids, _, kind in inbox] == [([signed_in.account_id], "vote_reminder")]
    assert reminder["notified_count"] == 1
    # the phones are not kept in clear
    digests = _db.session.scalars(sa.select(ReminderSms.phone_digest)).all()
    assert len(digests) == 3 and not set(digests) & WAITING
    listed = client.get(url(vote), headers=staff)
    assert [counts(r) for r in listed.json] == [("done", 3, 1, 0)]


def test_one_sms_a_phone_a_day_across_the_compounds_votes(
    client, campaign, texts, clock, make_vote
):
    vote, staff, _ = campaign
    assert counts(client.post(url(vote), headers=staff).json["reminder"]) == ("done", 3, 1, 0)
    again = client.post(url(vote), headers=staff).json["reminder"]
    assert counts(again) == ("done", 0, 4, 0)
    # another vote of the same compound, the same day: only the phones not texted today
    other = make_vote(_db.session.get(Compound, vote.compound_id), open=True, title="外墙保温")
    assert counts(client.post(url(other), headers=staff).json["reminder"]) == ("done", 4, 4, 0)
    assert not {phone for phone, _, _ in texts[3:]} & WAITING
    assert len(texts) == 7
    clock.at(9, 0, days=1)
    assert counts(client.post(url(vote), headers=staff).json["reminder"]) == ("done", 3, 1, 0)
    assert sorted(phone for phone, _, _ in texts[7:]) == sorted(WAITING)


@pytest.mark.parametrize("hour, minute", [(21, 30), (7, 59), (21, 0), (0, 0)])
def test_no_reminder_in_the_quiet_hours(client, campaign, texts, inbox, clock, hour, minute):
    vote, staff, _ = campaign
    clock.at(hour, minute)
    response = client.post(url(vote), headers=staff)
    assert (response.status_code, response.json["code"]) == (409, "quiet_hours")
    assert "08:00" in response.json["message"] and "21:00" in response.json["message"]
    assert response.json["errors"]["send_after"][0].endswith("08:00:00+08:00")
    assert _db.session.scalar(sa.select(sa.func.count(VoteReminder.id))) == 0
    assert _db.session.scalar(sa.select(sa.func.count(ShortLink.id))) == 0
    assert texts == [] and inbox == []


def test_reminder_from_eight_oclock(client, campaign, texts, clock):
    vote, staff, _ = campaign
    clock.at(8, 0)
    response = client.post(url(vote), headers=staff)
    assert response.status_code == 202 and len(texts) == 3


def test_a_reminder_reaching_nine_pm_pauses_and_goes_on_after_eight(
    client, campaign, texts, clock, monkeypatch
):
    vote, _, _ = campaign
    clock.at(20, 58)
    reminder = tasks.start_reminder(vote, vote.created_by_id)
    _db.session.commit()
    # the clock reaches 21:00 once two SMS are out
    monkeypatch.setattr(
        reminders, "reminder_clock", lambda: clock.at(21, 0) if len(texts) >= 2 else clock.now
    )
    tasks.remind_non_voters(vote.id, reminder.id)
    paused = _db.session.get(VoteReminder, reminder.id)
    assert (paused.status, paused.sent_count, paused.finished_at) == (
        "paused_quiet_hours",
        2,
        None,
    )
    assert len(texts) == 2

    # the worker's sweep leaves it alone until 08:00, then runs it again
    monkeypatch.setattr(reminders, "reminder_clock", clock)  # the clock goes on as it is set
    picked = []
    monkeypatch.setattr(tasks, "ensure_job", lambda func, *args, **kw: picked.append(args))
    monkeypatch.setattr(tasks, "SWEEP_GRACE", timedelta(0))
    clock.at(23, 0)
    tasks.sweep_votes()
    assert (vote.id, reminder.id) not in picked
    clock.at(8, 0, days=1)
    tasks.sweep_votes()
    assert (vote.id, reminder.id) in picked

    tasks.remind_non_voters(vote.id, reminder.id)
    done = _db.session.get(VoteReminder, reminder.id)
    assert (done.status, done.sent_count, done.skipped_count) == ("done", 3, 1)
    assert sorted(phone for phone, _, _ in texts) == sorted(WAITING)  # each once


class FlakySender(TestSender):
    """Refuses every SMS to one phone (the platform's error, worth a retry)."""

    def __init__(self, refused: str, retryable: bool = True, maybe_sent: bool = False):
        super().__init__()
        self.refused, self.retryable, self.maybe_sent = refused, retryable, maybe_sent
        self.tries: list[str] = []

    def send_notice(self, phone, template, params):
        self.tries.append(phone)
        if phone == self.refused:
            raise SmsFailed("isp.SYSTEM_ERROR", "系统错误", self.retryable, self.maybe_sent)
        super().send_notice(phone, template, params)


def test_a_refused_sms_is_counted_failed_and_released_the_others_sent(
    app, client, campaign, monkeypatch
):
    vote, staff, _ = campaign
    sender = FlakySender("13800000002")
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    reminder = client.post(url(vote), headers=staff).json["reminder"]
    assert counts(reminder) == ("done", 2, 1, 1)  # inline: no retry
    assert sorted(p for p, _, _ in sender.notices) == ["13800000001", "13800000006"]
    # released: the next reminder tries that phone again, and only that one
    sender.refused = None
    again = client.post(url(vote), headers=staff).json["reminder"]
    assert counts(again) == ("done", 1, 3, 0)
    assert sender.notices[-1][0] == "13800000002"


def test_an_sms_that_may_have_gone_out_is_not_resent_the_same_day(
    app, client, campaign, monkeypatch
):
    vote, staff, _ = campaign
    sender = FlakySender("13800000002", maybe_sent=True)  # a timeout
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    assert counts(client.post(url(vote), headers=staff).json["reminder"]) == ("done", 2, 1, 1)
    sender.refused = None
    assert counts(client.post(url(vote), headers=staff).json["reminder"]) == ("done", 0, 4, 0)


@pytest.fixture
def rq_queue(app, redis_url, monkeypatch):
    from redis import Redis
    from rq import Queue

    name = f"test-sms-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", name)
    queue = Queue(name, connection=Redis.from_url(redis_url))
    yield queue
    queue.delete(delete_jobs=True)


@pytest.mark.redis
def test_a_refused_sms_is_retried_by_rq_then_counted_failed(
    app, client, campaign, monkeypatch, rq_queue
):
    from rq import SimpleWorker

    vote, staff, _ = campaign
    vote_id = vote.id
    sender = FlakySender("13800000002")
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    # Retries at once; without the failure callback, which is tested on its own below (in
    # a burst SimpleWorker, a job that ran a failure callback holds the worker's exit for a
    # minute, waiting on its pubsub thread).
    policy = Policy(retries=2, intervals=(0,))
    monkeypatch.setattr(tasks.remind_non_voters, "job_policy", policy)
    response = client.post(url(_db.session.get(Vote, vote_id)), headers=staff)
    assert response.status_code == 202 and response.json["job_id"]
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert sender.tries.count("13800000002") == 3  # the first run and two retries
    assert sorted(p for p, _, _ in sender.notices) == ["13800000001", "13800000006"]
    reminder = _db.session.get(VoteReminder, response.json["reminder"]["id"])
    assert (reminder.status, reminder.sent_count, reminder.skipped_count) == ("done", 2, 1)
    assert reminder.failed_count == 1


# Two jobs at once, on PostgreSQL ------------------------------------------------------------


class SlowSender(TestSender):
    """Takes a moment per SMS, so that two jobs overlap; thread-safe appends."""

    def send_notice(self, phone, template, params):
        time.sleep(0.005)
        super().send_notice(phone, template, params)


@pytest.mark.postgres
def test_two_reminder_jobs_at_once_send_each_phone_one_sms(race_app, redis_url):
    from participation.auth.models import RoleAssignment, StaffUser
    from participation.common.sql import db_now
    from participation.roster.demo import roster_csv, roster_rows
    from participation.roster.importer import import_roster_file
    from participation.roster.models import Community, District, Owner, Street
    from participation.votes.models import Matter
    from participation.votes.services import open_vote

    race_app.config["REDIS_URL"] = redis_url
    race_app.config["RQ_QUEUE"] = f"test-sms-race-{uuid.uuid4().hex[:8]}"
    sender = SlowSender()
    race_app.extensions["sms_sender"] = sender
    with race_app.test_request_context():
        compound = Compound(
            community=Community(
                street=Street(district=District(name="区"), name="街道"), name="社区"
            ),
            name="并发小区",
        )
        _db.session.add(compound)
        _db.session.flush()
        content = roster_csv(roster_rows(2, seed=7))
        assert import_roster_file(compound.id, "roster.csv", content).status.value == "done"
        staff = StaffUser(username="staff-race", password_hash="-", display_name="委员")
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        _db.session.add(staff)
        _db.session.flush()
        now = db_now()
        vote = Vote(
            compound_id=compound.id,
            title="并发提醒",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=1),
            created_by_id=staff.id,
        )
        _db.session.add(vote)
        _db.session.flush()
        open_vote(vote, confirm_unknown_owners=True)
        persons = _db.session.scalars(
            sa.select(VotePersonOwner.person_id).filter_by(vote_id=vote.id).distinct()
        ).all()
        for person_id in sorted(persons)[::3]:  # a third have voted
            record_cast(vote.id, person_id, Choice.AGREE, Channel.PAPER, staff_id=staff.id)
        waiting = _db.session.execute(tasks._non_voter_owners(vote.id)).all()
        phones = {phone for _, phone in waiting if phone}
        reminders = [tasks.start_reminder(vote, staff.id) for _ in range(2)]
        _db.session.commit()
        vote_id, ids, compound_id = vote.id, [r.id for r in reminders], compound.id
    assert len(phones) > 20

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(reminder_id: int) -> None:
        try:
            with race_app.app_context():
                barrier.wait()
                tasks.remind_non_voters(vote_id, reminder_id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    sent = [phone for phone, _, _ in sender.notices]
    assert sorted(sent) == sorted(phones)  # every phone exactly once
    with race_app.app_context():
        results = [_db.session.get(VoteReminder, i) for i in ids]
        for r in results:
            assert r.status == "done" and r.failed_count == 0
            assert r.sent_count + r.skipped_count == len(waiting)
        assert sum(r.sent_count for r in results) == len(phones)
        # each job went over every owner: what one sent, the other skipped (or sent first)
        assert sum(r.skipped_count for r in results) == 2 * len(waiting) - len(phones)
        assert _db.session.scalar(sa.select(sa.func.count(ReminderSms.id))) == len(phones)
        owners = _db.session.scalar(
            sa.select(sa.func.count(Owner.id)).where(Owner.compound_id == compound_id)
        )
        assert owners >= len(waiting)


def test_a_reminder_whose_job_failed_for_good_says_so(client, campaign, texts, monkeypatch):
    from types import SimpleNamespace

    vote, staff, _ = campaign
    reminder = tasks.start_reminder(vote, vote.created_by_id)
    _db.session.commit()
    monkeypatch.setattr(_db.session, "remove", lambda: None)  # keep the test's session
    job = SimpleNamespace(args=(vote.id, reminder.id), retries_left=1)
    tasks.reminder_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)
    assert _db.session.get(VoteReminder, reminder.id).status == "queued"  # retried
    job.retries_left = 0
    tasks.reminder_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)
    failed = _db.session.get(VoteReminder, reminder.id)
    assert failed.status == "failed" and failed.finished_at is not None
    [listed] = client.get(url(vote), headers=staff).json
    assert listed["status"] == "failed"
