"""The plan's money by source, reconciled to the fen with the plan's total; each household's
share of 居民出资 (the plan items' shares, ``consultation.household_shares``) and what it has
paid. Functions flush, never commit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import delete, func, select

from participation.common.errors import conflict, invalid
from participation.counting import amount
from participation.extensions import db
from participation.projects import consultation as plans
from participation.projects import services
from participation.projects.models import (
    FundingCollection,
    FundingSource,
    PlanConsultation,
    Project,
    ProjectFunding,
)
from participation.roster.models import Dwelling

ZERO = Decimal("0.00")


def _plan(project: Project) -> PlanConsultation:
    consultation = plans.of_project(project)
    if consultation is None:
        raise conflict("plan_missing", "本项目尚未发布设计方案，没有可对账的总投资")
    return consultation


def plan_totals(consultation: PlanConsultation) -> tuple[Decimal, Decimal]:
    """(total cost, residents' part) of the plan's current items."""
    items = plans.current_items(consultation)
    return sum((i.cost for i in items), ZERO), sum((i.residents_part for i in items), ZERO)


def sources_of(project: Project) -> list[ProjectFunding]:
    stmt = select(ProjectFunding).where(ProjectFunding.project_id == project.id)
    order = list(FundingSource)
    return sorted(db.session.scalars(stmt), key=lambda f: order.index(f.source))


def set_funding(project: Project, sources: list[dict], staff_id: int) -> list[ProjectFunding]:
    """Replace the plan's money by source. The sources must add up exactly to the plan's
    total (422 ``funding_not_reconciled``, the difference in the message) and 居民出资 must
    be the plan's residents' part (422 ``residents_part_mismatch``); nothing is written
    otherwise."""
    services.lock(project)
    consultation = _plan(project)
    total, residents = plan_totals(consultation)
    seen = [s["source"] for s in sources]
    if len(set(seen)) != len(seen):
        message = "每种资金来源只能填写一次"
        raise invalid("duplicate_source", message, {"sources": [message]})
    given = sum((s["amount"] for s in sources), ZERO)
    if given != total:
        difference = given - total
        side = "多" if difference > 0 else "少"
        raise invalid(
            "funding_not_reconciled",
            f"各来源资金合计 {amount(given)} 元，与方案总投资 {amount(total)} 元不一致，"
            f"{side} {amount(abs(difference))} 元",
            {"sources": [f"差额 {amount(difference)} 元"]},
        )
    from_residents = sum(
        (s["amount"] for s in sources if s["source"] is FundingSource.RESIDENTS), ZERO
    )
    if from_residents != residents:
        raise invalid(
            "residents_part_mismatch",
            f"居民出资 {amount(from_residents)} 元与方案中各项目居民出资合计 "
            f"{amount(residents)} 元不一致",
            {"sources": ["居民出资须等于方案中的居民出资合计"]},
        )
    db.session.execute(delete(ProjectFunding).where(ProjectFunding.project_id == project.id))
    db.session.add_all(
        ProjectFunding(
            project_id=project.id,
            source=s["source"],
            amount=s["amount"],
            note=s.get("note", ""),
        )
        for s in sources
    )
    services.record(
        project,
        staff_id,
        "funding_set",
        reason="；".join(f"{s['source'].label} {amount(s['amount'])} 元" for s in sources),
    )
    db.session.flush()
    return sources_of(project)


def record_collection(project: Project, data: dict, staff_id: int) -> FundingCollection:
    """A household's payment (a dwelling of the project's compound, a positive amount)."""
    dwelling = db.session.get(Dwelling, data["dwelling_id"])
    if dwelling is None or dwelling.compound_id != project.compound_id:
        message = "本小区没有这户房屋"
        raise invalid("dwelling_not_in_compound", message, {"dwelling_id": [message]})
    if data["amount"] <= 0:
        message = "缴款金额须大于零"
        raise invalid("amount_not_positive", message, {"amount": [message]})
    collection = FundingCollection(
        project_id=project.id,
        dwelling_id=dwelling.id,
        amount=data["amount"],
        paid_on=data["paid_on"],
        method=data["method"],
        reference=data.get("reference", ""),
        recorded_by_id=staff_id,
    )
    db.session.add(collection)
    db.session.flush()
    return collection


def collected_by_dwelling(project: Project) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(FundingCollection.dwelling_id, func.sum(FundingCollection.amount))
        .where(FundingCollection.project_id == project.id)
        .group_by(FundingCollection.dwelling_id)
    )
    collected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for dwelling_id, paid in rows:
        collected[dwelling_id] = Decimal(paid).quantize(Decimal("0.01"))
    return collected


def households_view(project: Project) -> list[dict]:
    """Each household: its share of 居民出资, what it paid, what is outstanding."""
    consultation = _plan(project)
    collected = collected_by_dwelling(project)
    return [
        {
            **share,
            "due": share["share"],
            "collected": collected[share["dwelling_id"]],
            "outstanding": share["share"] - collected[share["dwelling_id"]],
        }
        for share in plans.household_shares(consultation)
    ]


def funding_view(project: Project) -> dict:
    """Money by source against the plan's total; 居民出资 due and collected."""
    consultation = plans.of_project(project)
    total, residents = plan_totals(consultation) if consultation else (None, None)
    sources = sources_of(project)
    given = sum((s.amount for s in sources), ZERO)
    collected = sum(collected_by_dwelling(project).values(), ZERO)
    return {
        "plan_total": total,
        "residents_due": residents,
        "sources": [
            {"source": s.source, "label": s.source.label, "amount": s.amount, "note": s.note}
            for s in sources
        ],
        "funded_total": given,
        "reconciled": bool(sources) and total is not None and given == total,
        "residents_collected": collected,
        "residents_outstanding": None if residents is None else residents - collected,
    }
