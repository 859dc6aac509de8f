"""Accounts (residents signed in by phone, staff with passwords), roles, sessions, one-time
codes, WeChat hand-offs, rate-limit logs, dwelling claims, tenancies and in-app
notifications."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.common.types import UTCDateTime, str_enum, utcnow
from participation.extensions import db


class Account(db.Model):
    """A resident who signed in with a phone number (owner, co-owner or tenant)."""

    __tablename__ = "accounts"
    # A unique index rather than a constraint: SQLite adds it without rebuilding the table.
    __table_args__ = (Index("uq_accounts_wechat_openid", "wechat_openid", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The openid of the WeChat user (of our official account) bound to this account: one
    # WeChat user signs in to one account at most, and one account has at most one.
    wechat_openid: Mapped[str | None] = mapped_column(String(64))


class Role(enum.StrEnum):
    ADMIN = "admin"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    COMPOUND = "compound"  # 业委会 / compound committee
    # 施工单位: a contractor's account in one compound; sees only the tickets assigned to it
    # (no compound scope: nothing else of the compound).
    CONTRACTOR = "contractor"


class StaffUser(db.Model):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(11))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="RoleAssignment.id"
    )


class RoleAssignment(db.Model):
    """A role over one place: ``scope_id`` is the district, street, community or compound id
    named by ``role`` (0 for admin)."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("staff_id", "role", "scope_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "staff_role"))
    scope_id: Mapped[int] = mapped_column(default=0)
    staff: Mapped[StaffUser] = relationship(back_populates="roles")


class SubjectKind(enum.StrEnum):
    STAFF = "staff"
    RESIDENT = "resident"


class AuthSession(db.Model):
    """One sign-in. Access and refresh tokens name it (claim ``sid``); logout revokes it and
    with it both tokens."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(str_enum(SubjectKind, "subject_kind"))
    subject_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhoneCode(db.Model):
    """A one-time sign-in code, stored as a keyed hash, never in clear."""

    __tablename__ = "phone_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WechatHandoff(db.Model):
    """What a WeChat authorisation hands to the H5 through the URL fragment: a one-time code
    that the H5 exchanges for tokens (an account bound to the openid), or a one-time binding
    ticket (no account yet: sent with the phone sign-in, it binds the openid). Only a keyed
    hash of the code or ticket is kept, and one of the WeChat code it came from, so a replayed
    WeChat code is refused whatever WeChat answers."""

    __tablename__ = "wechat_handoffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    wechat_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    openid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLog(db.Model):
    """The accepted hits of one rate limit for one subject: the times (milliseconds since the
    epoch, ascending, space-separated) of at most the limit's number of latest hits. The row is
    locked by an INSERT … ON CONFLICT before it is read, so concurrent hits are counted in turn."""

    __tablename__ = "rate_logs"
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    hits: Mapped[str] = mapped_column(Text, default="")


class ClaimKind(enum.StrEnum):
    OWNER = "owner"
    TENANT = "tenant"


class ClaimStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DwellingClaim(db.Model):
    """A signed-in phone that is not in the roster asks to be linked to a dwelling, as owner or
    tenant. Nothing is linked before committee staff approve it."""

    __tablename__ = "dwelling_claims"
    __table_args__ = (
        Index(
            "uq_dwelling_claims_pending",
            "account_id",
            "dwelling_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwellings.id"))
    kind: Mapped[ClaimKind] = mapped_column(str_enum(ClaimKind, "claim_kind"))
    name: Mapped[str] = mapped_column(String(64))
    id_last4: Mapped[str | None] = mapped_column(String(4))
    status: Mapped[ClaimStatus] = mapped_column(
        str_enum(ClaimStatus, "claim_status"), default=ClaimStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[Account] = relationship()


class Tenancy(db.Model):
    """A resident who is not an owner: may answer satisfaction surveys and file complaints,
    never vote."""

    __tablename__ = "tenancies"
    __table_args__ = (UniqueConstraint("account_id", "dwelling_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwellings.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(db.Model):
    """A message in a resident's or staff member's in-app list (``/me/notifications``), from
    any package: a ticket's progress, an overdue ticket, … ``link`` is a path of this site
    (the H5 or an API path) the message is about."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "recipient_kind", "recipient_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_kind: Mapped[SubjectKind] = mapped_column(
        str_enum(SubjectKind, "notification_recipient")
    )
    recipient_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
