"""绩效评估: a project's evaluation report — the satisfaction rates by dimension, building and
renovation item (``surveys.satisfaction``, of the latest linked satisfaction survey), the
project's complaint and suggestion figures (``projects.tickets``: linked to the project or
filed during its works period), and each step's planned against actual dates —
as JSON and as an .xlsx workbook (``surveys.exports``)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, case, func

from participation.common.sql import db_now
from participation.extensions import db
from participation.feedback import lifecycle
from participation.feedback.models import Ticket, TicketKind, TicketStatus
from participation.feedback.services import overdue_clause
from participation.projects import services
from participation.projects.models import LinkKind, Project, StepStatus
from participation.projects.tickets import project_tickets
from participation.roster.models import Compound
from participation.surveys.exports import satisfaction_sheets, workbook
from participation.surveys.models import SurveyKind
from participation.surveys.satisfaction import satisfaction_result

HANDLED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
STATUS_LABELS = {
    StepStatus.NOT_STARTED: "未开始",
    StepStatus.IN_PROGRESS: "进行中",
    StepStatus.DONE: "已完成",
    StepStatus.REOPENED: "已重新打开",
}


def step_dates(project: Project) -> list[dict]:
    """Each step's planned and actual dates; ``delay_days``: actual end − planned end."""
    rows = []
    for step in project.steps:
        delay = None
        if step.actual_end is not None and step.planned_end is not None:
            delay = (step.actual_end - step.planned_end).days
        rows.append(
            {
                "step": step.step,
                "label": step.step.label,
                "status": step.status,
                "organisation": step.organisation,
                "planned_start": step.planned_start,
                "planned_end": step.planned_end,
                "actual_start": step.actual_start,
                "actual_end": step.actual_end,
                "delay_days": delay,
            }
        )
    return rows


def complaint_figures(project: Project) -> dict:
    """The project's tickets (``projects.tickets``: linked to the project, or filed in the
    compound during its works period) in one query: complaints and suggestions, open, late,
    handled, and the reporters' average rating."""
    now = db_now()
    is_open = Ticket.status.in_(lifecycle.OPEN)
    row = db.session.execute(
        project_tickets(
            func.sum(case((Ticket.kind == TicketKind.COMPLAINT, 1), else_=0)),
            func.sum(case((Ticket.kind == TicketKind.SUGGESTION, 1), else_=0)),
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((and_(is_open, overdue_clause(now)), 1), else_=0)),
            func.sum(case((Ticket.status.in_(HANDLED), 1), else_=0)),
            func.count(Ticket.rating),
            func.avg(Ticket.rating),
            where=Project.id == project.id,
        )
    ).one_or_none() or (None,) * 8
    _, complaints, suggestions, still_open, late, handled, rated, rating = row
    return {
        "complaints": complaints or 0,
        "suggestions": suggestions or 0,
        "open": still_open or 0,
        "overdue": late or 0,
        "handled": handled or 0,
        "rated": rated or 0,
        "average_rating": None
        if rating is None
        else Decimal(str(rating)).quantize(Decimal("0.01")),
    }


def report(project: Project) -> dict:
    surveys = [
        s for s in services.linked(project, LinkKind.SURVEY) if s.kind is SurveyKind.SATISFACTION
    ]
    survey = surveys[-1] if surveys else None
    return {
        "project_id": project.id,
        "compound": db.session.get(Compound, project.compound_id).name,
        "year": project.year,
        "title": project.title,
        "steps": step_dates(project),
        "satisfaction": None if survey is None else satisfaction_result(survey),
        "complaints": complaint_figures(project),
    }


def report_workbook(content: dict) -> bytes:
    steps = [
        [
            s["label"],
            STATUS_LABELS[s["status"]],
            s["organisation"],
            s["planned_start"],
            s["planned_end"],
            s["actual_start"],
            s["actual_end"],
            s["delay_days"],
        ]
        for s in content["steps"]
    ]
    c = content["complaints"]
    complaints = [
        ["投诉", c["complaints"]],
        ["建议", c["suggestions"]],
        ["未办结", c["open"]],
        ["逾期", c["overdue"]],
        ["已办结", c["handled"]],
        ["已评价", c["rated"]],
        ["平均评分（1–5）", c["average_rating"]],
    ]
    sheets = [
        (
            "计划与实际",
            [
                "步骤",
                "状态",
                "责任单位",
                "计划开始",
                "计划完成",
                "实际开始",
                "实际完成",
                "延误天数",
            ],
            steps,
        ),
        ("投诉建议", ["项目", "数量"], complaints),
    ]
    if content["satisfaction"] is not None:
        sheets += satisfaction_sheets(content["satisfaction"])
    return workbook(sheets)
