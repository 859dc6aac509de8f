"""The questionnaire engine: surveys, their questions, respondents and answers. Functions
flush, never commit. A survey past its closing time is closed when read."""

from __future__ import annotations

from sqlalchemy import select, update

from participation.auth.models import Tenancy
from participation.auth.scoping import get_scoped, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid, not_found
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.electorate import Scope
from participation.roster.models import Dwelling, Owner
from participation.roster.snapshot import Frozen, SnapshotTables, freeze
from participation.surveys.models import (
    RespondentBasis,
    Survey,
    SurveyPerson,
    SurveyPersonDwelling,
    SurveyPersonOwner,
    SurveyStatus,
)

SNAPSHOT = SnapshotTables("survey_id", SurveyPerson, SurveyPersonDwelling, SurveyPersonOwner)


def resident_compound_ids(account_id: int):
    owned = select(Owner.compound_id).where(Owner.account_id == account_id)
    rented = (
        select(Dwelling.compound_id)
        .join(Tenancy, Tenancy.dwelling_id == Dwelling.id)
        .where(Tenancy.account_id == account_id)
    )
    return owned.union(rented)


@path_resolver("survey_id")
def get_survey(survey_id: int, principal: Principal) -> Survey:
    """Staff: surveys of compounds in scope. Residents: non-draft surveys of their compounds."""
    if principal.is_staff:
        return get_scoped(Survey, survey_id, principal)
    survey = db.session.scalar(
        select(Survey).where(
            Survey.id == survey_id,
            Survey.status.not_in([SurveyStatus.DRAFT, SurveyStatus.CANCELLED]),
            Survey.compound_id.in_(resident_compound_ids(principal.id)),
        )
    )
    if survey is None:
        raise not_found()
    return survey


def scope_of(survey: Survey) -> Scope:
    return Scope(
        survey.compound_id, tuple(survey.building_ids or ()), tuple(survey.entrance_ids or ())
    )


def open_survey(survey: Survey, confirm_unknown_owners: bool = False) -> Frozen | None:
    """Open a draft. Owner basis: freeze the electorate (dwellings with no known owner need a
    confirmation, 409 ``unknown_owners`` otherwise)."""
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
        return None
    frozen = freeze(scope_of(survey), SNAPSHOT, survey.id, "问卷范围内没有房屋，无法开启")
    if frozen.unknown_owner_labels and not confirm_unknown_owners:
        raise conflict(
            "unknown_owners",
            f"有 {len(frozen.unknown_owner_labels)} 户房屋没有登记业主，请核实后确认开启",
            {"dwellings": frozen.unknown_owner_labels[:200]},
        )
    survey.t_cnt, survey.t_area = frozen.t_cnt, frozen.t_area
    return frozen
