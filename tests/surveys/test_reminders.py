"""Reminders to those who have not answered a survey (入户发动): who gets an SMS, one a phone
a day across the compound's votes and surveys, the quiet hours, pause and resume, and a
vote's and a survey's jobs at once on PostgreSQL."""

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
from participation.auth.sms import TestSender
from participation.common.notify import TestNotifier
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.notices.models import ShortLink
from participation.roster.models import Compound
from participation.surveys import tasks
from participation.surveys.models import (
    Answer,
    RespondentBasis,
    Response,
    SurveyKind,
    SurveyPersonOwner,
    SurveyReminder,
)

BASE = "https://canyu.example.cn"
# Owners who have not answered, with a phone: the co-owners of 2栋1单元101 (never signed in)
# and the owner of 10栋1单元101 (signed in, not answered).
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


def answer(survey, owner) -> None:
    """The response of ``owner``'s person to the consent question (agree)."""
    person_id = _db.session.scalar(
        sa.select(SurveyPersonOwner.person_id).filter_by(survey_id=survey.id, owner_id=owner.id)
    )
    [question] = survey.questions
    response = Response(
        survey_id=survey.id,
        respondent_key=f"person:{person_id}",
        person_id=person_id,
        submitted_at=utcnow(),
    )
    response.answers = [Answer(question_id=question.id, option_id=question.options[0].id)]
    _db.session.add(response)
    _db.session.flush()


@pytest.fixture
def campaign(
    make_compound, make_dwelling, make_account, make_survey, consent_question, make_staff, sign_in
):
    """An open whole-compound consent survey: in 2栋1单元, 101 co-owned by two owners who
    never signed in, 201 and 202 answered, 102 has no phone on the roster; in 10栋1单元, 101
    signed in and has not answered, 102 answered."""
    compound = make_compound("幸福小区")
    owner = make_dwelling.owner
    wife, husband = owner(compound, "王芳", "13800000001"), owner(compound, "李强", "13800000002")
    first, no_phone = owner(compound, "赵敏", "13800000003"), owner(compound, "周杰")
    second = owner(compound, "吴刚", "13800000005")
    waiting, third = owner(compound, "郑华", "13800000006"), owner(compound, "钱进", "13800000007")
    for room, floor, owners in (
        ("101", 1, [wife, husband]),
        ("201", 2, [first]),
        ("102", 1, [no_phone]),
        ("202", 2, [second]),
    ):
        make_dwelling(compound, "2", "1", room, floor=floor, owners=owners)
    make_dwelling(compound, "10", "1", "101", owners=[waiting])
    make_dwelling(compound, "10", "1", "102", owners=[third])
    for o in (first, waiting):
        o.account_id = make_account().id
    _db.session.flush()
    survey = make_survey(
        compound, SurveyKind.CONSENT, [consent_question], open=True, title="小区改造意愿征询"
    )
    for o in (first, second, third):
        answer(survey, o)
    staff = make_staff(Role.COMPOUND, compound.id)
    return survey, sign_in(staff), waiting


def url(survey) -> str:
    return f"/api/v1/surveys/{survey.id}/reminders"


def counts(reminder: dict) -> tuple:
    keys = ("status", "sent_count", "skipped_count", "failed_count")
    return tuple(reminder[k] for k in keys)


def test_sms_reaches_every_roster_phone_of_those_who_have_not_answered(
    client, campaign, texts, inbox
):
    survey, staff, signed_in = campaign
    response = client.post(url(survey), headers=staff)
    assert response.status_code == 202, response.json
    reminder = response.json["reminder"]
    # 周杰 has no phone: skipped; those who answered get nothing
    assert counts(reminder) == ("done", 3, 1, 0)
    assert sorted(phone for phone, _, _ in texts) == sorted(WAITING)
    link = _db.session.scalar(
        sa.select(ShortLink).filter_by(compound_id=survey.compound_id, rotated_at=None)
    )
    for _, template, params in texts:
        assert template == "survey_reminder"
        assert params["compound"] == "幸福小区" and params["title"] == "小区改造意愿征询"
        assert params["link"] == f"{BASE}/c/{link.code}"
        local = survey.closes_at.astimezone(tasks.SHANGHAI)
        assert params["deadline"] == f"{local:%Y-%m-%d %H:%M}"
    assert [(ids, kind) for ids, _, kind in inbox] == [([signed_in.account_id], "survey_reminder")]
    assert reminder["notified_count"] == 1
    claims = _db.session.execute(sa.select(ReminderSms.phone_digest, ReminderSms.campaign)).all()
    assert len(claims) == 3 and {c for _, c in claims} == {"survey"}
    assert not {d for d, _ in claims} & WAITING
    listed = client.get(url(survey), headers=staff)
    assert listed.status_code == 200
    assert [counts(r) for r in listed.json] == [("done", 3, 1, 0)]


def test_resident_basis_reminds_the_owners_of_dwellings_nobody_answered_for(
    client, campaign, texts, make_survey, consent_question
):
    from participation.surveys.models import QuestionType

    survey, staff, signed_in = campaign
    compound = _db.session.get(Compound, survey.compound_id)
    satisfaction = make_survey(
        compound,
        SurveyKind.GENERAL,
        [(QuestionType.TEXT, "您的意见", [])],
        basis=RespondentBasis.RESIDENT,
        open=True,
        title="满意度",
    )
    # 郑华 (10栋1单元101) answered as a resident: the dwelling has taken part
    _db.session.add(
        Response(
            survey_id=satisfaction.id,
            respondent_key=f"account:{signed_in.account_id}",
            account_id=signed_in.account_id,
            submitted_at=utcnow(),
        )
    )
    _db.session.flush()
    response = client.post(url(satisfaction), headers=staff)
    assert response.status_code == 202, response.json
    # the six other dwellings' seven owners, 周杰 without a phone
    assert counts(response.json["reminder"]) == ("done", 5, 1, 0)
    assert "13800000006" not in {phone for phone, _, _ in texts}
    assert {params["title"] for _, _, params in texts} == {"满意度"}


def test_one_sms_a_phone_a_day_across_votes_and_surveys(client, campaign, texts, clock):
    from participation.votes import tasks as vote_tasks
    from participation.votes.models import Matter, Vote
    from participation.votes.services import open_vote

    survey, staff, _ = campaign
    now = utcnow()
    vote = Vote(
        compound_id=survey.compound_id,
        title="加装电梯",
        matter=Matter.OTHER,
        rule=Matter.OTHER.rule,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=3),
        created_by_id=survey.created_by_id,
    )
    _db.session.add(vote)
    _db.session.flush()
    open_vote(vote, confirm_unknown_owners=True)
    _db.session.flush()
    # the vote's reminder first: every owner with a phone (nobody voted), 周杰 skipped
    voted = client.post(f"/api/v1/votes/{vote.id}/reminders", headers=staff)
    assert voted.status_code == 202, voted.json
    assert counts(voted.json["reminder"]) == ("done", 6, 1, 0)
    assert {t for _, t, _ in texts} == {"vote_reminder"}
    # the survey's the same day: each of its phones had one today
    again = client.post(url(survey), headers=staff).json["reminder"]
    assert counts(again) == ("done", 0, 4, 0)
    assert len(texts) == 6
    # the next day again
    clock.at(9, 0, days=1)
    next_day = client.post(url(survey), headers=staff).json["reminder"]
    assert counts(next_day) == ("done", 3, 1, 0)
    assert sorted(phone for phone, _, _ in texts[6:]) == sorted(WAITING)
    # and then the vote's skips those three
    later = client.post(f"/api/v1/votes/{vote.id}/reminders", headers=staff).json["reminder"]
    assert counts(later) == ("done", 3, 4, 0)
    assert vote_tasks.reminded_today(vote.compound_id, WAITING) == WAITING


@pytest.mark.parametrize("hour, minute", [(21, 30), (7, 59), (21, 0), (0, 0)])
def test_no_reminder_in_the_quiet_hours(client, campaign, texts, inbox, clock, hour, minute):
    survey, staff, _ = campaign
    clock.at(hour, minute)
    response = client.post(url(survey), headers=staff)
    assert (response.status_code, response.json["code"]) == (409, "quiet_hours")
    assert "08:00" in response.json["message"] and "21:00" in response.json["message"]
    assert response.json["errors"]["send_after"][0].endswith("08:00:00+08:00")
    assert _db.session.scalar(sa.select(sa.func.count(SurveyReminder.id))) == 0
    assert _db.session.scalar(sa.select(sa.func.count(ShortLink.id))) == 0
    assert texts == [] and inbox == []


def test_not_accepting_answers_is_409_and_nothing_written(client, campaign, texts):
    survey, staff, _ = campaign
    survey.closes_at = utcnow() - timedelta(seconds=1)
    survey.opens_at = survey.closes_at - timedelta(days=1)
    _db.session.flush()
    response = client.post(url(survey), headers=staff)
    assert (response.status_code, response.json["code"]) == (409, "survey_not_accepting")
    assert "问卷" in response.json["message"]
    assert _db.session.scalar(sa.select(sa.func.count(SurveyReminder.id))) == 0
    assert texts == []


def test_a_reminder_reaching_nine_pm_pauses_and_goes_on_after_eight(
    client, campaign, texts, clock, monkeypatch
):
    survey, _, _ = campaign
    clock.at(20, 58)
    reminder = tasks.start_reminder(survey, survey.created_by_id)
    _db.session.commit()
    monkeypatch.setattr(
        reminders, "reminder_clock", lambda: clock.at(21, 0) if len(texts) >= 2 else clock.now
    )
    tasks.remind_non_respondents(survey.id, reminder.id)
    paused = _db.session.get(SurveyReminder, reminder.id)
    assert (paused.status, paused.sent_count, paused.finished_at) == (
        "paused_quiet_hours",
        2,
        None,
    )
    monkeypatch.setattr(reminders, "reminder_clock", clock)  # the clock goes on as it is set
    picked = []
    monkeypatch.setattr(tasks, "ensure_job", lambda func, *args, **kw: picked.append(args))
    monkeypatch.setattr(tasks, "SWEEP_GRACE", timedelta(0))
    clock.at(23, 0)
    tasks.sweep_survey_reminders()
    assert (survey.id, reminder.id) not in picked
    clock.at(8, 0, days=1)
    tasks.sweep_survey_reminders()
    assert (survey.id, reminder.id) in picked
    tasks.remind_non_respondents(survey.id, reminder.id)
    done = _db.session.get(SurveyReminder, reminder.id)
    assert (done.status, done.sent_count, done.skipped_count) == ("done", 3, 1)
    assert sorted(phone for phone, _, _ in texts) == sorted(WAITING)


def test_a_neighbouring_compounds_staff_gets_404(
    client, campaign, texts, make_compound, make_staff, sign_in
):
    survey, _, _ = campaign
    other = sign_in(make_staff(Role.COMPOUND, make_compound("邻居小区").id))
    assert client.post(url(survey), headers=other).status_code == 404
    assert client.get(url(survey), headers=other).status_code == 404
    assert texts == []


def test_a_reminder_whose_job_failed_for_good_says_so(client, campaign, texts, monkeypatch):
    from types import SimpleNamespace

    survey, staff, _ = campaign
    reminder = tasks.start_reminder(survey, survey.created_by_id)
    _db.session.commit()
    monkeypatch.setattr(_db.session, "remove", lambda: None)  # keep the test's session
    job = SimpleNamespace(args=(survey.id, reminder.id), retries_left=1)
    tasks.reminder_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)
    assert _db.session.get(SurveyReminder, reminder.id).status == "queued"  # retried
    job.retries_left = 0
    tasks.reminder_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)
    [listed] = client.get(url(survey), headers=staff).json
    assert listed["status"] == "failed"


class SlowSender(TestSender):
    """Takes a moment per SMS, so that the two jobs interleave."""

    def send_notice(self, phone, template, params):
        time.sleep(0.005)
        super().send_notice(phone, template, params)


@pytest.mark.postgres
def test_a_vote_and_a_survey_reminder_at_once_send_each_phone_one_sms(race_app, redis_url):
    from participation.auth.models import RoleAssignment, StaffUser
    from participation.common.sql import db_now
    from participation.roster.demo import roster_csv, roster_rows
    from participation.roster.importer import import_roster_file
    from participation.roster.models import Community, District, Owner, Street
    from participation.surveys.models import Option, Question, QuestionType, Survey
    from participation.surveys.services import open_survey
    from participation.votes import tasks as vote_tasks
    from participation.votes.models import Matter, Vote, VoteReminder
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
        common = {
            "compound_id": compound.id,
            "opens_at": now - timedelta(minutes=1),
            "closes_at": now + timedelta(hours=1),
            "created_by_id": staff.id,
        }
        vote = Vote(title="并发提醒", matter=Matter.OTHER, rule=Matter.OTHER.rule, **common)
        survey = Survey(
            title="意愿征询", kind=SurveyKind.CONSENT, basis=RespondentBasis.OWNER, **common
        )
        question = Question(position=1, type=QuestionType.CONSENT, text="是否同意改造？")
        question.options = [
            Option(position=1, label="同意", value="agree"),
            Option(position=2, label="不同意", value="disagree"),
        ]
        survey.questions.append(question)
        _db.session.add_all([vote, survey])
        _db.session.flush()
        open_vote(vote, confirm_unknown_owners=True)
        open_survey(survey, confirm_unknown_owners=True)
        _db.session.flush()
        vote_waiting = _db.session.execute(vote_tasks._non_voter_owners(vote.id)).all()
        survey_waiting = _db.session.execute(tasks.non_respondent_owners(survey)).all()
        phones = {p for _, p in vote_waiting + survey_waiting if p}
        vote_reminder = vote_tasks.start_reminder(vote, staff.id)
        survey_reminder = tasks.start_reminder(survey, staff.id)
        _db.session.commit()
        ids = (vote.id, vote_reminder.id, survey.id, survey_reminder.id)
        compound_id = compound.id
    assert len(phones) > 20
    assert len(vote_waiting) == len(survey_waiting)  # nobody took part in either

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(job, campaign_id: int, reminder_id: int) -> None:
        try:
            with race_app.app_context():
                barrier.wait()
                job(campaign_id, reminder_id)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(vote_tasks.remind_non_voters, ids[0], ids[1])),
        threading.Thread(target=run, args=(tasks.remind_non_respondents, ids[2], ids[3])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    sent = [phone for phone, _, _ in sender.notices]
    assert sorted(sent) == sorted(phones)  # every phone exactly once
    with race_app.app_context():
        results = [_db.session.get(VoteReminder, ids[1]), _db.session.get(SurveyReminder, ids[3])]
        for r in results:
            assert r.status == "done" and r.failed_count == 0
            assert r.sent_count + r.skipped_count == len(vote_waiting)
        assert sum(r.sent_count for r in results) == len(phones)
        assert sum(r.skipped_count for r in results) == 2 * len(vote_waiting) - len(phones)
        claims = _db.session.execute(sa.select(ReminderSms.campaign)).scalars().all()
        assert len(claims) == len(phones)
        assert sorted(claims) == sorted(
            ["vote"] * results[0].sent_count + ["survey"] * results[1].sent_count
        )
        owners = _db.session.scalar(
            sa.select(sa.func.count(Owner.id)).where(Owner.compound_id == compound_id)
        )
        assert owners >= len(vote_waiting)
