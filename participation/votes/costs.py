"""The cost plan of an elevator (加装电梯) or rebuilding vote, and each dwelling's share of it.

The residents' share (total cost − subsidy) is split over the dwellings of the frozen
electorate (民法典 Art. 283):

- with floor coefficients, a dwelling weighs ``coefficient(floor) × area`` — the common local
  practice: higher floors gain more from an elevator and pay more; floor 1 commonly has
  coefficient 0 (it does not use the elevator);
- without them, a dwelling weighs its area (按照专有部分面积所占比例).

Shares are to the fen and sum exactly to the residents' share (:func:`allocate`).

Shares exist once the vote is opened: opening freezes the electorate, and only then are the
dwellings and their areas fixed. Residents never see a draft vote, and a vote is opened
(electorate frozen) before its voting period starts, so every owner sees their own share
before they can vote. Before opening, staff see the plan without shares.

An elevator that takes common parts of the compound (占用共有部分) also needs a compound-wide
vote on those common parts; the elevator vote links it (``common_parts_vote_id``, set with the
plan) and passes only if it passes too (``decision.py``). The linked vote must be of the same
compound, on the whole compound, not cancelled, not the elevator vote itself, and of a matter
about common parts (``COMMON_PARTS_MATTERS``): 改变共有部分用途 (Art. 278 item 8, counted by the
major rule), 改建、重建 (item 7, major) or 其他共有事项 (item 9, ordinary — the minimum the
DESIGN asks for; a major-rule pass is also an ordinary-rule pass). The elevator vote opens
only once the linked vote has been opened (open — also when it has not started yet —,
closed, published or final), and not when the linked vote has already failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from participation.common.errors import ApiError, conflict, invalid
from participation.common.money import NothingToShare, allocate
from participation.common.sql import db_now
from participation.counting import Rule
from participation.extensions import db
from participation.roster.electorate import dwellings_in_scope
from participation.roster.models import Building, Dwelling, Entrance, dwelling_label
from participation.votes.casting import owned_persons
from participation.votes.decision import decision, linked_passed
from participation.votes.models import Matter, Vote, VotePersonDwelling, VoteStatus
from participation.votes.services import effective_status, scope_of

COST_PLAN_MATTERS = (Matter.ELEVATOR, Matter.REBUILD)
COMMON_PARTS_MATTERS = (Matter.CHANGE_COMMON_USE, Matter.REBUILD, Matter.OTHER)
# The linked vote's statuses that let the elevator vote open: it has been opened.
LINK_OPENED = (VoteStatus.OPEN, VoteStatus.CLOSED, VoteStatus.PUBLISHED, VoteStatus.FINAL)
COEFFICIENT = re.compile(r"\d{1,3}(\.\d{1,4})?")
FLOOR = re.compile(r"-?[1-9]\d{0,2}|0")


def _lock_draft(vote: Vote) -> None:
    """Take the vote row exclusively (opening waits, or has happened) and check it is a draft."""
    status = db.session.execute(
        select(Vote.status).where(Vote.id == vote.id).with_for_update()
    ).scalar_one()
    if status is not VoteStatus.DRAFT:
        raise conflict("vote_not_draft", "只有草稿状态的表决可以修改费用方案")


def set_cost_plan(vote: Vote, plan: dict) -> None:
    """Replace the cost plan of a draft elevator/rebuild vote scoped to buildings or
    entrances. 409 unless draft; 422 with the field at fault otherwise. Nothing is written
    unless all of it is valid."""
    _lock_draft(vote)
    problem = _plan_problem(vote)
    if problem:
        raise invalid("cost_plan_not_allowed", problem)
    total, subsidy = plan["total_cost"], plan["subsidy"]
    if subsidy > total:
        raise invalid(
            "subsidy_exceeds_total", "补贴不能超过总费用", {"subsidy": ["补贴不能超过总费用"]}
        )
    coefficients = plan.get("floor_coefficients")
    if coefficients is not None:
        coefficients = _checked_coefficients(vote, coefficients)
    linked_id = plan.get("common_parts_vote_id")
    if plan["takes_common_parts"] and linked_id is not None:
        problem = _link_problem(vote, linked_id)
        if problem:
            raise invalid("common_parts_vote_invalid", problem, {"common_parts_vote_id": [problem]})
    elif linked_id is not None:
        message = "未占用共有部分时不需要关联表决"
        raise invalid("common_parts_vote_invalid", message, {"common_parts_vote_id": [message]})
    vote.total_cost = total
    vote.subsidy = subsidy
    # A plan replaces the declaration that there is none.
    vote.no_cost_plan, vote.no_cost_plan_reason = False, None
    vote.floor_coefficients = coefficients
    vote.takes_common_parts = plan["takes_common_parts"]
    vote.common_parts_vote_id = linked_id
    db.session.flush()


def clear_cost_plan(vote: Vote) -> None:
    """Remove the cost plan (and the common-parts flag) of a draft vote."""
    _lock_draft(vote)
    vote.total_cost = vote.subsidy = vote.floor_coefficients = None
    vote.takes_common_parts = False
    vote.common_parts_vote_id = None
    db.session.flush()


def plan_required(vote: Vote) -> bool:
    """Whether the vote makes the households pay (an elevator or rebuilding on buildings or
    entrances: where a plan is allowed), so it opens only with a cost plan or the declaration
    that there is none."""
    return _plan_problem(vote) is None


def check_plan_declared(vote: Vote) -> None:
    """409 ``cost_plan_missing`` if a cost-bearing vote has neither a plan nor the
    declaration (with its reason) that the residents pay nothing."""
    if not plan_required(vote) or vote.total_cost is not None:
        return
    if vote.no_cost_plan and vote.no_cost_plan_reason:
        return
    what = "加装电梯" if vote.matter is Matter.ELEVATOR else "改建、重建"
    raise conflict(
        "cost_plan_missing",
        f"{what}表决须先填写费用方案（总费用、补贴及分摊方式），"
        "或说明本次表决不涉及居民出资，才能开启",
    )


def _plan_problem(vote: Vote) -> str | None:
    """Why ``vote`` cannot carry a cost plan, or None."""
    if vote.matter not in COST_PLAN_MATTERS or vote.rule is not Rule.CIVIL_CODE_MAJOR:
        return "只有加装电梯或改建类表决可以设置费用方案"
    if not (vote.building_ids or vote.entrance_ids):
        return "费用方案只适用于按楼栋或单元表决的事项"
    return None


def _checked_coefficients(vote: Vote, raw: dict) -> dict[str, str]:
    """Coefficients as stored: ``{"2": "0.5", …}``, one for every floor of the scope and no
    other, each a plain decimal ≥ 0; and not all zero for the scope's dwellings."""
    errors: dict[str, list[str]] = {}
    for key, value in raw.items():
        if not FLOOR.fullmatch(key):
            errors[key] = ["楼层应为整数"]
        elif not (isinstance(value, str) and COEFFICIENT.fullmatch(value)):
            errors[key] = ['系数应为不小于 0 的小数，最多 4 位小数，如 "0.85"']
    if errors:
        raise invalid("floor_coefficients_invalid", "楼层系数有误", {"floor_coefficients": errors})
    facts = dwellings_in_scope(scope_of(vote))
    floors = {
        row.id: row.floor
        for row in db.session.execute(
            select(Dwelling.id, Dwelling.floor).where(
                Dwelling.id.in_([fact.dwelling_id for fact in facts])
            )
        )
    }
    present = set(floors.values())
    for key in raw:
        if int(key) not in present:
            errors[key] = [f"该范围内没有 {key} 层"]
    for floor in sorted(present - {int(key) for key in raw}):
        errors[str(floor)] = [f"缺少 {floor} 层的系数"]
    if errors:
        raise invalid(
            "floor_coefficients_invalid",
            "楼层系数应与范围内的楼层一一对应",
            {"floor_coefficients": errors},
        )
    by_floor = {int(key): Decimal(value) for key, value in raw.items()}
    if not any(by_floor[floors[fact.dwelling_id]] * fact.area for fact in facts):
        raise invalid(
            "no_cost_weights",
            "各楼层系数全为零，无法分摊费用",
            {"floor_coefficients": ["至少一个楼层的系数应大于零"]},
        )
    return {str(floor): raw[str(floor)] for floor in sorted(by_floor)}


def _link_problem(vote: Vote, linked_id: int) -> str | None:
    """Why ``linked_id`` cannot be the compound-wide vote on common parts, or None."""
    linked = db.session.scalar(
        select(Vote).where(Vote.id == linked_id, Vote.compound_id == vote.compound_id)
    )
    if linked is None:
        return "本小区没有该表决"
    if linked.id == vote.id:
        return "不能关联本表决自身，请关联全小区业主关于占用共有部分的表决"
    problem = _unfit(linked.building_ids, linked.entrance_ids, linked.matter)
    return problem[1] if problem else _outcome_problem(linked)


def _unfit(building_ids, entrance_ids, matter: Matter) -> tuple[str, str] | None:
    """(field, why) a vote of this scope and matter cannot decide on the compound's common
    parts, or None."""
    if building_ids or entrance_ids:
        return (
            "building_ids",
            "占用共有部分需由全小区业主表决，所关联的表决范围应为全小区，不能是楼栋或单元",
        )
    if matter not in COMMON_PARTS_MATTERS:
        return (
            "matter",
            "所关联的表决事项应为改变共有部分用途、改建重建或其他共有和共同管理事项",
        )
    return None


def _outcome_problem(linked: Vote) -> str | None:
    if linked.status is VoteStatus.CANCELLED:
        return "所关联的表决已取消"
    if linked_passed(linked.status, linked.result) is False:
        return "所关联的共有部分表决未通过，加装电梯表决不能通过"
    return None


def check_linking_votes(vote: Vote, values: dict) -> None:
    """422 if the draft ``vote``, edited to ``values``, is the linked common-parts vote of an
    elevator vote and no longer fits (scope or matter); nothing is written. Called by
    ``services.update_draft``."""
    problem = _unfit(values["building_ids"], values["entrance_ids"], values["matter"])
    if problem is None:
        return
    title = db.session.scalar(
        select(Vote.title)
        .where(
            Vote.common_parts_vote_id == vote.id,
            Vote.takes_common_parts.is_(True),
            Vote.status != VoteStatus.CANCELLED,
        )
        .order_by(Vote.id)
        .limit(1)
    )
    if title is not None:
        field, why = problem
        message = f"本表决已被加装电梯表决“{title}”关联为共有部分表决：{why}"
        raise invalid("common_parts_vote_invalid", message, {field: [message]})


def check_before_opening(vote: Vote) -> None:
    """409 if the cost plan keeps the vote from opening. Call it in the opening transaction,
    after the electorate is frozen: a vote that takes common parts needs a valid linked
    compound-wide vote that has been opened (``LINK_OPENED``) and has not failed; the draft
    must still be an elevator/rebuild vote on buildings or entrances if it has a plan; and
    every dwelling of the frozen electorate needs its share; a cost-bearing vote without a
    plan needs the declaration that there is none (``check_plan_declared``)."""
    check_plan_declared(vote)
    problem = vote.total_cost is not None and _plan_problem(vote)
    if problem:
        raise conflict("cost_plan_not_allowed", problem + "，请先修改表决事项或删除费用方案")
    if vote.takes_common_parts:
        if vote.common_parts_vote_id is None:
            raise conflict(
                "common_parts_vote_missing",
                "该电梯占用小区共有部分，须先关联全体业主的共有部分表决，才能开启",
            )
        # Share-locked first: the linked vote is not cancelled or closed beside this opening.
        status = db.session.execute(
            select(Vote.status)
            .where(Vote.id == vote.common_parts_vote_id)
            .with_for_update(read=True, key_share=True)
        ).scalar_one()
        problem = _link_problem(vote, vote.common_parts_vote_id)
        if problem:
            raise conflict("common_parts_vote_invalid", problem)
        if status not in LINK_OPENED:
            raise conflict(
                "common_parts_vote_not_open",
                "所关联的全小区共有部分表决尚未开启，请先开启该表决，再开启加装电梯表决",
            )
    dwelling_shares(vote)


# Shares -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DwellingShare:
    dwelling_id: int
    label: str
    floor: int
    area: Decimal
    coefficient: str | None
    share: Decimal


def dwelling_shares(vote: Vote) -> list[DwellingShare]:
    """Each dwelling's share of the frozen electorate, in room label order (building,
    entrance, room); empty without a cost plan or before opening. 409 if the plan does not
    fit the frozen electorate (a floor without coefficient, every weight zero)."""
    if vote.total_cost is None:
        return []
    rows = db.session.execute(
        select(
            VotePersonDwelling.dwelling_id,
            VotePersonDwelling.label,
            VotePersonDwelling.floor,
            VotePersonDwelling.area,
        ).where(VotePersonDwelling.vote_id == vote.id)
    ).all()
    return _shares(vote, rows)


def preview_shares(vote: Vote) -> list[DwellingShare]:
    """A draft's shares as they would be if it opened now: the dwellings of its scope in the
    current roster (what opening freezes, ``roster.snapshot.freeze``), split by
    ``_shares`` like the frozen electorate's. Empty without a plan or dwellings."""
    if vote.total_cost is None:
        return []
    ids = [fact.dwelling_id for fact in dwellings_in_scope(scope_of(vote))]
    rows = []
    for start in range(0, len(ids), 5000):
        rows += db.session.execute(
            select(
                Dwelling.id.label("dwelling_id"),
                Building.name.label("building"),
                Entrance.name.label("entrance"),
                Dwelling.room,
                Dwelling.floor,
                Dwelling.area,
            )
            .join(Building, Dwelling.building_id == Building.id)
            .join(Entrance, Dwelling.entrance_id == Entrance.id)
            .where(Dwelling.id.in_(ids[start : start + 5000]))
        ).all()
    return _shares(
        vote,
        [
            ShareRow(
                row.dwelling_id,
                dwelling_label(row.building, row.entrance, row.room),
                row.floor,
                row.area,
            )
            for row in rows
        ],
    )


@dataclass(frozen=True)
class ShareRow:
    dwelling_id: int
    label: str
    floor: int
    area: Decimal


def _shares(vote: Vote, rows) -> list[DwellingShare]:
    """Split the residents' share over ``rows`` (dwelling_id, label, floor, area) by area or
    by floor coefficient × area, to the fen (``money.allocate``), in room label order."""
    if not rows:
        return []
    rows = list(rows)
    rows.sort(key=lambda row: (_natural(row.label), row.dwelling_id))
    coefficients = vote.floor_coefficients
    if coefficients is None:
        weights = {row.dwelling_id: row.area for row in rows}
    else:
        missing = sorted({row.floor for row in rows if str(row.floor) not in coefficients})
        if missing:
            raise conflict(
                "floor_coefficient_missing",
                "费用方案缺少以下楼层的系数：" + "、".join(f"{floor} 层" for floor in missing),
            )
        weights = {
            row.dwelling_id: Decimal(coefficients[str(row.floor)]) * row.area for row in rows
        }
    try:
        shares = allocate(vote.residents_share, weights)
    except NothingToShare:
        raise conflict("no_cost_weights", "各户分摊权重全为零，无法分摊费用") from None
    return [
        DwellingShare(
            row.dwelling_id,
            row.label,
            row.floor,
            row.area,
            None if coefficients is None else coefficients[str(row.floor)],
            shares[row.dwelling_id],
        )
        for row in rows
    ]


def _natural(label: str) -> list:
    """Sort key for room labels: 2栋1单元101 before 2栋1单元201 before 2栋2单元101 before
    10栋1单元101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", label)]


def shares_for_result(vote: Vote) -> list[dict]:
    """The shares per dwelling for the final result, JSON-ready (amounts as 2-dp strings):
    ``[{"label", "floor", "area", "coefficient", "share"}]``; empty without a cost plan."""
    return [
        {
            "label": s.label,
            "floor": s.floor,
            "area": f"{s.area:.2f}",
            "coefficient": s.coefficient,
            "share": f"{s.share:.2f}",
        }
        for s in dwelling_shares(vote)
    ]


# Views ------------------------------------------------------------------------------------


def common_parts_vote_view(vote: Vote) -> dict | None:
    """The linked compound-wide vote on common parts with its status as of now and its
    outcome (``passed``: null while undecided), or None."""
    if vote.common_parts_vote_id is None:
        return None
    other = db.session.get(Vote, vote.common_parts_vote_id)
    return {
        "id": other.id,
        "title": other.title,
        "status": effective_status(other, db_now()),
        "passed": linked_passed(other.status, other.result),
    }


def _plan(vote: Vote) -> dict:
    return {
        "vote_id": vote.id,
        "total_cost": vote.total_cost,
        "subsidy": vote.subsidy,
        "residents_share": vote.residents_share,
        "basis": None
        if vote.total_cost is None
        else ("area" if vote.floor_coefficients is None else "floor_coefficients"),
        "floor_coefficients": vote.floor_coefficients,
        "takes_common_parts": vote.takes_common_parts,
        "common_parts_vote": common_parts_vote_view(vote),
        "decision": decision(vote),
    }


def plan_view(vote: Vote) -> dict:
    """Staff: the plan, and every dwelling's share and their sum — once the vote is opened
    from the frozen electorate; for a draft from the current roster of its scope, marked
    ``preview`` (the same split, which opening fixes unless the roster changes)."""
    view = _plan(vote)
    preview = vote.status is VoteStatus.DRAFT
    shares = preview_shares(vote) if preview else dwelling_shares(vote)
    view["shares"] = shares if shares else None
    view["shares_total"] = sum((s.share for s in shares), Decimal("0.00")) if shares else None
    view["preview"] = preview
    view["no_cost_plan"] = vote.no_cost_plan
    view["no_cost_plan_reason"] = vote.no_cost_plan_reason
    return view


def my_share_view(vote: Vote, account_id: int) -> dict:
    """Resident: the plan and the shares of the dwellings this account owns in the vote (an
    empty list for a tenant or an owner outside the scope). 404 ``no_cost_plan`` without one."""
    if vote.total_cost is None:
        raise ApiError(404, "no_cost_plan", "该表决没有费用分摊方案")
    person_ids = {person.id for person in owned_persons(vote.id, account_id)}
    mine = set(
        db.session.scalars(
            select(VotePersonDwelling.dwelling_id).where(
                VotePersonDwelling.vote_id == vote.id,
                VotePersonDwelling.person_id.in_(person_ids),
            )
        )
    )
    view = _plan(vote)
    view["dwellings"] = [s for s in dwelling_shares(vote) if s.dwelling_id in mine]
    return view
