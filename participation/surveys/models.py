"""Questionnaires (问卷): consent (意愿征集), menu selection (菜单式) and satisfaction (效果共评),
on one engine. A survey's respondents are either owner-persons, counted like a vote from a
frozen electorate, or residents with tenants included."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.auth.reminders import ReminderStatus
from participation.common.types import UTCDateTime, str_enum, utcnow
from participation.counting import Basis
from participation.extensions import db


class SurveyKind(enum.StrEnum):
    CONSENT = "consent"  # 意愿征集: the 2/3 gate
    MENU = "menu"  # 菜单式改造内容
    SATISFACTION = "satisfaction"  # 效果共评
    GENERAL = "general"


class RespondentBasis(enum.StrEnum):
    OWNER = "owner"  # one response per owner-person (frozen electorate), counted like a vote
    RESIDENT = "resident"  # one response per resident account, tenants included


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"  # 公示, objection period running
    FINAL = "final"
    CANCELLED = "cancelled"


class QuestionType(enum.StrEnum):
    SINGLE = "single"  # one option
    MULTIPLE = "multiple"  # min_choices..max_choices options
    RATING = "rating"  # an integer from scale_min to scale_max
    TEXT = "text"  # free text
    CONSENT = "consent"  # 同意 / 不同意
    MENU = "menu"  # pick renovation items of the survey's menu
    SATISFACTION = "satisfaction"  # 满意 / 基本满意 / 不满意 / 不了解 on one dimension


class MenuTier(enum.StrEnum):
    BASIC = "basic"  # 基础类: 应改尽改
    IMPROVEMENT = "improvement"  # 完善类
    ENHANCEMENT = "enhancement"  # 提升类


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        # 0 would skip 询异; the district's minimum is checked when the draft is written.
        CheckConstraint("objection_days >= 1", name="objection_days_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    basis: Mapped[RespondentBasis] = mapped_column(str_enum(RespondentBasis, "respondent_basis"))
    anonymous: Mapped[bool] = mapped_column(default=False)
    status: Mapped[SurveyStatus] = mapped_column(
        str_enum(SurveyStatus, "survey_status"), default=SurveyStatus.DRAFT
    )
    building_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    entrance_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Owner basis: the frozen electorate's totals.
    t_cnt: Mapped[int | None]
    t_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    result: Mapped[dict | None] = mapped_column(JSON)
    # Consent gate: what 3·Y ≥ 2·T counts (count, area or both).
    consent_basis: Mapped[Basis] = mapped_column(
        str_enum(Basis, "consent_basis"), default=Basis.COUNT
    )
    # 公示
    objection_days: Mapped[int] = mapped_column(default=7)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    objection_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Menu: how many items a respondent picks, the budget cap, and the adoption threshold for
    # improvement/enhancement items as a fraction of respondents (default: more than half).
    menu_min_items: Mapped[int | None]
    menu_max_items: Mapped[int | None]
    budget_cap: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    adoption_numerator: Mapped[int] = mapped_column(default=1)
    adoption_denominator: Mapped[int] = mapped_column(default=2)
    adoption_strict: Mapped[bool] = mapped_column(default=True)  # ">" (过半数) or "≥"
    # Satisfaction: pass threshold of the rate, in percent.
    satisfaction_threshold: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan"
    )


class SurveyDeadlineChange(db.Model):
    """The history of a survey's closing time: each extension, by whom and why (append-only
    in practice: nothing updates or deletes these rows)."""

    __tablename__ = "survey_deadline_changes"
    __table_args__ = (CheckConstraint("new_closes_at > old_closes_at", name="later_only"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    old_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Question(db.Model):
    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    position: Mapped[int]
    type: Mapped[QuestionType] = mapped_column(str_enum(QuestionType, "question_type"))
    text: Mapped[str] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(default=True)
    min_choices: Mapped[int | None]
    max_choices: Mapped[int | None]
    scale_min: Mapped[int | None]
    scale_max: Mapped[int | None]
    # Satisfaction: the dimension (改造内容, 施工过程, 工程质量, 长效管理, …) and optionally the
    # renovation item it is about.
    dimension: Mapped[str | None] = mapped_column(String(64))
    menu_item_id: Mapped[int | None] = mapped_column(ForeignKey("menu_items.id"))
    survey: Mapped[Survey] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position", cascade="all, delete-orphan"
    )


class Option(db.Model):
    __tablename__ = "survey_options"
    __table_args__ = (UniqueConstraint("question_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    # A stable code where the engine needs one: agree/disagree, satisfied/basic/dissatisfied/
    # unknown, contribution ways (direct/maintenance_fund/public_income/labour), management
    # (professional/self_managed); see services.TEMPLATES.
    value: Mapped[str | None] = mapped_column(String(32))
    survey_menu_item_id: Mapped[int | None] = mapped_column(ForeignKey("survey_menu_items.id"))
    question: Mapped[Question] = relationship(back_populates="options")


class MenuItem(db.Model):
    """The catalogue: the policy list (district_id NULL) and a district's own items."""

    __tablename__ = "menu_items"
    __table_args__ = (
        UniqueConstraint("district_id", "name"),
        Index(
            "uq_menu_items_policy_name",
            "name",
            unique=True,
            sqlite_where=text("district_id IS NULL"),
            postgresql_where=text("district_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    tier: Mapped[MenuTier] = mapped_column(str_enum(MenuTier, "menu_tier"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)


class SurveyMenuItem(db.Model):
    """An item on a compound's menu with its estimated cost and the part residents pay."""

    __tablename__ = "survey_menu_items"
    __table_args__ = (
        UniqueConstraint("survey_id", "menu_item_id"),
        CheckConstraint("estimated_cost >= 0", name="cost_nonnegative"),
        CheckConstraint(
            "residents_part >= 0 AND residents_part <= estimated_cost", name="part_le_cost"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    menu_item_id: Mapped[int] = mapped_column(ForeignKey("menu_items.id"))
    estimated_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    residents_part: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # A fixed amount per household instead of the area share, where set.
    per_household: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    menu_item: Mapped[MenuItem] = relationship()


class SurveyPerson(db.Model):
    """Owner basis: one person of the frozen electorate (see roster/electorate.py)."""

    __tablename__ = "survey_persons"
    __table_args__ = (UniqueConstraint("survey_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    key: Mapped[str] = mapped_column(String(200))
    area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    labels: Mapped[str] = mapped_column(String(400))


class SurveyPersonDwelling(db.Model):
    __tablename__ = "survey_person_dwellings"
    __table_args__ = (
        UniqueConstraint("survey_id", "dwelling_id"),
        Index("ix_survey_person_dwellings_person", "person_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("survey_persons.id"))
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwellings.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrances.id"))
    floor: Mapped[int]
    area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    label: Mapped[str] = mapped_column(String(64))


class SurveyPersonOwner(db.Model):
    __tablename__ = "survey_person_owners"
    __table_args__ = (
        UniqueConstraint("survey_id", "owner_id", "person_id"),
        Index("ix_survey_person_owners_person", "person_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("survey_persons.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))


class Response(db.Model):
    """One respondent's answers; answering again before closing replaces them.

    ``respondent_key`` is ``person:<id>`` (owner basis) or ``account:<id>`` (resident basis);
    for an anonymous survey it is a keyed hash and ``account_id`` is not stored.
    """

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "respondent_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    respondent_key: Mapped[str] = mapped_column(String(80))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("survey_persons.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # For breakdowns: the respondent's building (resident basis: the dwelling answered for).
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    # The building of the answers this revision replaced, where the tallies counted them (a
    # resident may answer again for another of their dwellings): they are counted out there.
    replaced_building_id: Mapped[int | None]
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(default=1)
    # The Idempotency-Key of the submission these answers come from: a retry is not re-applied.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(db.Model):
    """One answer to one question (a row per chosen option).

    ``question_id`` and ``option_id`` name rows of the survey's questionnaire, which is frozen
    once the survey opens (questions and options are never deleted then, only a draft's); the
    answer path checks them against it (``services.checked_answers``). They carry no foreign
    keys: each key check share-locks the question's and the option's row, the same dozen rows
    for every respondent of a survey at once — 0.18 ms of PostgreSQL's CPU per satisfaction
    answer of 12 questions, a sixth of its share (``bench/answer_surveys.py``, 1.28 → 1.10 ms).
    """

    __tablename__ = "survey_answers"
    __table_args__ = (
        Index("ix_survey_answers_response", "response_id"),
        Index("ix_survey_answers_question_option", "question_id", "option_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id"))
    question_id: Mapped[int]
    option_id: Mapped[int | None]
    rating: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
    response: Mapped[Response] = relationship(back_populates="answers")


class SurveyTally(db.Model):
    """Running counts of a survey's answers, kept by the answer path in the answer's own
    transaction (``surveys/tallies.py``): the results read these instead of every answer.

    A cell counts respondents (``count``) and their area (``area``: the person's, in a named
    owner-basis survey; 0 otherwise) for one ``question_id`` / ``option_id`` in one
    ``building_id``. Key values without a row of their own: question 0 counts the survey's
    respondents, option 0 a question's respondents (kept for questions where one respondent
    may choose several options); building 0 is the whole scope, building -1 respondents with
    no building. A cell is split over ``slot`` rows (response id modulo ``tallies.SLOTS``) so
    that concurrent answers seldom wait for one another's row; readers add the slots up.
    """

    __tablename__ = "survey_tallies"
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    building_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    question_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    option_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int]
    area: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class SurveyBuildingElectorate(db.Model):
    """Owner basis: the frozen electorate of each building in scope, written at opening with
    the survey's persons — a person counts once in each building where they have a dwelling
    in scope, with the area of their dwellings there (``consent.breakdown``)."""

    __tablename__ = "survey_building_electorates"
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), primary_key=True)
    t_cnt: Mapped[int]
    t_area: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class SurveyReminder(db.Model):
    """A reminder to those who have not answered an open survey, sent by
    ``tasks.remind_non_respondents`` with the shared steps of ``auth/reminders.py``: an in-app
    notification to their accounts in account-id order (``last_account_id``), then an SMS to
    each of their roster owners' phones in owner-id order (``last_owner_id``); the cursors are
    where a rerun resumes. Counts as a vote's reminder (``votes.models.VoteReminder``);
    ``link_url`` is the compound's short link, as the SMS carries it."""

    __tablename__ = "survey_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[ReminderStatus] = mapped_column(
        str_enum(ReminderStatus, "survey_reminder_status"), default=ReminderStatus.QUEUED
    )
    sent_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    notified_count: Mapped[int] = mapped_column(default=0)  # accounts notified in-app
    last_account_id: Mapped[int | None]
    last_owner_id: Mapped[int | None]
    link_url: Mapped[str | None] = mapped_column(String(300))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
