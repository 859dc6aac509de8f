"""Owner votes (表决): the vote, its frozen electorate, every cast as an append-only event, the
current ballot of each person, proxies, attachments and the sealed audit chain. Objections to a
published result are ``notices.models.Objection``."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.auth.reminders import ReminderStatus
from participation.common.sql import install_append_only
from participation.common.types import UTCDateTime, str_enum, utcnow
from participation.counting import Rule
from participation.extensions import db
from participation.roster.models import ProxyRule


class Matter(enum.StrEnum):
    """What is decided (民法典 Art. 278); selects the counting rule."""

    BYLAWS = "bylaws"  # (一) 制定和修改业主大会议事规则
    MANAGEMENT_RULES = "management_rules"  # (二) 制定和修改管理规约
    COMMITTEE = "committee"  # (三) 选举业主委员会或者更换业主委员会成员
    PROPERTY_SERVICE = "property_service"  # (四) 选聘和解聘物业服务企业或者其他管理人
    USE_MAINTENANCE_FUND = "use_maintenance_fund"  # (五) 使用建筑物及其附属设施的维修资金
    RAISE_MAINTENANCE_FUND = "raise_maintenance_fund"  # (六) 筹集建筑物及其附属设施的维修资金
    REBUILD = "rebuild"  # (七) 改建、重建建筑物及其附属设施
    CHANGE_COMMON_USE = "change_common_use"  # (八) 改变共有部分的用途或者利用共有部分从事经营活动
    ELEVATOR = "elevator"  # 加装电梯: (七) for the building or entrance
    OTHER = "other"  # (九) 有关共有和共同管理权利的其他重大事项

    @property
    def rule(self) -> Rule:
        major = {
            Matter.RAISE_MAINTENANCE_FUND,
            Matter.REBUILD,
            Matter.CHANGE_COMMON_USE,
            Matter.ELEVATOR,
        }
        return Rule.CIVIL_CODE_MAJOR if self in major else Rule.CIVIL_CODE_ORDINARY


class VoteStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # between opens_at and closes_at; before opens_at it is "scheduled"
    CLOSED = "closed"  # past closes_at; final tally taken
    PUBLISHED = "published"  # preliminary result on public notice, objection period running
    FINAL = "final"
    CANCELLED = "cancelled"


class Choice(enum.StrEnum):
    AGREE = "agree"  # 同意
    DISAGREE = "disagree"  # 不同意
    ABSTAIN = "abstain"  # 弃权


class Channel(enum.StrEnum):
    ONLINE = "online"
    PROXY = "proxy"  # 委托: cast by a confirmed proxy
    PAPER = "paper"  # 纸质票: entered by committee staff with a photo


class Vote(db.Model):
    __tablename__ = "votes"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        # 0 would skip 询异; the district's minimum is checked when the draft is written.
        CheckConstraint("objection_days >= 1", name="objection_days_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    matter: Mapped[Matter] = mapped_column(str_enum(Matter, "vote_matter"))
    rule: Mapped[Rule] = mapped_column(str_enum(Rule, "vote_rule"))
    status: Mapped[VoteStatus] = mapped_column(
        str_enum(VoteStatus, "vote_status"), default=VoteStatus.DRAFT
    )
    # Scope: both empty = the whole compound.
    building_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    entrance_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    objection_days: Mapped[int] = mapped_column(default=7)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    objection_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Frozen at opening.
    t_cnt: Mapped[int | None]
    t_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # The final tally, taken at closing (see tally.py for its shape).
    result: Mapped[dict | None] = mapped_column(JSON)
    # 加装电梯: cost plan (Art. 283) and the compound-wide vote needed when it takes common parts.
    total_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    subsidy: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    floor_coefficients: Mapped[dict | None] = mapped_column(JSON)
    takes_common_parts: Mapped[bool] = mapped_column(default=False)
    common_parts_vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"))
    # A cost-bearing vote (costs.plan_required) opens only with a cost plan, or with the
    # committee's declaration on the draft that the residents pay nothing, and why.
    no_cost_plan: Mapped[bool] = mapped_column(server_default=false())
    no_cost_plan_reason: Mapped[str | None] = mapped_column(String(200))
    # The compound's rule for an owner's own ballot against a proxy's, frozen at opening.
    proxy_rule: Mapped[ProxyRule] = mapped_column(
        str_enum(ProxyRule, "proxy_rule"), server_default=ProxyRule.LATEST.value
    )

    @property
    def residents_share(self) -> Decimal | None:
        if self.total_cost is None:
            return None
        return self.total_cost - (self.subsidy or Decimal("0.00"))


class VoteAttachment(db.Model):
    """Plan, cost estimate, or the photo of a signed paper ballot."""

    __tablename__ = "vote_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # plan | cost_estimate | paper_ballot | other
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VotePerson(db.Model):
    """One person of the frozen electorate (see roster/electorate.py for who counts as one)."""

    __tablename__ = "vote_persons"
    __table_args__ = (
        UniqueConstraint("vote_id", "key"),
        # The few persons whose dwellings in scope lie in several entrances (tally.py).
        Index(
            "ix_vote_persons_spanning",
            "vote_id",
            sqlite_where=text("entrance_id IS NULL"),
            postgresql_where=text("entrance_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    key: Mapped[str] = mapped_column(String(200))
    area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    labels: Mapped[str] = mapped_column(String(400))  # room labels, for committees' lists
    # The entrance holding all the person's dwellings in scope; None if they span several.
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrances.id"))
    dwellings: Mapped[list[VotePersonDwelling]] = relationship(back_populates="person")


class VotePersonDwelling(db.Model):
    __tablename__ = "vote_person_dwellings"
    __table_args__ = (
        UniqueConstraint("vote_id", "dwelling_id"),
        Index("ix_vote_person_dwellings_person", "person_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("vote_persons.id"))
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwellings.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrances.id"))
    floor: Mapped[int]
    area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    label: Mapped[str] = mapped_column(String(64))
    person: Mapped[VotePerson] = relationship(back_populates="dwellings")


class VoteEntrance(db.Model):
    """Frozen at opening: the persons whose dwellings in scope all lie in one entrance, per
    entrance (how many, their area). With the counting ballots, which carry the same
    entrance and area, the tally's breakdown needs no join over the electorate."""

    __tablename__ = "vote_entrances"
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), primary_key=True)
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrances.id"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    t_cnt: Mapped[int]
    t_area: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class VotePersonOwner(db.Model):
    """The roster owners behind a person at opening: any of them may cast its ballot."""

    __tablename__ = "vote_person_owners"
    __table_args__ = (
        # An owner may be behind several persons (sole owner of one dwelling, co-owner of
        # another); (vote_id, owner_id) leads for the lookup of a resident's persons.
        UniqueConstraint("vote_id", "owner_id", "person_id"),
        Index("ix_vote_person_owners_person", "person_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("vote_persons.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))


class VoteEvent(db.Model):
    """Append-only: every cast (online, by proxy, on paper), every correction and every
    lifecycle event.

    ``digest`` is the SHA-256 of the event's canonical content; a cast's receipt is derived
    from it at once. The database refuses UPDATE and DELETE on this table.

    A paper cast carries ``signed_at``, when the owner signed it: a ballot counts by when it
    was made (``made_at``), not when it was entered. A correction after 公示 names the upheld
    objection it answers (``objection_id``) and its reason (``note``); a ``void`` names the
    cast it voids (``ref_event_id``).
    """

    __tablename__ = "vote_events"
    __table_args__ = (
        Index(
            "uq_vote_events_idempotency",
            "vote_id",
            "account_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        UniqueConstraint("vote_id", "receipt"),
        Index("ix_vote_events_vote_person", "vote_id", "person_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    kind: Mapped[str] = mapped_column(String(24))  # cast | proxy | opened | closed
    person_id: Mapped[int | None] = mapped_column(ForeignKey("vote_persons.id"))
    choice: Mapped[Choice | None] = mapped_column(str_enum(Choice, "vote_choice"))
    channel: Mapped[Channel | None] = mapped_column(str_enum(Channel, "vote_channel"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("vote_attachments.id"))
    proxy_id: Mapped[int | None] = mapped_column(ForeignKey("vote_proxies.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    receipt: Mapped[str | None] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(32))  # makes receipts unguessable
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ref_event_id: Mapped[int | None] = mapped_column(ForeignKey("vote_events.id"))
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("objections.id"))
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def made_at(self) -> datetime:
        """When the ballot was made: signed on paper, or cast."""
        return self.signed_at or self.created_at


class Ballot(db.Model):
    """The ballot that counts for a person: of their casts made before the closing time and
    not voided, the one with the highest (``rank``, ``cast_at``, ``event_id``). ``cast_at``
    is when it was made (a paper ballot's signing time); ``rank`` is 0 for a proxy's cast
    where the owner's own ballot prevails (``ProxyRule.OWNER_PREVAILS``), else 1.

    ``area`` and ``entrance_id`` are the person's (``VotePerson``), copied by the cast's own
    statement so that the tally reads this table alone; ``record.verify`` checks them."""

    __tablename__ = "vote_ballots"
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("vote_persons.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("vote_events.id"))
    choice: Mapped[Choice] = mapped_column(str_enum(Choice, "vote_choice"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "vote_channel"))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rank: Mapped[int] = mapped_column(server_default="1")
    area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrances.id"))


class UnsealedEvent(db.Model):
    """An event committed but not yet sealed into the chain, written by the same transaction
    as the event; sealing takes (deletes) these rows, so it costs what it seals, not what
    the vote has recorded."""

    __tablename__ = "vote_unsealed"
    __table_args__ = (Index("ix_vote_unsealed_vote", "vote_id", "event_id"),)
    event_id: Mapped[int] = mapped_column(ForeignKey("vote_events.id"), primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))


class ChainEntry(db.Model):
    """The sealed audit chain: events in sealing order, each hash covering its parent's.

    Append-only like ``vote_events``. Sealing runs after commit, in batches, so casting never
    waits for a chain head."""

    __tablename__ = "vote_chain"
    __table_args__ = (UniqueConstraint("vote_id", "seq"), UniqueConstraint("event_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    seq: Mapped[int]
    event_id: Mapped[int] = mapped_column(ForeignKey("vote_events.id"))
    parent_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProxyStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    REVOKED = "revoked"


class Proxy(db.Model):
    """委托: an owner authorises another signed-in person to vote for them in one vote."""

    __tablename__ = "vote_proxies"
    __table_args__ = (
        Index(
            "uq_vote_proxies_active_person",
            "vote_id",
            "person_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'confirmed')"),
            postgresql_where=text("status IN ('pending', 'confirmed')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("vote_persons.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    grantor_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    proxy_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[ProxyStatus] = mapped_column(
        str_enum(ProxyStatus, "proxy_status"), default=ProxyStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The database itself refuses UPDATE and DELETE on the record (migration 'votes' does the same).
APPEND_ONLY_TABLES = ("vote_events", "vote_chain")

for _model in (VoteEvent, ChainEntry):
    install_append_only(_model.__table__)


class VoteReminder(db.Model):
    """A reminder to the non-voters of an open vote, sent by ``tasks.remind_non_voters``: an
    in-app notification to their accounts in account-id order (``last_account_id``), then an
    SMS to each of their owners' phones in owner-id order (``last_owner_id``); the cursors are
    where a rerun resumes. Per owner, ``sent_count`` (SMS sent), ``skipped_count`` (no phone,
    or the phone already had a reminder that day) and ``failed_count`` (the provider did not
    take it). ``link_url`` is the compound's short link, as the SMS carries it."""

    __tablename__ = "vote_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[ReminderStatus] = mapped_column(
        str_enum(ReminderStatus, "vote_reminder_status"), default=ReminderStatus.QUEUED
    )
    sent_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    notified_count: Mapped[int] = mapped_column(default=0)  # accounts notified in-app
    last_account_id: Mapped[int | None]
    last_owner_id: Mapped[int | None]
    link_url: Mapped[str | None] = mapped_column(String(300))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
