"""Posters for every compound of a community, street or district, as one .zip (rq; inline
without Redis).

The job is idempotent: a finished batch is left alone; an interrupted one starts over and
writes the same file (each compound's link is made once and kept, so a re-run prints the
same QR codes). The .zip is written beside its final name and renamed when complete, so a
download never sees half a file. Progress (``done`` of ``total``) is committed every few
posters and put in ``job.meta``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from participation.auth.models import Role
from participation.auth.scoping import path_resolver, place_covered
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
from participation.common.sql import db_now
from participation.common.types import utcnow
from participation.extensions import db
from participation.notices import links, posters
from participation.notices.models import BatchStatus, LinkTarget, PosterBatch
from participation.roster.models import Community, Compound, District, Street

LEVELS = {"community": (Role.COMMUNITY, Community), "street": (Role.STREET, Street)}
LEVELS["district"] = (Role.DISTRICT, District)
PROGRESS_EVERY = 10
# About 0.1 s a poster (bench/posters.py); generous, so a stuck run is stopped and retried.
TIMEOUT_BASE, TIMEOUT_PER_POSTER = 120, 1.0
SWEEP_GRACE = timedelta(seconds=60)
log = logging.getLogger(__name__)


@path_resolver("poster_batch_id")
def get_batch(poster_batch_id: int, principal: Principal) -> PosterBatch:
    """Staff whose roles cover the batch's place."""
    batch = db.session.get(PosterBatch, poster_batch_id)
    if batch is None or not place_covered(principal, LEVELS[batch.level][0], batch.place_id):
        raise not_found()
    return batch


def compounds_under(level: str, place_id: int):
    """``SELECT`` the compounds of a place, in a stable order (street, community, name)."""
    stmt = (
        select(Compound, Community, Street)
        .join(Community, Community.id == Compound.community_id)
        .join(Street, Street.id == Community.street_id)
    )
    column = {"community": Community.id, "street": Street.id, "district": Street.district_id}
    return stmt.where(column[level] == place_id).order_by(Street.id, Community.id, Compound.id)


def create_batch(
    level: str, place_id: int, principal: Principal, base_url: str, organiser, phone
) -> tuple[PosterBatch, bool]:
    """A new batch for the place, or the one already queued or running for it (asking twice
    does not build twice): (batch, created)."""
    role, model = LEVELS[level]
    place = db.session.get(model, place_id)
    if place is None or not place_covered(principal, role, place_id):
        raise not_found()
    running = db.session.scalar(
        select(PosterBatch).where(
            PosterBatch.level == level,
            PosterBatch.place_id == place_id,
            PosterBatch.status.in_([BatchStatus.QUEUED, BatchStatus.RUNNING]),
        )
    )
    if running is not None:
        return running, False
    total = len(db.session.execute(compounds_under(level, place_id)).all())
    batch = PosterBatch(
        level=level,
        place_id=place_id,
        place_name=place.name,
        total=total,
        base_url=base_url,
        organiser=organiser,
        phone=phone,
        created_by_id=principal.id,
    )
    db.session.add(batch)
    db.session.flush()
    return batch, True


def not_done(batch: PosterBatch):
    if batch.status is BatchStatus.FAILED:
        return conflict("batch_failed", batch.error or "生成失败，请重新生成")
    return conflict("batch_not_done", f"海报还在生成（{batch.done}/{batch.total}），请稍后下载")


def timeout(batch: PosterBatch) -> int:
    return int(TIMEOUT_BASE + TIMEOUT_PER_POSTER * batch.total)


def enqueue_batch(batch: PosterBatch) -> str | None:
    """After the batch's commit (inline without Redis: built before this returns)."""
    return after_commit(
        f"poster batch {batch.id}",
        build_batch,
        batch.id,
        job_id=job_id("poster-batch", batch.id),
        timeout=timeout(batch),
    )


def batch_path(batch: PosterBatch) -> Path:
    return Path(current_app.config["POSTER_DIR"]) / f"poster-batch-{batch.id}.zip"


def _mark_failed(batch: PosterBatch, cause: str) -> None:
    if batch.status is not BatchStatus.DONE:
        batch.status, batch.error = BatchStatus.FAILED, f"生成失败（{cause}），请重新生成"[:200]


def _batch_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback: the batch says it failed once no retry is left."""
    (batch_id,) = job.args
    try:
        batch = db.session.get(PosterBatch, batch_id)
        if batch is not None and not job.retries_left:
            _mark_failed(batch, exc_type.__name__ if exc_type else "job lost")
            db.session.commit()
    finally:
        db.session.remove()


@task(timeout=TIMEOUT_BASE, retries=2, intervals=(0, 30), on_failure=_batch_failed)
def build_batch(batch_id: int) -> None:
    batch = db.session.get(PosterBatch, batch_id)
    if batch is None or (batch.status is BatchStatus.DONE and batch_path(batch).exists()):
        return
    batch.status, batch.done, batch.error = BatchStatus.RUNNING, 0, None
    db.session.commit()
    path = batch_path(batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    phone = batch.phone or current_app.config["HELP_PHONE"]
    try:
        rows = db.session.execute(compounds_under(batch.level, batch.place_id)).all()
        batch.total = len(rows)
        index = io.StringIO()
        writer = csv.writer(index)
        writer.writerow(["街道", "社区", "小区", "二维码地址", "海报文件"])
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
            for number, (compound, community, street) in enumerate(rows, start=1):
                link, _ = links.ensure_link(compound, LinkTarget.COMPOUND, None, None)
                url = links.link_url(link, batch.base_url)
                poster = posters.poster_for(link, url, batch.organiser, phone)
                name = f"{street.name}/{community.name}/{compound.name}.pdf"
                pdf = posters.to_pdf(posters.render(poster), f"{compound.name} 二维码海报")
                archive.writestr(name, pdf)  # PDF compresses no further: stored as is
                writer.writerow([street.name, community.name, compound.name, url, name])
                if number % PROGRESS_EVERY == 0 or number == len(rows):
                    _progress(batch, number)
            archive.writestr("清单.csv", "\ufeff" + index.getvalue(), zipfile.ZIP_DEFLATED)
        os.replace(partial, path)
    except Exception as error:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        if get_current_job() is None:  # inline: no retry will come
            log.warning("poster batch %s failed; marked as failed", batch_id)
            _mark_failed(db.session.get(PosterBatch, batch_id), type(error).__name__)
            db.session.commit()
        raise
    batch.status, batch.size = BatchStatus.DONE, path.stat().st_size
    batch.filename = f"{batch.place_name}-二维码海报.zip"
    batch.finished_at = db_now()
    db.session.commit()


def _progress(batch: PosterBatch, done: int) -> None:
    batch.done = done
    report_progress(done=done, total=batch.total)
    db.session.commit()  # the links made so far, too: a re-run reuses them


@sweeper
def sweep_batches() -> None:
    """Queue again the batches left queued or running without a live job."""
    waiting = select(PosterBatch).where(
        PosterBatch.status.in_([BatchStatus.QUEUED, BatchStatus.RUNNING]),
        PosterBatch.created_at <= utcnow() - SWEEP_GRACE,
    )
    for batch in db.session.scalars(waiting).all():
        ensure_job(
            build_batch, batch.id, job_id=job_id("poster-batch", batch.id), timeout=timeout(batch)
        )
