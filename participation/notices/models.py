"""The notice board (公示栏) of a compound: notices and their attachments, short links (the QR
codes' addresses), batches of printed posters, and the objections residents raise to a result
on 公示."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.common.types import UTCDateTime, str_enum, utcnow
from participation.extensions import db

# Notice board ---------------------------------------------------------------------------------


class NoticeKind(enum.StrEnum):
    GENERAL = "general"  # 公告
    CAMPAIGN = "campaign"  # 征集 / 表决 opened
    RESULT = "result"  # 结果公示
    PROGRESS = "progress"  # 项目进度


class Notice(db.Model):
    """One notice of a compound's board. Scope as a campaign's: both lists empty = the whole
    compound. ``source`` names what posted it automatically (``vote:12:opened``), so that
    posting it twice is a no-op; staff notices have none."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("compound_id", "source"),
        Index("ix_notices_compound_valid", "compound_id", "valid_from"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, "notice_kind"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(default=False)
    public: Mapped[bool] = mapped_column(default=False)
    building_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    entrance_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), index=True)
    source: Mapped[str | None] = mapped_column(String(48))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attachments: Mapped[list[NoticeAttachment]] = relationship(
        order_by="NoticeAttachment.id", back_populates="notice"
    )


class NoticeAttachment(db.Model):
    """A PDF or image of a notice (checked by ``common.files``)."""

    __tablename__ = "notice_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notice: Mapped[Notice] = relationship(back_populates="attachments")


# Short links and QR codes ---------------------------------------------------------------------


class LinkTarget(enum.StrEnum):
    COMPOUND = "compound"  # the compound's H5 landing page
    VOTE = "vote"
    SURVEY = "survey"
    NOTICE = "notice"


class ShortLink(db.Model):
    """``/c/<code>``: what a QR code on the board holds. Codes are random; a rotated link
    keeps its row (``rotated_at``, ``replaced_by_id``), so its old code still says where
    things moved. At most one current (unrotated) link per target, by a partial unique index;
    ``target_id`` is the compound's id for the compound's own link."""

    __tablename__ = "short_links"
    __table_args__ = (
        Index(
            "uq_short_links_current",
            "target",
            "target_id",
            unique=True,
            postgresql_where=text("rotated_at IS NULL"),
            sqlite_where=text("rotated_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    target: Mapped[LinkTarget] = mapped_column(str_enum(LinkTarget, "link_target"))
    target_id: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("short_links.id"))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Posters --------------------------------------------------------------------------------------


class BatchStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PosterBatch(db.Model):
    """The posters of every compound of a community, street or district, as one .zip file in
    the poster folder (``POSTER_DIR``); built by a job, ``done`` of ``total`` so far."""

    __tablename__ = "poster_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # community | street | district
    place_id: Mapped[int]
    place_name: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(200))  # of the links on the posters
    organiser: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[BatchStatus] = mapped_column(
        str_enum(BatchStatus, "poster_batch_status"), default=BatchStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# 公示 (publication) ------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    UPHELD = "upheld"  # 异议成立
    NOT_UPHELD = "not_upheld"  # 异议不成立


class Objection(db.Model):
    """询异: an objection to a published result and the committee's public answer.

    Filed by an owner in the campaign's scope (``account_id``) or, for one received in
    writing, recorded by staff (``recorded_by_id``): exactly one of them. ``filer`` is who
    filed it in public words (their entrance, never their name or room). The answer is a
    verdict (upheld or not) with its reason (``resolution``); an upheld objection of a vote
    lets the committee correct the count (``votes.corrections``).

    One table for every kind of campaign: the objection names its vote or its survey, exactly
    one of them (a database check), so that a foreign key still guards each, and a campaign
    of a new kind adds a column, not a table."""

    __tablename__ = "objections"
    __table_args__ = (
        CheckConstraint("(vote_id IS NULL) <> (survey_id IS NULL)", name="one_campaign"),
        CheckConstraint("(account_id IS NULL) <> (recorded_by_id IS NULL)", name="one_filer"),
        CheckConstraint("(verdict IS NULL) = (resolved_at IS NULL)", name="answered_with_verdict"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    filer: Mapped[str] = mapped_column(String(200), server_default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verdict: Mapped[Verdict | None] = mapped_column(str_enum(Verdict, "objection_verdict"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    photos: Mapped[list[ObjectionPhoto]] = relationship(
        order_by="ObjectionPhoto.id", lazy="selectin"
    )


class ObjectionPhoto(db.Model):
    """A photo or scan an owner attaches to an objection (JPEG, PNG or PDF, as checked by
    ``common.files.check_document``)."""

    __tablename__ = "objection_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(ForeignKey("objections.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
