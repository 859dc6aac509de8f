"""公示 (publication) of a campaign's result, for votes and surveys alike: the result goes on
public notice with an objection period (询异); committee staff record the objections received
and how each was handled; then the result becomes final. Functions flush, never commit.

closed → published (``objection_until`` = publication + ``objection_days``) → final
(objection period over, every objection answered). Each transition locks the campaign's row
and checks the state under the lock, so two committee members acting at once cannot both
succeed; filing an objection share-locks the row, so none slips in beside a finalisation.
The notice shows the result stored when the campaign closed, or as corrected since.

Objections (询异): any owner in the campaign's frozen scope files one from the phone during the
objection period, with photos; the committee records those received in writing. The
committee answers each publicly: upheld or not, with the reason. An upheld objection to a
vote lets the committee correct the count (void a ballot, admit a paper ballot signed before
the closing time but not entered in time: ``votes.corrections``); each correction republishes
the result with a new objection period.

What differs between votes and surveys is said once, in a :class:`CampaignKind` (``VOTES``,
``SURVEYS``): the model and its statuses, closing when due, what is done before publishing (a
vote's record is sealed), which campaigns have a public notice (votes; consent surveys counted
by owners) and what the notice says of the result. Any closed survey can be published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from participation.auth.scoping import in_scope, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, forbidden, invalid, not_found
from participation.common.files import check_document
from participation.common.privacy import mask_public_text
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.counting import Basis, Rule
from participation.extensions import db
from participation.notices import services as board
from participation.notices.models import Objection, ObjectionPhoto, Verdict
from participation.roster.models import Compound, Owner
from participation.roster.services import owner_names, scope_names
from participation.roster.snapshot import SnapshotTables
from participation.surveys import consent
from participation.surveys import services as surveys
from participation.surveys.models import Survey, SurveyStatus
from participation.votes import corrections as vote_corrections
from participation.votes import paper
from participation.votes import services as votes
from participation.votes.casting import Cast
from participation.votes.models import Vote, VoteStatus
from participation.votes.services import record_event

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
    snapshot: SnapshotTables  # the frozen electorate: who may object
    corrections: Callable[[Campaign], list[dict]]  # the corrections made after 公示

    @property
    def key(self) -> str:
        """The objection's column naming a campaign of this kind: vote_id / survey_id."""
        return f"{self.name}_id"

    @property
    def column(self):
        return getattr(Objection, self.key)


def _record_publication(vote: Vote) -> None:
    """The result goes on notice (again, after a correction) with every event of the vote's
    record sealed, the publication the last of them."""
    record_event(vote, "published", db_now())


def _vote_terms(vote: Vote) -> dict:
    """The matter and its rule (persons and area both count), the result stored at closing
    without its breakdown per building, and the decision: for an elevator vote that takes
    common parts, its own result and the linked compound-wide vote's side by side."""
    from participation.votes.decision import decision

    return {
        "matter": vote.matter.value,
        "rule": vote.rule.value,
        "proxy_rule": vote.proxy_rule.value,
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
        "proxy_rule": None,
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
    before_publish=_record_publication,
    has_notice=lambda vote: True,
    notice_terms=_vote_terms,
    snapshot=votes.SNAPSHOT,
    corrections=vote_corrections.public_corrections,
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
    snapshot=surveys.SNAPSHOT,
    corrections=lambda survey: [],
)


# Objections by path id, through their campaign's compound: staff in scope only -------------


def _objection_in_scope(kind: CampaignKind, objection_id: int, principal: Principal) -> Objection:
    """Staff reach the objections of their scope; a resident only their own."""
    stmt = (
        select(Objection)
        .join(kind.model, kind.model.id == kind.column)
        .where(Objection.id == objection_id)
    )
    if principal.is_resident:
        stmt = stmt.where(Objection.account_id == principal.id)
    else:
        stmt = in_scope(stmt, kind.model.compound_id, principal)
    objection = db.session.scalar(stmt)
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
    campaign.status = kind.statuses.PUBLISHED
    _put_on_notice(kind, campaign)
    return campaign


def _put_on_notice(kind: CampaignKind, campaign: Campaign) -> None:
    """(Re)start the objection period from now and post the result's notice."""
    kind.before_publish(campaign)
    now = db_now()
    campaign.published_at = now
    campaign.objection_until = now + timedelta(days=campaign.objection_days)
    db.session.flush()
    board.post_result(kind.name, campaign)


# Objections ---------------------------------------------------------------------------------

MAX_PHOTOS = 6
MAX_OPEN_OBJECTIONS = 3  # unanswered objections of one owner to one campaign
WRITTEN = "书面异议（工作人员登记）"


def _lock_for_objection(kind: CampaignKind, campaign: Campaign) -> datetime:
    """Share-lock the campaign and check it is on notice within its objection period."""
    _lock(campaign, read=True)
    if campaign.status is not kind.statuses.PUBLISHED:
        raise conflict(f"{kind.name}_not_published", f"只有公示中的{kind.noun}可以提出异议")
    now = db_now()
    if now >= campaign.objection_until:
        raise conflict("objection_period_over", "异议期已结束，不能再提出异议")
    return now


def filer_label(kind: CampaignKind, campaign: Campaign, account_id: int) -> str | None:
    """Who the resident is in the campaign's frozen scope, in public words — the entrances of
    their dwellings in scope (``2栋1单元业主``), never a name or a room; None if they own
    nothing in scope."""
    tables = kind.snapshot
    entrance_ids = db.session.scalars(
        select(tables.dwelling.entrance_id)
        .distinct()
        .join(tables.owner, tables.owner.person_id == tables.dwelling.person_id)
        .join(Owner, Owner.id == tables.owner.owner_id)
        .where(
            getattr(tables.dwelling, tables.parent_column) == campaign.id,
            Owner.account_id == account_id,
        )
    ).all()
    if not entrance_ids:
        return None
    _, entrances = scope_names([], entrance_ids)
    return "、".join(entrances) + "业主"


def file_objection(
    kind: CampaignKind,
    campaign: Campaign,
    account_id: int,
    summary: str,
    photos: list[tuple[str, bytes]],
) -> Objection:
    """An owner in the campaign's scope objects during the objection period, with up to
    ``MAX_PHOTOS`` photos (JPEG, PNG or PDF)."""
    filer = filer_label(kind, campaign, account_id)
    if filer is None:
        raise forbidden(f"只有本次{kind.noun}范围内的业主可以提出异议", code="not_an_owner")
    if len(photos) > MAX_PHOTOS:
        message = f"最多上传 {MAX_PHOTOS} 张照片"
        raise invalid("too_many_photos", message, {"photos": [message]})
    documents = [check_document(filename, content) for filename, content in photos]
    now = _lock_for_objection(kind, campaign)
    open_ones = db.session.scalar(
        select(func.count(Objection.id)).where(
            kind.column == campaign.id,
            Objection.account_id == account_id,
            Objection.resolved_at.is_(None),
        )
    )
    if open_ones >= MAX_OPEN_OBJECTIONS:
        raise conflict(
            "too_many_objections",
            f"您已有 {open_ones} 条异议尚未答复，请等待答复后再提出新的异议",
        )
    objection = Objection(summary=summary, account_id=account_id, filer=filer, recorded_at=now)
    setattr(objection, kind.key, campaign.id)
    objection.photos = [
        ObjectionPhoto(
            filename=d.filename, content_type=d.content_type, content=d.content, sha256=d.sha256
        )
        for d in documents
    ]
    db.session.add(objection)
    db.session.flush()
    return objection


def record_objection(
    kind: CampaignKind, campaign: Campaign, summary: str, staff_id: int
) -> Objection:
    """Staff record an objection received in writing during the objection period."""
    now = _lock_for_objection(kind, campaign)
    objection = Objection(summary=summary, recorded_by_id=staff_id, filer=WRITTEN, recorded_at=now)
    setattr(objection, kind.key, campaign.id)
    db.session.add(objection)
    db.session.flush()
    return objection


def resolve_objection(
    objection: Objection, verdict: Verdict, resolution: str, staff_id: int
) -> Objection:
    """The committee's public answer to an objection (once): upheld or not, and why."""
    db.session.refresh(objection, with_for_update={"key_share": True})
    if objection.resolved_at is not None:
        raise conflict("objection_resolved", "该异议已答复")
    now = db_now()  # read first: a query would flush a verdict without its time (a DB check)
    objection.verdict = verdict
    objection.resolution = resolution
    objection.resolved_by_id = staff_id
    objection.resolved_at = now
    db.session.flush()
    return objection


def my_objections_query(kind: CampaignKind, campaign: Campaign, account_id: int) -> Select:
    return (
        select(Objection)
        .where(kind.column == campaign.id, Objection.account_id == account_id)
        .order_by(Objection.id)
    )


@path_resolver("objection_photo_id")
def get_objection_photo(objection_photo_id: int, principal: Principal) -> ObjectionPhoto:
    """A photo of an objection the caller may reach (``_objection_in_scope``), else 404."""
    photo = db.session.get(ObjectionPhoto, objection_photo_id)
    if photo is None:
        raise not_found()
    objection = db.session.get(Objection, photo.objection_id)
    _objection_in_scope(VOTES if objection.vote_id else SURVEYS, objection.id, principal)
    return photo


# Corrections (votes) ------------------------------------------------------------------------


def _upheld_vote(objection: Objection) -> Vote:
    """The objection's vote, locked exclusively for a correction: the objection must be a
    vote's, upheld, and the vote on notice."""
    if objection.vote_id is None:
        raise not_found()
    if objection.verdict is not Verdict.UPHELD:
        raise conflict("objection_not_upheld", "只有认定成立的异议才能据以更正计票")
    vote = db.session.get(Vote, objection.vote_id)
    vote_corrections.lock_for_recount(vote)
    if vote.status is not VoteStatus.PUBLISHED:
        raise conflict("vote_not_published", "只有公示中的表决可以更正计票")
    return vote


def void_ballot(
    objection: Objection,
    staff_id: int,
    reason: str,
    event_id: int | None = None,
    receipt: str | None = None,
) -> Vote:
    """Void a cast (named by its id or receipt) for an upheld objection; the result is
    recomputed and republished with a new objection period."""
    vote = _upheld_vote(objection)
    cast = vote_corrections.find_cast(vote, event_id, receipt)
    vote_corrections.void_cast(vote, cast, reason, staff_id, objection.id)
    _put_on_notice(VOTES, vote)
    return vote


def admit_paper_ballot(objection: Objection, staff_id: int, reason: str, **ballot) -> Cast:
    """Enter, for an upheld objection, a paper ballot signed before the closing time that
    was not entered in time (``ballot``: ``paper.enter_paper_ballot``'s person, choice,
    filename, photo and signed_at); the result is recomputed and republished."""
    vote = _upheld_vote(objection)
    cast = paper.enter_paper_ballot(
        vote, staff_id, objection_id=objection.id, note=reason, **ballot
    )
    _put_on_notice(VOTES, vote)
    return cast


def objections_query(kind: CampaignKind, campaign: Campaign) -> Select:
    return select(Objection).where(kind.column == campaign.id).order_by(Objection.id)


def _objection_counts(kind: CampaignKind, campaign_id: int) -> tuple[int, int]:
    """(received, unanswered)."""
    received, resolved = db.session.execute(
        select(func.count(Objection.id), func.count(Objection.resolved_at)).where(
            kind.column == campaign_id
        )
    ).one()
    return received, received - resolved


def public_objections(kind: CampaignKind, campaign: Campaign) -> list[dict]:
    """The objections as the notice shows them: who in public words, what, when, and the
    answer — the compound's owners' names and any long number in the text masked."""
    objections = db.session.scalars(
        select(Objection).where(kind.column == campaign.id).order_by(Objection.id)
    ).all()
    names = owner_names({campaign.compound_id})[campaign.compound_id] if objections else set()
    return [
        {
            "id": o.id,
            "filer": o.filer,
            "summary": mask_public_text(o.summary, names),
            "filed_at": o.recorded_at,
            "verdict": o.verdict.value if o.verdict else None,
            "answer": mask_public_text(o.resolution, names) if o.resolution else None,
            "answered_at": o.resolved_at,
        }
        for o in objections
    ]


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
            f"还有 {unresolved} 条异议未答复，全部答复后才能确认最终结果",
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
    objections = public_objections(kind, campaign)
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
        "objections": {
            "received": len(objections),
            "resolved": sum(item["answered_at"] is not None for item in objections),
            "items": objections,
        },
        "corrections": kind.corrections(campaign),
    }
