"""The public progress of a compound's project (no sign-in): the steps with their dates and
status, the photos before and after the works, the money by source, the design plan put to the
residents (where to open it) — nothing personal — and
the same as a notice of the compound's board on demand. Functions flush, never commit."""

from __future__ import annotations

from sqlalchemy import select

from participation.common.errors import not_found
from participation.common.sql import db_now
from participation.counting import amount
from participation.extensions import db
from participation.notices import services as board
from participation.notices.models import Notice, NoticeKind
from participation.projects import consultation as plan
from participation.projects import funding, services
from participation.projects.models import Project, StepStatus
from participation.roster.models import Compound

STATUS_LABELS = {
    StepStatus.NOT_STARTED: "未开始",
    StepStatus.IN_PROGRESS: "进行中",
    StepStatus.DONE: "已完成",
    StepStatus.REOPENED: "整改中",
}


def latest_project(compound_id: int) -> Project:
    """The compound's project of the latest programme year, else 404."""
    project = db.session.scalar(
        select(Project).where(Project.compound_id == compound_id).order_by(Project.year.desc())
    )
    if project is None:
        raise not_found("该小区还没有改造项目")
    return project


def progress(project: Project) -> dict:
    compound = db.session.get(Compound, project.compound_id)
    money = funding.funding_view(project)
    return {
        "compound": compound.name,
        "year": project.year,
        "title": project.title,
        "current_step": services.project_view(project)["current_step"],
        "steps": [
            {
                "step": step.step,
                "label": step.step.label,
                "status": step.status,
                "status_label": STATUS_LABELS[step.status],
                "organisation": step.organisation,
                "planned_start": step.planned_start,
                "planned_end": step.planned_end,
                "actual_start": step.actual_start,
                "actual_end": step.actual_end,
            }
            for step in project.steps
        ],
        "photos": [
            {"id": d.id, "name": d.name, "url": d.url, "photo": d.photo}
            for d in services.documents_of(project)
            if d.photo is not None
        ],
        "funding": {
            "plan_total": money["plan_total"],
            "sources": money["sources"],
            "funded_total": money["funded_total"],
        },
        "plan_consultation": _consultation(project),
    }


def _consultation(project: Project) -> dict | None:
    """The design plan put to the residents, where the H5 page opens it (no counts)."""
    consultation = plan.of_project(project)
    if consultation is None:
        return None
    now = db_now()
    return {
        "id": consultation.id,
        "title": consultation.title,
        "opens_at": consultation.opens_at,
        "closes_at": consultation.closes_at,
        "open": consultation.opens_at <= now < consultation.closes_at,
        "summary_published_at": consultation.summary_published_at,
    }


def _body(content: dict) -> str:
    lines = [f"{content['compound']}{content['year']}年改造项目“{content['title']}”进度如下："]
    for number, step in enumerate(content["steps"], start=1):
        dates = " 至 ".join(
            f"{day:%Y年%m月%d日}"
            for day in (step["actual_start"] or step["planned_start"], step["actual_end"])
            if day is not None
        )
        where = f"（{step['organisation']}）" if step["organisation"] else ""
        lines.append(f"{number}. {step['label']}：{step['status_label']}{where} {dates}".rstrip())
    sources = content["funding"]["sources"]
    if sources:
        lines += ["", "资金来源："]
        lines += [f"{s['label']} {amount(s['amount'])} 元" for s in sources]
        lines.append(f"合计 {amount(content['funding']['funded_total'])} 元")
    return "\n".join(lines)


def post_progress_notice(project: Project, staff_id: int) -> Notice:
    """The progress as a public notice of the compound's board: posted the first time,
    brought up to date (and to the top of the board) after that."""
    content = progress(project)
    source = f"project:{project.id}:progress"
    fields = {
        "title": f"改造进度：{content['title']}"[:120],
        "body": _body(content),
    }
    notice = db.session.scalar(
        select(Notice).where(Notice.compound_id == project.compound_id, Notice.source == source)
    )
    if notice is None:
        compound = db.session.get(Compound, project.compound_id)
        notice = board.create_notice(
            compound,
            {
                **fields,
                "kind": NoticeKind.PROGRESS,
                "pinned": False,
                "public": True,
                "building_ids": [],
                "entrance_ids": [],
            },
            staff_id,
        )
        notice.source = source
    else:
        notice.withdrawn_at = None  # posted again: back on the board
        board.update_notice(notice, {**fields, "valid_from": db_now()})
    services.record(project, staff_id, "progress_posted", reason=f"notice:{notice.id}")
    db.session.flush()
    return notice
