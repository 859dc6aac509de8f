"""方案征求意见: the committee publishes a project's design plan — documents, items with their
costs and the residents' part, each household's share — for an open period; residents of the
compound support or oppose each item and comment during the period only; the committee
records how each comment was handled (采纳 / 部分采纳 / 不采纳, with the reason unless adopted)
and publishes the summary as a notice of the compound's board (counts per item, the comments
with their handling, rooms at most); then the revised plan and its review (方案审查), published
as a notice too. Functions flush, never commit.

A household is a dwelling: an item's residents' part is split over the compound's dwellings
by area, to the fen, with ``common.money.allocate`` (the split the votes' cost plans and the
menu use), so the shares of an item add up exactly to its residents' part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select

from participation.auth.scoping import in_scope, path_resolver, resident_compound_ids
from participation.auth.tokens import Principal
from participation.common.errors import conflict, invalid, not_found
from participation.common.money import NothingToShare, allocate
from participation.common.privacy import mask_numbers
from participation.common.schemas import local_time
from participation.common.sql import db_now, upsert
from participation.counting import amount
from participation.extensions import db
from participation.notices import services as board
from participation.notices.models import NoticeKind
from participation.projects import services
from participation.projects.models import (
    Handling,
    PlanComment,
    PlanConsultation,
    PlanItem,
    PlanReview,
    PlanStance,
    Project,
    Stance,
    StepKey,
)
from participation.roster.models import Building, Compound, Dwelling, Entrance, dwelling_label
from participation.roster.services import natural_key
from participation.surveys.services import ResidentDwelling, resident_dwellings

ZERO = Decimal("0.00")


@path_resolver("plan_consultation_id")
def get_consultation(plan_consultation_id: int, principal: Principal) -> PlanConsultation:
    """Staff whose scope covers the project's compound; residents (owners, tenants) of that
    compound; anyone else 404."""
    stmt = (
        select(PlanConsultation)
        .join(Project, Project.id == PlanConsultation.project_id)
        .where(PlanConsultation.id == plan_consultation_id)
    )
    if principal.is_staff:
        stmt = in_scope(stmt, Project.compound_id, principal)
    else:
        stmt = stmt.where(Project.compound_id.in_(resident_compound_ids(principal.id)))
    consultation = db.session.scalar(stmt)
    if consultation is None:
        raise not_found()
    return consultation


@path_resolver("plan_comment_id")
def get_comment(plan_comment_id: int, principal: Principal) -> PlanComment:
    """Staff in scope only: handling a comment is the committee's."""
    stmt = (
        select(PlanComment)
        .join(PlanConsultation, PlanConsultation.id == PlanComment.consultation_id)
        .join(Project, Project.id == PlanConsultation.project_id)
        .where(PlanComment.id == plan_comment_id)
    )
    comment = db.session.scalar(in_scope(stmt, Project.compound_id, principal))
    if comment is None:
        raise not_found()
    return comment


def _lock(consultation: PlanConsultation) -> None:
    """Take the consultation's row exclusively and read it afresh: handling a comment,
    publishing the summary and recording a revision happen one after the other."""
    db.session.execute(
        select(PlanConsultation.id).where(PlanConsultation.id == consultation.id).with_for_update()
    )
    db.session.refresh(consultation)


def project_of(consultation: PlanConsultation) -> Project:
    return db.session.get(Project, consultation.project_id)


def _check_items(items: list[dict]) -> None:
    for index, item in enumerate(items):
        if item["residents_part"] > item["cost"]:
            message = "居民出资不能超过该项费用"
            raise invalid("residents_part_exceeds_cost", message, {f"items.{index}": [message]})


def _add_items(consultation: PlanConsultation, items: list[dict], revision: int) -> None:
    _check_items(items)
    db.session.add_all(
        PlanItem(
            consultation_id=consultation.id,
            revision=revision,
            position=position,
            name=item["name"],
            description=item.get("description", ""),
            cost=item["cost"],
            residents_part=item["residents_part"],
        )
        for position, item in enumerate(items, start=1)
    )


def _add_documents(project: Project, documents: list[dict], staff_id: int) -> None:
    design = services.step_of(project, StepKey.DESIGN)
    for document in documents:
        services.add_document(project, {**document, "step_id": design.id}, staff_id)


def publish_plan(project: Project, data: dict, staff_id: int) -> PlanConsultation:
    """Publish the design plan for comment (one consultation per project: 409 otherwise)
    and announce it on the compound's board for the period."""
    if data["closes_at"] <= data["opens_at"]:
        message = "截止时间须晚于开始时间"
        raise invalid("closes_before_opens", message, {"closes_at": [message]})
    services.lock(project)
    if db.session.scalar(select(PlanConsultation.id).filter_by(project_id=project.id)):
        raise conflict("consultation_exists", "本项目的设计方案已经发布征求意见")
    _check_items(data["items"])
    consultation = PlanConsultation(
        project_id=project.id,
        title=data["title"],
        description=data.get("description", ""),
        opens_at=data["opens_at"],
        closes_at=data["closes_at"],
        created_by_id=staff_id,
    )
    db.session.add(consultation)
    db.session.flush()
    _add_items(consultation, data["items"], 0)
    _add_documents(project, data.get("documents", []), staff_id)
    compound = db.session.get(Compound, project.compound_id)
    notice = board.create_notice(
        compound,
        {
            "kind": NoticeKind.CAMPAIGN,
            "title": f"设计方案征求意见：{consultation.title}"[:120],
            "body": (
                f"“{consultation.title}”现公开征求居民意见，时间为 "
                f"{local_time(consultation.opens_at)} 至 {local_time(consultation.closes_at)}。"
                "请扫描公示栏上的二维码登录后查看方案、各项费用和您家的分摊金额，"
                "对每一项表示支持或反对，并留下意见。"
            ),
            "pinned": True,
            "public": True,
            "building_ids": [],
            "entrance_ids": [],
            "valid_from": consultation.opens_at,
            "valid_until": consultation.closes_at,
        },
        staff_id,
    )
    consultation.notice_id = notice.id
    services.record(project, staff_id, "plan_published", reason=consultation.title)
    db.session.flush()
    return consultation


def current_items(consultation: PlanConsultation) -> list[PlanItem]:
    return items_of(consultation, consultation.revision)


def items_of(consultation: PlanConsultation, revision: int) -> list[PlanItem]:
    stmt = (
        select(PlanItem)
        .where(PlanItem.consultation_id == consultation.id, PlanItem.revision == revision)
        .order_by(PlanItem.position)
    )
    return list(db.session.scalars(stmt))


def of_project(project: Project) -> PlanConsultation | None:
    return db.session.scalar(select(PlanConsultation).filter_by(project_id=project.id))


def summary_published(project: Project) -> bool:
    consultation = of_project(project)
    return consultation is not None and consultation.summary_published_at is not None


# Households and their shares ----------------------------------------------------------------


@dataclass(frozen=True)
class Household:
    dwelling_id: int
    label: str
    area: Decimal


def households(compound_id: int) -> list[Household]:
    """The compound's dwellings with their labels and areas, in label order."""
    rows = db.session.execute(
        select(Dwelling.id, Dwelling.area, Building.name, Entrance.name, Dwelling.room)
        .join(Building, Building.id == Dwelling.building_id)
        .join(Entrance, Entrance.id == Dwelling.entrance_id)
        .where(Dwelling.compound_id == compound_id)
    ).all()
    found = [Household(r[0], dwelling_label(r[2], r[3], r[4]), r[1]) for r in rows]
    return sorted(found, key=lambda h: (natural_key(h.label), h.dwelling_id))


def item_shares(items: list[PlanItem], homes: list[Household]) -> dict[int, dict[int, Decimal]]:
    """item id → dwelling id → share of its residents' part, to the fen, by area."""
    weights = {home.dwelling_id: home.area for home in homes}
    shares = {}
    for item in items:
        try:
            shares[item.id] = allocate(item.residents_part, weights)
        except NothingToShare:
            raise conflict(
                "no_households", "本小区没有面积大于零的房屋，无法分摊居民出资"
            ) from None
    return shares


def household_shares(consultation: PlanConsultation) -> list[dict]:
    """Each household's share of the residents' part of the current items (their sum is
    exactly the items' residents' parts)."""
    project = project_of(consultation)
    items = current_items(consultation)
    homes = households(project.compound_id)
    if not homes:
        return []
    shares = item_shares(items, homes)
    return [
        {
            "dwelling_id": home.dwelling_id,
            "label": home.label,
            "area": home.area,
            "share": sum((shares[item.id][home.dwelling_id] for item in items), ZERO),
        }
        for home in homes
    ]


# Residents' feedback ------------------------------------------------------------------------


def _rooms_of(account_id: int, compound_id: int) -> list[ResidentDwelling]:
    return [d for d in resident_dwellings(account_id) if d.compound_id == compound_id]


def _check_open(consultation: PlanConsultation, now: datetime) -> None:
    if not consultation.opens_at <= now < consultation.closes_at:
        raise conflict(
            "consultation_not_open",
            f"设计方案征求意见时间为 {local_time(consultation.opens_at)} 至 "
            f"{local_time(consultation.closes_at)}，现在不在征求意见期内，不能提交",
        )


def submitted_with_key(consultation: PlanConsultation, account_id: int, key: str | None):
    """Whether the resident's submission with this Idempotency-Key is stored already."""
    if key is None:
        return False
    return (
        db.session.scalar(
            select(PlanComment.id).filter_by(
                consultation_id=consultation.id, account_id=account_id, idempotency_key=key
            )
        )
        is not None
    )


def submit_feedback(
    consultation: PlanConsultation, account_id: int, data: dict, key: str | None = None
) -> dict:
    """A resident's stances on items (the latest counts) and comments, during the period
    only (409 ``consultation_not_open``, checked against the database's clock in the
    transaction that writes). A retry with the submission's Idempotency-Key ``key`` stores
    nothing again (stances are set, not added, anyway)."""
    if submitted_with_key(consultation, account_id, key):
        return my_feedback(consultation, account_id)
    project = project_of(consultation)
    _check_open(consultation, db_now())
    items = {item.id: item for item in current_items(consultation)}
    given = [s["item_id"] for s in data["stances"]] + [
        c["item_id"] for c in data["comments"] if c.get("item_id") is not None
    ]
    unknown = sorted({item_id for item_id in given if item_id not in items})
    if unknown:
        message = "方案中没有这些项目：" + "、".join(str(i) for i in unknown)
        raise invalid("item_not_in_plan", message, {"item_id": [message]})
    rooms = _rooms_of(account_id, project.compound_id)
    room = rooms[0].label if rooms else ""
    now = db_now()
    for stance in data["stances"]:
        statement = upsert(PlanStance).values(
            consultation_id=consultation.id,
            item_id=stance["item_id"],
            account_id=account_id,
            stance=stance["stance"],
            updated_at=now,
        )
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=["item_id", "account_id"],
                set_={"stance": statement.excluded.stance, "updated_at": now},
            )
        )
    comments = [
        PlanComment(
            consultation_id=consultation.id,
            item_id=c.get("item_id"),
            account_id=account_id,
            room=room,
            text=c["text"],
            created_at=now,
            idempotency_key=key,
            seq=seq,
        )
        for seq, c in enumerate(data["comments"], start=1)
    ]
    db.session.add_all(comments)
    db.session.flush()
    return my_feedback(consultation, account_id)


def my_feedback(consultation: PlanConsultation, account_id: int) -> dict:
    stances = db.session.execute(
        select(PlanStance.item_id, PlanStance.stance).filter_by(
            consultation_id=consultation.id, account_id=account_id
        )
    ).all()
    comments = db.session.scalars(
        select(PlanComment)
        .filter_by(consultation_id=consultation.id, account_id=account_id)
        .order_by(PlanComment.id)
    )
    return {
        "stances": [{"item_id": item_id, "stance": stance} for item_id, stance in stances],
        "comments": [comment_view(c) for c in comments],
    }


# The committee's handling and the summary ---------------------------------------------------


def comments_query(consultation: PlanConsultation) -> Select:
    return (
        select(PlanComment)
        .where(PlanComment.consultation_id == consultation.id)
        .order_by(PlanComment.id)
    )


def handle_comment(comment: PlanComment, handling: Handling, reason: str, staff_id: int):
    """Record (or correct, until the summary is published) how a comment was handled; a
    reason is needed unless it was adopted."""
    consultation = db.session.get(PlanConsultation, comment.consultation_id)
    _lock(consultation)
    if consultation.summary_published_at is not None:
        raise conflict("summary_published", "意见汇总已经公布，不能再修改处理结果")
    if handling is not Handling.ADOPTED and not reason.strip():
        message = "部分采纳或不采纳的意见须说明理由"
        raise invalid("reason_required", message, {"reason": [message]})
    now = db_now()
    comment.handling = handling
    comment.reason = reason.strip()
    comment.handled_by_id = staff_id
    comment.handled_at = now
    db.session.flush()
    return comment


def item_counts(consultation: PlanConsultation) -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        select(PlanStance.item_id, PlanStance.stance, func.count())
        .where(PlanStance.consultation_id == consultation.id)
        .group_by(PlanStance.item_id, PlanStance.stance)
    )
    counts: dict[int, dict[str, int]] = {}
    for item_id, stance, count in rows:
        counts.setdefault(item_id, {s.value: 0 for s in Stance})[stance.value] = count
    return counts


def summary(consultation: PlanConsultation) -> dict:
    """What the public summary says: per item the support and opposition, then every
    comment with its room, its handling and the reason — no names, no phones."""
    counts = item_counts(consultation)
    items = items_of(consultation, 0)  # what residents supported or opposed
    names = {item.id: item.name for item in items}
    comments = list(db.session.scalars(comments_query(consultation)))
    return {
        "items": [
            {
                "id": item.id,
                "name": item.name,
                "cost": item.cost,
                "residents_part": item.residents_part,
                "support": counts.get(item.id, {}).get("support", 0),
                "oppose": counts.get(item.id, {}).get("oppose", 0),
            }
            for item in items
        ],
        "comments": [
            {
                "id": c.id,
                "room": c.room,
                "item": names.get(c.item_id),
                "text": mask_numbers(c.text),
                "handling": c.handling,
                "handling_label": c.handling.label if c.handling else None,
                "reason": mask_numbers(c.reason),
            }
            for c in comments
        ],
        "published_at": consultation.summary_published_at,
    }


def _summary_body(consultation: PlanConsultation, content: dict) -> str:
    lines = [
        f"“{consultation.title}”于 {local_time(consultation.opens_at)} 至 "
        f"{local_time(consultation.closes_at)} 征求居民意见，现将意见汇总及处理情况公布如下。",
        "",
        "一、各项目支持与反对情况",
    ]
    for item in content["items"]:
        lines.append(f"{item['name']}：支持 {item['support']} 户，反对 {item['oppose']} 户")
    lines += ["", f"二、居民意见及处理情况（共 {len(content['comments'])} 条）"]
    for number, c in enumerate(content["comments"], start=1):
        about = f"（{c['item']}）" if c["item"] else ""
        answer = c["handling_label"] + (f"：{c['reason']}" if c["reason"] else "")
        lines.append(f"{number}. {c['room'] or '居民'}{about}：{c['text']} —— {answer}")
    return "\n".join(lines)


def publish_summary(consultation: PlanConsultation, staff_id: int):
    """After the period, once every comment is handled: the summary goes on the board."""
    _lock(consultation)
    if consultation.summary_published_at is not None:
        raise conflict("summary_published", "意见汇总已经公布")
    now = db_now()
    if now < consultation.closes_at:
        raise conflict(
            "consultation_still_open",
            f"征求意见期至 {local_time(consultation.closes_at)} 结束，之后才能公布意见汇总",
        )
    unhandled = db.session.scalar(
        select(func.count())
        .select_from(PlanComment)
        .where(PlanComment.consultation_id == consultation.id, PlanComment.handling.is_(None))
    )
    if unhandled:
        raise conflict(
            "comments_unhandled",
            f"还有 {unhandled} 条意见未处理，全部处理后才能公布意见汇总",
            {"unhandled": [str(unhandled)]},
        )
    project = project_of(consultation)
    compound = db.session.get(Compound, project.compound_id)
    content = summary(consultation)
    notice = board.create_notice(
        compound,
        {
            "kind": NoticeKind.RESULT,
            "title": f"设计方案征求意见汇总：{consultation.title}"[:120],
            "body": _summary_body(consultation, content),
            "pinned": False,
            "public": True,
            "building_ids": [],
            "entrance_ids": [],
        },
        staff_id,
    )
    consultation.summary_notice_id = notice.id
    consultation.summary_published_at = now
    services.record(project, staff_id, "summary_published", reason=consultation.title)
    db.session.flush()
    return consultation


def record_revision(consultation: PlanConsultation, data: dict, staff_id: int) -> PlanReview:
    """The revised plan (its items replace the current ones) and its review (方案审查),
    published as a notice. Only after the summary is published."""
    _lock(consultation)
    if consultation.summary_published_at is None:
        raise conflict("summary_not_published", "请先公布征求意见汇总，再登记修改后的方案")
    project = project_of(consultation)
    revision = consultation.revision + 1
    _add_items(consultation, data["items"], revision)
    consultation.revision = revision
    _add_documents(project, data.get("documents", []), staff_id)
    review = PlanReview(
        consultation_id=consultation.id,
        revision=revision,
        changes=data.get("changes", ""),
        reviewer=data["reviewer"],
        reviewed_on=data["reviewed_on"],
        conclusion=data["conclusion"],
        recorded_by_id=staff_id,
    )
    db.session.add(review)
    db.session.flush()
    items = current_items(consultation)
    total = sum((i.cost for i in items), ZERO)
    residents = sum((i.residents_part for i in items), ZERO)
    lines = [
        f"“{consultation.title}”根据居民意见修改后，经{review.reviewer}于 "
        f"{review.reviewed_on:%Y年%m月%d日} 审查，结论：{review.conclusion}",
        *([f"主要修改：{review.changes}"] if review.changes else []),
        "",
        "修改后的改造项目：",
        *(
            f"{i.name}：{amount(i.cost)} 元，其中居民出资 {amount(i.residents_part)} 元"
            for i in items
        ),
        f"合计 {amount(total)} 元，其中居民出资 {amount(residents)} 元。",
    ]
    compound = db.session.get(Compound, project.compound_id)
    notice = board.create_notice(
        compound,
        {
            "kind": NoticeKind.RESULT,
            "title": f"设计方案审查结果公示：{consultation.title}"[:120],
            "body": "\n".join(lines),
            "pinned": True,
            "public": True,
            "building_ids": [],
            "entrance_ids": [],
        },
        staff_id,
    )
    review.notice_id = notice.id
    services.record(project, staff_id, "plan_revised", reason=review.conclusion)
    db.session.flush()
    return review


def reviews_of(consultation: PlanConsultation) -> list[PlanReview]:
    stmt = select(PlanReview).filter_by(consultation_id=consultation.id).order_by(PlanReview.id)
    return list(db.session.scalars(stmt))


# Views ---------------------------------------------------------------------------------------


def comment_view(comment: PlanComment) -> dict:
    return {
        "id": comment.id,
        "item_id": comment.item_id,
        "room": comment.room,
        "text": comment.text,
        "created_at": comment.created_at,
        "handling": comment.handling,
        "reason": comment.reason,
        "handled_at": comment.handled_at,
    }


def consultation_view(consultation: PlanConsultation, principal: Principal) -> dict:
    """The plan: items with cost, residents' part and (staff) the support and opposition so
    far; a resident also sees their household's share and their own feedback."""
    project = project_of(consultation)
    items = current_items(consultation)
    counts = item_counts(consultation) if principal.is_staff else {}
    now = db_now()
    view = {
        "id": consultation.id,
        "project_id": consultation.project_id,
        "title": consultation.title,
        "description": consultation.description,
        "opens_at": consultation.opens_at,
        "closes_at": consultation.closes_at,
        "open": consultation.opens_at <= now < consultation.closes_at,
        "revision": consultation.revision,
        "total_cost": sum((i.cost for i in items), ZERO),
        "residents_total": sum((i.residents_part for i in items), ZERO),
        "items": [
            {
                "id": i.id,
                "position": i.position,
                "name": i.name,
                "description": i.description,
                "cost": i.cost,
                "residents_part": i.residents_part,
                "support": counts.get(i.id, {}).get("support") if principal.is_staff else None,
                "oppose": counts.get(i.id, {}).get("oppose") if principal.is_staff else None,
            }
            for i in items
        ],
        "documents": [
            d
            for d in services.documents_of(project)
            if d.step_id == services.step_of(project, StepKey.DESIGN).id
        ],
        "notice_id": consultation.notice_id,
        "summary_notice_id": consultation.summary_notice_id,
        "summary_published_at": consultation.summary_published_at,
        "reviews": reviews_of(consultation),
        "my_share": None,
        "mine": None,
    }
    if principal.is_staff:
        for item in view["items"]:
            item["support"] = item["support"] or 0
            item["oppose"] = item["oppose"] or 0
    else:
        mine = {d.id for d in _rooms_of(principal.id, project.compound_id)}
        homes = households(project.compound_id)
        if mine and homes:
            shares = item_shares(items, homes)
            for item in view["items"]:
                item["my_share"] = sum(
                    (shares[item["id"]][d] for d in mine if d in shares[item["id"]]), ZERO
                )
            view["my_share"] = sum((item["my_share"] for item in view["items"]), ZERO)
        view["mine"] = my_feedback(consultation, principal.id)
    return view


def get_project_consultation(project: Project) -> PlanConsultation:
    consultation = of_project(project)
    if consultation is None:
        raise not_found("本项目尚未发布设计方案征求意见")
    return consultation
