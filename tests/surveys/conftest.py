"""Factories for surveys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.roster.models import Building
from participation.surveys.models import (
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Survey,
    SurveyKind,
)


@pytest.fixture
def make_survey(db, make_staff):
    """``make_survey(compound, SurveyKind.CONSENT, questions=[(QuestionType.CONSENT, "…",
    [("同意", "agree"), ("不同意", "disagree")])], open=True)`` → a survey (opened: electorate
    frozen for the owner basis)."""
    from participation.auth.models import Role
    from participation.surveys.services import open_survey

    def make(
        compound,
        kind: SurveyKind = SurveyKind.GENERAL,
        questions=(),
        basis: RespondentBasis = RespondentBasis.OWNER,
        buildings: tuple[str, ...] = (),
        open: bool = False,
        closes_in: timedelta = timedelta(days=7),
        **fields,
    ) -> Survey:
        building_ids = [
            _db.session.scalar(
                sa.select(Building.id).filter_by(compound_id=compound.id, number=number)
            )
            for number in buildings
        ]
        now = utcnow()
        survey = Survey(
            compound_id=compound.id,
            kind=kind,
            title=fields.pop("title", "测试问卷"),
            basis=basis,
            building_ids=building_ids,
            entrance_ids=fields.pop("entrance_ids", []),
            opens_at=fields.pop("opens_at", now - timedelta(minutes=1)),
            closes_at=now + closes_in,
            created_by_id=make_staff(Role.COMPOUND, compound.id).id,
            **fields,
        )
        for position, (qtype, text, options) in enumerate(questions, start=1):
            question = Question(position=position, type=qtype, text=text)
            question.options = [
                Option(position=i, label=label, value=value)
                for i, (label, value) in enumerate(options, start=1)
            ]
            survey.questions.append(question)
        _db.session.add(survey)
        _db.session.flush()
        if open:
            open_survey(survey, confirm_unknown_owners=True)
            _db.session.flush()
        return survey

    return make


@pytest.fixture
def consent_question():
    """The consent question of the consent template, as ``make_survey`` takes it."""
    return (
        QuestionType.CONSENT,
        "您是否同意本小区实施改造？",
        [("同意", "agree"), ("不同意", "disagree")],
    )


class ReminderClock:
    """The reminders' clock (``tasks.reminder_clock`` of surveys and of votes, which share
    the one-a-day claims): today at 10:00 Beijing time unless a test moves it
    (``clock.at(21, 30)``, ``clock.at(8, 0, days=1)``), so that no test depends on when the
    suite runs (21:00–08:00 is quiet)."""

    def __init__(self) -> None:
        from participation.common.schemas import SHANGHAI

        self.today = utcnow().astimezone(SHANGHAI).date()
        self.zone = SHANGHAI
        self.at(10, 0)

    def at(self, hour: int, minute: int = 0, days: int = 0):
        from datetime import datetime, time

        self.now = datetime.combine(
            self.today + timedelta(days=days), time(hour, minute), self.zone
        )
        return self.now

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    from participation.surveys import tasks
    from participation.votes import tasks as vote_tasks

    fixed = ReminderClock()
    monkeypatch.setattr(tasks, "reminder_clock", fixed)
    monkeypatch.setattr(vote_tasks, "reminder_clock", fixed)
    return fixed
