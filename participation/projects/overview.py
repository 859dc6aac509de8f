"""The district view: every project in the caller's scope (community, street, district) with
its current step, consent rate, menu items adopted, complaints open and overdue and the
satisfaction rate — one statement, whatever the number of projects (grouped subqueries
joined to the projects; no query per project), sortable, paginated, as .xlsx and as a chart.

The figures come from what the campaigns stored when they closed (``Survey.result``): the
latest consent, menu and satisfaction survey linked to the project whose answering period is
over. Complaints are the project's complaint tickets (``projects.tickets``: linked to the
project, or filed in the compound during its works period, 项目实施 start to 项目验收 done) now
open, and those late (``feedback.services.overdue_clause``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import aliased

from participation.auth.scoping import in_scope
from participation.auth.tokens import Principal
from participation.common import charts
from participation.counting import ratio
from participation.extensions import db
from participation.feedback import lifecycle
from participation.feedback.models import Ticket, TicketKind
from participation.feedback.services import overdue_clause
from participation.projects.models import (
    STEP_LABELS,
    LinkKind,
    Project,
    ProjectLink,
    ProjectStep,
    StepKey,
    StepStatus,
)
from participation.projects.tickets import project_tickets
from participation.roster.models import Community, Compound
from participation.surveys.exports import workbook
from participation.surveys.models import Survey, SurveyKind, SurveyStatus

RESULT_IN = (SurveyStatus.CLOSED, SurveyStatus.PUBLISHED, SurveyStatus.FINAL)
ALL_DONE = len(StepKey) + 1  # the "position" of a project with every step done
STEP_BY_POSITION = {key.position: key for key in StepKey}


def _latest(kind: SurveyKind):
    """project_id → the id of its latest linked survey of ``kind`` with a result."""
    return (
        select(ProjectLink.project_id, func.max(Survey.id).label("survey_id"))
        .join(Survey, Survey.id == ProjectLink.target_id)
        .where(
            ProjectLink.kind == LinkKind.SURVEY,
            Survey.kind == kind,
            Survey.status.in_(RESULT_IN),
        )
        .group_by(ProjectLink.project_id)
        .subquery()
    )


def _ratio_key(numerator, denominator):
    return (numerator * literal(1.0)) / func.nullif(denominator, 0)


def rows_query(principal: Principal, now: datetime) -> tuple[Select, dict]:
    """The statement of the view's rows and the sortable columns by name."""
    pending = (
        select(ProjectStep.project_id, func.min(ProjectStep.position).label("position"))
        .where(ProjectStep.status != StepStatus.DONE)
        .group_by(ProjectStep.project_id)
        .subquery()
    )
    consent_link = _latest(SurveyKind.CONSENT)
    menu_link = _latest(SurveyKind.MENU)
    satisfaction_link = _latest(SurveyKind.SATISFACTION)
    consent = aliased(Survey, name="consent")
    menu = aliased(Survey, name="menu")
    satisfaction = aliased(Survey, name="satisfaction")
    is_open = Ticket.status.in_(lifecycle.OPEN)
    tickets = project_tickets(
        func.sum(case((is_open, 1), else_=0)).label("open"),
        func.sum(case((and_(is_open, overdue_clause(now)), 1), else_=0)).label("overdue"),
        where=Ticket.kind == TicketKind.COMPLAINT,
    ).subquery()
    columns = {
        "step": func.coalesce(pending.c.position, ALL_DONE).label("step_position"),
        "consent_y": consent.result["y_cnt"].as_integer().label("consent_y"),
        "consent_t": consent.result["t_cnt"].as_integer().label("consent_t"),
        "menu": case((menu.id.is_not(None), func.json_array_length(menu.result["included"]))).label(
            "menu_adopted"
        ),
        "open": func.coalesce(tickets.c.open, 0).label("complaints_open"),
        "overdue": func.coalesce(tickets.c.overdue, 0).label("complaints_overdue"),
        "satisfied": satisfaction.result[("overall", "rate", "numerator")]
        .as_integer()
        .label("satisfaction_n"),
        "answered": satisfaction.result[("overall", "rate", "denominator")]
        .as_integer()
        .label("satisfaction_d"),
    }
    stmt = (
        select(
            Project.id,
            Project.compound_id,
            Compound.name.label("compound"),
            Community.name.label("community"),
            Project.year,
            Project.title,
            *columns.values(),
        )
        .join(Compound, Compound.id == Project.compound_id)
        .join(Community, Community.id == Compound.community_id)
        .outerjoin(pending, pending.c.project_id == Project.id)
        .outerjoin(consent_link, consent_link.c.project_id == Project.id)
        .outerjoin(consent, consent.id == consent_link.c.survey_id)
        .outerjoin(menu_link, menu_link.c.project_id == Project.id)
        .outerjoin(menu, menu.id == menu_link.c.survey_id)
        .outerjoin(satisfaction_link, satisfaction_link.c.project_id == Project.id)
        .outerjoin(satisfaction, satisfaction.id == satisfaction_link.c.survey_id)
        .outerjoin(tickets, tickets.c.project_id == Project.id)
    )
    sorts = {
        "compound": Compound.name,
        "year": Project.year,
        "step": columns["step"],
        "consent": _ratio_key(columns["consent_y"], columns["consent_t"]),
        "menu": columns["menu"],
        "complaints_open": columns["open"],
        "complaints_overdue": columns["overdue"],
        "satisfaction": _ratio_key(columns["satisfied"], columns["answered"]),
    }
    return in_scope(stmt, Project.compound_id, principal), sorts


SORTS = (
    "compound",
    "year",
    "step",
    "consent",
    "menu",
    "complaints_open",
    "complaints_overdue",
    "satisfaction",
)


def overview_query(principal: Principal, now: datetime, sort: str, descending: bool) -> Select:
    stmt, sorts = rows_query(principal, now)
    key = sorts[sort]
    key = key.desc() if descending else key.asc()
    return stmt.order_by(key.nulls_last(), Project.id)


def row_view(row) -> dict:
    step = STEP_BY_POSITION.get(row.step_position)
    return {
        "project_id": row.id,
        "compound_id": row.compound_id,
        "compound": row.compound,
        "community": row.community,
        "year": row.year,
        "title": row.title,
        "current_step": step,
        "current_step_label": STEP_LABELS[step] if step else "已全部完成",
        "consent": ratio(row.consent_y, row.consent_t) if row.consent_t else None,
        "menu_adopted": row.menu_adopted,
        "complaints_open": row.complaints_open,
        "complaints_overdue": row.complaints_overdue,
        "satisfaction": ratio(row.satisfaction_n, row.satisfaction_d)
        if row.satisfaction_d
        else None,
    }


def all_rows(principal: Principal, now: datetime, sort: str, descending: bool) -> list[dict]:
    stmt = overview_query(principal, now, sort, descending)
    return [row_view(row) for row in db.session.execute(stmt)]


HEADERS = [
    "小区",
    "社区",
    "年度",
    "项目",
    "当前步骤",
    "同意率(%)",
    "采纳改造项目数",
    "未办结投诉",
    "逾期投诉",
    "满意度(%)",
]


def _percent(figure: dict | None):
    return None if figure is None else figure["percent"]


def overview_workbook(rows: list[dict]) -> bytes:
    lines = (
        [
            r["compound"],
            r["community"],
            r["year"],
            r["title"],
            r["current_step_label"],
            _percent(r["consent"]),
            r["menu_adopted"],
            r["complaints_open"],
            r["complaints_overdue"],
            _percent(r["satisfaction"]),
        ]
        for r in rows
    )
    return workbook([("改造项目一览", HEADERS, lines)])


def overview_chart(rows: list[dict]) -> bytes:
    """How many projects are at each step (and how many are done), as a bar chart."""
    at = Counter(r["current_step_label"] for r in rows)
    labels = [*STEP_LABELS.values(), "已全部完成"]
    style = charts.Style("项目数", charts.BLUE)
    bars = [charts.Bar(label, [(style, at[label])], text=f"{at[label]} 个") for label in labels]
    return charts.chart(
        "改造项目进度分布",
        [charts.Panel(bars if rows else [], heading="各步骤的项目数")],
        lines=[f"共 {len(rows)} 个项目"],
        empty="范围内还没有改造项目",
    )
