"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) for the city's systems (the
12345 hotline): they read a district's ticket categories and post tickets into its compounds;
anyone may read the district's tickets back, without anything personal.

``/open311/v2/`` is a plain Flask blueprint, outside ``/api/v1``: its answers are the spec's
shapes, not the project's — every JSON answer is a bare array (or one object for a service
definition and discovery), errors are ``[{"code", "description"}]`` with 400 (bad or missing
argument), 403 (missing, invalid or revoked ``api_key``, or a key of another district) and
404 (unknown jurisdiction, service, request or token). JSON and XML (``.json`` / ``.xml``).

Decisions (see the README):

- ``jurisdiction_id`` is a district's id, as a string, and is required on every call (one
  server serves many districts): missing is 400, unknown 404.
- ``service_code`` is a category's ``code`` in that district.
- Posting needs an API key of the district (``Open311Key``, only its keyed hash is kept),
  made and revoked by district staff through ``/api/v1`` (the second blueprint here).
- We are ``realtime``: the id comes back at once, no tokens (``tokens/…`` is 404).
- Status: ``open`` while submitted, acknowledged or in progress; ``closed`` once resolved
  (已办结，待居民确认), closed, refused, a duplicate or referred; ``status_notes`` says which,
  with the public note of the last move.
- Nothing personal is stored from a post (``email``, ``phone``, names, ``device_id``,
  ``account_id`` are read and dropped: the city system keeps its own contact) nor shown in a
  read (no reporter; phone-like numbers and roster names in free text are masked).
  ``media_url`` is not fetched nor stored; the ``media_url`` read is a ticket's first photo
  staff marked public (``/api/v1/public/ticket-photos/{id}``).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, json, request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from participation.auth.models import Role, StaffUser
from participation.auth.scoping import (
    path_object,
    path_resolver,
    place_covered,
    require_cover,
    staff_only,
)
from participation.auth.tokens import Principal, current_principal
from participation.common.errors import ApiError, ErrorSchema, not_found
from participation.common.parsing import Blueprint, unsafe_text
from participation.common.privacy import keyed_hash, mask_public_text
from participation.common.schemas import (
    EARLIEST,
    INT_MAX,
    LATEST,
    SHANGHAI,
    Integer,
    LocalDateTime,
    Schema,
)
from participation.common.types import utcnow
from participation.extensions import db
from participation.feedback import lifecycle, services
from participation.feedback.models import (
    ActorKind,
    Open311Key,
    Source,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketKind,
    TicketPhoto,
    TicketStatus,
)
from participation.roster.models import (
    Building,
    Community,
    Compound,
    District,
    Street,
    building_key,
)
from participation.roster.services import district_id_of, owner_names

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00+08:00"  # when this API last changed
GROUP = "建设共管"
MAX_REQUESTS = 1000
MAX_SPAN = timedelta(days=90)
MAX_EXTERNAL_REF = 64
MAX_ADDRESS = 200
KEY_PURPOSE = "open311-key"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The XML element of each item of a list (the spec's GroupTags).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# Closed for Open311: resolved (waiting for the resident's confirmation) and every final status.
CLOSED = lifecycle.FINAL | {TicketStatus.RESOLVED}
STATUS_NOTES = {**lifecycle.STATUS_LABELS, TicketStatus.RESOLVED: "已办结，待居民确认"}
KIND_NAMES = {kind.value: services.KIND_LABELS[kind] for kind in TicketKind}

# Characters XML 1.0 cannot carry (control characters other than tab and line breaks).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

bp = FlaskBlueprint("open311", __name__, url_prefix="/open311/v2")


class Open311Error(Exception):
    """An error answered as the spec's ``[{"code", "description"}]``."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


# Answers --------------------------------------------------------------------------------------


def _fmt(fmt: str) -> str:
    if fmt not in CONTENT_TYPES:
        raise Open311Error(404, f"unknown format .{fmt}: use .json or .xml")
    return fmt


def _xml_value(parent: ElementTree.Element, tag: str, value) -> None:
    element = ElementTree.SubElement(parent, tag)
    if isinstance(value, list):
        for item in value:
            _xml_value(element, ITEM_TAGS.get(tag, "item"), item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(element, key, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("", str(value))


def to_xml(root: str, body) -> bytes:
    """The spec's XML: ``<root>`` holding the list's items (or the object's fields), no
    attributes, no namespace; ``None`` an empty element."""
    element = ElementTree.Element(root)
    if isinstance(body, list):
        for item in body:
            _xml_value(element, ITEM_TAGS[root], item)
    else:
        for key, value in body.items():
            _xml_value(element, key, value)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        + ElementTree.tostring(element, encoding="unicode").encode()
    )


def answer(fmt: str, root: str, body, status: int = 200) -> Response:
    data = (
        to_xml(root, body)
        if fmt == "xml"
        else json.dumps(body, ensure_ascii=False, sort_keys=False).encode()
    )
    return Response(data, status=status, content_type=CONTENT_TYPES[fmt])


@bp.errorhandler(Open311Error)
def _error(error: Open311Error):
    fmt = (request.view_args or {}).get("fmt")
    fmt = fmt if fmt in CONTENT_TYPES else "json"
    return answer(
        fmt, "errors", [{"code": error.status, "description": error.description}], error.status
    )


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"  # public reads, like FixMyStreet
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# Arguments ------------------------------------------------------------------------------------


def _args() -> dict:
    """The query string (GET) or the form (POST), one value each, text that can be stored."""
    values = request.form if request.method == "POST" else request.args
    for key, value in values.items(multi=True):
        if unsafe_text(key) or unsafe_text(value):
            raise Open311Error(400, "arguments contain characters that cannot be stored")
    return {key: value.strip() for key, value in values.items()}


def _int(text: str, what: str, status: int = 400) -> int:
    if not re.fullmatch(r"[0-9]{1,10}", text) or not 1 <= int(text) <= INT_MAX:
        raise Open311Error(status, f"{what} not found" if status == 404 else f"bad {what}")
    return int(text)


def jurisdiction(args: dict) -> District:
    """The district named by ``jurisdiction_id``: 400 missing, 404 unknown."""
    text = args.get("jurisdiction_id", "")
    if not text:
        raise Open311Error(400, "jurisdiction_id was not provided")
    district = db.session.get(District, _int(text, "jurisdiction_id", 404))
    if district is None:
        raise Open311Error(404, "jurisdiction_id not found")
    return district


def _category(district: District, code: str) -> TicketCategory:
    services.ensure_categories(district.id)
    category = db.session.scalar(
        select(TicketCategory).where(
            TicketCategory.district_id == district.id,
            TicketCategory.code == code,
            TicketCategory.active.is_(True),
        )
    )
    if category is None:
        raise Open311Error(404, "service_code not found")
    return category


def w3c_datetime(text: str, name: str) -> datetime:
    """A W3C date-time with its offset (``Z`` or ``±HH:MM``), between 2000 and 2100."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in text:
        raise Open311Error(
            400,
            f"{name} must be a W3C date-time with its offset, e.g. 2026-12-01T00:00:00+08:00 "
            "(+ encoded as %2B in a URL)",
        )
    if not EARLIEST <= moment <= LATEST:
        raise Open311Error(400, f"{name} out of range")
    return moment


def _ids(text: str, name: str) -> list[int]:
    ids = [_int(part.strip(), name) for part in text.split(",") if part.strip()]
    if len(ids) > MAX_REQUESTS:
        raise Open311Error(400, f"at most {MAX_REQUESTS} ids in {name}")
    return ids


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def local_iso(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


# Discovery and services -----------------------------------------------------------------------


def _site() -> str:
    """The site's address: ``PUBLIC_BASE_URL``, else this request's (no trailing slash)."""
    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


def _base_url() -> str:
    return _site() + "/open311/v2"


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    fmt = _fmt(fmt)
    body = {
        "changeset": CHANGESET,
        "contact": f"城市服务热线 {current_app.config.get('HELP_PHONE') or '12345'}",
        "key_service": "API keys are issued per district (jurisdiction_id = the district's "
        "id) by its staff: POST /api/v1/districts/{district_id}/open311-keys",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base_url(),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return answer(fmt, "discovery", body)


def service_view(category: TicketCategory) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or f"{GROUP}：{category.name}",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join([category.name, *KIND_NAMES.values()]),
        "group": GROUP,
    }


@bp.get("/services.<fmt>")
def service_list(fmt: str):
    fmt = _fmt(fmt)
    district = jurisdiction(_args())
    categories = db.session.scalars(services.categories_query(district.id)).all()
    body = [service_view(category) for category in categories]
    db.session.commit()  # the default categories, added on first use
    return answer(fmt, "services", body)


def _district_compounds(district_id: int) -> list[tuple[int, str, str]]:
    return db.session.execute(
        select(Compound.id, Compound.name, Community.name)
        .join(Community, Compound.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .where(Street.district_id == district_id)
        .order_by(Community.name, Compound.name, Compound.id)
    ).all()


def _attribute(
    order: int,
    code: str,
    datatype: str,
    required: bool,
    description: str,
    values: list[dict] | None = None,
) -> dict:
    attribute = {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": None,
        "order": order,
        "description": description,
    }
    if values is not None:
        attribute["values"] = values
    return attribute


@bp.get("/services/<name>")
def service_definition(name: str):
    code, dot, fmt = name.rpartition(".")
    if not dot:
        raise Open311Error(404, "unknown format: use .json or .xml")
    fmt = _fmt(fmt)
    request.view_args["fmt"] = fmt  # errors in the asked format
    district = jurisdiction(_args())
    category = _category(district, code)
    compounds = [
        {"key": str(compound_id), "name": f"{compound}（{community}）"}
        for compound_id, compound, community in _district_compounds(district.id)
    ]
    body = {
        "service_code": category.code,
        "attributes": [
            _attribute(1, "compound", "singlevaluelist", True, "小区", compounds),
            _attribute(
                2, "building", "string", False, "楼栋，如“3栋”“3号楼”或“3”（须是本小区的楼栋）"
            ),
            _attribute(
                3,
                "kind",
                "singlevaluelist",
                False,
                "类型（默认投诉）",
                [{"key": key, "name": label} for key, label in KIND_NAMES.items()],
            ),
            _attribute(
                4,
                "external_ref",
                "string",
                False,
                "来件系统自己的工单编号（最多 64 字）：同一编号再次提交，返回已有的工单",
            ),
        ],
    }
    db.session.commit()
    return answer(fmt, "service_definition", body)


# Posting a request ----------------------------------------------------------------------------


def key_hash(key: str) -> str:
    return keyed_hash(key, KEY_PURPOSE)


def check_key(args: dict, district: District) -> Open311Key:
    """The district's live key named by ``api_key``, else 403."""
    text = args.get("api_key", "")
    if not text:
        raise Open311Error(403, "api_key was not provided")
    key = db.session.scalar(select(Open311Key).where(Open311Key.key_hash == key_hash(text)))
    if key is None or key.revoked_at is not None or key.district_id != district.id:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    return key


def _coordinate(text: str, name: str, bound: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Open311Error(400, f"{name} is not a number") from None
    if not value.is_finite() or not -bound <= value <= bound:
        raise Open311Error(400, f"{name} must lie between -{bound} and {bound}")
    return value.quantize(Decimal("0.000001"))


def _building(compound_id: int, text: str) -> int | None:
    if not text:
        return None
    building = db.session.scalar(
        select(Building).where(
            Building.compound_id == compound_id, Building.number == building_key(text)
        )
    )
    if building is None:
        raise Open311Error(400, f"attribute[building]: no building {text} in this compound")
    return building.id


def filing_from(args: dict, district: District, category: TicketCategory) -> services.Filing:
    """The ticket the arguments describe, checked; 400 naming what is wrong."""
    compound_text = args.get("attribute[compound]", "")
    if not compound_text:
        raise Open311Error(400, "attribute[compound] was not provided")
    compound_id = _int(compound_text, "attribute[compound]")
    if compound_id not in {row[0] for row in _district_compounds(district.id)}:
        raise Open311Error(400, "attribute[compound] is not a compound of this jurisdiction")
    kind_text = args.get("attribute[kind]") or TicketKind.COMPLAINT.value
    if kind_text not in KIND_NAMES:
        raise Open311Error(400, "attribute[kind] must be complaint, suggestion or praise")
    lat_text, long_text = args.get("lat", ""), args.get("long", "")
    address = args.get("address_string") or None
    if bool(lat_text) != bool(long_text):
        raise Open311Error(400, "lat and long must be sent together")
    if not lat_text and not address:
        raise Open311Error(
            400,
            "a location is required: lat & long, or address_string (address_id is not supported)",
        )
    if address and len(address) > MAX_ADDRESS:
        raise Open311Error(400, f"address_string is limited to {MAX_ADDRESS} characters")
    description = args.get("description", "")
    if not description:
        raise Open311Error(400, "description was not provided")
    if len(description) > services.MAX_DESCRIPTION:
        raise Open311Error(
            400, f"description is limited to {services.MAX_DESCRIPTION} characters here"
        )
    return services.Filing(
        compound_id=compound_id,
        kind=TicketKind(kind_text),
        category_id=category.id,
        description=description,
        building_id=_building(compound_id, args.get("attribute[building]", "")),
        location_text=address,
        lat=_coordinate(lat_text, "lat", 90) if lat_text else None,
        lng=_coordinate(long_text, "long", 180) if long_text else None,
    )


def external_ref(args: dict) -> str | None:
    ref = args.get("attribute[external_ref]") or args.get("external_id") or None
    if ref is not None and len(ref) > MAX_EXTERNAL_REF:
        raise Open311Error(400, f"external_id is limited to {MAX_EXTERNAL_REF} characters")
    return ref


def _existing(ref: str, district: District) -> Ticket:
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.source == Source.OPEN311, Ticket.external_ref == ref)
    )
    if district_id_of(ticket.compound_id) != district.id:
        raise Open311Error(400, "external_id is already used by another jurisdiction")
    return ticket


def create_request(
    district: District, key: Open311Key, filing: services.Filing, ref: str | None
) -> tuple[Ticket, bool]:
    """File the ticket as ``file_ticket`` does for a resident, from the city system: no
    reporter, its reference kept; a reference seen before gives the ticket it made (and
    False). Flushes."""
    if ref is not None:  # a retry: the ticket it made
        seen = db.session.scalar(
            select(Ticket.id).where(Ticket.source == Source.OPEN311, Ticket.external_ref == ref)
        )
        if seen is not None:
            return _existing(ref, district), False
    try:
        category = services.check_filing(filing)
    except ApiError as refused:
        raise Open311Error(400, refused.message) from None
    ticket = services.new_ticket(filing, category, Source.OPEN311, None, ref)
    try:
        with db.session.begin_nested():  # the same reference posted at the same moment
            db.session.add(ticket)
            db.session.flush()
    except IntegrityError:
        if ref is None:
            raise
        return _existing(ref, district), False
    services.announce_filed(ticket, category, ActorKind.OPEN311, key.id, via="（城市热线）")
    return ticket, True


@bp.post("/requests.<fmt>")
def post_request(fmt: str):
    fmt = _fmt(fmt)
    args = _args()
    district = jurisdiction(args)
    key = check_key(args, district)
    if not args.get("service_code"):
        raise Open311Error(400, "service_code was not provided")
    category = _category(district, args["service_code"])
    filing = filing_from(args, district, category)
    # email, device_id, account_id, first_name, last_name, phone, media_url: not kept.
    ticket, created = create_request(district, key, filing, external_ref(args))
    db.session.commit()
    body = [
        {
            "service_request_id": str(ticket.id),
            "service_notice": "已转至小区所在社区和业主委员会，受理时限 "
            f"{local_iso(ticket.ack_due_at)}，办结时限 {local_iso(ticket.resolve_due_at)}",
            "account_id": None,
        }
    ]
    return answer(fmt, "service_requests", body, 201 if created else 200)


# Reading requests -----------------------------------------------------------------------------


def _last_moves(ticket_ids: list[int]) -> dict[int, TicketEvent]:
    """Each ticket's latest move of its lifecycle (with its public note)."""
    if not ticket_ids:
        return {}
    events = db.session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.action.in_(lifecycle.MOVES))
        .order_by(TicketEvent.ticket_id, TicketEvent.seq)
    )
    return {event.ticket_id: event for event in events}


def _public_photos(ticket_ids: list[int]) -> dict[int, str]:
    """The absolute URL of each ticket's first photo staff marked public (no people in it)."""
    if not ticket_ids:
        return {}
    photos = db.session.execute(
        select(TicketPhoto.ticket_id, TicketPhoto.id)
        .where(TicketPhoto.ticket_id.in_(ticket_ids), TicketPhoto.public.is_(True))
        .order_by(TicketPhoto.ticket_id, TicketPhoto.position.desc())  # the first one last
    )
    return {
        ticket_id: f"{_site()}/api/v1/public/ticket-photos/{photo_id}"
        for ticket_id, photo_id in photos
    }


def request_views(tickets: list[Ticket], now: datetime) -> list[dict]:
    """The spec's fields of each ticket, nothing personal: no reporter; phone-like numbers
    and the compound's roster names masked in the free text."""
    compounds = dict(
        db.session.execute(
            select(Compound.id, Compound.name).where(
                Compound.id.in_({t.compound_id for t in tickets})
            )
        ).all()
    )
    handler_ids = {t.handler_id for t in tickets if t.handler_id}
    handlers = (
        dict(
            db.session.execute(
                select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(handler_ids))
            ).all()
        )
        if handler_ids
        else {}
    )
    moves = _last_moves([t.id for t in tickets])
    photos = _public_photos([t.id for t in tickets])
    names = owner_names(set(compounds))
    views = []
    for ticket in tickets:
        status, updated, note = ticket.status, ticket.updated_at, ""
        move = moves.get(ticket.id)
        if move is not None:
            note = move.note
        if (
            status is TicketStatus.RESOLVED
            and ticket.confirm_due_at is not None
            and now >= ticket.confirm_due_at
        ):  # closed when read (the sweep may not have run yet)
            status, updated = TicketStatus.CLOSED, ticket.confirm_due_at
            note = "确认期内未收到居民答复，自动关闭"
        public = names[ticket.compound_id]
        status_notes = STATUS_NOTES[status]
        if note:
            status_notes += "：" + mask_public_text(note, public)
        place = mask_public_text(services.place_label(ticket), public)
        views.append(
            {
                "service_request_id": str(ticket.id),
                "status": "closed" if status in CLOSED else "open",
                "status_notes": status_notes,
                "service_name": ticket.category.name,
                "service_code": ticket.category.code,
                "description": mask_public_text(ticket.description, public),
                "agency_responsible": handlers.get(ticket.handler_id),
                "service_notice": None,
                "requested_datetime": local_iso(ticket.created_at),
                "updated_datetime": local_iso(updated),
                "expected_datetime": local_iso(ticket.resolve_due_at),
                "address": " ".join(p for p in (compounds[ticket.compound_id], place) if p),
                "address_id": None,
                "zipcode": None,
                "lat": float(ticket.lat) if ticket.lat is not None else None,
                "long": float(ticket.lng) if ticket.lng is not None else None,
                "media_url": photos.get(ticket.id),
            }
        )
    return views


def _district_tickets(district: District):
    compound_ids = (
        select(Compound.id)
        .join(Community, Compound.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .where(Street.district_id == district.id)
    )
    return select(Ticket).where(Ticket.compound_id.in_(compound_ids))


def requests_query(district: District, args: dict, now: datetime):
    """The spec's filters: ``service_request_id`` (a list, overriding the rest), else
    ``service_code`` and ``status`` (lists) within ``start_date`` … ``end_date`` (at most 90
    days; the last 90 days by default); newest first, at most 1000."""
    stmt = _district_tickets(district)
    if args.get("service_request_id"):
        ids = _ids(args["service_request_id"], "service_request_id")
        return stmt.where(Ticket.id.in_(ids)).order_by(Ticket.id.desc()).limit(MAX_REQUESTS)
    start = w3c_datetime(args["start_date"], "start_date") if args.get("start_date") else None
    end = w3c_datetime(args["end_date"], "end_date") if args.get("end_date") else None
    if start is None and end is None:
        end = now
    if start is None:
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    stmt = stmt.where(Ticket.created_at >= start, Ticket.created_at <= end)
    if args.get("service_code"):
        codes = _codes(args["service_code"])
        stmt = stmt.join(TicketCategory, Ticket.category_id == TicketCategory.id).where(
            TicketCategory.code.in_(codes)
        )
    if args.get("status"):
        wanted = set(_codes(args["status"]))
        if not wanted <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both")
        if wanted == {"open"}:
            stmt = stmt.where(Ticket.status.in_(lifecycle.OPEN))
        elif wanted == {"closed"}:
            stmt = stmt.where(Ticket.status.in_(CLOSED))
    return stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_REQUESTS)


@bp.get("/requests.<fmt>")
def get_requests(fmt: str):
    fmt = _fmt(fmt)
    args = _args()
    district = jurisdiction(args)
    now = utcnow()
    tickets = db.session.scalars(requests_query(district, args, now)).all()
    return answer(fmt, "service_requests", request_views(tickets, now))


@bp.get("/requests/<name>")
def get_request(name: str):
    request_id, dot, fmt = name.rpartition(".")
    if not dot:
        raise Open311Error(404, "unknown format: use .json or .xml")
    fmt = _fmt(fmt)
    request.view_args["fmt"] = fmt
    district = jurisdiction(_args())
    ticket_id = _int(request_id, "service_request_id", 404)
    ticket = db.session.scalar(_district_tickets(district).where(Ticket.id == ticket_id))
    if ticket is None:
        raise Open311Error(404, "service_request_id not found")
    return answer(fmt, "service_requests", request_views([ticket], utcnow()))


@bp.get("/tokens/<name>")
def get_token(name: str):
    """We are realtime: posting gives the id at once and no token is ever issued."""
    _token, dot, fmt = name.rpartition(".")
    fmt = _fmt(fmt) if dot else "json"
    request.view_args["fmt"] = fmt
    jurisdiction(_args())
    raise Open311Error(404, "token not found: requests are realtime, no tokens are issued")


# The keys, for district staff (/api/v1) ---------------------------------------------------------

api_blp = Blueprint(
    "open311_keys", __name__, description="Open311 API keys of a district's city systems"
)
SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}


@path_resolver("open311_key_id")
def _key(open311_key_id: int, principal: Principal) -> Open311Key:
    key = db.session.get(Open311Key, open311_key_id)
    if key is None or not place_covered(principal, Role.DISTRICT, key.district_id):
        raise not_found()
    return key


class KeyInSchema(Schema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "whose system, e.g. “12345 市民热线”"},
    )


class KeySchema(Schema):
    id = Integer(dump_only=True)
    district_id = Integer(dump_only=True)
    name = ma.fields.String(dump_only=True)
    created_at = LocalDateTime(dump_only=True)
    revoked_at = LocalDateTime(dump_only=True, allow_none=True)


class NewKeySchema(KeySchema):
    api_key = ma.fields.String(
        dump_only=True, metadata={"description": "shown this once; only its hash is kept"}
    )


@api_blp.route("/districts/<int:district_id>/open311-keys")
class DistrictKeys(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @api_blp.doc(security=SECURITY)
    @api_blp.response(200, KeySchema(many=True))
    @api_blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @api_blp.alt_response(404, **NOT_FOUND)
    def get(self, district_id):
        """The district's Open311 keys, revoked ones too, without the keys themselves
        (district staff)"""
        district = path_object("district_id")
        return db.session.scalars(
            select(Open311Key).where(Open311Key.district_id == district.id).order_by(Open311Key.id)
        ).all()

    @staff_only
    @api_blp.doc(security=SECURITY)
    @api_blp.arguments(KeyInSchema)
    @api_blp.response(201, NewKeySchema)
    @api_blp.alt_response(403, schema=ErrorSchema, description="staff_only; outside_scope")
    @api_blp.alt_response(404, **NOT_FOUND)
    def post(self, data, district_id):
        """Make an API key for a city system posting service requests in the district
        (district staff); the key is in this answer only"""
        district = path_object("district_id")
        require_cover(current_principal(), Role.DISTRICT, district.id)
        secret = secrets.token_urlsafe(24)
        key = Open311Key(district_id=district.id, name=data["name"], key_hash=key_hash(secret))
        db.session.add(key)
        db.session.commit()
        return {
            "id": key.id,
            "district_id": key.district_id,
            "name": key.name,
            "created_at": key.created_at,
            "revoked_at": None,
            "api_key": secret,
        }


@api_blp.route("/open311-keys/<int:open311_key_id>")
class KeyDetail(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @api_blp.doc(security=SECURITY)
    @api_blp.response(200, KeySchema)
    @api_blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @api_blp.alt_response(404, **NOT_FOUND)
    def delete(self, open311_key_id):
        """Revoke a key (district staff): posts with it are refused from now on"""
        key = path_object("open311_key_id")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            db.session.commit()
        return key
