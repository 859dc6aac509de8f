"""Tickets: filing with photos, who sees which ticket, the lifecycle's moves with their
history and notifications, assignment to handlers, ratings, categories and their service
levels, and the overdue and closing sweeps. Functions flush, never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, and_, column, false, func, or_, select, table
from sqlalchemy.exc import IntegrityError

from participation.auth import ratelimit
from participation.auth.models import Account, Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.notifications import notify
from participation.auth.scoping import (
    compound_ids_in_scope,
    is_committee,
    path_resolver,
    place_covered,
    resident_compound_ids,
)
from participation.auth.tokens import Principal
from participation.common.errors import ApiError, conflict, forbidden, invalid, not_found
from participation.common.privacy import mask_phone
from participation.common.sql import db_now, upsert
from participation.common.types import utcnow
from participation.common.workdays import add_days, end_of_working_day_after
from participation.extensions import db
from participation.feedback import lifecycle
from participation.feedback.lifecycle import Who
from participation.feedback.models import (
    ActorKind,
    LinkKind,
    Source,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketKind,
    TicketPhoto,
    TicketStatus,
)
from participation.feedback.photos import ProcessedPhoto, process_photo
from participation.feedback.storage import StoredPhoto, discard, photo_storage, store_photos
from participation.roster.models import Building, Compound, Entrance
from participation.roster.services import district_id_of

MAX_PHOTOS = 9
MAX_DESCRIPTION = 2000

# Categories -----------------------------------------------------------------------------------

# Seeded in every district on first use: (code, name, days to resolve).
DEFAULT_CATEGORIES = (
    ("quality", "施工质量", 15),
    ("safety", "施工安全", 3),
    ("nuisance", "文明施工与噪音", 3),
    ("schedule", "工期进度", 15),
    ("money", "资金与收费", 15),
    ("design", "设计方案", 15),
    ("property", "物业管理", 7),
    ("other", "其他", 15),
)


def ensure_categories(district_id: int) -> None:
    """The default categories of a district, added once (concurrent first uses are fine)."""
    rows = [
        {
            "district_id": district_id,
            "code": code,
            "name": name,
            "description": "",
            "position": position,
            "ack_working_days": 1,
            "resolve_days": days,
            "active": True,
        }
        for position, (code, name, days) in enumerate(DEFAULT_CATEGORIES, start=1)
    ]
    db.session.execute(upsert(TicketCategory).values(rows).on_conflict_do_nothing())


def categories_query(district_id: int, active_only: bool = True) -> Select:
    ensure_categories(district_id)
    stmt = select(TicketCategory).where(TicketCategory.district_id == district_id)
    if active_only:
        stmt = stmt.where(TicketCategory.active.is_(True))
    return stmt.order_by(TicketCategory.position, TicketCategory.id)


@path_resolver("ticket_category_id")
def _category(ticket_category_id: int, principal: Principal) -> TicketCategory:
    category = db.session.get(TicketCategory, ticket_category_id)
    if category is None or not place_covered(principal, Role.DISTRICT, category.district_id):
        raise not_found()
    return category


def add_category(district_id: int, data: dict) -> TicketCategory:
    """A district's own category; its Open311 code is made from its id."""
    ensure_categories(district_id)
    last = db.session.scalar(
        select(func.max(TicketCategory.position)).where(TicketCategory.district_id == district_id)
    )
    category = TicketCategory(
        district_id=district_id,
        code=f"new-{uuid.uuid4().hex[:8]}",
        name=data["name"],
        description=data.get("description", ""),
        position=data.get("position", (last or 0) + 1),
        ack_working_days=data.get("ack_working_days", 1),
        resolve_days=data.get("resolve_days", 15),
        active=data.get("active", True),
    )
    try:
        with db.session.begin_nested():
            db.session.add(category)
            db.session.flush()
    except IntegrityError:
        raise conflict("category_exists", "本区已有同名的问题类别") from None
    category.code = f"c{category.id}"
    db.session.flush()
    return category


def update_category(category: TicketCategory, changes: dict) -> TicketCategory:
    for key in ("name", "description", "ack_working_days", "resolve_days", "active", "position"):
        if key in changes:
            setattr(category, key, changes[key])
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise conflict("category_exists", "本区已有同名的问题类别") from None
    return category


# Who sees a ticket ----------------------------------------------------------------------------


def visible_tickets(principal: Principal) -> Select:
    """Residents: their own tickets. Staff: the tickets of the compounds in their scope, and
    a contractor those assigned to it (nothing else of the compound)."""
    stmt = select(Ticket)
    if principal.is_resident:
        return stmt.where(Ticket.reporter_id == principal.id)
    if principal.is_admin:
        return stmt
    assigned = Ticket.handler_id == principal.id if principal.ids_for(Role.CONTRACTOR) else false()
    return stmt.where(or_(Ticket.compound_id.in_(compound_ids_in_scope(principal)), assigned))


@path_resolver("ticket_id")
def get_ticket(ticket_id: int, principal: Principal) -> Ticket:
    ticket = db.session.scalar(visible_tickets(principal).where(Ticket.id == ticket_id))
    if ticket is None:
        raise not_found()
    if expire_if_due(ticket):
        db.session.commit()
    return ticket


@path_resolver("ticket_photo_id")
def get_photo(ticket_photo_id: int, principal: Principal) -> TicketPhoto:
    photo = db.session.get(TicketPhoto, ticket_photo_id)
    visible = visible_tickets(principal).where(Ticket.id == (photo.ticket_id if photo else None))
    if photo is None or db.session.scalar(visible) is None:
        raise not_found()
    return photo


def is_contractor_only(principal: Principal, ticket: Ticket) -> bool:
    """The caller sees this ticket only because it is assigned to them as a contractor."""
    return (
        principal.is_staff
        and not principal.is_admin
        and ticket.handler_id == principal.id
        and db.session.scalar(
            compound_ids_in_scope(principal).where(Compound.id == ticket.compound_id)
        )
        is None
    )


# Filing ---------------------------------------------------------------------------------------


def _link_compound(kind: LinkKind, link_id: int) -> int | None:
    """The compound of the vote, survey, notice or menu item a ticket links to (read by table
    name: a campaign package does not import another)."""
    if kind is LinkKind.MENU_ITEM:
        items, surveys = (
            table("survey_menu_items", column("id"), column("survey_id")),
            table("surveys", column("id"), column("compound_id")),
        )
        stmt = (
            select(surveys.c.compound_id)
            .join(items, items.c.survey_id == surveys.c.id)
            .where(items.c.id == link_id)
        )
    else:
        source = table(f"{kind.value}s", column("id"), column("compound_id"))
        stmt = select(source.c.compound_id).where(source.c.id == link_id)
    return db.session.scalar(stmt)


@dataclass(frozen=True)
class Filing:
    compound_id: int
    kind: TicketKind
    category_id: int
    description: str
    building_id: int | None = None
    entrance_id: int | None = None
    location_text: str | None = None
    lat: object | None = None
    lng: object | None = None
    link_kind: LinkKind | None = None
    link_id: int | None = None
    anonymous: bool = False


def _field_error(field: str, message: str, code: str = "validation_error") -> ApiError:
    return invalid(code, message, {field: [message]})


def check_filing(filing: Filing) -> TicketCategory:
    """The category (of the compound's district, active), the place (of the compound) and the
    link (of the compound) named by ``filing``, or 422 naming the field."""
    district_id = district_id_of(filing.compound_id)
    if district_id is None:
        raise _field_error("compound_id", "小区不存在")
    ensure_categories(district_id)
    category = db.session.get(TicketCategory, filing.category_id)
    if category is None or category.district_id != district_id or not category.active:
        raise _field_error("category_id", "请选择本小区的问题类别")
    if filing.building_id is not None:
        building = db.session.get(Building, filing.building_id)
        if building is None or building.compound_id != filing.compound_id:
            raise _field_error("building_id", "楼栋不属于本小区")
    if filing.entrance_id is not None:
        entrance = db.session.get(Entrance, filing.entrance_id)
        if entrance is None or entrance.building_id != filing.building_id:
            raise _field_error("entrance_id", "单元不属于所选楼栋")
    if filing.link_kind is not None and (
        _link_compound(filing.link_kind, filing.link_id) != filing.compound_id
    ):
        raise _field_error("link_id", "关联的事项不存在或不属于本小区")
    if not filing.description.strip():
        raise _field_error("description", "请描述问题")
    if len(filing.description) > MAX_DESCRIPTION:
        raise _field_error("description", f"问题描述不能超过 {MAX_DESCRIPTION} 字")
    return category


def filing_limits(account_id: int, address: str) -> list[ratelimit.Limit]:
    config = current_app.config
    return [
        ratelimit.Limit("ticket-account-hour", str(account_id), config["TICKETS_PER_HOUR"], 3600),
        ratelimit.Limit("ticket-account-day", str(account_id), config["TICKETS_PER_DAY"], 86400),
        ratelimit.Limit("ticket-address-hour", address, config["TICKETS_PER_ADDRESS_HOUR"], 3600),
    ]


def processed_photos(photos: list[bytes]) -> list[ProcessedPhoto]:
    """Each upload checked and processed, before anything is stored; 422 over 9 photos."""
    if len(photos) > MAX_PHOTOS:
        raise _field_error("photos", f"最多上传 {MAX_PHOTOS} 张照片", code="too_many_photos")
    return [process_photo(data) for data in photos]


def filed_with_key(account_id: int, key: str | None) -> Ticket | None:
    """The ticket the resident filed with this Idempotency-Key, if any."""
    if not key:
        return None
    return db.session.scalar(
        select(Ticket).where(
            Ticket.source == Source.H5, Ticket.external_ref == key, Ticket.reporter_id == account_id
        )
    )


def file_ticket(
    account_id: int,
    filing: Filing,
    photos: list[tuple[StoredPhoto, ProcessedPhoto]],
    address: str,
    idempotency_key: str | None = None,
) -> Ticket:
    """A resident files a ticket in a compound where they own or rent (403 otherwise), with
    its photos (stored already: see ``stored_photos``). The Idempotency-Key is kept as the
    ticket's ``external_ref`` (unique per source), so a concurrent retry fails to insert."""
    in_compound = resident_compound_ids(account_id).subquery()
    if db.session.scalar(select(in_compound).where(in_compound.c[0] == filing.compound_id)) is None:
        raise forbidden("您不是本小区的业主或租户，不能在这里反映问题", code="not_a_resident")
    category = check_filing(filing)
    ratelimit.hit(filing_limits(account_id, address))
    ticket = new_ticket(filing, category, Source.H5, account_id, idempotency_key)
    db.session.add(ticket)
    db.session.flush()
    _photo_rows(ticket, photos)
    announce_filed(ticket, category, ActorKind.RESIDENT, account_id)
    return ticket


def new_ticket(
    filing: Filing,
    category: TicketCategory,
    source: Source,
    reporter_id: int | None,
    external_ref: str | None,
) -> Ticket:
    """A ticket as filed now (not added to the session), its due times fixed by the
    category's service level."""
    now = db_now()
    return Ticket(
        **{key: getattr(filing, key) for key in Filing.__dataclass_fields__},
        reporter_id=reporter_id,
        source=source,
        external_ref=external_ref,
        created_at=now,
        updated_at=now,
        ack_due_at=end_of_working_day_after(now, category.ack_working_days),
        resolve_due_at=add_days(now, category.resolve_days),
    )


def announce_filed(
    ticket: Ticket, category: TicketCategory, actor_kind: ActorKind, actor_id: int, via: str = ""
) -> None:
    """The first step of a new ticket's history, and the compound committee told of it."""
    record(ticket, "file", None, TicketStatus.SUBMITTED, actor_kind, actor_id, "")
    notify(
        committee_of(ticket.compound_id),
        "ticket_filed",
        f"新的{KIND_LABELS[ticket.kind]}{via}：{category.name}",
        ticket.description[:60],
        f"/api/v1/tickets/{ticket.id}",
    )


@contextmanager
def stored_photos(
    photos: list[ProcessedPhoto],
) -> Iterator[list[tuple[StoredPhoto, ProcessedPhoto]]]:
    """Write the photos to the photo storage for the block, which writes their rows and
    commits: if anything in the block fails, the files are deleted again, so no file is ever
    left without its ticket."""
    storage = photo_storage()
    stored = store_photos(storage, photos)
    try:
        yield list(zip(stored, photos, strict=True))
    except BaseException:
        discard(storage, stored)
        raise


def _photo_rows(ticket: Ticket, photos: list[tuple[StoredPhoto, ProcessedPhoto]]) -> None:
    db.session.add_all(
        TicketPhoto(
            ticket_id=ticket.id,
            position=position,
            key=stored.key,
            thumbnail_key=stored.thumbnail_key,
            width=photo.width,
            height=photo.height,
            size=len(photo.image),
            sha256=photo.sha256,
        )
        for position, (stored, photo) in enumerate(photos, start=1)
    )
    db.session.flush()


# History and notifications --------------------------------------------------------------------

KIND_LABELS = {
    TicketKind.COMPLAINT: "投诉",
    TicketKind.SUGGESTION: "建议",
    TicketKind.PRAISE: "表扬",
}


def record(
    ticket: Ticket,
    action: str,
    before: TicketStatus | None,
    after: TicketStatus | None,
    actor_kind: ActorKind,
    actor_id: int | None,
    note: str,
    at: datetime | None = None,
) -> TicketEvent:
    """Append one step to the ticket's history (the ticket's row is locked or new, so the
    sequence number is the next)."""
    seq = db.session.scalar(
        select(func.coalesce(func.max(TicketEvent.seq), 0)).where(
            TicketEvent.ticket_id == ticket.id
        )
    )
    event = TicketEvent(
        ticket_id=ticket.id,
        seq=seq + 1,
        action=action,
        from_status=before,
        to_status=after,
        actor_kind=actor_kind,
        actor_id=actor_id,
        note=note,
        at=at or utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


def history(ticket: Ticket) -> list[TicketEvent]:
    return list(
        db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)
        )
    )


def committee_of(compound_id: int) -> list[tuple[SubjectKind, int]]:
    """The compound committee's staff accounts (active)."""
    ids = db.session.scalars(
        select(StaffUser.id)
        .join(RoleAssignment, RoleAssignment.staff_id == StaffUser.id)
        .where(
            RoleAssignment.role == Role.COMPOUND,
            RoleAssignment.scope_id == compound_id,
            StaffUser.active.is_(True),
        )
    )
    return [(SubjectKind.STAFF, staff_id) for staff_id in ids]


def _tell_reporter(ticket: Ticket, title: str, body: str) -> None:
    if ticket.reporter_id is not None:
        notify(
            [(SubjectKind.RESIDENT, ticket.reporter_id)],
            "ticket_progress",
            title,
            body,
            f"/h5/?compound={ticket.compound_id}#/tickets/{ticket.id}",
        )


# Moves ----------------------------------------------------------------------------------------


def _locked(ticket: Ticket) -> TicketStatus:
    """Lock the ticket's row for this transaction; its status now."""
    db.session.refresh(ticket, with_for_update=True)
    return ticket.status


def role_on(ticket: Ticket, principal: Principal) -> Who | None:
    """Who the caller is for this ticket: its reporter, a handler (staff over the compound,
    or the contractor it is assigned to), or neither."""
    if principal.is_resident:
        return Who.REPORTER if ticket.reporter_id == principal.id else None
    if principal.is_admin or ticket.handler_id == principal.id:
        return Who.HANDLER
    covered = compound_ids_in_scope(principal).where(Compound.id == ticket.compound_id)
    return Who.HANDLER if db.session.scalar(covered) is not None else None


def act(
    ticket: Ticket,
    action: str,
    principal: Principal,
    note: str = "",
    duplicate_of_id: int | None = None,
    referred_to: str | None = None,
) -> Ticket:
    """Take ``action`` on the ticket (see ``lifecycle.MOVES``): checked against its status
    under a row lock, recorded with the public note, the reporter told. 409 when the move
    does not fit the ticket's status, 403 when the caller may not take it."""
    who = role_on(ticket, principal)
    move = lifecycle.MOVES.get(action)
    if move is None:
        raise _field_error("action", "未知的操作")
    if who is not move.who:
        raise forbidden(
            "只有反映问题的居民本人可以确认或重新提出"
            if move.who is Who.REPORTER
            else "只有处理人员可以进行此操作",
            code="not_allowed",
        )
    note = (note or "").strip()
    if move.note_required and not note:
        raise _field_error("note", "请填写说明（会向反映人和公众公开）")
    before = _locked(ticket)
    now = db_now()
    if expire_if_due(ticket, now) or before not in move.sources:
        raise conflict(
            "ticket_status_changed",
            f"问题当前状态为“{lifecycle.STATUS_LABELS[ticket.status]}”，不能进行此操作",
        )
    if action == "reopen" and ticket.confirm_due_at is not None and now >= ticket.confirm_due_at:
        raise conflict("confirmation_over", "确认期已过，不能再重新提出")
    if action == "duplicate":
        ticket.duplicate_of_id = _original(ticket, duplicate_of_id)
    if action == "refer":
        if not (referred_to or "").strip():
            raise _field_error("referred_to", "请填写转交的单位")
        ticket.referred_to = referred_to.strip()[:120]
    _apply(ticket, move, now)
    actor = ActorKind.RESIDENT if who is Who.REPORTER else ActorKind.STAFF
    record(ticket, action, before, move.target, actor, principal.id, note, now)
    if who is Who.HANDLER:
        _tell_reporter(ticket, f"您反映的问题{move.label}", note)
    else:
        notify(
            _handlers(ticket),
            "ticket_progress",
            f"居民{move.label}",
            note,
            f"/api/v1/tickets/{ticket.id}",
        )
    return ticket


def _apply(ticket: Ticket, move: lifecycle.Move, now: datetime) -> None:
    ticket.status = move.target
    ticket.updated_at = now
    if move.action == "acknowledge":
        ticket.acknowledged_at = now
    elif move.action == "resolve":
        if ticket.acknowledged_at is None:
            ticket.acknowledged_at = now
        ticket.resolved_at = now
        ticket.confirm_due_at = now + timedelta(days=current_app.config["TICKET_CONFIRM_DAYS"])
    elif move.action == "reopen":
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.confirm_due_at = None
    if move.target in lifecycle.FINAL:
        ticket.closed_at = now


def _original(ticket: Ticket, duplicate_of_id: int | None) -> int:
    original = db.session.get(Ticket, duplicate_of_id) if duplicate_of_id else None
    if original is None or original.compound_id != ticket.compound_id or original.id == ticket.id:
        raise _field_error("duplicate_of_id", "请填写本小区中与之重复的问题编号")
    if original.status is TicketStatus.DUPLICATE:
        original = db.session.get(Ticket, original.duplicate_of_id)  # point at the first one
    return original.id


def _handlers(ticket: Ticket) -> list[tuple[SubjectKind, int]]:
    if ticket.handler_id is not None:
        return [(SubjectKind.STAFF, ticket.handler_id)]
    return committee_of(ticket.compound_id)


def expire_if_due(ticket: Ticket, now: datetime | None = None) -> bool:
    """Close a resolved ticket whose confirmation period is over (the reporter said nothing):
    whoever reads it first, or the sweep. True if it closed now."""
    if ticket.status is not TicketStatus.RESOLVED or ticket.confirm_due_at is None:
        return False
    now = now or db_now()
    if now < ticket.confirm_due_at:
        return False
    done = db.session.execute(
        Ticket.__table__.update()
        .where(Ticket.id == ticket.id, Ticket.status == TicketStatus.RESOLVED)
        .values(status=TicketStatus.CLOSED, closed_at=ticket.confirm_due_at, updated_at=now)
    ).rowcount
    if done:
        db.session.refresh(ticket)
        record(
            ticket,
            "expire",
            TicketStatus.RESOLVED,
            TicketStatus.CLOSED,
            ActorKind.SYSTEM,
            None,
            "确认期内未收到居民答复，自动关闭",
            ticket.confirm_due_at,
        )
    return bool(done)


# Assignment and rating ------------------------------------------------------------------------


def assignable(ticket: Ticket, staff: StaffUser) -> bool:
    """A handler may be staff whose roles cover the compound (committee, community, street,
    district) or a contractor of that compound."""
    if not staff.active:
        return False
    for role in staff.roles:
        if role.role is Role.CONTRACTOR and role.scope_id == ticket.compound_id:
            return True
    principal = Principal(
        SubjectKind.STAFF, staff.id, "", tuple((r.role, r.scope_id) for r in staff.roles)
    )
    return (
        principal.is_admin
        or db.session.scalar(
            compound_ids_in_scope(principal).where(Compound.id == ticket.compound_id)
        )
        is not None
    )


def assign(ticket: Ticket, handler_id: int, principal: Principal, note: str = "") -> Ticket:
    """Staff over the compound (not a contractor) assign the ticket to a handler."""
    if role_on(ticket, principal) is not Who.HANDLER or is_contractor_only(principal, ticket):
        raise forbidden("只有社区或业委会工作人员可以指派处理人", code="not_allowed")
    handler = db.session.get(StaffUser, handler_id)
    if handler is None or not assignable(ticket, handler):
        raise _field_error("handler_id", "处理人须是本小区的工作人员或施工单位账号")
    status = _locked(ticket)
    if status in lifecycle.FINAL:
        raise conflict("ticket_closed", "问题已关闭，不能再指派")
    ticket.handler_id = handler.id
    ticket.assigned_by_id = principal.id
    ticket.updated_at = db_now()
    record(
        ticket,
        "assign",
        status,
        status,
        ActorKind.STAFF,
        principal.id,
        note or f"已指派给{handler.display_name}处理",
    )
    notify(
        [(SubjectKind.STAFF, handler.id)],
        "ticket_assigned",
        f"指派给您的{KIND_LABELS[ticket.kind]}：{ticket.category.name}",
        ticket.description[:60],
        f"/api/v1/tickets/{ticket.id}",
    )
    return ticket


def rate(ticket: Ticket, principal: Principal, rating: int, comment: str | None) -> Ticket:
    """The reporter rates the handling once, after the ticket is closed or refused."""
    if role_on(ticket, principal) is not Who.REPORTER:
        raise forbidden("只有反映问题的居民本人可以评价", code="not_allowed")
    status = _locked(ticket)
    if not lifecycle.rateable(status):
        raise conflict("not_rateable_yet", "问题关闭后才能评价处理情况")
    if ticket.rating is not None:
        raise conflict("already_rated", "您已经评价过了")
    ticket.rating = rating
    ticket.rating_comment = (comment or "").strip()[:500] or None
    ticket.rated_at = db_now()
    record(ticket, "rate", status, status, ActorKind.RESIDENT, principal.id, f"{rating} 星")
    return ticket


def set_photo_public(photo: TicketPhoto, principal: Principal, public: bool) -> TicketPhoto:
    ticket = db.session.get(Ticket, photo.ticket_id)
    if role_on(ticket, principal) is not Who.HANDLER or is_contractor_only(principal, ticket):
        raise forbidden("只有社区或业委会工作人员可以公开照片", code="not_allowed")
    photo.public = public
    db.session.flush()
    return photo


# Lists ----------------------------------------------------------------------------------------


def _late_to_acknowledge(now: datetime):
    return and_(Ticket.status == TicketStatus.SUBMITTED, Ticket.ack_due_at < now)


def _late_to_resolve(now: datetime):
    return and_(Ticket.status.in_(lifecycle.OPEN), Ticket.resolve_due_at < now)


def overdue_clause(now: datetime):
    """Late now: not acknowledged by its due time, or not resolved by its due time."""
    return or_(_late_to_acknowledge(now), _late_to_resolve(now))


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    """``overdue_clause`` for one ticket in hand."""
    if ticket.status is TicketStatus.SUBMITTED and ticket.ack_due_at < now:
        return True
    return ticket.status in lifecycle.OPEN and ticket.resolve_due_at < now


SORTS = {
    "newest": (Ticket.created_at.desc(), Ticket.id.desc()),
    "oldest": (Ticket.created_at, Ticket.id),
    "due": (Ticket.resolve_due_at, Ticket.id),
    "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
}


def tickets_query(principal: Principal, filters: dict, now: datetime) -> Select:
    stmt = visible_tickets(principal)
    if filters.get("compound_id") is not None:
        stmt = stmt.where(Ticket.compound_id == filters["compound_id"])
    if filters.get("status"):
        stmt = stmt.where(Ticket.status.in_(filters["status"]))
    for key in ("category_id", "building_id", "handler_id", "kind"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Ticket, key) == filters[key])
    if filters.get("overdue") is not None:
        late = overdue_clause(now)
        stmt = stmt.where(late if filters["overdue"] else ~late)
    return stmt.order_by(*SORTS[filters.get("sort") or "newest"])


# Sweeps ---------------------------------------------------------------------------------------


def mark_overdue(now: datetime | None = None) -> int:
    """Mark each ticket that just became late (once per lapse: acknowledging, resolving),
    record it and notify its handler and the compound committee. Run twice, the second run
    changes nothing. The number of tickets marked."""
    now = now or db_now()
    marked = 0
    lapses = (
        ("ack_overdue_at", _late_to_acknowledge(now), "超过受理时限仍未受理"),
        ("resolve_overdue_at", _late_to_resolve(now), "超过办结时限仍未办结"),
    )
    for column_name, late, note in lapses:
        flag = getattr(Ticket, column_name)
        ids = db.session.scalars(
            Ticket.__table__.update()
            .where(late, flag.is_(None))
            .values({column_name: now})
            .returning(Ticket.id)
        ).all()
        for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids))):
            record(
                ticket, "overdue", ticket.status, ticket.status, ActorKind.SYSTEM, None, note, now
            )
            supervisors = committee_of(ticket.compound_id)
            if ticket.assigned_by_id is not None:
                supervisors.append((SubjectKind.STAFF, ticket.assigned_by_id))
            notify(
                _handlers(ticket) + supervisors,
                "ticket_overdue",
                f"{KIND_LABELS[ticket.kind]}逾期：{note}",
                ticket.description[:60],
                f"/api/v1/tickets/{ticket.id}",
            )
        marked += len(ids)
    return marked


def sweep_due(now: datetime) -> bool:
    """Whether ``mark_overdue`` or ``close_unconfirmed`` has anything to do."""
    due = or_(
        and_(_late_to_acknowledge(now), Ticket.ack_overdue_at.is_(None)),
        and_(_late_to_resolve(now), Ticket.resolve_overdue_at.is_(None)),
        and_(Ticket.status == TicketStatus.RESOLVED, Ticket.confirm_due_at <= now),
    )
    return db.session.scalar(select(Ticket.id).where(due).limit(1)) is not None


def close_unconfirmed(now: datetime | None = None) -> int:
    """Close every resolved ticket whose confirmation period is over."""
    now = now or db_now()
    due = db.session.scalars(
        select(Ticket).where(Ticket.status == TicketStatus.RESOLVED, Ticket.confirm_due_at <= now)
    ).all()
    return sum(expire_if_due(ticket, now) for ticket in due)


# Views ----------------------------------------------------------------------------------------


def place_label(ticket: Ticket) -> str:
    parts = []
    if ticket.building_id is not None:
        parts.append(db.session.get(Building, ticket.building_id).name)
    if ticket.entrance_id is not None:
        parts.append(db.session.get(Entrance, ticket.entrance_id).name)
    label = "".join(parts)
    if ticket.location_text:
        label = f"{label} {ticket.location_text}".strip()
    return label


def reporter_view(ticket: Ticket, principal: Principal) -> dict | None:
    """Who filed it, as far as the caller may know: nobody to the public; to a contractor
    nothing of an anonymous reporter and a masked phone otherwise; community staff the
    masked phone, the compound's committee the full one."""
    if ticket.reporter_id is None or principal.is_resident:
        return None
    if is_contractor_only(principal, ticket) and ticket.anonymous:
        return None
    phone = db.session.scalar(select(Account.phone).where(Account.id == ticket.reporter_id))
    full = is_committee(principal, ticket.compound_id) and not is_contractor_only(principal, ticket)
    return {"phone": phone if full else mask_phone(phone), "anonymous": ticket.anonymous}
