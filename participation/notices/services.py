"""The notice board of a compound: notices posted by staff, and those the campaigns post
themselves (a vote or survey opening, a result on 公示). Functions flush, never commit.

Who reads what:
- staff of the compound (in scope): every notice, withdrawn ones included;
- residents (owners and tenants): the current notices of their compounds whose scope holds
  one of their dwellings (a notice for 3栋 is not on the board of 5栋's residents);
- anyone: current notices marked public.
A notice is current from ``valid_from`` until ``valid_until`` (open-ended without it) unless
withdrawn. Pinned notices come first, then the newest.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, or_, select

from participation.auth.models import Tenancy
from participation.auth.scoping import get_scoped, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import invalid, not_found
from participation.common.files import check_document
from participation.common.schemas import local_time
from participation.common.sql import db_now
from participation.extensions import db
from participation.notices.models import Notice, NoticeAttachment, NoticeKind
from participation.roster.electorate import Scope, check_scope
from participation.roster.models import Compound, Dwelling, Owner, Ownership

MAX_ATTACHMENTS = 20
EDITABLE = ("title", "body", "kind", "pinned", "public", "valid_from", "valid_until")


@path_resolver("notice_id")
def get_notice(notice_id: int, principal: Principal) -> Notice:
    """Staff of the notice's compound; a resident whose board shows it now."""
    if principal.is_staff:
        return get_scoped(Notice, notice_id, principal)
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice not in resident_notices(principal.id, notice.compound_id):
        raise not_found()
    return notice


@path_resolver("notice_attachment_id")
def get_attachment(notice_attachment_id: int, principal: Principal) -> NoticeAttachment:
    attachment = db.session.get(NoticeAttachment, notice_attachment_id)
    if attachment is None:
        raise not_found()
    get_notice(attachment.notice_id, principal)
    return attachment


def _check_validity(valid_from: datetime, valid_until: datetime | None) -> None:
    if valid_until is not None and valid_until <= valid_from:
        raise invalid(
            "valid_until_before_from",
            "有效期的结束时间必须晚于开始时间",
            {"valid_until": ["必须晚于 valid_from"]},
        )


def create_notice(compound: Compound, data: dict, staff_id: int) -> Notice:
    scope = Scope(compound.id, tuple(data["building_ids"]), tuple(data["entrance_ids"]))
    check_scope(scope)
    valid_from = data.get("valid_from") or db_now()
    _check_validity(valid_from, data.get("valid_until"))
    notice = Notice(
        compound_id=compound.id,
        kind=data["kind"],
        title=data["title"],
        body=data["body"],
        pinned=data["pinned"],
        public=data["public"],
        building_ids=sorted(scope.building_ids),
        entrance_ids=sorted(scope.entrance_ids),
        valid_from=valid_from,
        valid_until=data.get("valid_until"),
        created_by_id=staff_id,
    )
    db.session.add(notice)
    db.session.flush()
    return notice


def update_notice(notice: Notice, changes: dict) -> Notice:
    if "building_ids" in changes or "entrance_ids" in changes:
        scope = Scope(
            notice.compound_id,
            tuple(changes.get("building_ids", notice.building_ids)),
            tuple(changes.get("entrance_ids", notice.entrance_ids)),
        )
        check_scope(scope)
        notice.building_ids = sorted(scope.building_ids)
        notice.entrance_ids = sorted(scope.entrance_ids)
    for field in EDITABLE:
        if field in changes:
            setattr(notice, field, changes[field])
    _check_validity(notice.valid_from, notice.valid_until)
    notice.updated_at = db_now()
    db.session.flush()
    return notice


def withdraw_notice(notice: Notice) -> None:
    """Take a notice down (kept, for the record); withdrawing twice is a no-op."""
    if notice.withdrawn_at is None:
        notice.withdrawn_at = db_now()
        db.session.flush()


def add_attachment(notice: Notice, filename: str, content: bytes, staff_id: int):
    document = check_document(filename, content)
    if len(notice.attachments) >= MAX_ATTACHMENTS:
        raise invalid("too_many_attachments", f"每条公告最多 {MAX_ATTACHMENTS} 个附件")
    attachment = NoticeAttachment(
        notice_id=notice.id,
        filename=document.filename,
        content_type=document.content_type,
        size=len(document.content),
        content=document.content,
        sha256=document.sha256,
        uploaded_by_id=staff_id,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


# Reading the board ------------------------------------------------------------------------------


def _board_order(stmt: Select) -> Select:
    return stmt.order_by(Notice.pinned.desc(), Notice.valid_from.desc(), Notice.id.desc())


def staff_notices(compound: Compound) -> Select:
    return _board_order(select(Notice).where(Notice.compound_id == compound.id))


def _current(stmt: Select, now: datetime) -> Select:
    return stmt.where(
        Notice.withdrawn_at.is_(None),
        Notice.valid_from <= now,
        or_(Notice.valid_until.is_(None), Notice.valid_until > now),
    )


def public_notices(compound_id: int) -> Select:
    """Current public notices of a compound."""
    stmt = select(Notice).where(Notice.compound_id == compound_id, Notice.public.is_(True))
    return _board_order(_current(stmt, db_now()))


def public_notice(notice_id: int) -> Notice:
    """A current public notice, else 404 (withdrawn, expired or not public alike)."""
    stmt = _current(select(Notice).where(Notice.id == notice_id, Notice.public.is_(True)), db_now())
    notice = db.session.scalar(stmt)
    if notice is None:
        raise not_found("公告不存在或已撤下")
    return notice


def resident_places(account_id: int) -> dict[int, tuple[set[int], set[int]]]:
    """compound id → (building ids, entrance ids) of the dwellings the resident owns (a
    linked owner) or rents."""
    owned = (
        select(Dwelling.compound_id, Dwelling.building_id, Dwelling.entrance_id)
        .join(Ownership, Ownership.dwelling_id == Dwelling.id)
        .join(Owner, Owner.id == Ownership.owner_id)
        .where(Owner.account_id == account_id)
    )
    rented = (
        select(Dwelling.compound_id, Dwelling.building_id, Dwelling.entrance_id)
        .join(Tenancy, Tenancy.dwelling_id == Dwelling.id)
        .where(Tenancy.account_id == account_id)
    )
    places: dict[int, tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    for compound_id, building_id, entrance_id in db.session.execute(owned.union(rented)):
        places[compound_id][0].add(building_id)
        places[compound_id][1].add(entrance_id)
    return dict(places)


def reaches(notice: Notice, buildings: set[int], entrances: set[int]) -> bool:
    """Whether a notice's scope holds one of the given places (a whole-compound one does)."""
    if not notice.building_ids and not notice.entrance_ids:
        return True
    return bool(buildings & set(notice.building_ids) or entrances & set(notice.entrance_ids))


def resident_notices(account_id: int, compound_id: int | None = None) -> list[Notice]:
    """The current notices on the resident's boards, in board order: a compound's current
    notices are few, so the scope is checked here rather than in SQL (scopes are lists)."""
    places = resident_places(account_id)
    if compound_id is not None:
        places = {compound_id: places[compound_id]} if compound_id in places else {}
    if not places:
        return []
    stmt = _board_order(_current(select(Notice).where(Notice.compound_id.in_(places)), db_now()))
    return [n for n in db.session.scalars(stmt) if reaches(n, *places[n.compound_id])]


# Notices the campaigns post ---------------------------------------------------------------------

KIND_NAMES = {
    "vote": "表决",
    "consent": "改造意愿征集",
    "menu": "改造内容征集",
    "satisfaction": "满意度评价",
    "general": "问卷调查",
}


def campaign_label(kind: str, campaign) -> str:
    """表决 or the survey's kind in words."""
    return KIND_NAMES["vote" if kind == "vote" else campaign.kind.value]


def _post(campaign, campaign_kind: str, source: str, **fields) -> Notice:
    """The notice ``source`` of the campaign's compound, posted once (posting again returns
    the one there is)."""
    existing = _posted(campaign, source)
    if existing is not None:
        return existing
    notice = Notice(
        compound_id=campaign.compound_id,
        building_ids=list(campaign.building_ids or []),
        entrance_ids=list(campaign.entrance_ids or []),
        public=True,
        source=source,
        **{f"{campaign_kind}_id": campaign.id},
        **fields,
    )
    db.session.add(notice)
    db.session.flush()
    return notice


def _opening_body(kind: str, campaign) -> str:
    label = campaign_label(kind, campaign)
    action = "表决" if kind == "vote" else "填写"
    return (
        f"{label}“{campaign.title}”已开始，截止时间 {local_time(campaign.closes_at)}。"
        f"请扫描公示栏上的二维码，用手机验证码登录后{action}。"
        "不方便使用手机的居民，可到社区居委会或联系业委会填写纸质表。"
    )


def post_opening(kind: str, campaign) -> Notice:
    """A campaign opened: its notice, on the board from its opening until it closes."""
    label = campaign_label(kind, campaign)
    return _post(
        campaign,
        kind,
        f"{kind}:{campaign.id}:opened",
        kind=NoticeKind.CAMPAIGN,
        title=f"{label}：{campaign.title}"[:120],
        body=_opening_body(kind, campaign),
        pinned=True,
        valid_from=campaign.opens_at,
        valid_until=campaign.closes_at,
    )


def extend_opening(kind: str, campaign) -> None:
    """A campaign's closing time moved later: its opening notice says so and stays up."""
    notice = _posted(campaign, f"{kind}:{campaign.id}:opened")
    if notice is not None:
        notice.body = _opening_body(kind, campaign)
        notice.valid_until = campaign.closes_at
        db.session.flush()


def post_result(kind: str, campaign) -> Notice:
    """A result went on 公示: its notice, pinned until the objection period ends. After a
    correction the same notice says so, with the new objection period."""
    label = campaign_label(kind, campaign)
    source = f"{kind}:{campaign.id}:result"
    corrected = _posted(campaign, source) is not None
    fields = {
        "title": f"{'更正后重新公示' if corrected else '结果公示'}：{campaign.title}"[:120],
        "body": (
            f"{label}“{campaign.title}”的结果{'经更正后重新' if corrected else '现予'}公示，"
            f"公示期至 {local_time(campaign.objection_until)}。对结果有异议的业主，请在公示期内"
            "扫描二维码登录后提出，或向社区居委会、业委会书面提出。"
        ),
        "pinned": True,
        "valid_from": campaign.published_at,
    }
    notice = _post(campaign, kind, source, kind=NoticeKind.RESULT, **fields)
    for name, value in fields.items():
        setattr(notice, name, value)
    db.session.flush()
    return notice


def _posted(campaign, source: str) -> Notice | None:
    return db.session.scalar(
        select(Notice).where(Notice.compound_id == campaign.compound_id, Notice.source == source)
    )


def unpin_result(kind: str, campaign) -> None:
    """The result became final: its notice stays on the board, no longer pinned."""
    notice = _posted(campaign, f"{kind}:{campaign.id}:result")
    if notice is not None:
        notice.pinned = False
        db.session.flush()


def withdraw_opening(kind: str, campaign) -> None:
    """A campaign was cancelled: its opening notice comes down."""
    notice = _posted(campaign, f"{kind}:{campaign.id}:opened")
    if notice is not None:
        withdraw_notice(notice)


def connect_campaign_events() -> None:
    """Listen to the campaigns (``common.events``); called once by ``create_app``."""
    from participation.common.events import (
        campaign_cancelled,
        campaign_extended,
        campaign_opened,
    )

    campaign_opened.connect(_opened, weak=False)
    campaign_cancelled.connect(_cancelled, weak=False)
    campaign_extended.connect(_extended, weak=False)


def _opened(sender: str, campaign) -> None:
    post_opening(sender, campaign)


def _cancelled(sender: str, campaign) -> None:
    withdraw_opening(sender, campaign)


def _extended(sender: str, campaign) -> None:
    extend_opening(sender, campaign)
