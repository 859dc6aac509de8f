"""Tickets (complaints, suggestions, praise) of a compound during its works, their photos and
their append-only history; the categories each district handles with their service levels;
the API keys of the city systems that post tickets through Open311.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.common.sql import install_append_only
from participation.common.types import UTCDateTime, str_enum, utcnow
from participation.extensions import db


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"  # 投诉
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬


class TicketStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # 已提交
    ACKNOWLEDGED = "acknowledged"  # 已受理
    IN_PROGRESS = "in_progress"  # 处理中
    RESOLVED = "resolved"  # 已办结, waiting for the reporter
    CLOSED = "closed"  # 已关闭: confirmed, or no answer within the confirmation period
    REJECTED = "rejected"  # 不予受理
    DUPLICATE = "duplicate"  # 重复 (of ``duplicate_of_id``)
    NOT_RESPONSIBLE = "not_responsible"  # 非本单位职责, referred elsewhere


class LinkKind(enum.StrEnum):
    """What a ticket may be about besides a place."""

    MENU_ITEM = "menu_item"  # a renovation item of the compound's menu survey
    VOTE = "vote"
    SURVEY = "survey"
    NOTICE = "notice"


class Source(enum.StrEnum):
    H5 = "h5"  # a resident, from the phone
    OPEN311 = "open311"  # a city system (12345 hotline) through GeoReport v2


class TicketCategory(db.Model):
    """A category of tickets in one district, with its service level: acknowledged within
    ``ack_working_days`` working days, resolved within ``resolve_days`` days of filing. Its
    ``code`` is the Open311 ``service_code``."""

    __tablename__ = "ticket_categories"
    __table_args__ = (
        UniqueConstraint("district_id", "code"),
        UniqueConstraint("district_id", "name"),
        CheckConstraint("ack_working_days >= 1", name="ack_working_days_positive"),
        CheckConstraint("resolve_days >= 1", name="resolve_days_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    ack_working_days: Mapped[int] = mapped_column(default=1)
    resolve_days: Mapped[int] = mapped_column(default=7)
    active: Mapped[bool] = mapped_column(default=True)


class Ticket(db.Model):
    """One complaint, suggestion or praise. Where: a building and entrance of the compound,
    a point (WGS84, from Open311 or a map), or free text. The reporter is an account (an H5
    ticket) or nobody (posted by a city system, whose own reference is ``external_ref``).
    ``anonymous`` hides the reporter from the public and from contractors, never from the
    community staff. ``external_ref``: the city system's own reference (Open311), or the
    Idempotency-Key of a resident's filing (h5), unique per source. The due times are
    computed once, when filed, so a later change of the category's service level or of the
    holiday calendar does not move them."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_compound_status", "compound_id", "status"),
        Index("ix_tickets_handler_status", "handler_id", "status"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_1_to_5"),
        CheckConstraint(
            "(link_kind IS NULL) = (link_id IS NULL)", name="link_kind_and_id_together"
        ),
        CheckConstraint("(lat IS NULL) = (lng IS NULL)", name="lat_and_lng_together"),
        UniqueConstraint("source", "external_ref"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, "ticket_kind"))
    category_id: Mapped[int] = mapped_column(ForeignKey("ticket_categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrances.id"))
    location_text: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    link_kind: Mapped[LinkKind | None] = mapped_column(str_enum(LinkKind, "ticket_link_kind"))
    link_id: Mapped[int | None]
    anonymous: Mapped[bool] = mapped_column(default=False)
    source: Mapped[Source] = mapped_column(str_enum(Source, "ticket_source"), default=Source.H5)
    external_ref: Mapped[str | None] = mapped_column(String(64))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_status"), default=TicketStatus.SUBMITTED
    )
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    referred_to: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the overdue job, once per lapse: acknowledging late or resolving late.
    ack_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(default=0)
    category: Mapped[TicketCategory] = relationship()
    photos: Mapped[list[TicketPhoto]] = relationship(
        order_by="TicketPhoto.position", back_populates="ticket"
    )


class TicketPhoto(db.Model):
    """A photo of a ticket as stored: processed (no metadata, at most 2048 px) with its
    thumbnail, in the photo storage under ``key`` and ``thumbnail_key``. Public only when
    staff mark it so (no people in it)."""

    __tablename__ = "ticket_photos"
    __table_args__ = (UniqueConstraint("ticket_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(120), unique=True)
    thumbnail_key: Mapped[str] = mapped_column(String(120), unique=True)
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ticket: Mapped[Ticket] = relationship(back_populates="photos")


class ActorKind(enum.StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    SYSTEM = "system"  # the overdue and closing jobs
    OPEN311 = "open311"  # a city system, through its API key


class TicketEvent(db.Model):
    """One step of a ticket's history, never changed or deleted: who (kind and id), when,
    what (``action``, the status before and after) and the note shown to the public."""

    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("ticket_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int]
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[TicketStatus | None] = mapped_column(
        str_enum(TicketStatus, "ticket_event_from")
    )
    to_status: Mapped[TicketStatus | None] = mapped_column(
        str_enum(TicketStatus, "ticket_event_to")
    )
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "ticket_actor_kind"))
    actor_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


install_append_only(TicketEvent.__table__)


class Open311Key(db.Model):
    """An API key of a system that posts service requests in one district (the Open311
    jurisdiction). Only a keyed hash is kept; the key is shown once, when made."""

    __tablename__ = "open311_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
