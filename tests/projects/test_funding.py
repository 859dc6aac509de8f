"""Funding: the plan's money by source reconciled to the fen (a hand-computed example), 422
with the difference otherwise and nothing written; each household's share of 居民出资 and what
it has paid."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.projects.models import FundingCollection, ProjectFunding
from participation.roster.models import Dwelling

from .conftest import api, refused

# The plan: 外墙保温 100000.00 (residents 1000.00) + 电动车充电桩 20000.00 (residents 100.00)
# = 120000.00, of which residents 1100.00. By hand: 60000.00 + 30000.00 + 1100.00 + 18900.00
# + 10000.00 = 120000.00. Shares of 1100.00 over 60/80/100 m²: 275.00, 366.66, 458.34.
SOURCES = [
    {"source": "central_provincial", "amount": "60000.00"},
    {"source": "local_finance", "amount": "30000.00"},
    {"source": "residents", "amount": "1100.00"},
    {"source": "maintenance_fund", "amount": "18900.00"},
    {"source": "utilities", "amount": "10000.00", "note": "供电公司承担电力线路改造"},
]


def plan(client, project, committee):
    now = utcnow()
    response = api(
        client,
        "POST",
        f"/projects/{project['id']}/plan-consultation",
        committee,
        title="设计方案",
        opens_at=(now - timedelta(minutes=1)).isoformat(),
        closes_at=(now + timedelta(days=7)).isoformat(),
        items=[
            {"name": "外墙保温", "cost": "100000.00", "residents_part": "1000.00"},
            {"name": "电动车充电桩", "cost": "20000.00", "residents_part": "100.00"},
        ],
    )
    assert response.status_code == 201, response.json


def dwelling_id(compound, room: str) -> int:
    return _db.session.scalar(sa.select(Dwelling.id).filter_by(compound_id=compound.id, room=room))


def test_money_by_source_reconciles_to_the_fen(client, compound, committee, project):
    url = f"/projects/{project['id']}/funding"
    refused(api(client, "PUT", url, committee, sources=SOURCES), 409, "plan_missing")
    plan(client, project, committee)

    short = [dict(s) for s in SOURCES]
    short[1]["amount"] = "29999.99"
    response = api(client, "PUT", url, committee, sources=short)
    refused(response, 422, "funding_not_reconciled")
    assert "少 0.01 元" in response.json["message"] and "120000.00" in response.json["message"]
    over = [*SOURCES, {"source": "social_capital", "amount": "0.50"}]
    assert "多 0.50 元" in api(client, "PUT", url, committee, sources=over).json["message"]
    moved = [dict(s) for s in SOURCES]
    moved[2]["amount"], moved[3]["amount"] = "1000.00", "19000.00"
    refused(api(client, "PUT", url, committee, sources=moved), 422, "residents_part_mismatch")
    twice = [*SOURCES[:4], {"source": "local_finance", "amount": "10000.00"}]
    refused(api(client, "PUT", url, committee, sources=twice), 422, "duplicate_source")
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProjectFunding)) == 0

    accepted = api(client, "PUT", url, committee, sources=SOURCES)
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["reconciled"] is True
    assert (accepted.json["plan_total"], accepted.json["funded_total"]) == ("120000.00",) * 2
    assert [(s["label"], s["amount"]) for s in accepted.json["sources"]] == [
        ("中央/省级补助", "60000.00"),
        ("地方财政", "30000.00"),
        ("居民出资", "1100.00"),
        ("住宅专项维修资金", "18900.00"),
        ("专业经营单位", "10000.00"),
    ]
    # a refused change leaves the accepted one as it was
    refused(api(client, "PUT", url, committee, sources=short), 422, "funding_not_reconciled")
    assert client.get(f"/api/v1{url}", headers=committee).json["funded_total"] == "120000.00"


def test_households_owe_their_share_and_payments_are_counted(
    client, compound, committee, project, make_compound, make_dwelling
):
    plan(client, project, committee)
    api(client, "PUT", f"/projects/{project['id']}/funding", committee, sources=SOURCES)
    pay = f"/projects/{project['id']}/collections"
    paid = api(
        client,
        "POST",
        pay,
        committee,
        dwelling_id=dwelling_id(compound, "101"),
        amount="275.00",
        paid_on="2026-12-01",
        method="wechat",
    )
    assert paid.status_code == 201, paid.json
    api(
        client,
        "POST",
        pay,
        committee,
        dwelling_id=dwelling_id(compound, "201"),
        amount="200.00",
        paid_on="2026-12-02",
        method="cash",
        reference="No.0002",
    )

    elsewhere = make_dwelling(make_compound("别处小区"), room="101")
    refused(
        api(
            client,
            "POST",
            pay,
            committee,
            dwelling_id=elsewhere.id,
            amount="1.00",
            paid_on="2026-12-02",
            method="cash",
        ),
        422,
        "dwelling_not_in_compound",
    )
    refused(
        api(
            client,
            "POST",
            pay,
            committee,
            dwelling_id=dwelling_id(compound, "301"),
            amount="0.00",
            paid_on="2026-12-02",
            method="cash",
        ),
        422,
        "amount_not_positive",
    )
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(FundingCollection)) == 2

    rows = client.get(f"/api/v1/projects/{project['id']}/households", headers=committee).json
    assert [(r["label"], r["due"], r["collected"], r["outstanding"]) for r in rows] == [
        ("1栋1单元101", "275.00", "275.00", "0.00"),
        ("1栋1单元201", "366.66", "200.00", "166.66"),
        ("1栋1单元301", "458.34", "0.00", "458.34"),
    ]
    totals = client.get(f"/api/v1/projects/{project['id']}/funding", headers=committee).json
    assert (totals["residents_due"], totals["residents_collected"]) == ("1100.00", "475.00")
    assert totals["residents_outstanding"] == "625.00"
