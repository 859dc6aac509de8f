"""公示 (publication) of a campaign's result, for votes and surveys alike: the result goes on
public notice with an objection period (询异); committee staff record the objections received
and how each was handled; then the result becomes final. Functions flush, never commit.

closed → published (``objection_until`` = publication + ``objection_days``) → final
(objection period over, every objection resolved). Each transition locks the campaign's row
and checks the state under the lock, so two committee members acting at once cannot both
succeed; recording an objection share-locks the row, so none slips in beside a finalisation.
The notice shows the result stored when the campaign closed.

What differs between votes and surveys is said once, in a :class:`CampaignKind` (``VOTES``,
``SURVEYS``): the model and its statuses, closing when due, what is done before publishing (a
vote's record is sealed), which campaigns have a public notice (votes; consent surveys counted
by owners) and what the notice says of the result. Any closed survey can be published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, func, select

from participation.auth.scoping import in_scope, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, not_found
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.counting import Basis, Rule
from participation.extensions import db
from participation.notices import services as board
from participation.notices.models import Objection
from participation.roster.models import Compound
from participation.roster.services import scope_names
from participation.surveys import consent
from participation.surveys import services as surveys
from participation.surveys.models import Survey, SurveyStatus
from participation.votes import services as votes
from participation.votes.models import Vote, VoteStatus
from participation.votes.record import seal_pending

Campaign = Vote | Survey


@dataclass(frozen=True)
class CampaignKind:
    """What 公示 needs to know of one kind of campaign."""

    name: str  # vote / survey: the notice's ``kind``, error codes (vote_not_closed, …)
    noun: str  # 表决 / 问卷, in messages
    model: type[Vote] | type[Survey]
    statuses: type[VoteStatus] | type[SurveyStatus]  # CLOSED → PUBLISHED → FINAL
    close_if_due: Callable[[Campaign], bool]
    before_publish: Callable[[Campaign], None]  # under the lock, the state checked
    has_notice: Callable[[Campaign], bool]  # of a published or final campaign
    notice_terms: Callable[[Campaign], dict]  # matter, rule, basis and the result's aggregates

    @property
    def key(self) -> str:
        """The objection's column naming a campaign of this kind: vote_id / survey_id."""
        return f"{self.name}_id"

    @property
    def column(self):
        return getattr(Objection, self.key)


def _seal_record(vote: Vote) -> None:
    """The result goes on notice with every event of the vote's record sealed."""
    seal_pending(vote.id)


def _vote_terms(vote: Vote) -> dict:
    """The matter and its rule (persons and area both count), the result stored at closing
    without its breakdown per building, and the decision: for an elevator vote that takes
    common parts, its own result and the linked compound-wide vote's side by side."""
    from participation.votes.decision import decision

    return {
        "matter": vote.matter.value,
        "rule": vote.rule.value,
        "basis": Basis.BOTH.value,
        "result": {key: value for key, value in vote.result.items() if key != "buildings"},
        "decision": decision(vote),
    }


def _survey_terms(survey: Survey) -> dict:
    """The consent gate: its basis and the whole scope's aggregates (``consent.GATE_KEYS``)."""
    result = consent.current_result(survey)
    return {
        "matter": survey.kind.value,
        "rule": Rule.RENOVATION_CONSENT.value,
        "basis": survey.consent_basis.value,
        "result": {key: result[key] for key in consent.GATE_KEYS},
        "decision": None,  # votes only (``_vote_terms``): one document for every kind
    }


VOTES = CampaignKind(
    name="vote",
    noun="表决",
    model=Vote,
    statuses=VoteStatus,
    close_if_due=votes.close_if_due,
    before_publish=_seal_record,
    has_notice=lambda vote: True,
    notice_terms=_vote_terms,
)
SURVEYS = CampaignKind(
    name="survey",
    noun="问卷",
    model=Survey,
    statuses=SurveyStatus,
    close_if_due=surveys.close_if_due,
    before_publish=lambda survey: None,
    has_notice=consent.countable,
    notice_terms=_survey_terms,
)


# Objections by path id, through their campaign's compound: staff in scope only -------------


def _objection_in_scope(kind: CampaignKind, objection_id: int, principal: Principal) -> Objection:
    stmt = (
        select(Objection)
        .join(kind.model, kind.model.id == kind.column)
        .where(Objection.id == objection_id)
    )
    objection = db.session.scalar(in_scope(stmt, kind.model.compound_id, principal))
    if objection is None:
        raise not_found()
    return objection


@path_resolver("objection_id")
def get_vote_objection(objection_id: int, principal: Principal) -> Objection:
    return _objection_in_scope(VOTES, objection_id, principal)


@path_resolver("survey_objection_id")
def get_survey_objection(survey_objection_id: int, principal: Principal) -> Objection:
    return _objection_in_scope(SURVEYS, survey_objection_id, principal)


def campaign_of(kind: CampaignKind, objection: Objection) -> Campaign:
    return db.session.get(kind.model, getattr(objection, kind.key))


# The lifecycle ------------------------------------------------------------------------------


def _lock(campaign: Campaign, read: bool = False) -> None:
    """Reload the campaign's row locked: exclusively for a transition, shared for an
    objection. Pending changes (a result just stored by ``close_if_due``) are flushed first."""
    db.session.flush()
    db.session.refresh(campaign, with_for_update={"read": True} if read else {"key_share": True})


def publish(kind: CampaignKind, campaign: Campaign) -> Campaign:
    """公示: put the result stored at closing on public notice and start the objection period
    (a campaign past its closing time is closed first; a vote's record is sealed)."""
    kind.close_if_due(campaign)
    _lock(campaign)
    if campaign.status is not kind.statuses.CLOSED:
        raise conflict(f"{kind.name}_not_closed", f"只有已截止、尚未公示的{kind.noun}可以公示")
    kind.before_publish(campaign)
    now = db_now()
    campaign.status = kind.statuses.PUBLISHED
    campaign.published_at = now
    campaign.objection_until = now + timedelta(days=campaign.objection_days)
    db.session.flush()
    board.post_result(kind.name, campaign)
    return campaign


def record_objection(
    kind: CampaignKind, campaign: Campaign, summary: str, staff_id: int
) -> Objection:
    """Staff record an objection received during the objection period."""
    _lock(campaign, read=True)
    if campaign.status is not kind.statuses.PUBLISHED:
        raise conflict(f"{kind.name}_not_published", f"只有公示中的{kind.noun}可以登记异议")
    now = db_now()
    if now >= campaign.objection_until:
        raise conflict("objection_period_over", "异议期已结束，不能再登记异议")
    objection = Objection(summary=summary, recorded_by_id=staff_id, recorded_at=now)
    setattr(objection, kind.key, campaign.id)
    db.session.add(objection)
    db.session.flush()
    return objection


def resolve_objection(objection: Objection, resolution: str, staff_id: int) -> Objection:
    """Record how an objection was handled (once)."""
    db.session.refresh(objection, with_for_update={"key_share": True})
    if objection.resolved_at is not None:
        raise conflict("objection_resolved", "该异议已处理")
    objection.resolution = resolution
    objection.resolved_by_id = staff_id
    objection.resolved_at = db_now()
    db.session.flush()
    return objection


def objections_query(kind: CampaignKind, campaign: Campaign) -> Select:
    return select(Objection).where(kind.column == campaign.id).order_by(Objection.id)


def _objection_counts(kind: CampaignKind, campaign_id: int) -> tuple[int, int]:
    """(received, unresolved)."""
    received, resolved = db.session.execute(
        select(func.count(Objection.id), func.count(Objection.resolved_at)).where(
            kind.column == campaign_id
        )
    ).one()
    return received, received - resolved


def finalize(kind: CampaignKind, campaign: Campaign) -> Campaign:
    """The result becomes final once the objection period is over and every objection has
    been resolved."""
    _lock(campaign)
    if campaign.status is not kind.statuses.PUBLISHED:
        raise conflict(f"{kind.name}_not_published", f"只有公示中的{kind.noun}可以确认最终结果")
    now = db_now()
    if now < campaign.objection_until:
        until = campaign.objection_until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        raise conflict("objection_period_running", f"异议期至 {until} 结束，之后才能确认最终结果")
    _, unresolved = _objection_counts(kind, campaign.id)
    if unresolved:
        raise conflict(
            "objections_unresolved",
            f"还有 {unresolved} 条异议未处理",
            {"unresolved": [str(unresolved)]},
        )
    campaign.status = kind.statuses.FINAL
    campaign.finalized_at = now
    db.session.flush()
    board.unpin_result(kind.name, campaign)
    return campaign


# The public notice --------------------------------------------------------------------------


def notice(kind: CampaignKind, campaign_id: int) -> dict:
    """The 公示 of a published or final campaign, one document for every kind: what was
    decided and by which rule, where, when, the result's aggregates and the objections
    received and resolved. Aggregates and place names only: no names, rooms or per-building
    figures."""
    model = kind.model
    campaign = db.session.scalar(
        select(model).where(
            model.id == campaign_id,
            model.status.in_((kind.statuses.PUBLISHED, kind.statuses.FINAL)),
        )
    )
    if campaign is None or not kind.has_notice(campaign):
        raise not_found()
    buildings, entrances = scope_names(campaign.building_ids or [], campaign.entrance_ids or [])
    received, unresolved = _objection_counts(kind, campaign.id)
    return {
        "kind": kind.name,
        "id": campaign.id,
        # vote_id or survey_id, as the notices of each kind have always had; the other null
        "vote_id": None,
        "survey_id": None,
        kind.key: campaign.id,
        "title": campaign.title,
        "compound": db.session.get(Compound, campaign.compound_id).name,
        "buildings": buildings,
        "entrances": entrances,
        "opens_at": campaign.opens_at,
        "closes_at": campaign.closes_at,
        "published_at": campaign.published_at,
        "objection_until": campaign.objection_until,
        "finalized_at": campaign.finalized_at,
        "final": campaign.status is kind.statuses.FINAL,
        **kind.notice_terms(campaign),
        "objections": {"received": received, "resolved": received - unresolved},
    }
