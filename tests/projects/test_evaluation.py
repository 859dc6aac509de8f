"""绩效评估: the evaluation report of a project — satisfaction by dimension and building from
the linked satisfaction survey, the project's complaint figures (linked to the project or filed
during its works period), planned against actual dates — as JSON and .xlsx."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.feedback.models import Ticket, TicketCategory, TicketKind, TicketStatus
from participation.feedback.services import ensure_categories
from participation.projects.models import ProjectStep, StepStatus
from participation.roster.models import Building
from participation.surveys import tallies
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
    tallies.rebuild(survey)
    return survey


def tickets(compound, created_at=None):
    """Two complaints (one open and late) and a suggestion, filed ``created_at`` (now)."""
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
                created_at=created_at or now,
            )
        )
    _db.session.flush()


def start_works(client, committee, project, actual_start="2026-01-05", actual_end=None):
    """项目实施 (and, with ``actual_end``, 项目验收) marked with its actual dates directly."""
    steps = step_ids(project)
    _db.session.execute(
        sa.update(ProjectStep)
        .where(ProjectStep.id == steps["works"])
        .values(actual_start=date.fromisoformat(actual_start), status=StepStatus.IN_PROGRESS)
    )
    if actual_end:
        _db.session.execute(
            sa.update(ProjectStep)
            .where(ProjectStep.id == steps["acceptance"])
            .values(actual_end=date.fromisoformat(actual_end), status=StepStatus.DONE)
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
    start_works(client, committee, project)
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


def test_complaints_are_the_projects(client, compound, committee, project, make_compound):
    """Filed before 项目实施 started, after 项目验收 was done, or in another compound: not
    counted, unless linked to the project."""
    url = f"/api/v1/projects/{project['id']}/evaluation"
    tickets(compound)  # filed now, while 项目实施 has not started
    assert client.get(url, headers=committee).json["complaints"]["complaints"] == 0

    # works from 2026-03-01 (Beijing) to acceptance done on 2026-06-30 (Beijing)
    start_works(client, committee, project, "2026-03-01", "2026-06-30")
    for at in ("2026-02-28T15:59:00", "2026-06-30T16:00:00"):  # 23:59 / next day 00:00 北京
        tickets(compound, datetime.fromisoformat(at).replace(tzinfo=UTC))
    assert client.get(url, headers=committee).json["complaints"]["complaints"] == 0
    for at in ("2026-02-28T16:00:00", "2026-06-30T15:59:00"):  # 00:00 / 23:59 北京
        tickets(compound, datetime.fromisoformat(at).replace(tzinfo=UTC))
    during = client.get(url, headers=committee).json["complaints"]
    assert (during["complaints"], during["suggestions"]) == (4, 2)

    # a complaint of another compound in the period does not count; one linked always does
    other = make_compound("别处小区")
    tickets(other, datetime(2026, 4, 1, tzinfo=UTC))
    early = _db.session.scalar(
        sa.select(Ticket.id)
        .where(Ticket.compound_id == compound.id, Ticket.kind == TicketKind.COMPLAINT)
        .order_by(Ticket.created_at)
        .limit(1)
    )
    linked = api(
        client,
        "POST",
        f"/projects/{project['id']}/links",
        committee,
        kind="ticket",
        target_id=early,
    )
    assert linked.status_code == 201, linked.json
    figures = client.get(url, headers=committee).json["complaints"]
    assert (figures["complaints"], figures["suggestions"]) == (5, 2)
