"""Extending a survey's closing time: later only, before it has passed, kept in the survey's
deadline history and announced to those who may answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.notify import TestNotifier
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.surveys.models import (
    RespondentBasis,
    SurveyDeadlineChange,
    SurveyKind,
    SurveyStatus,
)


@pytest.fixture
def client(scoped_client):
    """Requests commit, or roll back on error, as a server's would."""
    return scoped_client


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def outbox(app, monkeypatch):
    notifier = TestNotifier()
    monkeypatch.setitem(app.extensions, "notifier", notifier)
    return notifier.outbox


@pytest.fixture
def consent(sample_compound, make_survey, consent_question):
    return make_survey(sample_compound, SurveyKind.CONSENT, questions=[consent_question], open=True)


def extend(client, survey, headers, closes_at: datetime, reason: str = "入户走访未完成"):
    return client.post(
        f"/api/v1/surveys/{survey.id}/deadline",
        json={"closes_at": closes_at.isoformat(), "reason": reason},
        headers=headers,
    )


def test_extending_later_is_kept_and_announced(
    client, committee, consent, owner_account, sample_compound, outbox, sign_in
):
    account = owner_account(sample_compound, "1栋1单元101")
    old = consent.closes_at
    new = (old + timedelta(days=5)).astimezone(UTC)
    extended = extend(client, consent, committee, new)
    assert extended.status_code == 200, extended.json
    assert datetime.fromisoformat(extended.json["closes_at"]) == new
    [change] = extended.json["deadline_extensions"]
    assert datetime.fromisoformat(change["old_closes_at"]) == old
    assert datetime.fromisoformat(change["new_closes_at"]) == new
    assert change["reason"] == "入户走访未完成"
    row = _db.session.scalars(sa.select(SurveyDeadlineChange).filter_by(survey_id=consent.id)).one()
    assert (row.old_closes_at, row.new_closes_at) == (old, new)

    [(accounts, message, kind)] = outbox
    assert kind == "survey_deadline_extended"
    assert account.id in accounts
    assert "截止时间已延长至" in message

    resident = client.get(f"/api/v1/surveys/{consent.id}", headers=sign_in(account)).json
    assert datetime.fromisoformat(resident["closes_at"]) == new
    assert "deadline_extensions" not in resident


def test_a_resident_survey_announces_to_owners_and_tenants_in_scope(
    client, committee, sample_compound, make_survey, owner_account, outbox
):
    survey = make_survey(
        sample_compound,
        SurveyKind.SATISFACTION,
        basis=RespondentBasis.RESIDENT,
        questions=[],
        status=SurveyStatus.OPEN,
    )
    account = owner_account(sample_compound, "1栋1单元101")
    assert (
        extend(client, survey, committee, survey.closes_at + timedelta(days=1)).status_code == 200
    )
    [(accounts, _, _)] = outbox
    assert account.id in accounts


def test_earlier_or_equal_is_refused_and_nothing_written(client, committee, consent, outbox):
    old = consent.closes_at
    for closes_at in (old, old - timedelta(hours=2)):
        refused = extend(client, consent, committee, closes_at)
        assert (refused.status_code, refused.json["code"]) == (422, "deadline_not_later")
        assert refused.json["message"] == "截止时间只能延后，不能提前"
    too_late = extend(client, consent, committee, consent.opens_at + timedelta(days=91))
    assert (too_late.status_code, too_late.json["code"]) == (422, "deadline_too_late")
    _db.session.refresh(consent)
    assert consent.closes_at == old
    count = sa.select(sa.func.count(SurveyDeadlineChange.id)).filter_by(survey_id=consent.id)
    assert _db.session.scalar(count) == 0
    assert outbox == []


def test_after_the_deadline_it_is_too_late(client, committee, consent):
    consent.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.flush()
    refused = extend(client, consent, committee, utcnow() + timedelta(days=1))
    assert (refused.status_code, refused.json["code"]) == (409, "campaign_closed")


def test_another_compound_and_residents_may_not_extend(
    client, consent, make_compound, make_staff, sign_in, owner_account, sample_compound
):
    new = consent.closes_at + timedelta(days=1)
    neighbour = sign_in(make_staff(Role.COMPOUND, make_compound().id))
    assert extend(client, consent, neighbour, new).status_code == 404
    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    assert extend(client, consent, resident, new).status_code == 403
    _db.session.refresh(consent)
    assert consent.closes_at < new
