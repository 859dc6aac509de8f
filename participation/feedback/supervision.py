"""Public supervision (公众监督) of a compound's or a street's tickets, with no personal data:
counts by category and by status, how fast tickets are acknowledged and resolved (medians),
the share resolved within the service level, and the reporters' ratings; and the tickets
themselves in public words (no reporter; names and long numbers masked; only photos staff
marked public).

The share within the service level counts every ticket whose resolve-by time has come or
that was resolved: resolved by its due time, out of those — an open ticket past its due time
counts against it, so leaving tickets open does not improve the figure.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, select

from participation.common.privacy import mask_public_text
from participation.counting import ratio
from participation.extensions import db
from participation.feedback import lifecycle
from participation.feedback.models import Ticket, TicketCategory, TicketPhoto, TicketStatus
from participation.feedback.services import KIND_LABELS, history, place_label
from participation.roster.models import Community, Compound
from participation.roster.services import owner_names

HOUR = timedelta(hours=1)


def _hours(spans: list[timedelta]) -> str | None:
    """The median of ``spans`` in hours, one decimal (None without any)."""
    if not spans:
        return None
    median = Decimal(statistics.median(s / HOUR for s in spans))
    return str(median.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _tickets_of(compound_ids: Select) -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).where(Ticket.compound_id.in_(compound_ids))))


def figures(tickets: list[Ticket], now: datetime) -> dict:
    """The supervision figures of a set of tickets (see the module's note)."""
    names = dict(db.session.execute(select(TicketCategory.id, TicketCategory.name)).all())
    by_category = Counter(names[t.category_id] for t in tickets)
    by_status = Counter(t.status for t in tickets)
    acknowledged = [t.acknowledged_at - t.created_at for t in tickets if t.acknowledged_at]
    resolved = [t for t in tickets if t.resolved_at is not None]
    due = [t for t in tickets if t.resolved_at is not None or (
        t.status in lifecycle.OPEN and t.resolve_due_at <= now
    )]  # fmt: skip
    in_time = [t for t in due if t.resolved_at is not None and t.resolved_at <= t.resolve_due_at]
    ratings = [t.rating for t in tickets if t.rating is not None]
    return {
        "tickets": len(tickets),
        "by_kind": [
            {"kind": kind.value, "label": label, "count": sum(t.kind is kind for t in tickets)}
            for kind, label in KIND_LABELS.items()
        ],
        "by_category": [
            {"category": name, "count": count} for name, count in sorted(by_category.items())
        ],
        "by_status": [
            {"status": status.value, "label": lifecycle.STATUS_LABELS[status], "count": count}
            for status in TicketStatus
            if (count := by_status.get(status))
        ],
        "median_hours_to_acknowledge": _hours(acknowledged),
        "median_hours_to_resolve": _hours([t.resolved_at - t.created_at for t in resolved]),
        "resolved_within_service_level": ratio(len(in_time), len(due)),
        "ratings": {
            "count": len(ratings),
            "average": None
            if not ratings
            else str((Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"))),
            "distribution": [
                {"stars": stars, "count": ratings.count(stars)} for stars in range(1, 6)
            ],
        },
    }


def compound_figures(compound: Compound, now: datetime) -> dict:
    tickets = _tickets_of(select(Compound.id).where(Compound.id == compound.id))
    return {"place": compound.name, **figures(tickets, now)}


def street_figures(street_id: int, street_name: str, now: datetime) -> dict:
    """The street's figures, and each of its compounds' own."""
    compounds = list(
        db.session.scalars(
            select(Compound)
            .join(Community, Community.id == Compound.community_id)
            .where(Community.street_id == street_id)
            .order_by(Compound.id)
        )
    )
    tickets = _tickets_of(select(Compound.id).where(Compound.id.in_([c.id for c in compounds])))
    per_compound = {c.id: [] for c in compounds}
    for ticket in tickets:
        per_compound[ticket.compound_id].append(ticket)
    return {
        "place": street_name,
        **figures(tickets, now),
        "compounds": [
            {"compound_id": c.id, "place": c.name, **figures(per_compound[c.id], now)}
            for c in compounds
        ],
    }


def public_tickets_query(compound_id: int) -> Select:
    return select(Ticket).where(Ticket.compound_id == compound_id).order_by(Ticket.id.desc())


def public_ticket_views(compound_id: int, tickets: list[Ticket]) -> list[dict]:
    """Tickets in public words: what, where (building and entrance), when, how far, and the
    public notes of their history; nobody's name or number."""
    names = owner_names({compound_id})[compound_id] if tickets else set()
    categories = dict(db.session.execute(select(TicketCategory.id, TicketCategory.name)).all())
    views = []
    for ticket in tickets:
        photos = db.session.scalars(
            select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id, TicketPhoto.public)
        ).all()
        views.append(
            {
                "id": ticket.id,
                "kind": ticket.kind,
                "category": categories[ticket.category_id],
                "description": mask_public_text(ticket.description, names),
                "place": mask_public_text(place_label(ticket), names),
                "status": ticket.status,
                "status_label": lifecycle.STATUS_LABELS[ticket.status],
                "created_at": ticket.created_at,
                "acknowledged_at": ticket.acknowledged_at,
                "resolved_at": ticket.resolved_at,
                "closed_at": ticket.closed_at,
                "rating": ticket.rating,
                "photos": [f"/api/v1/public/ticket-photos/{photo.id}" for photo in photos],
                "history": [
                    {
                        "label": lifecycle.EVENT_LABELS.get(event.action, event.action),
                        "note": mask_public_text(event.note, names),
                        "at": event.at,
                    }
                    for event in history(ticket)
                    if event.action not in ("rate", "assign")
                ],
            }
        )
    return views
