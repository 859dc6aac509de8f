"""Public supervision: the figures of a seeded compound and of its street against a worked
example, and the public list of tickets without personal data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from participation.common.sql import db_now
from participation.extensions import db as _db
from participation.feedback.models import (
    Ticket,
    TicketCategory,
    TicketKind,
    TicketPhoto,
    TicketStatus,
)
from participation.feedback.services import ensure_categories

H = timedelta(hours=1)


def _seed(works):
    """The worked example (hours after filing; now is 200 h after T1–T3 were filed, 10 h after
    T4, 50 h after T5):

    | ticket | compound | category       | kind       | ack  | resolved | due   | status    | ★ |
    | T1     | 望江花园 | 施工质量       | complaint  | 2 h  | 26 h     | 360 h | closed    | 5 |
    | T2     | 望江花园 | 施工安全       | complaint  | 10 h | 100 h    | 72 h  | closed    | 2 |
    | T3     | 望江花园 | 施工安全       | complaint  | —    | —        | 72 h  | submitted | — |
    | T4     | 望江花园 | 文明施工与噪音 | suggestion | 4 h  | —        | 72 h  | working   | — |
    | T5     | 锦江苑   | 施工质量       | complaint  | 1 h  | 5 h      | 360 h | closed    | 4 |

    望江花园: medians 4.0 h to acknowledge (2, 4, 10) and 63.0 h to resolve (26, 100); within
    the service level 1 of 3 (T1 in time, T2 late, T3 open past its due time; T4 not due);
    ratings 5 and 2: 3.50. The street adds T5: 3.0 h (1, 2, 4, 10), 26.0 h (5, 26, 100), 2 of
    4, ratings 3.67.
    """
    district_id = works.compound.community.street.district_id
    ensure_categories(district_id)
    category = dict(
        _db.session.execute(
            select(TicketCategory.name, TicketCategory.id).where(
                TicketCategory.district_id == district_id
            )
        ).all()
    )
    now = db_now()
    here, there = works.compound, works.other
    complaint, suggestion = TicketKind.COMPLAINT, TicketKind.SUGGESTION
    closed, submitted, working = (
        TicketStatus.CLOSED,
        TicketStatus.SUBMITTED,
        TicketStatus.IN_PROGRESS,
    )
    rows = [
        (here, "施工质量", complaint, 200, 2, 26, 360, closed, 5),
        (here, "施工安全", complaint, 200, 10, 100, 72, closed, 2),
        (here, "施工安全", complaint, 200, None, None, 72, submitted, None),
        (here, "文明施工与噪音", suggestion, 10, 4, None, 72, working, None),
        (there, "施工质量", complaint, 50, 1, 5, 360, closed, 4),
    ]
    tickets = []
    for compound, name, kind, age, ack, resolved, due, status, rating in rows:
        filed = now - age * H
        ticket = Ticket(
            compound_id=compound.id,
            kind=kind,
            category_id=category[name],
            description="张三家门口 13812345678 的脚手架没有防护网",
            reporter_id=works.owner_id,
            status=status,
            created_at=filed,
            updated_at=filed,
            ack_due_at=filed + 24 * H,
            resolve_due_at=filed + due * H,
            acknowledged_at=None if ack is None else filed + ack * H,
            resolved_at=None if resolved is None else filed + resolved * H,
            closed_at=None if resolved is None else filed + resolved * H,
            rating=rating,
        )
        _db.session.add(ticket)
        tickets.append(ticket)
    _db.session.flush()
    return tickets


def test_the_figures_of_a_compound_and_its_street_match_the_worked_example(client, works):
    _seed(works)
    compound = client.get(f"/api/v1/public/compounds/{works.compound.id}/supervision")
    assert compound.status_code == 200, compound.json
    figures = compound.json
    assert figures["place"] == "望江花园" and figures["tickets"] == 4
    assert figures["by_kind"] == [
        {"kind": "complaint", "label": "投诉", "count": 3},
        {"kind": "suggestion", "label": "建议", "count": 1},
        {"kind": "praise", "label": "表扬", "count": 0},
    ]
    assert figures["by_category"] == [
        {"category": "文明施工与噪音", "count": 1},
        {"category": "施工安全", "count": 2},
        {"category": "施工质量", "count": 1},
    ]
    assert figures["by_status"] == [
        {"status": "submitted", "label": "已提交", "count": 1},
        {"status": "in_progress", "label": "处理中", "count": 1},
        {"status": "closed", "label": "已关闭", "count": 2},
    ]
    assert figures["median_hours_to_acknowledge"] == "4.0"
    assert figures["median_hours_to_resolve"] == "63.0"
    assert figures["resolved_within_service_level"] == {
        "numerator": 1,
        "denominator": 3,
        "percent": "33.33",
    }
    assert figures["ratings"] == {
        "count": 2,
        "average": "3.50",
        "distribution": [{"stars": s, "count": int(s in (2, 5))} for s in range(1, 6)],
    }

    street_id = works.compound.community.street_id
    street = client.get(f"/api/v1/public/streets/{street_id}/supervision").json
    assert street["tickets"] == 5
    assert street["median_hours_to_acknowledge"] == "3.0"
    assert street["median_hours_to_resolve"] == "26.0"
    assert street["resolved_within_service_level"]["percent"] == "50.00"
    assert street["ratings"]["average"] == "3.67"
    assert [(c["place"], c["tickets"]) for c in street["compounds"]] == [
        ("望江花园", 4),
        ("锦江苑", 1),
    ]
    assert street["compounds"][0] == {"compound_id": works.compound.id, **figures}
    assert client.get("/api/v1/public/streets/999999/supervision").status_code == 404
    assert client.get("/api/v1/public/compounds/999999/supervision").status_code == 404


def test_public_tickets_carry_no_personal_data(client, works):
    tickets = _seed(works)

    def photo(position: int, public: bool) -> TicketPhoto:
        return TicketPhoto(
            ticket_id=tickets[0].id,
            position=position,
            key=f"tickets/p/{position}.jpg",
            thumbnail_key=f"tickets/p/{position}-t.jpg",
            width=1,
            height=1,
            size=3,
            sha256=str(position) * 64,
            public=public,
        )

    hidden, shown = photo(1, False), photo(2, True)
    _db.session.add_all([hidden, shown])
    _db.session.flush()
    listed = client.get(f"/api/v1/public/compounds/{works.compound.id}/tickets")
    assert listed.status_code == 200
    body = listed.get_data(as_text=True)
    assert "张三" not in body and "13812345678" not in body
    first = listed.json[-1]
    assert first["description"].startswith("张*家门口 138")
    assert first["photos"] == [f"/api/v1/public/ticket-photos/{shown.id}"]
    assert "reporter" not in first and "anonymous" not in first
    assert client.get(f"/api/v1/public/ticket-photos/{hidden.id}").status_code == 404
