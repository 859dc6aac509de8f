"""Projects and their steps: creating a project with its eight steps, editing a step,
completing and reopening it through its gate (``gates``), linking the compound's campaigns,
notices and tickets, documents; the compound's self-governing organisation. Functions
flush, never commit; every move of a step is a ``ProjectEvent``.

Moves of one project are serialised by locking the project's row, so two committee members
completing steps at once both see the other's result.
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from participation.auth import services as auth
from participation.auth.models import Role, StaffUser
from participation.auth.scoping import get_scoped, in_scope, is_committee, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid, not_found
from participation.common.privacy import mask_name, mask_phone
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.extensions import db
from participation.feedback.models import Ticket
from participation.notices.models import Notice
from participation.projects import gates
from participation.projects.models import (
    COMMITTEE_RIGHTS,
    LinkKind,
    Organisation,
    OrganisationMember,
    PlanConsultation,
    Project,
    ProjectDocument,
    ProjectEvent,
    ProjectLink,
    ProjectManagement,
    ProjectStep,
    StepKey,
    StepStatus,
)
from participation.roster.models import Compound
from participation.surveys.models import Survey, SurveyKind, SurveyStatus
from participation.surveys.services import effective_status
from participation.votes.models import Vote

LINK_MODELS = {
    LinkKind.VOTE: Vote,
    LinkKind.SURVEY: Survey,
    LinkKind.NOTICE: Notice,
    LinkKind.TICKET: Ticket,
}
STEP_FIELDS = ("planned_start", "planned_end", "actual_start", "actual_end", "organisation", "note")
# A menu survey whose answers can no longer change: its result is in.
MENU_RESULT_IN = (SurveyStatus.CLOSED, SurveyStatus.PUBLISHED, SurveyStatus.FINAL)


@path_resolver("project_id")
def get_project(project_id: int, principal: Principal) -> Project:
    """Staff whose scope covers the project's compound; anyone else 404."""
    return get_scoped(Project, project_id, principal)


@path_resolver("project_step_id")
def get_step(project_step_id: int, principal: Principal) -> ProjectStep:
    stmt = select(ProjectStep).join(Project).where(ProjectStep.id == project_step_id)
    step = db.session.scalar(in_scope(stmt, Project.compound_id, principal))
    if step is None:
        raise not_found()
    return step


def today() -> date:
    """The date in Beijing, by the database's clock."""
    return db_now().astimezone(SHANGHAI).date()


def record(project: Project, staff_id: int, action: str, step=None, before=None, reason=""):
    """Add the move to the project's history (``step``'s status now is its ``to_status``)."""
    db.session.add(
        ProjectEvent(
            project_id=project.id,
            step_id=step.id if step is not None else None,
            action=action,
            from_status=before,
            to_status=step.status if step is not None else None,
            reason=reason,
            staff_id=staff_id,
        )
    )


# Projects -----------------------------------------------------------------------------------


def compound_projects(compound: Compound) -> Select:
    return select(Project).where(Project.compound_id == compound.id).order_by(Project.year.desc())


def create_project(compound: Compound, data: dict, staff_id: int) -> Project:
    """A project of the compound for a programme year, with its eight steps not started;
    409 ``project_exists`` for a year that has one."""
    project = Project(
        compound_id=compound.id, year=data["year"], title=data["title"], created_by_id=staff_id
    )
    try:
        with db.session.begin_nested():
            db.session.add(project)
            db.session.flush()
    except IntegrityError:
        raise conflict(
            "project_exists", f"本小区 {data['year']} 年度的改造项目已经建立", {"year": ["已存在"]}
        ) from None
    db.session.add_all(
        ProjectStep(project_id=project.id, step=key, position=key.position) for key in StepKey
    )
    db.session.flush()
    record(project, staff_id, "created")
    db.session.flush()
    return project


def lock(project: Project) -> None:
    """Take the project's row exclusively: the moves of one project (steps, its plan, its
    money, its management) happen one after the other."""
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())


def _lock(project: Project) -> None:
    lock(project)
    db.session.refresh(project)
    for step in project.steps:
        db.session.refresh(step)


def statuses_of(project: Project) -> dict[StepKey, StepStatus]:
    return {step.step: step.status for step in project.steps}


def step_of(project: Project, key: StepKey) -> ProjectStep:
    return next(step for step in project.steps if step.step is key)


# Steps --------------------------------------------------------------------------------------


def _check_dates(values: dict) -> None:
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        if values[start] is not None and values[end] is not None and values[end] < values[start]:
            message = "结束日期不能早于开始日期"
            raise invalid("dates_out_of_order", message, {end: [message]})


def update_step(step: ProjectStep, changes: dict, staff_id: int) -> ProjectStep:
    """Dates, the responsible organisation, the note; ``status: in_progress`` starts a step
    that is not started or reopened (a done step is reopened, not edited back)."""
    project = step.project
    _lock(project)
    values = {field: changes.get(field, getattr(step, field)) for field in STEP_FIELDS}
    _check_dates(values)
    before = step.status
    if changes.get("status") is StepStatus.IN_PROGRESS and before is not StepStatus.IN_PROGRESS:
        if before is StepStatus.DONE:
            raise conflict("step_done", f"“{step.step.label}”已完成；如需修改请先重新打开")
        step.status = StepStatus.IN_PROGRESS
        if values["actual_start"] is None:
            values["actual_start"] = today()
    for field, value in values.items():
        setattr(step, field, value)
    step.updated_at = db_now()
    record(project, staff_id, "updated", step, before, changes.get("reason", ""))
    db.session.flush()
    return step


def complete_step(step: ProjectStep, staff_id: int, reason: str, on: date | None) -> ProjectStep:
    """Complete a step if its gate lets it (409 with the gate's code otherwise, nothing
    written); its actual end is ``on`` or today."""
    project = step.project
    _lock(project)
    refused = gates.refusal(step.step, facts_of(project))
    if refused is not None:
        raise conflict(*refused)
    end = on or today()
    start = step.actual_start or end
    if end < start:
        message = "完成日期不能早于实际开始日期"
        raise invalid("dates_out_of_order", message, {"actual_end": [message]})
    before = step.status
    step.status = StepStatus.DONE
    step.actual_start, step.actual_end = start, end
    step.updated_at = db_now()
    record(project, staff_id, "completed", step, before, reason)
    db.session.flush()
    return step


def reopen_step(step: ProjectStep, staff_id: int, reason: str) -> ProjectStep:
    """Reopen a done step (with its reason); the steps after it keep their status."""
    project = step.project
    _lock(project)
    if step.status is not StepStatus.DONE:
        raise conflict("step_not_done", f"“{step.step.label}”尚未完成，无需重新打开")
    before = step.status
    step.status = StepStatus.REOPENED
    step.actual_end = None
    step.updated_at = db_now()
    record(project, staff_id, "reopened", step, before, reason)
    db.session.flush()
    return step


def facts_of(project: Project) -> gates.Facts:
    """What the gates need, from the project's links and the compound's records."""
    surveys = linked(project, LinkKind.SURVEY)
    now = db_now()
    return gates.Facts(
        statuses=statuses_of(project),
        organisation_recorded=organisation_of(project.compound_id) is not None,
        consent_passed_and_final=any(
            s.kind is SurveyKind.CONSENT
            and s.status is SurveyStatus.FINAL
            and (s.result or {}).get("passed") is True
            for s in surveys
        ),
        menu_result_in=any(
            s.kind is SurveyKind.MENU and effective_status(s, now) in MENU_RESULT_IN
            for s in surveys
        ),
        consultation_published=db.session.scalar(
            select(PlanConsultation.summary_published_at).filter_by(project_id=project.id)
        )
        is not None,
        management_recorded=db.session.scalar(
            select(ProjectManagement.id).filter_by(project_id=project.id)
        )
        is not None,
    )


# Links and documents ------------------------------------------------------------------------


def linked(project: Project, kind: LinkKind) -> list:
    model = LINK_MODELS[kind]
    stmt = (
        select(model)
        .join(ProjectLink, ProjectLink.target_id == model.id)
        .where(ProjectLink.project_id == project.id, ProjectLink.kind == kind)
        .order_by(model.id)
    )
    return list(db.session.scalars(stmt))


def links_of(project: Project) -> list[ProjectLink]:
    return list(
        db.session.scalars(
            select(ProjectLink).where(ProjectLink.project_id == project.id).order_by(ProjectLink.id)
        )
    )


def add_link(project: Project, kind: LinkKind, target_id: int, staff_id: int) -> ProjectLink:
    """Link a vote, survey, notice or ticket of the project's compound (422 otherwise);
    linking it again returns the link there is."""
    model = LINK_MODELS[kind]
    target = db.session.get(model, target_id)
    if target is None or target.compound_id != project.compound_id:
        message = "本小区没有这项表决、问卷、公告或投诉建议"
        raise invalid("link_target_invalid", message, {"target_id": [message]})
    existing = db.session.scalar(
        select(ProjectLink).filter_by(project_id=project.id, kind=kind, target_id=target_id)
    )
    if existing is not None:
        return existing
    link = ProjectLink(project_id=project.id, kind=kind, target_id=target_id, added_by_id=staff_id)
    db.session.add(link)
    record(project, staff_id, "linked", reason=f"{kind.value}:{target_id}")
    db.session.flush()
    return link


def documents_of(project: Project) -> list[ProjectDocument]:
    return list(
        db.session.scalars(
            select(ProjectDocument)
            .where(ProjectDocument.project_id == project.id)
            .order_by(ProjectDocument.id)
        )
    )


def add_document(project: Project, data: dict, staff_id: int) -> ProjectDocument:
    step_id = data.get("step_id")
    if step_id is not None and step_id not in {step.id for step in project.steps}:
        message = "该步骤不属于本项目"
        raise invalid("step_not_in_project", message, {"step_id": [message]})
    document = ProjectDocument(
        project_id=project.id,
        step_id=step_id,
        name=data["name"],
        url=data["url"],
        sha256=data["sha256"].lower(),
        photo=data.get("photo"),
        added_by_id=staff_id,
    )
    db.session.add(document)
    record(project, staff_id, "documented", reason=data["name"])
    db.session.flush()
    return document


def events_query(project: Project) -> Select:
    return (
        select(ProjectEvent).where(ProjectEvent.project_id == project.id).order_by(ProjectEvent.id)
    )


def event_views(events: list[ProjectEvent]) -> list[dict]:
    """The events with the name of the staff member who made each (one query)."""
    ids = {event.staff_id for event in events}
    names = dict(
        db.session.execute(
            select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids))
        ).all()
    )
    columns = [column.key for column in ProjectEvent.__table__.columns]
    return [
        {**{key: getattr(event, key) for key in columns}, "staff_name": names.get(event.staff_id)}
        for event in events
    ]


# Views --------------------------------------------------------------------------------------


def step_view(step: ProjectStep) -> dict:
    return {
        "id": step.id,
        "project_id": step.project_id,
        "step": step.step,
        "label": step.step.label,
        "position": step.position,
        "status": step.status,
        **{field: getattr(step, field) for field in STEP_FIELDS},
        "updated_at": step.updated_at,
    }


def project_view(project: Project, detail: bool = False) -> dict:
    current = gates.current_step(statuses_of(project))
    view = {
        "id": project.id,
        "compound_id": project.compound_id,
        "year": project.year,
        "title": project.title,
        "created_at": project.created_at,
        "current_step": current,
        "steps": [step_view(step) for step in project.steps],
    }
    if detail:
        view["links"] = links_of(project)
        view["documents"] = documents_of(project)
        facts = facts_of(project)
        view["gates"] = [
            {"step": key, "refusal": _refusal_view(gates.refusal(key, facts))} for key in StepKey
        ]
    return view


def _refusal_view(refused):
    return None if refused is None else {"code": refused[0], "message": refused[1]}


# 成立组织 ------------------------------------------------------------------------------------


def organisation_of(compound_id: int) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.compound_id == compound_id))


def set_organisation(compound: Compound, data: dict, staff_id: int) -> Organisation:
    """Record (or correct) the compound's self-governing organisation."""
    db.session.execute(select(Compound.id).where(Compound.id == compound.id).with_for_update())
    organisation = organisation_of(compound.id)
    now = db_now()
    if organisation is None:
        organisation = Organisation(compound_id=compound.id)
        db.session.add(organisation)
    organisation.kind = data["kind"]
    organisation.name = data["name"]
    organisation.established_on = data.get("established_on")
    organisation.recorded_by_id = staff_id
    organisation.recorded_at = now
    db.session.flush()
    return organisation


def members_of(organisation: Organisation) -> list[OrganisationMember]:
    stmt = (
        select(OrganisationMember)
        .where(OrganisationMember.organisation_id == organisation.id)
        .order_by(OrganisationMember.id)
    )
    return list(db.session.scalars(stmt))


def add_member(compound: Compound, data: dict, by: Principal) -> tuple[OrganisationMember, dict]:
    """A member of the compound's organisation. One with committee rights (主任, 副主任,
    秘书) gets the compound's committee role: on the staff account with their phone if there
    is one, else on a new account whose first password is returned once (``account``)."""
    organisation = organisation_of(compound.id)
    if organisation is None:
        raise conflict("organisation_missing", "请先登记本小区的自治组织，再添加成员")
    phone = data.get("phone")
    if data["role"] in COMMITTEE_RIGHTS and not phone:
        message = "主任、副主任、秘书须填写手机号，用于开通业委会工作账号"
        raise invalid("phone_required", message, {"phone": [message]})
    member = OrganisationMember(
        organisation_id=organisation.id,
        name=data["name"],
        phone=phone,
        role=data["role"],
        added_by_id=by.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(member)
            db.session.flush()
    except IntegrityError:
        message = "该手机号已是本组织成员"
        raise conflict("member_exists", message, {"phone": [message]}) from None
    account = {}
    if member.role in COMMITTEE_RIGHTS:
        account = _committee_account(compound, member, by)
        member.staff_id = account["staff_id"]
        db.session.flush()
    return member, account


def _committee_account(compound: Compound, member: OrganisationMember, by: Principal) -> dict:
    """Link the staff account with the member's phone (adding the committee role it lacks)
    or create one through ``auth.services.create_staff``."""
    staff = db.session.scalar(
        select(StaffUser)
        .where(StaffUser.phone == member.phone, StaffUser.active.is_(True))
        .order_by(StaffUser.id)
    )
    if staff is not None:
        has_role = any(r.role is Role.COMPOUND and r.scope_id == compound.id for r in staff.roles)
        if not has_role:
            auth.add_role(staff, Role.COMPOUND, compound.id, by)
        return {"staff_id": staff.id, "username": staff.username, "created": False}
    password = secrets.token_urlsafe(12)
    staff = auth.create_staff(
        {
            "username": f"c{compound.id}-{member.phone}",
            "password": password,
            "display_name": member.name,
            "phone": member.phone,
            "roles": [{"role": Role.COMPOUND, "scope_id": compound.id}],
        },
        by,
    )
    db.session.flush()
    return {
        "staff_id": staff.id,
        "username": staff.username,
        "created": True,
        "initial_password": password,
    }


def member_view(member: OrganisationMember, full: bool) -> dict:
    """Name and phone in full to the compound's committee; masked (张*, 138****5678) to
    staff of the areas above."""
    return {
        "id": member.id,
        "name": member.name if full else mask_name(member.name),
        "phone": (member.phone if full else mask_phone(member.phone)) or None,
        "role": member.role,
        "role_label": member.role.label,
        "staff_id": member.staff_id,
        "created_at": member.created_at,
    }


def member_views(compound: Compound, principal: Principal) -> list[dict]:
    organisation = organisation_of(compound.id)
    if organisation is None:
        return []
    full = is_committee(principal, compound.id)
    return [member_view(member, full) for member in members_of(organisation)]
