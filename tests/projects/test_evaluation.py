"""绩效评估: the evaluation report of a project — satisfaction by dimension and building from
the linked satisfaction survey, the compound's complaint figures, planned against actual
dates — as JSON and .xlsx."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.feedback.models import Ticket, TicketCategory, TicketKind, TicketStatus
from participation.feedback.services import ensure_categories
from participation.roster.models import Building
from participation.surveys.models import Answer, Response
from participation.surveys.services import create_from_template, open_survey

from .conftest import api, step_ids


def satisfaction_survey(compound, staff):
    """Three residents of 1栋 on the first dimension (改造内容): 满意, 基本满意, 不满意 — 2/3."""
    now = utcnow()
    survey = create_from_template(
        compound.id,
        "satisfaction",
        {"opens_at": now - timedelta(minutes=1), "closes_at": now + timedelta(days=3)},
        staff.id,
    )
    open_survey(survey)
    building = _db.session.scalar(sa.select(Building.id).filter_by(compound_id=compound.id))
    first = survey.questions[0]
    options = {o.value: o.id for o in first.options}
    for index, value in enumerate(("satisfied", "basic", "dissatisfied")):
        response = Response(
            survey_id=survey.id,
            respondent_key=f"key-{index}",
            building_id=building,
            submitted_at=now,
        )
        response.answers = [Answer(question_id=first.id, option_id=options[value])]
        _db.session.add(response)
    _db.session.flush()
    return survey


def tickets(compound):
    district_id = compound.community.street.district_id
    ensure_categories(district_id)
    category = _db.session.scalar(sa.select(TicketCategory.id).filter_by(district_id=district_id))
    now = utcnow()
    for kind, status, rating, due in (
        (TicketKind.COMPLAINT, TicketStatus.IN_PROGRESS, None, now - timedelta(days=1)),
        (TicketKind.COMPLAINT, TicketStatus.CLOSED, 2, now - timedelta(days=9)),
        (TicketKind.SUGGESTION, TicketStatus.CLOSED, 4, now - timedelta(days=9)),
    ):
        _db.session.add(
            Ticket(
                compound_id=compound.id,
                kind=kind,
                category_id=category,
                description="x",
                status=status,
                rating=rating,
                ack_due_at=now + timedelta(days=1),
                resolve_due_at=due,
            )
        )
    _db.session.flush()


def test_the_evaluation_report(client, compound, committee, committee_staff, project, neighbour):
    survey = satisfaction_survey(compound, committee_staff)
    api(
        client,
        "POST",
        f"/projects/{project['id']}/links",
        committee,
        kind="survey",
        target_id=survey.id,
    )
    tickets(compound)
    plan = step_ids(project)["plan"]
    api(
        client,
        "PATCH",
        f"/project-steps/{plan}",
        committee,
        planned_start="2026-05-01",
        planned_end="2026-06-30",
        actual_start="2026-05-03",
        actual_end="2026-07-05",
    )

    url = f"/api/v1/projects/{project['id']}/evaluation"
    report = client.get(url, headers=committee)
    assert report.status_code == 200, report.json
    body = report.json
    assert [(s["label"], s["delay_days"]) for s in body["steps"][1:3]] == [
        ("申请项目", None),
        ("申报计划", 5),
    ]
    satisfaction = body["satisfaction"]
    assert satisfaction["overall"]["rate"]["percent"] == "66.67"
    assert satisfaction["dimensions"][0]["dimension"] == "改造内容"
    assert [b["rate"]["percent"] for b in satisfaction["buildings"]] == ["66.67"]
    assert body["complaints"] == {
        "complaints": 2,
        "suggestions": 1,
        "open": 1,
        "overdue": 1,
        "handled": 2,
        "rated": 2,
        "average_rating": "3.00",
    }

    export = client.get(f"{url}.xlsx", headers=committee)
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    assert book.sheetnames == ["计划与实际", "投诉建议", "分维度", "分楼栋", "分改造项目"]
    dates = list(book["计划与实际"].iter_rows(values_only=True))
    assert dates[3][0] == "申报计划" and dates[3][-1] == 5
    for suffix in ("", ".xlsx"):
        refused = client.get(f"{url}{suffix}", headers=neighbour)
        assert refused.status_code == 404


def test_without_a_satisfaction_survey(client, compound, committee, project):
    body = client.get(f"/api/v1/projects/{project['id']}/evaluation", headers=committee).json
    assert body["satisfaction"] is None and body["complaints"]["complaints"] == 0
    export = client.get(f"/api/v1/projects/{project['id']}/evaluation.xlsx", headers=committee)
    assert load_workbook(io.BytesIO(export.data)).sheetnames == ["计划与实际", "投诉建议"]
