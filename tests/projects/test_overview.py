"""The district view: every project in the caller's scope with its step, consent, menu items
adopted, complaints open and overdue and satisfaction, from one statement; sorted by a
whitelisted key, paginated, as .xlsx and as a chart."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.feedback.models import Ticket, TicketCategory, TicketKind, TicketStatus
from participation.feedback.services import ensure_categories
from participation.projects.models import ProjectStep, StepKey, StepStatus
from participation.surveys.models import RespondentBasis, Survey, SurveyKind, SurveyStatus

from .conftest import api


@pytest.fixture
def district(
    client,
    compound,
    committee,
    committee_staff,
    make_compound,
    consent_survey,
    make_staff,
    sign_in,
):
    """幸福小区 (consent 2/3, three menu items, 9 of 10 satisfied, two open complaints filed
    during its works, one late) and 邻里小区 in the same community (its project done through
    申报计划; a complaint filed before its works); 远方小区 in another district."""
    near = make_compound("邻里小区", community=compound.community)
    far = make_compound("远方小区")
    ids = {}
    for place in (compound, near, far):
        created = api(
            client,
            "POST",
            f"/compounds/{place.id}/projects",
            sign_in(make_staff(Role.COMPOUND, place.id)),
            year=2026,
            title=f"{place.name}改造",
        )
        assert created.status_code == 201, created.json
        ids[place.name] = created.json["id"]
    project = ids["幸福小区"]
    link = f"/projects/{project}/links"
    api(client, "POST", link, committee, kind="survey", target_id=consent_survey(agree=2).id)
    now = utcnow()
    for kind, result in (
        (SurveyKind.MENU, {"included": [11, 12, 13], "items": []}),
        (SurveyKind.SATISFACTION, {"overall": {"rate": {"numerator": 9, "denominator": 10}}}),
    ):
        survey = Survey(
            compound_id=compound.id,
            kind=kind,
            title=kind.value,
            basis=RespondentBasis.RESIDENT,
            status=SurveyStatus.CLOSED,
            opens_at=now - timedelta(days=9),
            closes_at=now - timedelta(days=1),
            created_by_id=committee_staff.id,
            result=result,
        )
        _db.session.add(survey)
        _db.session.flush()
        api(client, "POST", link, committee, kind="survey", target_id=survey.id)
    district_id = compound.community.street.district_id
    ensure_categories(district_id)
    category = _db.session.scalar(sa.select(TicketCategory.id).filter_by(district_id=district_id))
    for status, due in (
        (TicketStatus.IN_PROGRESS, now - timedelta(days=1)),
        (TicketStatus.SUBMITTED, now + timedelta(days=3)),
        (TicketStatus.CLOSED, now - timedelta(days=5)),
    ):
        _db.session.add(
            Ticket(
                compound_id=compound.id,
                kind=TicketKind.COMPLAINT,
                category_id=category,
                description="噪音",
                status=status,
                ack_due_at=now + timedelta(days=1),
                resolve_due_at=due,
            )
        )
    # 邻里小区's complaint is not its project's: its works have not started
    _db.session.add(
        Ticket(
            compound_id=near.id,
            kind=TicketKind.COMPLAINT,
            category_id=category,
            description="噪音",
            status=TicketStatus.SUBMITTED,
            ack_due_at=now + timedelta(days=1),
            resolve_due_at=now - timedelta(days=1),
        )
    )
    # 幸福小区's complaints were filed during its works (项目实施 started in January)
    _db.session.execute(
        sa.update(ProjectStep)
        .where(ProjectStep.project_id == project, ProjectStep.step == StepKey.WORKS)
        .values(actual_start=date(2026, 1, 5))
    )
    _db.session.execute(
        sa.update(ProjectStep)
        .where(ProjectStep.project_id == ids["邻里小区"], ProjectStep.position <= 3)
        .values(status=StepStatus.DONE)
    )
    _db.session.flush()
    return ids


def test_community_staff_see_their_projects_with_the_figures(
    client, compound, district, make_staff, sign_in
):
    community = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    response = client.get("/api/v1/project-overview?sort=compound", headers=community)
    assert response.status_code == 200, response.json
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    rows = {r["compound"]: r for r in response.json}
    assert set(rows) == {"幸福小区", "邻里小区"}  # not 远方小区: another district
    mine = rows["幸福小区"]
    assert mine["current_step"] == "organise"
    assert (mine["consent"]["numerator"], mine["consent"]["denominator"]) == (2, 3)
    assert mine["consent"]["percent"] == "66.67"
    assert mine["menu_adopted"] == 3
    assert (mine["complaints_open"], mine["complaints_overdue"]) == (2, 1)
    assert mine["satisfaction"]["percent"] == "90.00"
    near = rows["邻里小区"]
    assert (near["current_step"], near["current_step_label"]) == ("design", "编制方案")
    assert near["consent"] is None and near["satisfaction"] is None
    assert (near["complaints_open"], near["menu_adopted"]) == (0, None)


def test_sorting_paging_and_refusals(client, compound, district, make_staff, sign_in, neighbour):
    admin = sign_in(make_staff(Role.ADMIN, 0))
    by_step = client.get("/api/v1/project-overview?sort=step&order=desc", headers=admin).json
    assert [r["compound"] for r in by_step][:1] == ["邻里小区"]
    by_consent = client.get("/api/v1/project-overview?sort=consent&order=desc", headers=admin)
    assert by_consent.json[0]["compound"] == "幸福小区"  # the only one with a consent rate
    assert by_consent.json[-1]["consent"] is None  # nulls last either way
    page = client.get("/api/v1/project-overview?sort=year&page=2&page_size=1", headers=admin)
    assert len(page.json) == 1 and json.loads(page.headers["X-Pagination"])["total"] >= 3
    bad = client.get("/api/v1/project-overview?sort=id;drop", headers=admin)
    assert (bad.status_code, bad.json["code"]) == (422, "validation_error")
    # the neighbouring compound's committee sees its own project only
    theirs = client.get("/api/v1/project-overview", headers=neighbour).json
    assert theirs == []


def test_export_and_chart(client, compound, district, make_staff, sign_in):
    community = sign_in(make_staff(Role.COMMUNITY, compound.community_id))
    export = client.get("/api/v1/project-overview.xlsx?sort=compound", headers=community)
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("小区", "社区", "年度", "项目", "当前步骤")
    assert sorted(r[0] for r in rows[1:]) == ["幸福小区", "邻里小区"]
    happy = next(r for r in rows[1:] if r[0] == "幸福小区")
    assert happy[4:] == ("成立组织", "66.67", 3, 2, 1, "90.00")
    chart = client.get("/api/v1/project-overview/chart.png", headers=community)
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")
    assert StepKey.DESIGN.label == "编制方案"


def test_a_title_with_control_characters_still_exports(client, compound, committee):
    created = api(
        client,
        "POST",
        f"/compounds/{compound.id}/projects",
        committee,
        year=2027,
        title="改造\x0f工程\x1b",
    )
    assert created.status_code == 201, created.json
    export = client.get("/api/v1/project-overview.xlsx", headers=committee)
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[1][3] == "改造工程"
