"""The complaints API: residents file and follow their tickets; staff and contractors list,
move, assign and answer them; categories with their service levels; the photos."""

from __future__ import annotations

import io

from flask import request, send_file
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from sqlalchemy.exc import IntegrityError

from participation.auth.models import Role
from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    path_object,
    require_cover,
    resident_only,
    staff_only,
)
from participation.auth.tokens import current_principal
from participation.common.errors import ErrorSchema, conflict, not_found
from participation.common.files import MAX_UPLOAD_BYTES, read_upload
from participation.common.http import client_address
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
from participation.common.schemas import IdempotencyHeaderSchema
from participation.common.sql import db_now
from participation.extensions import db
from participation.feedback import schemas, services, supervision, views
from participation.feedback.models import Ticket, TicketPhoto
from participation.feedback.photos import PhotoRefused, refused_error
from participation.feedback.storage import photo_storage
from participation.roster.models import Compound, Street
from participation.roster.services import district_id_of

blp = Blueprint("feedback", __name__, description="Complaints and suggestions (建设共管)")
public_blp = Blueprint("public_feedback", __name__, description="Public supervision")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
NOT_ALLOWED = {"schema": ErrorSchema, "description": "not_allowed"}
# A ticket's request may carry 9 photos of 10 MB each and its fields.
FILING_MAX_BYTES = services.MAX_PHOTOS * MAX_UPLOAD_BYTES + 2**20


@blp.before_request
def _room_for_photos():
    if request.endpoint == f"{blp.name}.MyTickets" and request.method == "POST":
        request.max_content_length = FILING_MAX_BYTES


PHOTO_DOC = {
    "200": {
        "description": "the processed photo; ``?size=thumbnail`` for 400 px",
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _photo_file(photo: TicketPhoto, cache_control: str):
    key = photo.thumbnail_key if request.args.get("size") == "thumbnail" else photo.key
    response = send_file(io.BytesIO(photo_storage().get(key)), mimetype=photo.content_type)
    response.headers["Cache-Control"] = cache_control
    return response


def _one(ticket: Ticket, detail: bool = True) -> dict:
    return views.ticket_views([ticket], current_principal(), db_now(), detail=detail)[0]


@blp.route("/me/tickets")
class MyTickets(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.TicketSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.paginate()
    def get(self, pagination_parameters):
        """My tickets, newest first (resident)"""
        principal = current_principal()
        stmt = services.visible_tickets(principal).order_by(Ticket.id.desc())
        page = SelectPage(stmt, pagination_parameters)
        return views.ticket_views(page.items, principal, db_now())

    @resident_only
    @blp.doc(
        security=SECURITY,
        description="`multipart/form-data`. Photos are checked as images (JPEG, PNG or WebP; "
        "HEIC is refused with advice), stripped of every metadata (GPS included), turned "
        "upright and reduced to 2048 px with a thumbnail; nothing is stored if anything is "
        "refused. Due times follow the category's service level (acknowledged by the end "
        "of the next working day).",
    )
    @blp.arguments(schemas.FilingSchema, location="files")
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, schemas.TicketSchema)
    @blp.alt_response(
        200,
        schema=schemas.TicketSchema,
        success=True,
        description="a retry with the same Idempotency-Key: the ticket filed then, not again",
    )
    @blp.alt_response(
        403, schema=ErrorSchema, description="resident_only; not_a_resident (of that compound)"
    )
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large: a photo over 10 MB")
    @blp.alt_response(415, schema=ErrorSchema, description="not_an_image; heic_not_supported")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error (naming the field: compound_id, category_id, "
        "building_id, entrance_id, link_id, description); too_many_photos (over 9); "
        "image_too_large (pixels)",
    )
    @blp.alt_response(
        409, schema=ErrorSchema, description="idempotency_key_reused (by another resident)"
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited (Retry-After)")
    def post(self, data, headers):
        """File a complaint, suggestion or praise with up to 9 photos (resident)"""
        principal = current_principal()
        key = headers["idempotency_key"]
        earlier = services.filed_with_key(principal.id, key)
        if earlier is not None:
            return _one(earlier), 200
        uploads = [read_upload(photo) for photo in data.pop("photos")]
        try:
            processed = services.processed_photos(uploads)
        except PhotoRefused as refused:
            raise refused_error(refused) from None
        filing = services.Filing(**data)
        try:
            with services.stored_photos(processed) as stored:
                ticket = services.file_ticket(principal.id, filing, stored, client_address(), key)
                db.session.commit()
        except IntegrityError:  # the same key, filed by a concurrent retry: that one counts
            db.session.rollback()
            earlier = services.filed_with_key(principal.id, key)
            if earlier is None:  # someone else's key: refused, not guessed at
                raise conflict(
                    "idempotency_key_reused", "请求编号已被使用，请刷新页面后重新提交"
                ) from None
            return _one(earlier), 200
        return _one(ticket), 201


@blp.route("/tickets")
class Tickets(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.TicketQuerySchema, location="query")
    @blp.response(200, schemas.TicketSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Tickets of the compounds in your scope; a contractor's, those assigned to it
        (staff): filter by compound, status, category, building, handler, kind, overdue;
        sort by newest, oldest, due or updated"""
        principal = current_principal()
        now = db_now()
        page = SelectPage(services.tickets_query(principal, query, now), pagination_parameters)
        return views.ticket_views(page.items, principal, now)


@blp.route("/tickets/<int:ticket_id>")
class TicketDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.TicketSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, ticket_id):
        """A ticket with its photos and history: its reporter, staff in scope, or the
        contractor it is assigned to"""
        return _one(path_object("ticket_id"))


@blp.route("/tickets/<int:ticket_id>/actions")
class TicketActions(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ActionSchema)
    @blp.response(200, schemas.TicketSchema)
    @blp.alt_response(403, **NOT_ALLOWED)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="ticket_status_changed (the move does not fit the status); "
        "confirmation_over (reopen after the confirmation period)",
    )
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error (note required)")
    def post(self, data, ticket_id):
        """Move a ticket on: handlers acknowledge, start, resolve, reject, mark as duplicate
        or refer; its reporter confirms or reopens a resolution (within the confirmation
        period). Each move is recorded with its public note and told to the other side."""
        ticket = services.act(
            path_object("ticket_id"),
            data["action"],
            current_principal(),
            data["note"],
            duplicate_of_id=data.get("duplicate_of_id"),
            referred_to=data.get("referred_to"),
        )
        db.session.commit()
        return _one(ticket)


@blp.route("/tickets/<int:ticket_id>/assignment")
class TicketAssignment(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.AssignmentSchema)
    @blp.response(200, schemas.TicketSchema)
    @blp.alt_response(403, **NOT_ALLOWED)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="ticket_closed")
    @blp.alt_response(422, schema=ErrorSchema, description="handler_id not a handler here")
    def post(self, data, ticket_id):
        """Assign a ticket to a handler: staff over the compound or a contractor of it (staff
        over the compound, not contractors)"""
        ticket = services.assign(
            path_object("ticket_id"), data["handler_id"], current_principal(), data["note"]
        )
        db.session.commit()
        return _one(ticket)


@blp.route("/tickets/<int:ticket_id>/rating")
class TicketRating(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.RatingSchema)
    @blp.response(200, schemas.TicketSchema)
    @blp.alt_response(403, **NOT_ALLOWED)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="not_rateable_yet; already_rated")
    def post(self, data, ticket_id):
        """Rate the handling 1–5 once, after the ticket is closed or refused (its reporter)"""
        ticket = services.rate(
            path_object("ticket_id"), current_principal(), data["rating"], data.get("comment")
        )
        db.session.commit()
        return _one(ticket)


@blp.route("/ticket-photos/<int:ticket_photo_id>")
class TicketPhotoFile(MethodView):
    decorators = [jwt_required()]

    @blp.doc(
        security=SECURITY,
        summary="A ticket's photo (JPEG, no metadata); ``?size=thumbnail`` for 400 px",
        responses=PHOTO_DOC,
    )
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, ticket_photo_id):
        return _photo_file(path_object("ticket_photo_id"), "private, max-age=86400")

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.PhotoPatchSchema)
    @blp.response(200, schemas.PhotoSchema)
    @blp.alt_response(403, **NOT_ALLOWED)
    @blp.alt_response(404, **NOT_FOUND)
    def patch(self, data, ticket_photo_id):
        """Mark a photo public (no people in it) or not (staff over the compound)"""
        photo = services.set_photo_public(
            path_object("ticket_photo_id"), current_principal(), data["public"]
        )
        db.session.commit()
        ticket = db.session.get(Ticket, photo.ticket_id)
        return next(p for p in views.photo_views(ticket) if p["id"] == photo.id)


# --- categories and their service levels ---------------------------------------------------


@blp.route("/districts/<int:district_id>/ticket-categories")
class DistrictCategories(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.CategorySchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, district_id):
        """The district's ticket categories with their service levels, inactive ones too
        (staff covering the district); the defaults are added on first use"""
        district = path_object("district_id")
        categories = db.session.scalars(services.categories_query(district.id, False)).all()
        db.session.commit()
        return categories

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CategoryCreateSchema)
    @blp.response(201, schemas.CategorySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="outside_scope (district staff)")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="category_exists")
    def post(self, data, district_id):
        """Add a category to the district (district staff)"""
        district = path_object("district_id")
        require_cover(current_principal(), Role.DISTRICT, district.id)
        category = services.add_category(district.id, data)
        db.session.commit()
        return category


@blp.route("/ticket-categories/<int:ticket_category_id>")
class CategoryDetail(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CategoryPatchSchema)
    @blp.response(200, schemas.CategorySchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="category_exists")
    def patch(self, data, ticket_category_id):
        """Rename a category, change its service level, retire it (district staff): tickets
        filed already keep their due times"""
        category = services.update_category(path_object("ticket_category_id"), data)
        db.session.commit()
        return category


@public_blp.route("/public/compounds/<int:compound_id>/ticket-categories")
class PublicCategories(MethodView):
    @public_blp.response(200, schemas.CategorySchema(many=True))
    @public_blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """The categories a resident of the compound files under (no sign-in)"""
        district_id = district_id_of(compound_id)
        if district_id is None or db.session.get(Compound, compound_id) is None:
            raise not_found()
        categories = db.session.scalars(services.categories_query(district_id)).all()
        db.session.commit()
        return categories


# --- public supervision (supervision.py) ---------------------------------------------------


@public_blp.route("/public/compounds/<int:compound_id>/supervision")
class CompoundSupervision(MethodView):
    @public_blp.response(200, schemas.FiguresSchema)
    @public_blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """How the compound's tickets are handled (no sign-in, no personal data): counts by
        kind, category and status, median hours to acknowledge and to resolve, the share
        resolved within the service level, the ratings"""
        compound = db.session.get(Compound, compound_id) or _missing()
        return supervision.compound_figures(compound, db_now())


@public_blp.route("/public/streets/<int:street_id>/supervision")
class StreetSupervision(MethodView):
    @public_blp.response(200, schemas.StreetFiguresSchema)
    @public_blp.alt_response(404, **NOT_FOUND)
    def get(self, street_id):
        """The same for a street, with each of its compounds (no sign-in)"""
        street = db.session.get(Street, street_id) or _missing()
        return supervision.street_figures(street.id, street.name, db_now())


@public_blp.route("/public/compounds/<int:compound_id>/tickets")
class PublicTickets(MethodView):
    @public_blp.response(200, schemas.PublicTicketSchema(many=True))
    @public_blp.alt_response(404, **NOT_FOUND)
    @public_blp.paginate()
    def get(self, compound_id, pagination_parameters):
        """The compound's tickets in public words, newest first (no sign-in): no reporter,
        owners' names and long numbers masked, photos only where staff marked them public"""
        db.session.get(Compound, compound_id) or _missing()
        page = SelectPage(supervision.public_tickets_query(compound_id), pagination_parameters)
        return supervision.public_ticket_views(compound_id, page.items)


@public_blp.route("/public/ticket-photos/<int:ticket_photo_id>")
class PublicTicketPhoto(MethodView):
    @public_blp.doc(responses=PHOTO_DOC)
    @public_blp.alt_response(404, **NOT_FOUND)
    def get(self, ticket_photo_id):
        """A photo staff marked public (no people in it), without sign-in"""
        photo = db.session.get(TicketPhoto, ticket_photo_id)
        if photo is None or not photo.public:
            raise not_found()
        return _photo_file(photo, "public, max-age=3600")


def _missing():
    raise not_found()
