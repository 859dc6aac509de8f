"""Which tickets (complaints, suggestions) belong to a project, for the district view and the
evaluation report: those linked to the project (``ProjectLink`` of kind ``ticket``), and those
of the project's compound filed during its works period — from the day 项目实施 started
(its ``actual_start``, Beijing time) to the end of the day 项目验收 was done (its
``actual_end``), or until now while 项目验收 is not done. Before 项目实施 has started only the
linked tickets count.

One grouped subquery for any number of projects; the day bounds are computed in the database
(Asia/Shanghai is UTC+8 all year).
"""

from __future__ import annotations

from sqlalchemy import DateTime, and_, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from participation.common.sql import dialect_name
from participation.feedback.models import Ticket
from participation.projects.models import (
    LinkKind,
    Project,
    ProjectLink,
    ProjectStep,
    StepKey,
    StepStatus,
)


def _day_start(day, next_day: bool = False):
    """The UTC instant a Beijing date begins (or, ``next_day``, the day after it begins)."""
    if dialect_name() == "postgresql":
        return func.timezone("Asia/Shanghai", cast(day + 1 if next_day else day, DateTime))
    return func.datetime(day, "+16 hours" if next_day else "-8 hours")


def project_tickets(*columns, where=None):
    """``SELECT Project.id AS project_id, *columns`` over the tickets of each project (the
    rule above), grouped by project; ``where`` narrows the projects."""
    works = aliased(ProjectStep, name="works_step")
    acceptance = aliased(ProjectStep, name="acceptance_step")
    linked = exists().where(
        ProjectLink.project_id == Project.id,
        ProjectLink.kind == LinkKind.TICKET,
        ProjectLink.target_id == Ticket.id,
    )
    during_works = and_(
        Ticket.compound_id == Project.compound_id,
        works.actual_start.is_not(None),
        Ticket.created_at >= _day_start(works.actual_start),
        or_(
            acceptance.status != StepStatus.DONE,
            acceptance.actual_end.is_(None),
            Ticket.created_at < _day_start(acceptance.actual_end, next_day=True),
        ),
    )
    stmt = (
        select(Project.id.label("project_id"), *columns)
        .select_from(Project)
        .join(works, and_(works.project_id == Project.id, works.step == StepKey.WORKS))
        .join(
            acceptance,
            and_(acceptance.project_id == Project.id, acceptance.step == StepKey.ACCEPTANCE),
        )
        .join(Ticket, or_(linked, during_works))
        .group_by(Project.id)
    )
    return stmt if where is None else stmt.where(where)
