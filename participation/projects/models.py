"""The renovation project of a compound and programme year: its eight steps (成立组织 →
绩效评估) with their dates, responsible organisation, documents and append-only history; the
campaigns, notices and complaints that belong to it; the compound's self-governing
organisation (成立组织)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
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


class StepKey(enum.StrEnum):
    """The eight steps, in their order."""

    ORGANISE = "organise"  # 成立组织
    APPLY = "apply"  # 申请项目
    PLAN = "plan"  # 申报计划
    DESIGN = "design"  # 编制方案
    WORKS = "works"  # 项目实施
    ACCEPTANCE = "acceptance"  # 项目验收
    HANDOVER = "handover"  # 项目接管
    EVALUATION = "evaluation"  # 绩效评估

    @property
    def label(self) -> str:
        return STEP_LABELS[self]

    @property
    def position(self) -> int:
        return list(StepKey).index(self) + 1


STEP_LABELS = {
    StepKey.ORGANISE: "成立组织",
    StepKey.APPLY: "申请项目",
    StepKey.PLAN: "申报计划",
    StepKey.DESIGN: "编制方案",
    StepKey.WORKS: "项目实施",
    StepKey.ACCEPTANCE: "项目验收",
    StepKey.HANDOVER: "项目接管",
    StepKey.EVALUATION: "绩效评估",
}


class StepStatus(enum.StrEnum):
    NOT_STARTED = "not_started"  # 未开始
    IN_PROGRESS = "in_progress"  # 进行中
    DONE = "done"  # 已完成
    REOPENED = "reopened"  # 已重新打开


class Project(db.Model):
    """One renovation project: a compound in one programme year (年度改造计划)."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("compound_id", "year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    steps: Mapped[list[ProjectStep]] = relationship(
        order_by="ProjectStep.position", back_populates="project"
    )


class ProjectStep(db.Model):
    """One of a project's eight steps: its status, planned and actual dates and who is
    responsible for it (an organisation's name: 街道办, 设计单位 …)."""

    __tablename__ = "project_steps"
    __table_args__ = (
        UniqueConstraint("project_id", "step"),
        UniqueConstraint("project_id", "position"),
        CheckConstraint("position BETWEEN 1 AND 8", name="position_range"),
        CheckConstraint(
            "planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start",
            name="planned_in_order",
        ),
        CheckConstraint(
            "actual_end IS NULL OR actual_start IS NULL OR actual_end >= actual_start",
            name="actual_in_order",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    step: Mapped[StepKey] = mapped_column(str_enum(StepKey, "project_step_key"))
    position: Mapped[int]
    status: Mapped[StepStatus] = mapped_column(
        str_enum(StepStatus, "project_step_status"), default=StepStatus.NOT_STARTED
    )
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    actual_start: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    organisation: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    project: Mapped[Project] = relationship(back_populates="steps")


class PhotoKind(enum.StrEnum):
    BEFORE = "before"  # 改造前
    AFTER = "after"  # 改造后


class ProjectDocument(db.Model):
    """A document of a project (a plan, a drawing, minutes, an acceptance report) or a photo
    before or after the works, kept where the district keeps its files (``url``), named here
    with its SHA-256 so that the archive can check it. Photos are public (no people in them)."""

    __tablename__ = "project_documents"
    __table_args__ = (CheckConstraint("length(sha256) = 64", name="sha256_length"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("project_steps.id"))
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    photo: Mapped[PhotoKind | None] = mapped_column(str_enum(PhotoKind, "project_photo_kind"))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkKind(enum.StrEnum):
    VOTE = "vote"
    SURVEY = "survey"
    NOTICE = "notice"
    TICKET = "ticket"  # a complaint or suggestion of the works


class ProjectLink(db.Model):
    """A campaign, notice or ticket of the project's compound that belongs to the project."""

    __tablename__ = "project_links"
    __table_args__ = (UniqueConstraint("project_id", "kind", "target_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[LinkKind] = mapped_column(str_enum(LinkKind, "project_link_kind"))
    target_id: Mapped[int]
    added_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectEvent(db.Model):
    """One move of a project, never changed or deleted: who, when, why, and the step's
    status before and after (``action``: created, updated, completed, reopened, linked,
    documented)."""

    __tablename__ = "project_events"
    __table_args__ = (Index("ix_project_events_project", "project_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("project_steps.id"))
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[StepStatus | None] = mapped_column(
        str_enum(StepStatus, "project_event_from")
    )
    to_status: Mapped[StepStatus | None] = mapped_column(str_enum(StepStatus, "project_event_to"))
    reason: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


install_append_only(ProjectEvent.__table__)


# 成立组织: the compound's self-governing organisation --------------------------------------


class OrganisationKind(enum.StrEnum):
    OWNERS_COMMITTEE = "owners_committee"  # 业主委员会
    SELF_MANAGEMENT_GROUP = "self_management_group"  # 自管小组
    RESIDENTS_COUNCIL = "residents_council"  # 居民议事会
    RENOVATION_COUNCIL = "renovation_council"  # 改造议事会 / 改造委员会
    OTHER = "other"


class Organisation(db.Model):
    """The self-governing organisation of a compound (one per compound) that takes part in
    its renovation."""

    __tablename__ = "self_organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(
        str_enum(OrganisationKind, "self_organisation_kind")
    )
    name: Mapped[str] = mapped_column(String(120))
    established_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberRole(enum.StrEnum):
    CHAIR = "chair"  # 主任
    VICE_CHAIR = "vice_chair"  # 副主任
    SECRETARY = "secretary"  # 秘书
    MEMBER = "member"  # 委员
    ADVISER = "adviser"  # 顾问 (e.g. a community worker, a resident expert)

    @property
    def label(self) -> str:
        return MEMBER_ROLE_LABELS[self]


MEMBER_ROLE_LABELS = {
    MemberRole.CHAIR: "主任",
    MemberRole.VICE_CHAIR: "副主任",
    MemberRole.SECRETARY: "秘书",
    MemberRole.MEMBER: "委员",
    MemberRole.ADVISER: "顾问",
}
# Roles that act for the compound: their holder gets the compound's committee role.
COMMITTEE_RIGHTS = (MemberRole.CHAIR, MemberRole.VICE_CHAIR, MemberRole.SECRETARY)


class OrganisationMember(db.Model):
    """A member of the self-governing organisation with their role. One with committee rights
    (``COMMITTEE_RIGHTS``) has a staff account with the compound's committee role
    (``staff_id``). The phone is shown in full only to the compound's committee."""

    __tablename__ = "self_organisation_members"
    __table_args__ = (
        CheckConstraint("phone IS NULL OR length(phone) = 11", name="phone_length"),
        Index(
            "uq_self_organisation_members_phone",
            "organisation_id",
            "phone",
            unique=True,
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("self_organisations.id"))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(11))
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "self_organisation_role"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# 方案征求意见: the plan consultation -------------------------------------------------------------


class PlanConsultation(db.Model):
    """The design plan of a project put to the compound's residents for comment during
    ``opens_at``–``closes_at``; then the committee's handling of each comment, the summary
    published as a notice, and the revised plan with its review (方案审查) published too.
    One per project."""

    __tablename__ = "plan_consultations"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="closes_after_opens"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(default=0)  # of the items now current
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    summary_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    summary_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanItem(db.Model):
    """One item of the plan (a revision of it): its cost and the part the residents pay,
    shared over the compound's dwellings by area (``common.money.allocate``)."""

    __tablename__ = "plan_items"
    __table_args__ = (
        UniqueConstraint("consultation_id", "revision", "position"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
        CheckConstraint("residents_part >= 0 AND residents_part <= cost", name="residents_part"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("plan_consultations.id"))
    revision: Mapped[int]
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    residents_part: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class Stance(enum.StrEnum):
    SUPPORT = "support"  # 支持
    OPPOSE = "oppose"  # 反对


class PlanStance(db.Model):
    """A resident's support or opposition to an item; the latest counts (one per account)."""

    __tablename__ = "plan_stances"
    __table_args__ = (UniqueConstraint("item_id", "account_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("plan_consultations.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    stance: Mapped[Stance] = mapped_column(str_enum(Stance, "plan_stance"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Handling(enum.StrEnum):
    ADOPTED = "adopted"  # 采纳
    PARTLY = "partly"  # 部分采纳
    REJECTED = "rejected"  # 不采纳

    @property
    def label(self) -> str:
        return {"adopted": "采纳", "partly": "部分采纳", "rejected": "不采纳"}[self.value]


class PlanComment(db.Model):
    """A resident's comment on the plan (on one item or on the whole), and the committee's
    handling of it. ``room`` is the resident's room in the compound, the most the public
    summary shows of who commented. ``idempotency_key`` and ``seq``: the submission it came
    in (its Idempotency-Key) and its place there."""

    __tablename__ = "plan_comments"
    __table_args__ = (
        CheckConstraint("(handling IS NULL) = (handled_at IS NULL)", name="handled_with_time"),
        # A submission retried with its Idempotency-Key is not stored twice.
        UniqueConstraint("consultation_id", "account_id", "idempotency_key", "seq"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("plan_consultations.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_items.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    room: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(default=1)  # its place among the submission's comments
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handling: Mapped[Handling | None] = mapped_column(str_enum(Handling, "plan_comment_handling"))
    reason: Mapped[str] = mapped_column(Text, default="")
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlanReview(db.Model):
    """方案审查: the revised plan's review — by whom, when, its conclusion — published as a
    notice with the revised items."""

    __tablename__ = "plan_reviews"
    __table_args__ = (UniqueConstraint("consultation_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("plan_consultations.id"))
    revision: Mapped[int]
    changes: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(120))
    reviewed_on: Mapped[date] = mapped_column(Date)
    conclusion: Mapped[str] = mapped_column(Text)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Funding --------------------------------------------------------------------------------------


class FundingSource(enum.StrEnum):
    CENTRAL_PROVINCIAL = "central_provincial"  # 中央、省级补助
    LOCAL_FINANCE = "local_finance"  # 地方财政
    RESIDENTS = "residents"  # 居民出资
    MAINTENANCE_FUND = "maintenance_fund"  # 住宅专项维修资金
    PUBLIC_INCOME = "public_income"  # 小区公共收益
    SOCIAL_CAPITAL = "social_capital"  # 社会资本
    UTILITIES = "utilities"  # 专业经营单位（水电气热通信）

    @property
    def label(self) -> str:
        return FUNDING_LABELS[self]


FUNDING_LABELS = {
    FundingSource.CENTRAL_PROVINCIAL: "中央/省级补助",
    FundingSource.LOCAL_FINANCE: "地方财政",
    FundingSource.RESIDENTS: "居民出资",
    FundingSource.MAINTENANCE_FUND: "住宅专项维修资金",
    FundingSource.PUBLIC_INCOME: "公共收益",
    FundingSource.SOCIAL_CAPITAL: "社会资本",
    FundingSource.UTILITIES: "专业经营单位",
}


class ProjectFunding(db.Model):
    """The plan's money from one source; a project's sources add up to the plan's total."""

    __tablename__ = "project_funding"
    __table_args__ = (
        UniqueConstraint("project_id", "source"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[FundingSource] = mapped_column(str_enum(FundingSource, "funding_source"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str] = mapped_column(String(200), default="")


class PaymentMethod(enum.StrEnum):
    CASH = "cash"  # 现金
    TRANSFER = "transfer"  # 银行转账
    WECHAT = "wechat"  # 微信
    ALIPAY = "alipay"  # 支付宝
    OTHER = "other"


class FundingCollection(db.Model):
    """A household's payment towards its share of 居民出资, as recorded by the committee."""

    __tablename__ = "funding_collections"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_funding_collections_project_dwelling", "project_id", "dwelling_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwellings.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "payment_method"))
    reference: Mapped[str] = mapped_column(String(64), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# 项目接管: management after the works -------------------------------------------------------


class ManagementMode(enum.StrEnum):
    PROFESSIONAL = "professional"  # 专业物业
    COMMUNITY_CENTRE = "community_centre"  # 社区物业服务中心
    SELF_MANAGED = "self_managed"  # 自治管理

    @property
    def label(self) -> str:
        return MANAGEMENT_LABELS[self]


MANAGEMENT_LABELS = {
    ManagementMode.PROFESSIONAL: "专业物业",
    ManagementMode.COMMUNITY_CENTRE: "社区物业服务中心",
    ManagementMode.SELF_MANAGED: "自治管理",
}


class ProjectManagement(db.Model):
    """How the compound is managed after the works, as the owners chose it in a vote or a
    survey (exactly one of them), with that campaign's final result as it was then."""

    __tablename__ = "project_management"
    __table_args__ = (
        CheckConstraint("(vote_id IS NULL) <> (survey_id IS NULL)", name="one_campaign"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    mode: Mapped[ManagementMode] = mapped_column(str_enum(ManagementMode, "management_mode"))
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    result: Mapped[dict] = mapped_column(JSON)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# 档案管理: the project's archive ---------------------------------------------------------------


class ArchiveStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ProjectArchive(db.Model):
    """The project's archive as one .zip in the archive folder (``ARCHIVE_DIR``), built by a
    job: every notice, campaign result, register, the cost plans, the plan consultation's
    summary, each vote's record with its chain and verification report, and a manifest with
    the SHA-256 of every file; ``done`` of ``total`` files so far."""

    __tablename__ = "project_archives"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    status: Mapped[ArchiveStatus] = mapped_column(
        str_enum(ArchiveStatus, "project_archive_status"), default=ArchiveStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
