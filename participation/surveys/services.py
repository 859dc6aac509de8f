"""The questionnaire engine: surveys, their questions, respondents and answers. Functions
flush, never commit.

Life of a survey: draft (editable, questions replaceable) → open (owner basis: electorate
frozen) → closed → published (公示) → final; or cancelled. A survey past its closing time is
closed when read (``close_if_due``), whether or not a job ran; its ``result`` is then stored
from ``final_result``.

Kind-specific parts plug in through two registries, filled at import time of the module that
owns them (``routes.py`` imports every such module, so they are registered in any app):

- ``RESULT_BUILDERS[kind]``: ``(survey) -> dict``, the kind's part of the result stored when
  the survey closes (``final_result``); register with ``@result_builder(SurveyKind.X)``.
- ``DETAIL_BUILDERS[kind]``: ``(survey, principal) -> dict`` (plain JSON), shown as
  ``details`` in the survey's detail view — e.g. for a menu, each item with what it would cost
  the caller's household; register with ``@detail_builder(SurveyKind.X)``.

A menu question's options are the survey's menu items (``Option.survey_menu_item_id``), set
with the menu (``menu.set_menu``); replacing a draft's questions keeps them.

Answering: one response per respondent — ``person:<id>`` for the owner basis (a person of the
frozen electorate, any of its owners may answer), ``account:<id>`` for the resident basis
(owners and tenants of a dwelling in scope). An anonymous survey stores a keyed hash of that
key and neither the account nor the person, only the building (for breakdowns). Answering
again before closing replaces the answers (``revision`` + 1): the response row is upserted
(INSERT … ON CONFLICT DO UPDATE, which locks it) and its answers deleted and inserted in the
same transaction, under a key-share lock on the survey row and against the database clock.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)

from participation.auth.models import Tenancy
from participation.auth.scoping import get_scoped, path_resolver, resident_compound_ids
from participation.auth.tokens import SESSION_COLUMNS, Principal, check_session
from participation.common.errors import conflict, forbidden, invalid, not_found
from participation.common.events import campaign_cancelled, campaign_extended, campaign_opened
from participation.common.notify import notify
from participation.common.privacy import keyed_hash
from participation.common.schemas import local_time
from participation.common.sql import CLOCK_TOLERANCE, db_now, dialect_name, hot_rows, upsert
from participation.common.types import UTCDateTime, utcnow
from participation.counting import Basis
from participation.extensions import db
from participation.roster.electorate import Scope, check_scope
from participation.roster.models import (
    Building,
    Community,
    Compound,
    Dwelling,
    Entrance,
    Owner,
    Ownership,
    Street,
    dwelling_label,
)
from participation.roster.services import check_objection_days, default_objection_days
from participation.roster.snapshot import Frozen, SnapshotTables, analyze_snapshot, freeze
from participation.surveys import tallies
from participation.surveys.forms import Form, forget, form_of
from participation.surveys.models import (
    Answer,
    MenuItem,
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Response,
    Survey,
    SurveyDeadlineChange,
    SurveyKind,
    SurveyPerson,
    SurveyPersonDwelling,
    SurveyPersonOwner,
    SurveyStatus,
)

log = logging.getLogger(__name__)

SNAPSHOT = SnapshotTables("survey_id", SurveyPerson, SurveyPersonDwelling, SurveyPersonOwner)


@path_resolver("survey_id")
def get_survey(survey_id: int, principal: Principal) -> Survey:
    """Staff: surveys of compounds in scope. Residents: non-draft surveys of their compounds.
    A survey past its closing time is closed by whoever reads it first."""
    if principal.is_staff:
        survey = get_scoped(Survey, survey_id, principal)
    else:
        survey = db.session.scalar(
            select(Survey).where(
                Survey.id == survey_id,
                Survey.status.not_in([SurveyStatus.DRAFT, SurveyStatus.CANCELLED]),
                Survey.compound_id.in_(resident_compound_ids(principal.id)),
            )
        )
    if survey is None:
        raise not_found()
    if close_if_due(survey):
        db.session.commit()
    return survey


# Kind-specific parts ------------------------------------------------------------------------

ResultBuilder = Callable[[Survey], dict]
DetailBuilder = Callable[[Survey, Principal], dict]
RESULT_BUILDERS: dict[SurveyKind, ResultBuilder] = {}
DETAIL_BUILDERS: dict[SurveyKind, DetailBuilder] = {}


def result_builder(kind: SurveyKind) -> Callable[[ResultBuilder], ResultBuilder]:
    """Register ``func(survey) -> dict`` as the result of ``kind`` stored at closing."""

    def register(func: ResultBuilder) -> ResultBuilder:
        if kind in RESULT_BUILDERS:
            raise RuntimeError(f"two result builders for {kind}")
        RESULT_BUILDERS[kind] = func
        return func

    return register


def detail_builder(kind: SurveyKind) -> Callable[[DetailBuilder], DetailBuilder]:
    """Register ``func(survey, principal) -> dict`` as the ``details`` of ``kind``."""

    def register(func: DetailBuilder) -> DetailBuilder:
        if kind in DETAIL_BUILDERS:
            raise RuntimeError(f"two detail builders for {kind}")
        DETAIL_BUILDERS[kind] = func
        return func

    return register


def final_result(survey: Survey) -> dict:
    """The result stored when ``survey`` closes: its kind's part ({} if none is registered)."""
    builder = RESULT_BUILDERS.get(survey.kind)
    return builder(survey) if builder else {}


# Lifecycle ------------------------------------------------------------------------------------


def scope_of(survey: Survey) -> Scope:
    return Scope(
        survey.compound_id, tuple(survey.building_ids or ()), tuple(survey.entrance_ids or ())
    )


def effective_status(survey: Survey, now: datetime) -> SurveyStatus:
    """The status as of ``now``: an open survey past its closing time is closed."""
    if survey.status is SurveyStatus.OPEN and now >= survey.closes_at:
        return SurveyStatus.CLOSED
    return survey.status


def accepting_responses(survey: Survey, now: datetime) -> bool:
    return survey.status is SurveyStatus.OPEN and survey.opens_at <= now < survey.closes_at


def close_if_due(survey: Survey) -> bool:
    """Close an open survey whose closing time has passed: take its row exclusively (this
    waits for answers in flight, which hold it shared), mark it closed and store
    ``final_result``. Idempotent; True if this call closed it."""
    if survey.status is not SurveyStatus.OPEN or utcnow() < survey.closes_at - CLOCK_TOLERANCE:
        return False
    if db_now() < survey.closes_at:
        return False
    status = _lock(survey)
    if status is not SurveyStatus.OPEN:
        return False
    survey.status = SurveyStatus.CLOSED
    survey.closed_at = survey.closes_at
    db.session.flush()
    survey.result = final_result(survey)
    return True


def _lock(survey: Survey) -> SurveyStatus:
    """Take the survey row exclusively and refresh it; its status."""
    status = db.session.execute(
        select(Survey.status).where(Survey.id == survey.id).with_for_update()
    ).scalar_one()
    db.session.refresh(survey)
    return status


def open_survey(survey: Survey, confirm_unknown_owners: bool = False) -> Frozen | None:
    """Open a draft. Owner basis: freeze the electorate (dwellings with no known owner need a
    confirmation, 409 ``unknown_owners`` otherwise)."""
    _check_ready(survey)
    now = db_now()
    changed = db.session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.status == SurveyStatus.DRAFT)
        .values(status=SurveyStatus.OPEN, opened_at=now)
    )
    if changed.rowcount != 1:
        raise conflict("survey_not_draft", "只有草稿状态的问卷可以开启")
    if survey.closes_at <= now:
        raise invalid("closes_in_past", "截止时间已过，请先修改截止时间")
    db.session.refresh(survey)
    if survey.basis is not RespondentBasis.OWNER:
        campaign_opened.send("survey", campaign=survey)
        return None
    frozen = freeze(scope_of(survey), SNAPSHOT, survey.id, "问卷范围内没有房屋，无法开启")
    if frozen.unknown_owner_labels and not confirm_unknown_owners:
        raise conflict(
            "unknown_owners",
            f"有 {len(frozen.unknown_owner_labels)} 户房屋没有登记业主，请核实后确认开启",
            {"dwellings": frozen.unknown_owner_labels[:200]},
        )
    tallies.freeze_building_electorates(survey.id)
    analyze_snapshot(SNAPSHOT)
    survey.t_cnt, survey.t_area = frozen.t_cnt, frozen.t_area
    campaign_opened.send("survey", campaign=survey)
    return frozen


def _check_ready(survey: Survey) -> None:
    if not survey.questions:
        raise invalid("no_questions", "问卷还没有题目，无法开启")
    menu = [q for q in survey.questions if q.type is QuestionType.MENU]
    if survey.kind is SurveyKind.MENU and not (menu and menu[0].options):
        raise invalid("menu_empty", "菜单中还没有改造项目，无法开启")
    for question in menu:
        if (survey.menu_min_items or 0) > len(question.options):
            raise invalid(
                "menu_min_items_too_large",
                f"最少选择 {survey.menu_min_items} 项，但菜单中只有 {len(question.options)} 项",
                {"menu_min_items": ["超过菜单中的项目数"]},
            )


def cancel_survey(survey: Survey) -> Survey:
    """Cancel a draft, or an opened survey before its closing time as long as nobody has
    answered: a cancellation would discard answers."""
    status = _lock(survey)
    if status not in (SurveyStatus.DRAFT, SurveyStatus.OPEN):
        raise conflict("survey_not_cancellable", "只有草稿或尚无人作答的问卷可以取消")
    if status is SurveyStatus.OPEN:
        if db_now() >= survey.closes_at:
            raise conflict("survey_closed", "问卷已截止，不能取消")
        answered = select(Response.id).where(Response.survey_id == survey.id).limit(1)
        if db.session.scalar(answered) is not None:
            raise conflict("survey_has_responses", "已有人作答，问卷不能取消")
    survey.status = SurveyStatus.CANCELLED
    db.session.flush()
    campaign_cancelled.send("survey", campaign=survey)
    return survey


# Extending the deadline --------------------------------------------------------------------------

# The latest closing time an extension may set, counted from the start of answering: three
# months leaves time for door-to-door canvassing of a slow compound, matches the longest
# objection period a draft may ask for, and keeps an owner survey's frozen electorate close
# to the compound's owners when it closes.
MAX_ANSWERING_PERIOD = timedelta(days=90)
EXTENDABLE = (SurveyStatus.DRAFT, SurveyStatus.OPEN)  # open covers "scheduled"


def extend_deadline(
    survey: Survey, closes_at: datetime, reason: str, staff_id: int
) -> SurveyDeadlineChange:
    """Move the closing time of a draft, scheduled or open survey later, and keep the change
    in ``survey_deadline_changes``.

    The survey row is taken exclusively (answers in flight hold it shared, so this waits for
    them; answers after it wait for this commit, then read the new time) and the deadline
    is checked against the database clock once the lock is held: 409 ``campaign_closed`` at
    or after the current closing time, whether or not the survey has been closed yet. 422
    ``deadline_not_later`` unless later than the current closing time, ``deadline_too_late``
    beyond ``MAX_ANSWERING_PERIOD`` after ``opens_at``."""
    status = _lock(survey)
    if status not in EXTENDABLE:
        raise conflict("campaign_closed", "问卷已截止或已取消，不能延长截止时间")
    now = db_now()
    if now >= survey.closes_at:
        raise conflict("campaign_closed", "问卷已到截止时间，不能再延长")
    reason = reason.strip()
    if not reason:
        message = "请填写延长截止时间的原因（1–200 字）"
        raise invalid("validation_error", message, {"reason": [message]})
    if closes_at <= survey.closes_at:
        message = "截止时间只能延后，不能提前"
        raise invalid("deadline_not_later", message, {"closes_at": [message]})
    if closes_at > survey.opens_at + MAX_ANSWERING_PERIOD:
        message = f"截止时间最晚为开始时间后 {MAX_ANSWERING_PERIOD.days} 天"
        raise invalid("deadline_too_late", message, {"closes_at": [message]})
    change = SurveyDeadlineChange(
        survey_id=survey.id,
        old_closes_at=survey.closes_at,
        new_closes_at=closes_at,
        reason=reason,
        staff_id=staff_id,
        created_at=now,
    )
    survey.closes_at = closes_at
    db.session.add(change)
    db.session.flush()
    campaign_extended.send("survey", campaign=survey)  # the notice board's opening notice
    return change


def deadline_changes(survey_id: int) -> list[SurveyDeadlineChange]:
    """The survey's extensions, oldest first."""
    return list(
        db.session.scalars(
            select(SurveyDeadlineChange)
            .where(SurveyDeadlineChange.survey_id == survey_id)
            .order_by(SurveyDeadlineChange.id)
        )
    )


def extension_recipients(survey: Survey) -> list[int]:
    """Accounts to tell of an extension: whoever has answered and, once opened, those who may
    answer — the frozen electorate's owners (owner basis) or the owners and tenants of the
    dwellings in scope (resident basis). A draft has none."""
    if survey.status is SurveyStatus.DRAFT:
        return []
    accounts = set(
        db.session.scalars(
            select(Response.account_id).where(
                Response.survey_id == survey.id, Response.account_id.is_not(None)
            )
        )
    )
    if survey.basis is RespondentBasis.OWNER:
        eligible = (
            select(Owner.account_id)
            .join(SurveyPersonOwner, SurveyPersonOwner.owner_id == Owner.id)
            .where(SurveyPersonOwner.survey_id == survey.id, Owner.account_id.is_not(None))
        )
    else:
        scope = scope_of(survey)
        in_scope = select(Dwelling.id).where(Dwelling.compound_id == scope.compound_id)
        if not scope.whole_compound:
            in_scope = in_scope.where(
                or_(
                    Dwelling.building_id.in_(scope.building_ids),
                    Dwelling.entrance_id.in_(scope.entrance_ids),
                )
            )
        owners = (
            select(Owner.account_id)
            .join(Ownership, Ownership.owner_id == Owner.id)
            .where(Ownership.dwelling_id.in_(in_scope), Owner.account_id.is_not(None))
        )
        tenants = select(Tenancy.account_id).where(Tenancy.dwelling_id.in_(in_scope))
        eligible = owners.union(tenants)
    accounts.update(db.session.scalars(eligible))
    return sorted(accounts)


def announce_extension(survey: Survey, reason: str) -> int:
    """After the commit of an extension: notify the survey's accounts; how many. Never
    raises: the extension is committed whatever the notifier does."""
    try:
        accounts = extension_recipients(survey)
        message = (
            f"「{survey.title}」问卷截止时间已延长至 {local_time(survey.closes_at)}（北京时间）。"
            f"原因：{reason.strip()}"
        )
        notify(accounts, message, "survey_deadline_extended")
    except Exception:
        log.warning("notifying the extension of survey %s failed", survey.id, exc_info=True)
        return 0
    return len(accounts)


# Drafts ------------------------------------------------------------------------------------------

DRAFT_FIELDS = (
    "kind",
    "title",
    "description",
    "basis",
    "anonymous",
    "building_ids",
    "entrance_ids",
    "opens_at",
    "closes_at",
    "consent_basis",
    "objection_days",
    "menu_min_items",
    "menu_max_items",
    "budget_cap",
    "adoption_numerator",
    "adoption_denominator",
    "adoption_strict",
    "satisfaction_threshold",
)
KIND_ONLY_FIELDS = {
    "menu_min_items": (SurveyKind.MENU, "只有菜单式问卷可以设置选择项数"),
    "menu_max_items": (SurveyKind.MENU, "只有菜单式问卷可以设置选择项数"),
    "budget_cap": (SurveyKind.MENU, "只有菜单式问卷可以设置预算上限"),
    "satisfaction_threshold": (SurveyKind.SATISFACTION, "只有满意度问卷可以设置达标线"),
}
CONSENT_OPTIONS = (("同意", "agree"), ("不同意", "disagree"))
SATISFACTION_OPTIONS = (
    ("满意", "satisfied"),
    ("基本满意", "basic"),
    ("不满意", "dissatisfied"),
    ("不了解", "unknown"),
)
FIXED_OPTIONS = {
    QuestionType.CONSENT: (
        CONSENT_OPTIONS,
        "同意题的选项只能是 同意（agree）和 不同意（disagree）",
    ),
    QuestionType.SATISFACTION: (
        SATISFACTION_OPTIONS,
        "满意度题的选项固定为 满意、基本满意、不满意、不了解"
        "（satisfied/basic/dissatisfied/unknown）",
    ),
}
CHOICE_TYPES = (
    QuestionType.SINGLE,
    QuestionType.MULTIPLE,
    QuestionType.CONSENT,
    QuestionType.SATISFACTION,
    QuestionType.MENU,
)
MAX_TEXT = 1000


def _defaults(compound_id: int, kind: SurveyKind) -> dict:
    owners = kind in (SurveyKind.CONSENT, SurveyKind.MENU)
    return {
        "description": "",
        "basis": RespondentBasis.OWNER if owners else RespondentBasis.RESIDENT,
        "anonymous": False,
        "building_ids": [],
        "entrance_ids": [],
        "consent_basis": Basis.COUNT,
        "objection_days": default_objection_days(compound_id),
        "menu_min_items": None,
        "menu_max_items": None,
        "budget_cap": None,
        "adoption_numerator": 1,
        "adoption_denominator": 2,
        "adoption_strict": True,
        "satisfaction_threshold": None,
    }


def create_survey(compound_id: int, fields: dict, staff_id: int) -> Survey:
    """A draft survey; ``fields`` as loaded by ``SurveyInSchema`` (missing ones default by
    kind: owner basis for consent and menu, resident basis otherwise)."""
    values = _checked_draft(compound_id, {**_defaults(compound_id, fields["kind"]), **fields})
    questions = _built_questions(compound_id, values["kind"], fields.get("questions", []))
    _check_kind_rules(values, questions)
    survey = Survey(
        compound_id=compound_id,
        status=SurveyStatus.DRAFT,
        created_by_id=staff_id,
        questions=questions,
        **values,
    )
    db.session.add(survey)
    db.session.flush()
    return survey


def update_draft(survey: Survey, changes: dict) -> Survey:
    """Edit a draft; ``questions``, when given, replace all of them. The row is locked
    first, so an edit never lands on a survey being opened."""
    if _lock(survey) is not SurveyStatus.DRAFT:
        raise conflict("survey_not_draft", "只有草稿状态的问卷可以修改")
    current = {key: getattr(survey, key) for key in DRAFT_FIELDS}
    values = _checked_draft(survey.compound_id, {**current, **changes})
    questions = survey.questions
    if "questions" in changes:
        questions = _built_questions(survey.compound_id, values["kind"], changes["questions"])
    _check_kind_rules(values, questions)
    for key, value in values.items():
        setattr(survey, key, value)
    if "questions" in changes:
        _keep_menu_options(survey.questions, questions)
        survey.questions.clear()
        db.session.flush()  # the old positions go before the new ones arrive
        survey.questions.extend(questions)
    db.session.flush()
    return survey


def _checked_draft(compound_id: int, fields: dict) -> dict:
    """The survey's columns, or 422 naming the field at fault; nothing is written."""
    values = {key: fields[key] for key in DRAFT_FIELDS}
    values["building_ids"] = sorted(set(values["building_ids"]))
    values["entrance_ids"] = sorted(set(values["entrance_ids"]))
    if values["closes_at"] <= values["opens_at"]:
        raise invalid(
            "closes_before_opens", "截止时间须晚于开始时间", {"closes_at": ["须晚于开始时间"]}
        )
    if values["closes_at"] <= db_now():
        raise invalid("closes_in_past", "截止时间须在当前时间之后", {"closes_at": ["已过去"]})
    for key, (kind, message) in KIND_ONLY_FIELDS.items():
        if values[key] is not None and values["kind"] is not kind:
            raise invalid("field_not_for_kind", message, {key: [message]})
    low, high = values["menu_min_items"], values["menu_max_items"]
    if low is not None and high is not None and low > high:
        message = "最少选择项数不能大于最多选择项数"
        raise invalid("menu_items_range", message, {"menu_min_items": [message]})
    numerator, denominator = values["adoption_numerator"], values["adoption_denominator"]
    if numerator > denominator or (values["adoption_strict"] and numerator == denominator):
        message = "采纳门槛须在 0 到 100% 之间（“超过”时须小于 100%）"
        raise invalid("adoption_threshold_invalid", message, {"adoption_numerator": [message]})
    if values["kind"] is SurveyKind.CONSENT:
        if values["basis"] is not RespondentBasis.OWNER:
            message = "意愿征集须以业主为单位作答（basis 为 owner）"
            raise invalid("consent_needs_owners", message, {"basis": [message]})
        if values["anonymous"]:
            message = "意愿征集须实名作答，不能匿名"
            raise invalid("consent_not_anonymous", message, {"anonymous": [message]})
    check_scope(Scope(compound_id, tuple(values["building_ids"]), tuple(values["entrance_ids"])))
    check_objection_days(compound_id, values["objection_days"])
    return values


def _check_kind_rules(values: dict, questions: list[Question]) -> None:
    """Which questions a kind of survey has: a consent survey exactly one consent question,
    a menu survey at most one menu question (setting the menu adds it); those only there."""
    kind = values["kind"]
    for qtype, owner_kind, allowed, message, elsewhere in (
        (
            QuestionType.CONSENT,
            SurveyKind.CONSENT,
            {1},
            "意愿征集问卷须有且只有一道同意题",
            "同意题只能用于意愿征集问卷",
        ),
        (
            QuestionType.MENU,
            SurveyKind.MENU,
            {0, 1},
            "菜单式问卷最多有一道菜单题",
            "菜单题只能用于菜单式问卷",
        ),
    ):
        count = sum(q.type is qtype for q in questions)
        if kind is not owner_kind and count:
            raise invalid("questions_invalid", elsewhere, {"questions": [elsewhere]})
        if kind is owner_kind and count not in allowed:
            raise invalid("questions_invalid", message, {"questions": [message]})


def _question_error(index: int, message: str):
    return invalid(
        "question_invalid", f"第 {index + 1} 题：{message}", {f"questions.{index}": [message]}
    )


def _built_questions(compound_id: int, kind: SurveyKind, given: list[dict]) -> list[Question]:
    """Questions (with options) from their input, checked by type; 422 naming the first
    question at fault. Consent and satisfaction questions get their fixed options when
    none are given; a menu question's options come from the menu (``sync_menu_options``)."""
    questions = []
    for index, spec in enumerate(given):
        qtype = spec["type"]
        options = spec.get("options")
        question = Question(
            position=index + 1,
            type=qtype,
            text=spec["text"],
            required=spec.get("required", True),
        )
        for field, allowed, message in (
            ("min_choices", QuestionType.MULTIPLE, "只有多选题可以设置选择数量"),
            ("max_choices", QuestionType.MULTIPLE, "只有多选题可以设置选择数量"),
            ("scale_min", QuestionType.RATING, "只有评分题可以设置分值范围"),
            ("scale_max", QuestionType.RATING, "只有评分题可以设置分值范围"),
            ("dimension", QuestionType.SATISFACTION, "只有满意度题可以设置评价维度"),
            ("menu_item_id", QuestionType.SATISFACTION, "只有满意度题可以关联改造项目"),
        ):
            if spec.get(field) is not None and qtype is not allowed:
                raise _question_error(index, message)
        if qtype in (QuestionType.TEXT, QuestionType.RATING, QuestionType.MENU) and options:
            message = (
                "菜单题的选项来自本问卷的改造项目菜单，不能单独填写"
                if qtype is QuestionType.MENU
                else "该题型不设选项"
            )
            raise _question_error(index, message)
        if qtype in FIXED_OPTIONS:
            fixed, message = FIXED_OPTIONS[qtype]
            if options is None:
                options = [{"label": label, "value": value} for label, value in fixed]
            elif sorted(o.get("value") or "" for o in options) != sorted(v for _, v in fixed):
                raise _question_error(index, message)
        if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE) and len(options or ()) < 2:
            raise _question_error(index, "单选题和多选题至少需要两个选项")
        values = [o["value"] for o in options or () if o.get("value")]
        if len(values) != len(set(values)):
            raise _question_error(index, "同一题的选项代码不能重复")
        if qtype is QuestionType.MULTIPLE:
            question.min_choices = _given(spec, "min_choices", 1)
            question.max_choices = _given(spec, "max_choices", len(options))
            if not 1 <= question.min_choices <= question.max_choices <= len(options):
                raise _question_error(index, "多选题须满足 1 ≤ 最少选择数 ≤ 最多选择数 ≤ 选项数")
        if qtype is QuestionType.RATING:
            question.scale_min = _given(spec, "scale_min", 1)
            question.scale_max = _given(spec, "scale_max", 5)
            if question.scale_min >= question.scale_max:
                raise _question_error(index, "评分题的最低分须小于最高分")
        if qtype is QuestionType.SATISFACTION:
            question.dimension = spec.get("dimension") or spec["text"][:64]
            question.menu_item_id = spec.get("menu_item_id")
            if question.menu_item_id is not None and not _menu_item_visible(
                compound_id, question.menu_item_id
            ):
                raise _question_error(index, "关联的改造项目不存在")
        question.options = [
            Option(position=i, label=o["label"], value=o.get("value"))
            for i, o in enumerate(options or (), start=1)
        ]
        questions.append(question)
    return questions


def _given(spec: dict, key: str, default: int) -> int:
    value = spec.get(key)
    return default if value is None else value


def _menu_item_visible(compound_id: int, menu_item_id: int) -> bool:
    """A catalogue item of the policy list or of the compound's district."""
    district_id = (
        select(Street.district_id)
        .join(Community, Community.street_id == Street.id)
        .join(Compound, Compound.community_id == Community.id)
        .where(Compound.id == compound_id)
        .scalar_subquery()
    )
    return (
        db.session.scalar(
            select(MenuItem.id).where(
                MenuItem.id == menu_item_id,
                or_(MenuItem.district_id.is_(None), MenuItem.district_id == district_id),
            )
        )
        is not None
    )


def _keep_menu_options(old: list[Question], new: list[Question]) -> None:
    """A replaced menu question keeps the menu's options (set with the menu, ``menu.py``)."""
    before = next((q for q in old if q.type is QuestionType.MENU), None)
    for question in new:
        if before is not None and question.type is QuestionType.MENU:
            question.min_choices, question.max_choices = before.min_choices, before.max_choices
            question.options = [
                Option(
                    position=o.position,
                    label=o.label,
                    value=o.value,
                    survey_menu_item_id=o.survey_menu_item_id,
                )
                for o in before.options
            ]


# Templates --------------------------------------------------------------------------------------

CONTRIBUTION_WAYS = (
    ("直接出资", "direct"),
    ("住宅专项维修资金", "maintenance_fund"),
    ("让渡公共收益", "public_income"),
    ("投工投劳", "labour"),
)
MANAGEMENT_WAYS = (("专业物业", "professional"), ("自治管理", "self_managed"))
SATISFACTION_DIMENSIONS = ("改造内容", "施工过程", "工程质量", "长效管理")


def _options(pairs) -> list[dict]:
    return [{"label": label, "value": value} for label, value in pairs]


TEMPLATES: dict[str, dict] = {
    "consent": {
        "kind": SurveyKind.CONSENT,
        "title": "老旧小区改造意愿征集",
        "description": "本小区拟申请纳入老旧小区改造计划，请各位业主表达意愿。",
        "basis": RespondentBasis.OWNER,
        "anonymous": False,
        "questions": [
            {"type": QuestionType.CONSENT, "text": "您是否同意本小区实施老旧小区改造？"},
            {
                "type": QuestionType.MULTIPLE,
                "text": "您愿意通过哪些方式参与改造出资？（可多选，不愿出资可不选）",
                "required": False,
                "options": _options(CONTRIBUTION_WAYS),
            },
            {
                "type": QuestionType.SINGLE,
                "text": "改造完成后，您同意采用哪种长效管理方式？",
                "options": _options(MANAGEMENT_WAYS),
            },
        ],
    },
    "menu": {
        "kind": SurveyKind.MENU,
        "title": "改造内容菜单式选择",
        "description": "请从改造菜单中选择您希望本小区实施的项目，每项均列出您家需分担的费用。",
        "basis": RespondentBasis.OWNER,
        "anonymous": False,
        "questions": [
            {"type": QuestionType.MENU, "text": "请选择您希望本小区实施的改造项目"},
        ],
    },
    "satisfaction": {
        "kind": SurveyKind.SATISFACTION,
        "title": "老旧小区改造效果满意度评价",
        "description": "改造已完工，请对改造效果进行评价。",
        "basis": RespondentBasis.RESIDENT,
        "anonymous": True,
        "questions": [
            *(
                {
                    "type": QuestionType.SATISFACTION,
                    "text": f"您对本次改造的{dimension}是否满意？",
                    "dimension": dimension,
                }
                for dimension in SATISFACTION_DIMENSIONS
            ),
            {
                "type": QuestionType.TEXT,
                "text": "您对本次改造还有什么意见或建议？",
                "required": False,
            },
        ],
    },
}


def template_views() -> list[dict]:
    """Each template with its standard questions, as a draft made from it would have them."""
    return [
        {
            "template": name,
            **{key: spec[key] for key in ("kind", "title", "description", "basis", "anonymous")},
            "questions": _built_questions(0, spec["kind"], spec["questions"]),
        }
        for name, spec in TEMPLATES.items()
    ]


def create_from_template(compound_id: int, name: str, fields: dict, staff_id: int) -> Survey:
    """A draft with the template's standard questions; ``fields`` override its defaults."""
    return create_survey(compound_id, {**TEMPLATES[name], **fields}, staff_id)


# Respondents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """Whom a resident may answer for: a person of the electorate (owner basis) or
    themselves (resident basis, for one of their dwellings in scope)."""

    key: str  # person:<id> / account:<id>, before hashing for anonymous surveys
    person_id: int | None
    dwelling_id: int | None
    building_id: int
    dwellings: str  # room labels


def respondent_key(survey: Survey, key: str) -> str:
    """The key stored on the response: for an anonymous survey a keyed hash, per survey."""
    if survey.anonymous:
        return keyed_hash(f"{survey.id}:{key}", "survey_respondent")
    return key


def _owned_persons(surveys):
    """The persons of the surveys ``surveys`` (a condition on the survey id) behind the owners
    linked to the account ``:account_id``, with their first building."""
    return (
        select(
            SurveyPersonOwner.survey_id,
            SurveyPerson.id,
            SurveyPerson.labels,
            func.min(SurveyPersonDwelling.building_id).label("building_id"),
        )
        .join(Owner, Owner.id == SurveyPersonOwner.owner_id)
        .join(SurveyPerson, SurveyPerson.id == SurveyPersonOwner.person_id)
        .join(SurveyPersonDwelling, SurveyPersonDwelling.person_id == SurveyPerson.id)
        .where(surveys, Owner.account_id == bindparam("account_id"))
        .group_by(SurveyPersonOwner.survey_id, SurveyPerson.id, SurveyPerson.labels)
        .order_by(SurveyPerson.id)
    )


OWNED_PERSONS = _owned_persons(
    SurveyPersonOwner.survey_id.in_(bindparam("survey_ids", expanding=True))
)
# One survey's: on the path of every answer (``_locked_with_respondents``).
OWNED_PERSONS_IN_SURVEY = _owned_persons(SurveyPersonOwner.survey_id == bindparam("survey_id"))


@dataclass(frozen=True)
class ResidentDwelling:
    """A dwelling the resident owns or rents, as the answer path needs it."""

    id: int
    compound_id: int
    building_id: int
    entrance_id: int
    label: str

    @classmethod
    def of(cls, id_, compound_id, building_id, entrance_id, building, entrance, room):
        """From the columns of ``_resident_dwellings``, in its order."""
        label = dwelling_label(building, entrance, room)
        return cls(id_, compound_id, building_id, entrance_id, label)


@functools.cache
def _resident_dwellings(dialect: str):
    """``SELECT`` the dwellings the resident ``:account_id`` owns (as a linked owner) or
    rents, with their building's and entrance's names for the label. Built once per backend:
    on the path of every answer. On PostgreSQL the dwellings' ids are an array computed first
    (``= ANY(ARRAY(SELECT …))``), so each dwelling is found by its key: given ``IN (SELECT …
    UNION …)`` the planner may hash every dwelling of the compound (4 ms an answer at 20,000
    dwellings)."""
    owners = select(Owner.id).where(Owner.account_id == bindparam("account_id"))
    if dialect == "postgresql":
        owned_by = Ownership.owner_id == any_(func.array(owners.scalar_subquery()))
    else:
        owned_by = Ownership.owner_id.in_(owners)
    ids = (
        select(Ownership.dwelling_id)
        .where(owned_by)
        .union(select(Tenancy.dwelling_id).where(Tenancy.account_id == bindparam("account_id")))
    )
    if dialect == "postgresql":
        mine = Dwelling.id == any_(func.array(ids.scalar_subquery()))
    else:
        mine = Dwelling.id.in_(ids)
    return (
        select(
            Dwelling.id,
            Dwelling.compound_id,
            Dwelling.building_id,
            Dwelling.entrance_id,
            Building.name.label("building"),
            Entrance.name.label("entrance"),
            Dwelling.room,
        )
        .join(Building, Building.id == Dwelling.building_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .where(mine)
        .order_by(Dwelling.id)
    )


def resident_dwellings(account_id: int) -> list[ResidentDwelling]:
    """Dwellings the resident owns (as a linked owner) or rents."""
    rows = hot_rows(_resident_dwellings(dialect_name()), {"account_id": account_id})
    return [ResidentDwelling.of(*row) for row in rows]


def _in_scope(survey: Survey | Form, dwelling: ResidentDwelling) -> bool:
    scope = scope_of(survey)
    return dwelling.compound_id == scope.compound_id and (
        scope.whole_compound
        or dwelling.building_id in scope.building_ids
        or dwelling.entrance_id in scope.entrance_ids
    )


def slots_of(surveys: list[Survey], account_id: int) -> dict[int, list[Slot]]:
    """For each survey, whom the resident may answer for (empty: not eligible)."""
    slots: dict[int, list[Slot]] = defaultdict(list)
    owner_basis = [s.id for s in surveys if s.basis is RespondentBasis.OWNER]
    if owner_basis:
        rows = db.session.execute(
            OWNED_PERSONS, {"survey_ids": owner_basis, "account_id": account_id}
        )
        for survey_id, *person in rows:
            slots[survey_id].append(_person_slot(*person))
    resident_basis = [s for s in surveys if s.basis is RespondentBasis.RESIDENT]
    if resident_basis:
        dwellings = resident_dwellings(account_id)
        for survey in resident_basis:
            slots[survey.id] = _dwelling_slots(survey, account_id, dwellings)
    return slots


def _person_slot(person_id: int, labels: str, building_id: int) -> Slot:
    """An owner-basis slot, from the columns of ``_owned_persons`` after the survey's id."""
    return Slot(f"person:{person_id}", person_id, None, building_id, labels)


def _dwelling_slots(
    survey: Survey | Form, account_id: int, dwellings: list[ResidentDwelling]
) -> list[Slot]:
    """The resident-basis slots: the resident's dwellings in the survey's scope."""
    return [
        Slot(f"account:{account_id}", None, d.id, d.building_id, d.label)
        for d in dwellings
        if _in_scope(survey, d)
    ]


def choose_slot(survey: Survey, slots: list[Slot], person_id, dwelling_id) -> Slot:
    """The only slot, or the one named by ``person_id`` (owner basis) / ``dwelling_id``
    (resident basis). 403 ``not_eligible`` without any; 422 listing them otherwise."""
    owners = survey.basis is RespondentBasis.OWNER
    if not slots:
        message = (
            "您不是本次问卷范围内的业主，不能作答"
            if owners
            else "您在本次问卷范围内没有房屋，不能作答"
        )
        raise forbidden(message, code="not_eligible")
    field, wanted = ("person_id", person_id) if owners else ("dwelling_id", dwelling_id)
    other, given = ("dwelling_id", dwelling_id) if owners else ("person_id", person_id)
    if given is not None:
        message = (
            "本问卷按业主作答，请选择业主身份（person_id）而不是房屋"
            if owners
            else "本问卷按居民作答，请选择房屋（dwelling_id）而不是业主身份"
        )
        raise invalid(f"{other}_not_applicable", message, {other: [message]})
    choices = [f"{getattr(s, field)}：{s.dwellings}" for s in slots]
    if wanted is None:
        if len(slots) == 1:
            return slots[0]
        message = (
            "您在本问卷中有多份业主身份，请选择为哪一户作答"
            if owners
            else "您在本问卷范围内有多处房屋，请选择按哪一处房屋作答"
        )
        raise invalid(f"{field[:-3]}_required", message, {field: choices})
    for slot in slots:
        if getattr(slot, field) == wanted:
            return slot
    message = "只能为您本人的房屋作答"
    raise invalid(f"{field[:-3]}_invalid", message, {field: [message, *choices]})


# Answers --------------------------------------------------------------------------------------


def _answer_error(code: str, message: str, question: Question | None = None, qid=None):
    key = str(question.id if question is not None else qid)
    return invalid(code, message, {key: [message]})


def checked_answers(survey: Survey, given: list[dict]) -> list[dict]:
    """The answer rows (question_id, option_id, rating, text) for ``given``, or 422 with a
    precise code and the question id in ``errors``; nothing is written."""
    questions = {q.id: q for q in survey.questions}
    seen: set[int] = set()
    rows: list[dict] = []
    for answer in given:
        question = questions.get(answer["question_id"])
        if question is None:
            raise _answer_error("unknown_question", "问卷中没有这道题", qid=answer["question_id"])
        if question.id in seen:
            raise _answer_error("duplicate_answer", "同一道题只能作答一次", question)
        seen.add(question.id)
        rows += _rows_for(survey, question, answer)
    for question in survey.questions:
        if question.required and not any(r["question_id"] == question.id for r in rows):
            raise _answer_error("answer_required", f"请回答必答题：{question.text}", question)
    if not rows:
        raise invalid("answers_empty", "请至少回答一道题", {"answers": ["请至少回答一道题"]})
    return rows


def _rows_for(survey: Survey, question: Question, answer: dict) -> list[dict]:
    option_ids = answer.get("option_ids") or []
    rating, text = answer.get("rating"), answer.get("text")
    text = text.strip() if text else None
    row = {"question_id": question.id, "option_id": None, "rating": None, "text": None}
    if question.type in CHOICE_TYPES:
        if rating is not None or text:
            raise _answer_error("answer_invalid", "这道题请选择选项", question)
        known = {o.id for o in question.options}
        if any(option_id not in known for option_id in option_ids):
            raise _answer_error("unknown_option", "所选选项不属于这道题", question)
        if len(set(option_ids)) != len(option_ids):
            raise _answer_error("duplicate_choice", "不能重复选择同一选项", question)
        if not option_ids:
            return []
        low, high = _choice_range(survey, question)
        if len(option_ids) < low:
            raise _answer_error("too_few_choices", f"这道题至少选择 {low} 项", question)
        if len(option_ids) > high:
            message = "这道题只能选择一项" if high == 1 else f"这道题最多选择 {high} 项"
            raise _answer_error("too_many_choices", message, question)
        return [{**row, "option_id": option_id} for option_id in option_ids]
    if question.type is QuestionType.RATING:
        if option_ids or text:
            raise _answer_error("answer_invalid", "这道题请填写评分", question)
        if rating is None:
            return []
        if not question.scale_min <= rating <= question.scale_max:
            message = f"评分应在 {question.scale_min} 到 {question.scale_max} 之间"
            raise _answer_error("rating_out_of_range", message, question)
        return [{**row, "rating": rating}]
    if option_ids or rating is not None:
        raise _answer_error("answer_invalid", "这道题请填写文字", question)
    if not text:
        return []
    if len(text) > MAX_TEXT:
        raise _answer_error("text_too_long", f"文字不能超过 {MAX_TEXT} 字", question)
    return [{**row, "text": text}]


def _choice_range(survey: Survey, question: Question) -> tuple[int, int]:
    if question.type is QuestionType.MULTIPLE:
        return question.min_choices or 1, question.max_choices or len(question.options)
    if question.type is QuestionType.MENU:
        return survey.menu_min_items or 1, survey.menu_max_items or len(question.options)
    return 1, 1


def answers_view(survey: Survey, rows) -> list[dict]:
    """Answer rows grouped per question, in the survey's order, as ``AnswerSchema``."""
    by_question: dict[int, dict] = {}
    for question_id, option_id, rating, text in rows:
        view = by_question.setdefault(
            question_id,
            {"question_id": question_id, "option_ids": [], "rating": None, "text": None},
        )
        if option_id is not None:
            view["option_ids"].append(option_id)
        view["rating"] = rating if rating is not None else view["rating"]
        view["text"] = text if text is not None else view["text"]
    return [by_question[q.id] for q in survey.questions if q.id in by_question]


def _stored_answers(survey: Survey, response_id: int) -> list[dict]:
    rows = db.session.execute(
        select(Answer.question_id, Answer.option_id, Answer.rating, Answer.text)
        .where(Answer.response_id == response_id)
        .order_by(Answer.id)
    )
    return answers_view(survey, rows)


@dataclass(frozen=True)
class Submitted:
    """What the respondent is told (``schemas.SubmittedSchema``)."""

    person_id: int | None
    dwellings: str
    revision: int
    submitted_at: datetime
    replayed: bool  # an earlier request with the same Idempotency-Key: not applied again
    answers: list[dict]

    @property
    def replaced(self) -> bool:
        return self.revision > 1


# Built once: on the path of every answer.
LOCK_FOR_ANSWER = (
    select(Survey.status, Survey.opens_at, Survey.closes_at, Survey.opened_at)
    .where(Survey.id == bindparam("survey_id"))
    .with_for_update(read=True, key_share=True)
)


@functools.cache
def _locked_with_respondents(basis: RespondentBasis):
    """PostgreSQL: the survey's share lock, the database clock once the lock is held, the
    caller's sign-in session (``tokens.SESSION_COLUMNS``, ``:sid``) and whom the caller may
    answer for (their persons, or their dwellings: ``_respondent_rows``) in one round trip —
    a row per person or dwelling, or one without."""
    locked = LOCK_FOR_ANSWER.cte("locked").prefix_with("MATERIALIZED")
    respondents = _respondent_rows(basis).subquery("respondents")
    return (
        select(
            *locked.c,
            func.clock_timestamp(type_=UTCDateTime).label("now"),
            *SESSION_COLUMNS.c,
            *(column.label(f"respondent_{column.key}") for column in respondents.c),
        )
        .select_from(locked)
        .outerjoin(SESSION_COLUMNS, true())
        .outerjoin(respondents, true())
        .order_by(*respondents.c)
    )


def _respondent_rows(basis: RespondentBasis):
    if basis is RespondentBasis.OWNER:
        return OWNED_PERSONS_IN_SURVEY.with_only_columns(
            *(c for c in OWNED_PERSONS_IN_SURVEY.selected_columns if c.key != "survey_id")
        )
    return _resident_dwellings("postgresql")


def _slots(form: Form, account_id: int, rows) -> list[Slot]:
    """The slots of ``slots_of`` from the respondent columns of ``_locked_with_respondents``
    (``respondent_…``, in the order of ``_respondent_rows``): none where a row has none."""
    respondents = [
        tuple(getattr(r, name) for name in r._fields if name.startswith("respondent_"))
        for r in rows
        if r.respondent_id is not None
    ]
    if form.basis is RespondentBasis.OWNER:
        return [_person_slot(*person) for person in respondents]
    dwellings = [ResidentDwelling.of(*dwelling) for dwelling in respondents]
    return _dwelling_slots(form, account_id, dwellings)


def _locked(form: Form, caller: Principal) -> tuple:
    """The survey's status and times, share-locked, the database clock after the lock and
    whom the caller may answer for (``slots_of``), once the caller's session is checked
    (``tokens.check_session``) if the route left it to this statement."""
    if dialect_name() == "postgresql":
        params = {"survey_id": form.id, "sid": caller.session_id, "account_id": caller.id}
        rows = hot_rows(_locked_with_respondents(form.basis), params)
        if not caller.session_checked:
            check_session(caller, rows[0])
        return rows[0], rows[0].now, _slots(form, caller.id, rows)
    if not caller.session_checked:
        check_session(caller)
    slots = slots_of([form], caller.id)[form.id]
    state = db.session.execute(LOCK_FOR_ANSWER, {"survey_id": form.id}).one()
    return state, db_now(), slots


def _response_upsert(dialect: str):
    """``INSERT`` the response or, for a respondent who answered before, replace it (its
    revision counted up) — unless it carries the same Idempotency-Key as the answers in
    place: then nothing, and no row returned."""
    stmt = upsert(Response, dialect).values(
        {key: bindparam(key, type_=Response.__table__.c[key].type) for key in RESPONSE_KEYS}
    )
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[Response.survey_id, Response.respondent_key],
        set_={
            "person_id": new.person_id,
            "account_id": new.account_id,
            "building_id": new.building_id,
            "replaced_building_id": Response.building_id,
            "submitted_at": new.submitted_at,
            "idempotency_key": new.idempotency_key,
            "revision": Response.revision + 1,
        },
        where=or_(
            new.idempotency_key.is_(None),
            Response.idempotency_key.is_distinct_from(new.idempotency_key),
        ),
    ).returning(Response.id, Response.revision, Response.replaced_building_id)


RESPONSE_KEYS = (
    "survey_id", "respondent_key", "person_id", "account_id", "building_id", "submitted_at",
    "revision", "idempotency_key",
)  # fmt: skip


@functools.cache
def _response_written(dialect: str):
    """The response's upsert; on PostgreSQL as a ``SELECT`` of its ``RETURNING`` (a CTE), to
    run on the driver (``hot_rows``)."""
    if dialect != "postgresql":
        return _response_upsert(dialect)
    response = _response_upsert(dialect).cte("response")
    return select(response.c.id, response.c.revision, response.c.replaced_building_id)


def _write_answers(form: Form, values: dict, rows: list[dict]):
    """Write the response ``values``, then its answer ``rows`` with the survey's tallies
    (``tallies.replace_answers``); the response's (id, revision), None when the
    Idempotency-Key is the one of the answers in place."""
    dialect = dialect_name()
    if dialect == "postgresql":
        written = next(iter(hot_rows(_response_written(dialect), values)), None)
    else:
        written = db.session.execute(_response_written(dialect), values).one_or_none()
    if written is not None:
        respondent = tallies.Respondent(
            values["person_id"], values["building_id"], written.replaced_building_id
        )
        tallies.replace_answers(form, written.id, written.revision == 1, respondent, rows)
    return written


def submit_response(
    survey_id: int,
    caller: Principal,
    answers: list[dict],
    person_id: int | None = None,
    dwelling_id: int | None = None,
    idempotency_key: str | None = None,
) -> Submitted:
    """Record the resident ``caller``'s answers for one respondent, replacing earlier ones.

    Checked first (nothing written on error): who answers (``choose_slot``: 403 for a
    resident with no respondent in the survey — the route then answers 404 for a survey they
    may not see), the answers (``checked_answers``), then — under a key-share lock on the
    survey row, which closing takes exclusively — the time against the database clock (and
    the caller's session, when the route left it to this statement). A retry with the same
    Idempotency-Key answers as before, even after the closing time. On PostgreSQL three
    statements: the lock with the clock, the session and the respondents; the response; its
    answers with the survey's tallies (``tallies.replace_answers``).
    """
    form = form_of(survey_id)
    if form is None:
        raise not_found()
    state, now, slots = _locked(form, caller)
    if state.opened_at != form.opened_at:  # a kept form of another survey of that id
        forget(form.id)
        return submit_response(survey_id, caller, answers, person_id, dwelling_id, idempotency_key)
    slot = choose_slot(form, slots, person_id, dwelling_id)
    rows = checked_answers(form, answers)
    key = respondent_key(form, slot.key)
    if state.status is not SurveyStatus.OPEN or not state.opens_at <= now < state.closes_at:
        earlier = idempotency_key and _replay(form, key, idempotency_key, slot)
        if earlier:
            return earlier
        if state.status is SurveyStatus.OPEN and now < state.opens_at:
            raise conflict("survey_not_started", "问卷尚未开始，请在开始后作答")
        raise conflict("survey_closed", "问卷已截止，不再接受作答")
    values = {
        "survey_id": form.id,
        "respondent_key": key,
        "person_id": None if form.anonymous else slot.person_id,
        "account_id": None if form.anonymous else caller.id,
        "building_id": slot.building_id,
        "submitted_at": now,
        "revision": 1,
        "idempotency_key": idempotency_key,
    }
    written = _write_answers(form, values, rows)
    if written is None:  # the same Idempotency-Key as the answers in place
        return _replay(form, key, idempotency_key, slot)
    return Submitted(
        slot.person_id,
        slot.dwellings,
        written.revision,
        now,
        replayed=False,
        answers=answers_view(
            form, ((r["question_id"], r["option_id"], r["rating"], r["text"]) for r in rows)
        ),
    )


def _replay(survey: Survey | Form, key: str, idempotency_key: str, slot: Slot) -> Submitted | None:
    earlier = db.session.execute(
        select(Response.id, Response.revision, Response.submitted_at).where(
            Response.survey_id == survey.id,
            Response.respondent_key == key,
            Response.idempotency_key == idempotency_key,
        )
    ).one_or_none()
    if earlier is None:
        return None
    return Submitted(
        slot.person_id,
        slot.dwellings,
        earlier.revision,
        earlier.submitted_at,
        replayed=True,
        answers=_stored_answers(survey, earlier.id),
    )


def my_responses(survey: Survey, account_id: int) -> list[dict]:
    """Each respondent the resident may answer for in this survey, with the answers in
    place (``answered`` false and no answers when there are none)."""
    slots = slots_of([survey], account_id)[survey.id]
    views, seen = [], set()
    for slot in slots:
        if slot.key in seen:  # resident basis: one response whatever the dwelling
            continue
        seen.add(slot.key)
        # Resident basis with several dwellings in scope: the answer names one (dwelling_id).
        choices = [
            {"dwelling_id": other.dwelling_id, "dwellings": other.dwellings}
            for other in slots
            if other.key == slot.key and other.dwelling_id is not None
        ]
        response = db.session.execute(
            select(Response.id, Response.revision, Response.submitted_at).where(
                Response.survey_id == survey.id,
                Response.respondent_key == respondent_key(survey, slot.key),
            )
        ).one_or_none()
        views.append(
            {
                "person_id": slot.person_id,
                "dwellings": slot.dwellings,
                "answered": response is not None,
                "revision": response.revision if response else None,
                "submitted_at": response.submitted_at if response else None,
                "answers": _stored_answers(survey, response.id) if response else [],
                "dwelling_choices": choices if len(choices) > 1 else [],
            }
        )
    return views


# Views --------------------------------------------------------------------------------------

VIEW_FIELDS = (
    "id",
    "compound_id",
    "kind",
    "title",
    "description",
    "basis",
    "anonymous",
    "building_ids",
    "entrance_ids",
    "opens_at",
    "closes_at",
    "consent_basis",
    "objection_days",
    "menu_min_items",
    "menu_max_items",
    "budget_cap",
    "adoption_numerator",
    "adoption_denominator",
    "adoption_strict",
    "satisfaction_threshold",
)
STAFF_FIELDS = ("t_cnt", "t_area", "created_by_id", "created_at", "opened_at", "closed_at")


def survey_view(survey: Survey, now: datetime, principal: Principal, detail: bool = False) -> dict:
    """What ``SurveySchema`` shows: everyone the survey and (``detail``) its questions and
    kind-specific ``details``; staff also the electorate totals, the lifecycle times and
    (``detail``) how many have answered."""
    view = {key: getattr(survey, key) for key in VIEW_FIELDS}
    view["status"] = effective_status(survey, now)
    view["accepting_responses"] = accepting_responses(survey, now)
    if detail:
        view["questions"] = survey.questions
        builder = DETAIL_BUILDERS.get(survey.kind)
        if builder is not None:
            view["details"] = builder(survey, principal)
    if principal.is_staff:
        view.update({key: getattr(survey, key) for key in STAFF_FIELDS})
        if detail:
            view["deadline_extensions"] = deadline_changes(survey.id)
            view["responses"] = db.session.scalar(
                select(func.count(Response.id)).where(Response.survey_id == survey.id)
            )
    return view


def compound_surveys_query(
    compound_id: int, kind: SurveyKind | None, status: SurveyStatus | None, now: datetime
):
    """A compound's surveys, newest first; ``status`` as shown (an open survey past its
    closing time counts as closed)."""
    stmt = select(Survey).where(Survey.compound_id == compound_id).order_by(Survey.id.desc())
    if kind is not None:
        stmt = stmt.where(Survey.kind == kind)
    if status is SurveyStatus.OPEN:
        stmt = stmt.where(Survey.status == SurveyStatus.OPEN, Survey.closes_at > now)
    elif status is SurveyStatus.CLOSED:
        stmt = stmt.where(
            or_(
                Survey.status == SurveyStatus.CLOSED,
                and_(Survey.status == SurveyStatus.OPEN, Survey.closes_at <= now),
            )
        )
    elif status is not None:
        stmt = stmt.where(Survey.status == status)
    return stmt


def resident_surveys_query(account_id: int):
    """The surveys a resident may see (as ``get_survey``), latest closing first."""
    return (
        select(Survey)
        .where(
            Survey.status.not_in([SurveyStatus.DRAFT, SurveyStatus.CANCELLED]),
            Survey.compound_id.in_(resident_compound_ids(account_id)),
        )
        .order_by(Survey.closes_at.desc(), Survey.id.desc())
    )


def resident_survey_views(surveys: list[Survey], principal: Principal, now: datetime) -> list[dict]:
    """Each survey with whether the resident may answer it at all (``eligible``), now
    (``can_answer``), and has answered (``answered``: for any of their respondents)."""
    slots = slots_of(surveys, principal.id)
    keys = {
        (survey.id, respondent_key(survey, slot.key))
        for survey in surveys
        for slot in slots[survey.id]
    }
    answered = set()
    if keys:
        answered = {
            survey_id
            for survey_id, key in db.session.execute(
                select(Response.survey_id, Response.respondent_key).where(
                    Response.survey_id.in_({s for s, _ in keys}),
                    Response.respondent_key.in_({k for _, k in keys}),
                )
            )
            if (survey_id, key) in keys
        }
    return [
        {
            **survey_view(survey, now, principal),
            "eligible": bool(slots[survey.id]),
            "can_answer": bool(slots[survey.id]) and accepting_responses(survey, now),
            "answered": survey.id in answered,
        }
        for survey in surveys
    ]
