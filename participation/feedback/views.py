"""What a ticket looks like to the one asking: its reporter, community staff, the compound's
committee, a contractor. Plain dicts for the schemas in schemas.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from participation.auth.models import StaffUser
from participation.auth.tokens import Principal
from participation.extensions import db
from participation.feedback import lifecycle, services
from participation.feedback.lifecycle import Who
from participation.feedback.models import ActorKind, Ticket, TicketEvent, TicketStatus
from participation.roster.models import Compound

HANDLER_MOVES = [a for a, move in lifecycle.MOVES.items() if move.who is Who.HANDLER]
ACTOR_NAMES = {
    ActorKind.RESIDENT: "居民",
    ActorKind.SYSTEM: "系统",
    ActorKind.OPEN311: "城市热线系统",
}


def _staff_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids))
    )
    return dict(rows.all())


def photo_views(ticket: Ticket) -> list[dict]:
    return [
        {
            "id": photo.id,
            "url": f"/api/v1/ticket-photos/{photo.id}",
            "thumbnail_url": f"/api/v1/ticket-photos/{photo.id}?size=thumbnail",
            "width": photo.width,
            "height": photo.height,
            "public": photo.public,
        }
        for photo in ticket.photos
    ]


def actions(ticket: Ticket, principal: Principal, now: datetime) -> list[str]:
    """The moves the caller may take on the ticket now (what the pages offer)."""
    who = services.role_on(ticket, principal)
    if who is None:
        return []
    if who is Who.REPORTER:
        found = []
        if ticket.status is TicketStatus.RESOLVED and (
            ticket.confirm_due_at is None or now < ticket.confirm_due_at
        ):
            found += ["confirm", "reopen"]
        if lifecycle.rateable(ticket.status) and ticket.rating is None:
            found.append("rate")
        return found
    found = [a for a in HANDLER_MOVES if ticket.status in lifecycle.MOVES[a].sources]
    if ticket.status not in lifecycle.FINAL and not services.is_contractor_only(principal, ticket):
        found.append("assign")
    return found


def event_views(events: list[TicketEvent], staff_names: dict[int, str]) -> list[dict]:
    return [
        {
            "seq": event.seq,
            "action": event.action,
            "label": lifecycle.EVENT_LABELS.get(event.action, event.action),
            "from_status": event.from_status,
            "to_status": event.to_status,
            "actor": staff_names.get(event.actor_id, "工作人员")
            if event.actor_kind is ActorKind.STAFF
            else ACTOR_NAMES[event.actor_kind],
            "note": event.note,
            "at": event.at,
        }
        for event in events
    ]


def ticket_views(
    tickets: list[Ticket], principal: Principal, now: datetime, detail: bool = False
) -> list[dict]:
    compounds = dict(
        db.session.execute(
            select(Compound.id, Compound.name).where(
                Compound.id.in_({t.compound_id for t in tickets})
            )
        ).all()
    )
    events = {t.id: services.history(t) for t in tickets} if detail else {}
    staff_ids = {t.handler_id for t in tickets if t.handler_id} | {
        e.actor_id for evs in events.values() for e in evs if e.actor_kind is ActorKind.STAFF
    }
    names = _staff_names(staff_ids)
    views = []
    for ticket in tickets:
        view = {
            column: getattr(ticket, column)
            for column in (
                "id",
                "compound_id",
                "kind",
                "category_id",
                "description",
                "building_id",
                "entrance_id",
                "location_text",
                "lat",
                "lng",
                "link_kind",
                "link_id",
                "anonymous",
                "status",
                "handler_id",
                "duplicate_of_id",
                "referred_to",
                "created_at",
                "updated_at",
                "ack_due_at",
                "resolve_due_at",
                "acknowledged_at",
                "resolved_at",
                "confirm_due_at",
                "closed_at",
                "rating",
                "rating_comment",
                "reopen_count",
            )
        }
        view.update(
            compound_name=compounds.get(ticket.compound_id),
            category=ticket.category.name,
            place=services.place_label(ticket),
            source=ticket.source.value,
            status_label=lifecycle.STATUS_LABELS[ticket.status],
            handler=names.get(ticket.handler_id),
            overdue=services.is_overdue(ticket, now),
            actions=actions(ticket, principal, now),
            photos=photo_views(ticket),
            reporter=services.reporter_view(ticket, principal),
        )
        if detail:
            view["history"] = event_views(events[ticket.id], names)
        views.append(view)
    return views
