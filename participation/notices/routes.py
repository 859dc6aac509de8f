"""The notice board's API: notices, short links with their QR codes and posters, batches of
posters for a whole community, street or district, and 公示.

公示 (publication): one set of views serves votes and surveys, each on the paths it has
always had (``/votes/{id}/publish``, ``/surveys/{id}/publish``, …), made by
:func:`_publication_views` for each kind of campaign in ``publication``. Every path id is
resolved through the caller's scope before the view runs: ``vote_id`` and ``survey_id`` by
their packages, ``objection_id`` and ``survey_objection_id`` by ``publication``.
"""

from __future__ import annotations

import io

from flask import current_app, jsonify, request, send_file
from flask.views import MethodView
from flask_jwt_extended import jwt_required

from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    path_object,
    require_committee,
    require_resident,
    require_staff,
    staff_only,
)
from participation.auth.tokens import current_principal
from participation.common.errors import ErrorSchema, not_found
from participation.common.files import DOWNLOAD_DOC, read_upload
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
from participation.extensions import db
from participation.notices import links, posters, publication, schemas, services, tasks
from participation.notices.models import BatchStatus, ShortLink
from participation.notices.publication import SURVEYS, VOTES, CampaignKind
from participation.votes import paper
from participation.votes.schemas import CastSchema

blp = Blueprint(
    "notices", __name__, description="The notice board (公示栏): notices, links, posters"
)
public_blp = Blueprint("public_notices", __name__, description="Public notices")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only"}
NOTICE_INVALID = {
    "schema": ErrorSchema,
    "description": "validation_error; scope_invalid; valid_until_before_from",
}
COMMITTEE_ONLY = {"schema": ErrorSchema, "description": "committee_only"}
BINARY = {"type": "string", "format": "binary"}
POSTER_QUERY = blp.arguments(schemas.PosterQuerySchema, location="query")


def base_url() -> str:
    """The site's address as printed in QR codes: ``PUBLIC_BASE_URL``, else this request's."""
    return current_app.config["PUBLIC_BASE_URL"] or request.url_root


def _file(content: bytes, mimetype: str, name: str | None = None):
    response = send_file(
        io.BytesIO(content), mimetype=mimetype, as_attachment=bool(name), download_name=name
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- notices (services.py) ---------------------------------------------------------------------


@blp.route("/compounds/<int:compound_id>/notices")
class CompoundNotices(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.StaffBoardNoticeSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate(SelectPage)
    def get(self, compound_id):
        """The compound's notices (staff): pinned first, then the newest; withdrawn ones too"""
        return services.staff_notices(path_object("compound_id"))

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NoticeInSchema)
    @blp.response(201, schemas.StaffBoardNoticeSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, **NOTICE_INVALID)
    def post(self, data, compound_id):
        """Post a notice (公告) on the compound's board (staff)

        Residents whose dwelling lies in its scope (the whole compound when no building or
        entrance is given) see it from `valid_from` until `valid_until`; with `public` the
        public sees it too. Campaigns post their own notices when they open and when their
        result goes on 公示.
        """
        notice = services.create_notice(path_object("compound_id"), data, current_principal().id)
        db.session.commit()
        return notice


@blp.route("/notices/<int:notice_id>")
class NoticeDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(
        200,
        schemas.StaffBoardNoticeSchema,
        description="staff see every field; residents those of BoardNotice",
    )
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, notice_id):
        """A notice: staff of its compound, or a resident whose board shows it"""
        notice = path_object("notice_id")
        if current_principal().is_staff:
            return notice
        return jsonify(schemas.BoardNoticeSchema().dump(notice))

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NoticePatchSchema)
    @blp.response(200, schemas.StaffBoardNoticeSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, **NOTICE_INVALID)
    def patch(self, changes, notice_id):
        """Change a notice (staff): any of its fields"""
        notice = services.update_notice(path_object("notice_id"), changes)
        db.session.commit()
        return notice

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(204)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    def delete(self, notice_id):
        """Take a notice down (staff); it is kept for the record, marked withdrawn"""
        services.withdraw_notice(path_object("notice_id"))
        db.session.commit()


@blp.route("/notices/<int:notice_id>/attachments")
class NoticeAttachments(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NoticeAttachmentUploadSchema, location="files")
    @blp.response(201, schemas.NoticeAttachmentSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large: over 10 MB")
    @blp.alt_response(415, schema=ErrorSchema, description="unsupported_file_type")
    @blp.alt_response(
        422, schema=ErrorSchema, description="validation_error (no file); too_many_attachments"
    )
    def post(self, upload, notice_id):
        """Attach a PDF, JPEG or PNG to a notice (staff): at most 10 MB, by its content"""
        file = upload["file"]
        attachment = services.add_attachment(
            path_object("notice_id"), file.filename or "", read_upload(file), current_principal().id
        )
        db.session.commit()
        return attachment


@blp.route("/notices/<int:notice_id>/attachments/<int:notice_attachment_id>")
class NoticeAttachmentFile(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY, responses=DOWNLOAD_DOC)
    @blp.response(200)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, notice_id, notice_attachment_id):
        """Download an attachment of a notice: PDF, JPEG or PNG as uploaded"""
        attachment = path_object("notice_attachment_id")
        if attachment.notice_id != notice_id:
            raise not_found()
        return _file(attachment.content, attachment.content_type, attachment.filename)


@blp.route("/me/notices")
class MyNotices(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NoticeQuerySchema, location="query")
    @blp.response(200, schemas.BoardNoticeSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """The notices on my compounds' boards (resident): current ones for my buildings

        Pinned first, then the newest; `compound_id` narrows to one compound.
        """
        principal = require_resident(current_principal())
        notices = services.resident_notices(principal.id, query.get("compound_id"))
        pagination_parameters.item_count = len(notices)
        first = pagination_parameters.first_item
        return notices[first : first + pagination_parameters.page_size]


@public_blp.route("/public/compounds/<int:compound_id>/notices")
class PublicNotices(MethodView):
    @public_blp.response(200, schemas.BoardNoticeSchema(many=True))
    @public_blp.paginate(SelectPage)
    def get(self, compound_id):
        """The compound's current public notices (no sign-in): pinned first, then the newest"""
        return services.public_notices(compound_id)


@public_blp.route("/public/notices/<int:notice_id>")
class PublicNotice(MethodView):
    @public_blp.response(200, schemas.BoardNoticeSchema)
    @public_blp.alt_response(404, schema=ErrorSchema, description="not public, withdrawn or over")
    def get(self, notice_id):
        """A current public notice (no sign-in)"""
        return services.public_notice(notice_id)


@public_blp.route("/public/notices/<int:notice_id>/attachments/<int:attachment_id>")
class PublicNoticeAttachment(MethodView):
    @public_blp.doc(responses=DOWNLOAD_DOC)
    @public_blp.response(200)
    @public_blp.alt_response(404, schema=ErrorSchema, description="not found")
    def get(self, notice_id, attachment_id):
        """Download an attachment of a current public notice (no sign-in)"""
        notice = services.public_notice(notice_id)
        attachment = next((a for a in notice.attachments if a.id == attachment_id), None)
        if attachment is None:
            raise not_found()
        return _file(attachment.content, attachment.content_type, attachment.filename)


# --- short links, QR codes and posters (links.py, posters.py) ----------------------------------


def link_view(link: ShortLink) -> dict:
    api = f"/api/v1/links/{link.id}"
    return {
        "id": link.id,
        "code": link.code,
        "url": links.link_url(link, base_url()),
        "compound_id": link.compound_id,
        "target": link.target,
        "target_id": link.target_id,
        "lands_on": links.target_path(link),
        "current": link.rotated_at is None,
        "replaced_by_id": link.replaced_by_id,
        "created_at": link.created_at,
        "rotated_at": link.rotated_at,
        "qr_png": f"{api}/qr.png",
        "qr_svg": f"{api}/qr.svg",
        "poster_png": f"{api}/poster.png",
        "poster_pdf": f"{api}/poster.pdf",
    }


@blp.route("/compounds/<int:compound_id>/links")
class CompoundLinks(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.LinkSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """The compound's current links (staff): its own first (made on first use)"""
        compound = path_object("compound_id")
        own, created = links.ensure_link(compound, links.LinkTarget.COMPOUND, None, None)
        if created:
            db.session.commit()
        others = db.session.scalars(links.current_links(compound.id).where(ShortLink.id != own.id))
        return [link_view(link) for link in [own, *others]]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.LinkInSchema)
    @blp.response(201, schemas.LinkSchema)
    @blp.alt_response(200, schema=schemas.LinkSchema, success=True, description="it had one")
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    def post(self, data, compound_id):
        """The short link of the compound, or of one of its votes, surveys or notices (staff)

        Made on first use (201), the same one afterwards (200), until it is rotated.
        """
        link, created = links.ensure_link(
            path_object("compound_id"),
            data["target"],
            data.get("target_id"),
            current_principal().id,
        )
        db.session.commit()
        return link_view(link), 201 if created else 200


@blp.route("/links/<int:link_id>")
class LinkDetail(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.LinkSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, link_id):
        """A link (staff), current or rotated"""
        return link_view(path_object("link_id"))


@blp.route("/links/<int:link_id>/rotate")
class LinkRotate(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(201, schemas.LinkSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="link_rotated: rotate the current one")
    def post(self, link_id):
        """Give the link's target a new code (staff): the old code then shows a page that
        points to the new one; print new posters"""
        fresh = links.rotate(path_object("link_id"), current_principal().id)
        db.session.commit()
        return link_view(fresh)


def printed(media: str, *more):
    """The decorators of a view that prints a current link (QR code or poster) as ``media``:
    staff only, documented with its binary answer and its refusals (a rotated link: 409)."""
    answer = {"200": {"description": media, "content": {media: {"schema": BINARY}}}}

    def decorate(view):
        for decorator in reversed(
            [
                staff_only,
                blp.doc(security=SECURITY, responses=answer),
                *more,
                blp.response(200),
                blp.alt_response(403, **STAFF_ONLY),
                blp.alt_response(404, **NOT_FOUND),
                blp.alt_response(409, schema=ErrorSchema, description="link_rotated"),
            ]
        ):
            view = decorator(view)
        return view

    return decorate


def _current_link() -> ShortLink:
    link = path_object("link_id")
    links.require_current(link)
    return link


@blp.route("/links/<int:link_id>/qr.png")
class LinkQrPng(MethodView):
    decorators = [jwt_required()]

    @printed("image/png", blp.arguments(schemas.QrQuerySchema, location="query"))
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error; qr_too_small")
    def get(self, query, link_id):
        """The link's QR code as PNG (staff): error correction Q (25 %), quiet zone kept"""
        link = _current_link()
        return _file(links.qr_png(links.link_url(link, base_url()), query["size"]), "image/png")


@blp.route("/links/<int:link_id>/qr.svg")
class LinkQrSvg(MethodView):
    decorators = [jwt_required()]

    @printed("image/svg+xml")
    def get(self, link_id):
        """The link's QR code as SVG (staff), for print shops: scales to any size"""
        link = _current_link()
        return _file(links.qr_svg(links.link_url(link, base_url())), "image/svg+xml")


def _poster(query) -> posters.Poster:
    link = _current_link()
    phone = query.get("phone") or current_app.config["HELP_PHONE"]
    return posters.poster_for(link, links.link_url(link, base_url()), query.get("organiser"), phone)


@blp.route("/links/<int:link_id>/poster.png")
class LinkPosterPng(MethodView):
    decorators = [jwt_required()]

    @printed("image/png", POSTER_QUERY)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    @blp.alt_response(503, schema=ErrorSchema, description="chart_font_missing")
    def get(self, query, link_id):
        """The link's poster (staff): A4 portrait, 300 dpi PNG

        The compound, the campaign's title and deadline (or the notice's title), the QR code
        7 cm wide, three steps (扫码 → 手机验证码登录 → 投票/填写), the organiser and a help
        phone (`organiser`, `phone`; by default the community's committee and HELP_PHONE).
        """
        return _file(posters.to_png(posters.render(_poster(query))), "image/png")


@blp.route("/links/<int:link_id>/poster.pdf")
class LinkPosterPdf(MethodView):
    decorators = [jwt_required()]

    @printed("application/pdf", POSTER_QUERY)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    @blp.alt_response(503, schema=ErrorSchema, description="chart_font_missing")
    def get(self, query, link_id):
        """The link's poster as a one-page A4 PDF (staff), to print"""
        poster = _poster(query)
        pdf = posters.to_pdf(posters.render(poster), f"{poster.compound} {poster.title}")
        return _file(pdf, "application/pdf", f"{poster.compound}-海报.pdf")


# --- batches of posters (tasks.py) -------------------------------------------------------------


@blp.route("/poster-batches")
class PosterBatches(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.PosterBatchInSchema)
    @blp.arguments(schemas.PosterQuerySchema, location="query")
    @blp.response(202, schemas.PosterBatchSchema)
    @blp.alt_response(
        200, schema=schemas.PosterBatchSchema, success=True, description="one is under way"
    )
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    def post(self, data, query):
        """Posters for every compound of a community, street or district, as one .zip (staff)

        Built in the background: follow `done` of `total` at the batch's address, then
        download. Asking again while one is under way returns that one. Each compound's
        poster carries its own link, made on first use and kept.
        """
        principal = require_staff(current_principal())
        batch, created = tasks.create_batch(
            data["level"],
            data["place_id"],
            principal,
            base_url(),
            query.get("organiser"),
            query.get("phone"),
        )
        db.session.commit()
        if not created:
            return batch, 200
        tasks.enqueue_batch(batch)
        db.session.refresh(batch)
        return batch, 202, {"Location": f"/api/v1/poster-batches/{batch.id}"}


@blp.route("/poster-batches/<int:poster_batch_id>")
class PosterBatchDetail(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.PosterBatchSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, poster_batch_id):
        """A batch of posters: status and progress (`done` of `total`)"""
        return path_object("poster_batch_id")


@blp.route("/poster-batches/<int:poster_batch_id>/download")
class PosterBatchDownload(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(
        security=SECURITY,
        responses={
            "200": {
                "description": "zip",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    @blp.response(200)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="batch_not_done: still being built")
    def get(self, poster_batch_id):
        """The batch's .zip: a PDF per compound (street/community/compound.pdf) and a list"""
        batch = path_object("poster_batch_id")
        path = tasks.batch_path(batch)
        if batch.status is not BatchStatus.DONE or not path.exists():
            raise tasks.not_done(batch)
        return send_file(
            path, mimetype="application/zip", as_attachment=True, download_name=batch.filename
        )


# 公示 (publication) ------------------------------------------------------------------------

# What each kind of campaign adds to the documentation of its 公示.
PUBLISHED_WHEN = {
    "vote": "Only a closed vote (closed here if it is due); its record is sealed first.",
    "survey": "Only a closed survey, of any kind (closed here if it is due).",
}
NOTICE_OF = {
    "vote": "Published or final votes only.",
    "survey": "Published or final consent surveys counted by owners (by name) only.",
}


def _publication_views(kind: CampaignKind, plural: str, objections: str, objection_id: str):
    """Publish, objections, resolution, finalisation and the public notice of one kind of
    campaign: under ``/<plural>/<int:vote_id>`` (or ``survey_id``), its objections under
    ``/<objections>/<int:<objection_id>>``; endpoints ``VotePublish``, ``SurveyPublish``, …"""
    name = kind.name
    title = name.capitalize()
    one = f"/{plural}/<int:{kind.key}>"

    def campaign():
        return path_object(kind.key)

    def committee_step(step):
        """Publish or finalise: the compound's committee only, committed."""
        stepped = campaign()
        require_committee(current_principal(), stepped.compound_id)
        step(kind, stepped)
        db.session.commit()
        return stepped

    @blp.route(f"{one}/publish", endpoint=f"{title}Publish")
    class Publish(MethodView):
        decorators = [jwt_required()]

        @blp.doc(
            security=SECURITY,
            summary="Publish the result (公示) (compound committee)",
            description=f"{PUBLISHED_WHEN[name]} The notice shows the result stored at closing; "
            f"the objection period runs for the {name}'s ``objection_days`` from now "
            "(``objection_until``).",
        )
        @blp.response(200, schemas.PublicationSchema)
        @blp.alt_response(403, **COMMITTEE_ONLY)
        @blp.alt_response(404, **NOT_FOUND)
        @blp.alt_response(
            409, schema=ErrorSchema, description=f"{name}_not_closed: not closed, or published"
        )
        def post(self, **path):
            return committee_step(publication.publish)

    @blp.route(f"{one}/objections", endpoint=f"{title}Objections")
    class Objections(MethodView):
        decorators = [jwt_required()]

        @blp.doc(
            security=SECURITY,
            summary="Objections to a published result and how they were handled (staff)",
        )
        @blp.response(200, schemas.ObjectionSchema(many=True))
        @blp.alt_response(403, **STAFF_ONLY)
        @blp.alt_response(404, **NOT_FOUND)
        @blp.paginate(SelectPage)
        def get(self, **path):
            require_staff(current_principal())
            return publication.objections_query(kind, campaign())

        @staff_only
        @blp.doc(
            security=SECURITY,
            summary="Record an objection received during the objection period (compound committee)",
        )
        @blp.arguments(schemas.ObjectionInSchema)
        @blp.response(201, schemas.ObjectionSchema)
        @blp.alt_response(403, schema=ErrorSchema, description="staff_only; committee_only")
        @blp.alt_response(404, **NOT_FOUND)
        @blp.alt_response(
            409,
            schema=ErrorSchema,
            description=f"{name}_not_published; objection_period_over: past objection_until",
        )
        def post(self, data, **path):
            principal = current_principal()
            objected = campaign()
            require_committee(principal, objected.compound_id)
            summary = data["summary"].strip()
            objection = publication.record_objection(kind, objected, summary, principal.id)
            db.session.commit()
            return objection

    @blp.route(f"/{objections}/<int:{objection_id}>/resolve", endpoint=f"{title}ObjectionResolve")
    class ObjectionResolve(MethodView):
        decorators = [jwt_required()]

        @blp.doc(
            security=SECURITY,
            summary=f"Record how an objection to a {name}'s result was handled (compound "
            "committee)",
        )
        @blp.arguments(schemas.ResolutionInSchema)
        @blp.response(200, schemas.ObjectionSchema)
        @blp.alt_response(403, **COMMITTEE_ONLY)
        @blp.alt_response(404, **NOT_FOUND)
        @blp.alt_response(409, schema=ErrorSchema, description="objection_resolved: already")
        def post(self, data, **path):
            """The answer is public: it appears on the notice with the objection. An upheld
            objection to a vote lets the committee correct the count
            (`POST /objections/{objection_id}/voids`, `…/paper-ballots`)."""
            principal = current_principal()
            objection = path_object(objection_id)
            objected = publication.campaign_of(kind, objection)
            require_committee(principal, objected.compound_id)
            publication.resolve_objection(
                objection, data["verdict"], data["resolution"].strip(), principal.id
            )
            db.session.commit()
            return objection

    @blp.route(f"{one}/my-objections", endpoint=f"{title}MyObjections")
    class MyObjections(MethodView):
        decorators = [jwt_required()]

        @blp.doc(security=SECURITY, summary="My objections and their answers (resident)")
        @blp.response(200, schemas.ObjectionSchema(many=True))
        @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
        @blp.alt_response(404, **NOT_FOUND)
        def get(self, **path):
            principal = require_resident(current_principal())
            return db.session.scalars(
                publication.my_objections_query(kind, campaign(), principal.id)
            ).all()

        @blp.doc(
            security=SECURITY,
            summary="Object to a published result (an owner in scope, during the objection period)",
            description="`multipart/form-data`: `summary` (the facts and reasons) and up to 6 "
            "`photos`. The objection appears on the public notice with the owner's "
            "entrance only (no name, no room; long numbers masked), and the committee's "
            "answer beside it. At most 3 unanswered objections per owner.",
        )
        @blp.arguments(schemas.MyObjectionInSchema, location="files")
        @blp.response(201, schemas.ObjectionSchema)
        @blp.alt_response(
            403, schema=ErrorSchema, description="resident_only; not_an_owner: not in scope"
        )
        @blp.alt_response(404, **NOT_FOUND)
        @blp.alt_response(
            409,
            schema=ErrorSchema,
            description=f"{name}_not_published; objection_period_over; too_many_objections",
        )
        @blp.alt_response(413, schema=ErrorSchema, description="file_too_large: over 10 MB")
        @blp.alt_response(415, schema=ErrorSchema, description="unsupported_file_type")
        @blp.alt_response(422, schema=ErrorSchema, description="validation_error; too_many_photos")
        def post(self, data, **path):
            principal = require_resident(current_principal())
            photos = [(photo.filename or "", read_upload(photo)) for photo in data["photos"]]
            objection = publication.file_objection(
                kind, campaign(), principal.id, data["summary"].strip(), photos
            )
            db.session.commit()
            return objection

    @blp.route(f"{one}/finalize", endpoint=f"{title}Finalize")
    class Finalize(MethodView):
        decorators = [jwt_required()]

        @blp.doc(
            security=SECURITY,
            summary="Make the result final (compound committee): after the objection period, "
            "with every objection resolved",
        )
        @blp.response(200, schemas.PublicationSchema)
        @blp.alt_response(403, **COMMITTEE_ONLY)
        @blp.alt_response(404, **NOT_FOUND)
        @blp.alt_response(
            409,
            schema=ErrorSchema,
            description=f"{name}_not_published; objection_period_running; objections_unresolved",
        )
        def post(self, **path):
            return committee_step(publication.finalize)

    @public_blp.route(f"/public{one}/notice", endpoint=f"Public{title}Notice")
    class PublicNotice(MethodView):
        @public_blp.doc(
            summary=f"The public notice of a {name}'s result (公示, no sign-in)",
            description=f"{NOTICE_OF[name]} What was decided and by which rule, the scope, the "
            "times, T/P/Y by headcount and area with the ratios and the outcome (``result``, "
            "by ``kind``), the objection period and how many objections were received and "
            "resolved. No personal data. The same document for every kind of campaign.",
        )
        @public_blp.response(200, schemas.ResultNoticeSchema)
        @public_blp.alt_response(404, schema=ErrorSchema, description=f"no such published {name}")
        def get(self, **path):
            return publication.notice(kind, path[kind.key])


_publication_views(VOTES, "votes", "objections", "objection_id")
_publication_views(SURVEYS, "surveys", "survey-objections", "survey_objection_id")


@blp.route("/objection-photos/<int:objection_photo_id>")
class ObjectionPhotoFile(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY, responses=DOWNLOAD_DOC)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, objection_photo_id):
        """A photo of an objection (staff in scope, or the owner who filed it)"""
        photo = path_object("objection_photo_id")
        return _file(photo.content, photo.content_type)


# --- corrections after an upheld objection (votes) ------------------------------------------

CORRECTION_REFUSED = {
    "schema": ErrorSchema,
    "description": "objection_not_upheld; vote_not_published: not on notice; cast_voided: "
    "already voided",
}


def _upheld_objection():
    """The objection in the path, for its vote's committee."""
    objection = path_object("objection_id")
    require_committee(current_principal(), publication.campaign_of(VOTES, objection).compound_id)
    return objection


@blp.route("/objections/<int:objection_id>/voids")
class ObjectionVoids(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.VoidInSchema)
    @blp.response(200, schemas.PublicationSchema)
    @blp.alt_response(403, **COMMITTEE_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **CORRECTION_REFUSED)
    @blp.alt_response(
        422, schema=ErrorSchema, description="validation_error; cast_required; unknown_cast"
    )
    def post(self, data, objection_id):
        """Void a ballot for an upheld objection (compound committee)

        The cast is named by its receipt code or record id. A `void` event naming the
        objection and the reason goes into the vote's record (`votes verify` checks it),
        the owner's counting ballot falls back to their previous valid one (or none), the
        result is recomputed, and it is republished with a new objection period."""
        objection = _upheld_objection()
        vote = publication.void_ballot(
            objection,
            current_principal().id,
            data["reason"].strip(),
            event_id=data.get("event_id"),
            receipt=data.get("receipt"),
        )
        db.session.commit()
        return vote


@blp.route("/objections/<int:objection_id>/paper-ballots")
class ObjectionPaperBallots(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CorrectionPaperBallotUploadSchema, location="files")
    @blp.response(201, CastSchema)
    @blp.alt_response(403, **COMMITTEE_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **CORRECTION_REFUSED)
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large: over 10 MB")
    @blp.alt_response(415, schema=ErrorSchema, description="unsupported_file_type")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; person_required; unknown_dwelling; unknown_person; "
        "signed_in_future; signed_before_opening; signed_after_closing",
    )
    def post(self, upload, objection_id):
        """Admit a paper ballot signed before the closing time, for an upheld objection
        (compound committee)

        As `POST /votes/{vote_id}/paper-ballots`, with the reason: the ballot counts by when
        it was signed, names the objection in the vote's record, and the result is
        recomputed and republished with a new objection period."""
        objection = _upheld_objection()
        vote = publication.campaign_of(VOTES, objection)
        photo = upload["photo"]
        cast = publication.admit_paper_ballot(
            objection,
            current_principal().id,
            upload["reason"].strip(),
            person=paper.find_person(vote, upload.get("person_id"), upload.get("dwelling")),
            choice=upload["choice"],
            filename=photo.filename or "",
            photo=read_upload(photo),
            signed_at=upload["signed_at"],
        )
        db.session.commit()
        return cast
