"""档案管理: a project's archive as one .zip (rq; inline without Redis).

The archive holds every notice of the project (with its attachments), each linked campaign
and its result (JSON), the registers and result workbooks the campaigns export (.xlsx, the
packages' own export functions), the cost plans (each vote's and the project's plan with the
households' shares and the money by source), the plan consultation's summary, each vote's
record with its chain and the report of its verification (``votes.record.verify``), the
project itself with its history, and ``manifest.json`` with the SHA-256 and size of every
other file.

The job takes the archive's id, reloads its rows and is idempotent: a finished archive whose
file exists is left alone; an interrupted one starts over. The .zip is written beside its
final name and renamed when complete, so a download never sees half a file. Progress (``done``
of ``total`` files) goes to the row and to ``job.meta``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from rq import get_current_job
from sqlalchemy import or_, select

from participation.auth.scoping import in_scope, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, not_found
from participation.common.jobs import (
    after_commit,
    ensure_job,
    job_id,
    report_progress,
    sweeper,
    task,
)
from participation.common.privacy import mask_name, mask_phone
from participation.common.sql import db_now
from participation.common.types import utcnow
from participation.extensions import db
from participation.notices.models import Notice
from participation.projects import consultation, funding, management, services
from participation.projects.models import (
    ArchiveStatus,
    LinkKind,
    Project,
    ProjectArchive,
)
from participation.surveys import menu
from participation.surveys.exports import satisfaction_workbook
from participation.surveys.models import SurveyKind, SurveyStatus
from participation.surveys.services import final_result
from participation.votes import costs, exports, record
from participation.votes import schemas as vote_schemas
from participation.votes.models import ChainEntry, VoteEvent, VoteStatus

log = logging.getLogger(__name__)
TIMEOUT = 600
SWEEP_GRACE = timedelta(seconds=60)
UNDER_WAY = (ArchiveStatus.QUEUED, ArchiveStatus.RUNNING)
RESULT_IN = (SurveyStatus.CLOSED, SurveyStatus.PUBLISHED, SurveyStatus.FINAL)


@path_resolver("project_archive_id")
def get_archive(project_archive_id: int, principal: Principal) -> ProjectArchive:
    """Staff whose scope covers the project's compound."""
    stmt = (
        select(ProjectArchive)
        .join(Project, Project.id == ProjectArchive.project_id)
        .where(ProjectArchive.id == project_archive_id)
    )
    archive = db.session.scalar(in_scope(stmt, Project.compound_id, principal))
    if archive is None:
        raise not_found()
    return archive


def create_archive(project: Project, staff_id: int) -> tuple[ProjectArchive, bool]:
    """A new archive of the project, or the one under way (asking twice builds once)."""
    running = db.session.scalar(
        select(ProjectArchive).where(
            ProjectArchive.project_id == project.id, ProjectArchive.status.in_(UNDER_WAY)
        )
    )
    if running is not None:
        return running, False
    archive = ProjectArchive(project_id=project.id, created_by_id=staff_id)
    db.session.add(archive)
    db.session.flush()
    return archive, True


def enqueue_archive(archive: ProjectArchive) -> str | None:
    """After the archive's commit (inline without Redis: built before this returns)."""
    return after_commit(
        f"project archive {archive.id}",
        build_archive,
        archive.id,
        job_id=job_id("project-archive", archive.id),
    )


def archive_path(archive: ProjectArchive) -> Path:
    return Path(current_app.config["ARCHIVE_DIR"]) / f"project-archive-{archive.id}.zip"


def not_done(archive: ProjectArchive):
    if archive.status is ArchiveStatus.FAILED:
        return conflict("archive_failed", archive.error or "归档失败，请重新生成")
    return conflict(
        "archive_not_done", f"档案还在生成（{archive.done}/{archive.total}），请稍后下载"
    )


# The files ------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(content) -> bytes:
    return json.dumps(content, ensure_ascii=False, indent=2, default=_plain).encode()


def _columns(row, names) -> dict:
    return {name: getattr(row, name) for name in names}


def _project_file(project: Project) -> bytes:
    organisation = services.organisation_of(project.compound_id)
    members = services.members_of(organisation) if organisation else []
    recorded = management.management_of(project)
    return _json(
        {
            **services.project_view(project),
            "organisation": None
            if organisation is None
            else {
                **_columns(organisation, ("kind", "name", "established_on")),
                "members": [
                    {
                        "name": mask_name(m.name),
                        "phone": mask_phone(m.phone) or None,
                        "role": m.role.label,
                    }
                    for m in members
                ],
            },
            "management": None if recorded is None else management.management_view(recorded),
            "links": [_columns(link, ("kind", "target_id")) for link in services.links_of(project)],
            "documents": [
                _columns(d, ("name", "url", "sha256", "photo", "created_at"))
                for d in services.documents_of(project)
            ],
            "history": [
                _columns(e, ("action", "step_id", "from_status", "to_status", "reason", "at"))
                for e in db.session.scalars(services.events_query(project))
            ],
        }
    )


def _notices(project: Project, votes, surveys) -> list[Notice]:
    plan = consultation.of_project(project)
    ids = {n.id for n in services.linked(project, LinkKind.NOTICE)}
    if plan is not None:
        ids |= {plan.notice_id, plan.summary_notice_id}
        ids |= {review.notice_id for review in consultation.reviews_of(plan)}
    ids.discard(None)
    stmt = select(Notice).where(
        Notice.compound_id == project.compound_id,
        or_(
            Notice.id.in_(ids),
            Notice.vote_id.in_([v.id for v in votes]),
            Notice.survey_id.in_([s.id for s in surveys]),
            Notice.source == f"project:{project.id}:progress",
        ),
    )
    return list(db.session.scalars(stmt.order_by(Notice.id)))


NOTICE_FIELDS = ("kind", "title", "body", "public", "valid_from", "valid_until", "withdrawn_at")
CAMPAIGN_FIELDS = ("title", "status", "opens_at", "closes_at", "published_at", "finalized_at")


def _vote_files(vote) -> dict[str, bytes]:
    name = f"vote-{vote.id}"
    campaign = {**_columns(vote, CAMPAIGN_FIELDS), "matter": vote.matter, "result": vote.result}
    files = {f"campaigns/{name}.json": _json(campaign)}
    if vote.status is VoteStatus.DRAFT:
        return files
    record.seal_pending(vote.id)  # what the seal job does: the chain is complete
    files[f"registers/{name}-register.xlsx"] = exports.register_workbook(vote)
    files[f"registers/{name}-tally.xlsx"] = exports.tally_workbook(vote)
    if vote.total_cost is not None:
        # as the API gives it to the committee (every dwelling's share to the fen)
        plan = vote_schemas.StaffCostPlanSchema().dump(costs.plan_view(vote))
        files[f"cost-plans/{name}-cost-plan.json"] = _json(plan)
    events = db.session.execute(
        select(VoteEvent.__table__).where(VoteEvent.vote_id == vote.id).order_by(VoteEvent.id)
    ).all()
    chain = db.session.scalars(
        select(ChainEntry).where(ChainEntry.vote_id == vote.id).order_by(ChainEntry.seq)
    )
    files[f"records/{name}-record.json"] = _json(
        {
            "vote_id": vote.id,
            "genesis": record.genesis_hash(vote.id),
            "events": [e._asdict() for e in events],  # every column: the digests cover them
            "chain": [_columns(c, ("seq", "event_id", "parent_hash", "hash")) for c in chain],
        }
    )
    report = record.verify(vote.id)
    files[f"records/{name}-verification.json"] = _json(
        {
            "vote_id": vote.id,
            "ok": report.ok,
            "summary": report.summary(),
            "problems": report.problems,
            "events": report.events,
            "pending": report.pending,
            "ballots": report.ballots,
            "head": report.head,
        }
    )
    return files


def _survey_files(survey) -> dict[str, bytes]:
    name = f"survey-{survey.id}"
    result = survey.result if survey.result is not None else None
    if result is None and survey.status in RESULT_IN:
        result = final_result(survey)
    files = {
        f"campaigns/{name}.json": _json(
            {**_columns(survey, CAMPAIGN_FIELDS), "kind": survey.kind, "result": result}
        )
    }
    if survey.kind is SurveyKind.MENU and survey.status is not SurveyStatus.DRAFT:
        files[f"registers/{name}-menu.xlsx"] = menu.result_workbook(survey)
    if survey.kind is SurveyKind.SATISFACTION and survey.status is not SurveyStatus.DRAFT:
        files[f"registers/{name}-satisfaction.xlsx"] = satisfaction_workbook(survey)
    return files


def _plan_files(project: Project) -> dict[str, bytes]:
    plan = consultation.of_project(project)
    if plan is None:
        return {}
    items = consultation.current_items(plan)
    return {
        "cost-plans/project-plan.json": _json(
            {
                "title": plan.title,
                "revision": plan.revision,
                "items": [
                    _columns(i, ("position", "name", "description", "cost", "residents_part"))
                    for i in items
                ],
                "households": consultation.household_shares(plan),
                "funding": funding.funding_view(project),
            }
        ),
        "plan-consultation/summary.json": _json(
            {
                **consultation.summary(plan),
                "reviews": [
                    _columns(r, ("revision", "changes", "reviewer", "reviewed_on", "conclusion"))
                    for r in consultation.reviews_of(plan)
                ],
            }
        ),
    }


def archive_files(project: Project) -> dict[str, bytes]:
    """Every file of the archive but the manifest, by its path in the .zip."""
    votes = services.linked(project, LinkKind.VOTE)
    surveys = services.linked(project, LinkKind.SURVEY)
    files = {"project.json": _project_file(project)}
    for notice in _notices(project, votes, surveys):
        files[f"notices/notice-{notice.id}.json"] = _json(_columns(notice, NOTICE_FIELDS))
        for attachment in notice.attachments:
            files[f"notices/notice-{notice.id}/{attachment.id}-{attachment.filename}"] = (
                attachment.content
            )
    for vote in votes:
        files.update(_vote_files(vote))
    for survey in surveys:
        files.update(_survey_files(survey))
    files.update(_plan_files(project))
    return files


def manifest(project: Project, files: dict[str, bytes]) -> bytes:
    return _json(
        {
            "project_id": project.id,
            "title": project.title,
            "created_at": db_now(),
            "files": [
                {"name": name, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
                for name, content in sorted(files.items())
            ],
        }
    )


# The job --------------------------------------------------------------------------------------


def _mark_failed(archive: ProjectArchive, cause: str) -> None:
    if archive.status is not ArchiveStatus.DONE:
        archive.status = ArchiveStatus.FAILED
        archive.error = f"归档失败（{cause}），请重新生成"[:200]


def _archive_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback: the archive says it failed once no retry is left."""
    (archive_id,) = job.args
    try:
        archive = db.session.get(ProjectArchive, archive_id)
        if archive is not None and not job.retries_left:
            _mark_failed(archive, exc_type.__name__ if exc_type else "job lost")
            db.session.commit()
    finally:
        db.session.remove()


@task(timeout=TIMEOUT, retries=2, intervals=(0, 30), on_failure=_archive_failed)
def build_archive(archive_id: int) -> None:
    archive = db.session.get(ProjectArchive, archive_id)
    if archive is None or (archive.status is ArchiveStatus.DONE and archive_path(archive).exists()):
        return
    archive.status, archive.done, archive.error = ArchiveStatus.RUNNING, 0, None
    db.session.commit()
    path = archive_path(archive)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    try:
        project = db.session.get(Project, archive.project_id)
        files = archive_files(project)
        db.session.commit()  # the votes' events sealed on the way
        archive.total = len(files) + 1
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
            for number, (name, content) in enumerate(sorted(files.items()), start=1):
                out.writestr(name, content)
                if number % 20 == 0:
                    _progress(archive, number)
            out.writestr("manifest.json", manifest(project, files))
        os.replace(partial, path)
    except Exception as error:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        if get_current_job() is None:  # inline: no retry will come
            log.warning("project archive %s failed; marked as failed", archive_id)
            _mark_failed(db.session.get(ProjectArchive, archive_id), type(error).__name__)
            db.session.commit()
        raise
    archive.done = archive.total
    archive.status, archive.size = ArchiveStatus.DONE, path.stat().st_size
    archive.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    archive.filename = f"project-{project.id}-{project.year}-档案.zip"
    archive.finished_at = db_now()
    report_progress(done=archive.done, total=archive.total)
    db.session.commit()


def _progress(archive: ProjectArchive, done: int) -> None:
    archive.done = done
    report_progress(done=done, total=archive.total)
    db.session.commit()


@sweeper
def sweep_archives() -> None:
    """Queue again the archives left queued or running without a live job."""
    waiting = select(ProjectArchive).where(
        ProjectArchive.status.in_(UNDER_WAY), ProjectArchive.created_at <= utcnow() - SWEEP_GRACE
    )
    for archive in db.session.scalars(waiting).all():
        ensure_job(build_archive, archive.id, job_id=job_id("project-archive", archive.id))
