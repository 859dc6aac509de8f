"""Owner votes: lifecycle, casting, tally and the public record (the result's 公示: notices/).

Every ``<int:vote_id>`` is resolved through the caller's scope before the view runs
(``votes.services.get_vote``): staff see the votes of their compounds, residents the non-draft
votes of the compounds where they own or rent a dwelling. Casting finds the vote through the
caller's persons in it instead, and answers a refusal as the resolver would (404 first).
"""

from __future__ import annotations

import io

from flask import current_app, send_file
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from sqlalchemy.exc import DBAPIError

from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    is_committee,
    path_object,
    require_committee,
    require_resident,
    require_staff,
    resident_only,
    resolved_in_view,
    staff_only,
)
from participation.auth.tokens import current_principal, session_checked_in_view
from participation.common import notify
from participation.common.errors import ErrorSchema, not_found
from participation.common.files import read_upload
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
from participation.common.schemas import IdempotencyHeaderSchema
from participation.common.types import utcnow
from participation.extensions import db
from participation.votes import (
    casting,
    charts,
    costs,
    exports,
    paper,
    proxies,
    record,
    schemas,
    services,
    tally,
    tasks,
)
from participation.votes.models import Vote

blp = Blueprint("votes", __name__, description="Owner votes (表决)")
public_blp = Blueprint("public_votes", __name__, description="Public vote record (receipts)")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]


# --- lifecycle and casting (services.py, casting.py) ---------------------------------------

NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only"}
DRAFT_INVALID = {
    "schema": ErrorSchema,
    "description": "validation_error; closes_before_opens; closes_in_past; "
    "elevator_scope_required (an elevator vote needs buildings or entrances); scope_invalid "
    "(a building or entrance not in the compound); objection_days_too_short (below the "
    "district's min_objection_days, 0 always: 异议期不得少于 N 天); common_parts_vote_invalid "
    "(editing a vote linked by an elevator vote as its common-parts vote to a building scope "
    "or another matter); no_cost_plan_reason_required (no_cost_plan without a reason of "
    "1–200 characters); no_cost_plan_with_plan (the vote has a cost plan: remove it first)",
}


def _detail(vote: Vote) -> dict:
    """The vote as its caller may see it, with its materials."""
    staff = current_principal().is_staff
    return services.vote_view(vote, utcnow(), staff, services.materials_of(vote))


@blp.route("/compounds/<int:compound_id>/votes")
class CompoundVotes(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.VoteQuerySchema, location="query")
    @blp.response(200, schemas.VoteSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, query, compound_id, pagination_parameters):
        """Votes of a compound, newest first (staff); ``?status=`` as shown"""
        current_principal()
        now = utcnow()
        stmt = services.compound_votes_query(compound_id, query.get("status"), now)
        page = SelectPage(stmt, pagination_parameters)
        return [services.vote_view(vote, now, staff=True) for vote in page.items]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.VoteInSchema)
    @blp.response(201, schemas.VoteSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, **DRAFT_INVALID)
    def post(self, data, compound_id):
        """Create a vote as a draft (staff)

        The matter (民法典 Art. 278) selects the counting rule. The scope is the whole
        compound, or some buildings and/or entrances; an elevator vote must name buildings or
        entrances. Times are ISO 8601 with offset; the closing time must be in the future.
        """
        principal = current_principal()
        vote = services.create_vote(compound_id, data, principal.id)
        db.session.commit()
        return _detail(vote)


@blp.route("/votes/<int:vote_id>")
class VoteDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.VoteSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, vote_id):
        """A vote: residents see the vote and its materials, staff also T_cnt, T_area and the
        lifecycle times. A vote past its closing time is closed by this read."""
        return _detail(path_object("vote_id"))

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.VotePatchSchema)
    @blp.response(200, schemas.VoteSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="vote_not_draft")
    @blp.alt_response(422, **DRAFT_INVALID)
    def patch(self, data, vote_id):
        """Edit a draft (staff); an opened vote cannot change"""
        current_principal()
        vote = services.update_draft(path_object("vote_id"), data)
        db.session.commit()
        return _detail(vote)


@blp.route("/votes/<int:vote_id>/open")
class VoteOpen(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.OpenVoteSchema)
    @blp.response(200, schemas.VoteOpenedSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="unknown_owners: dwellings without a known owner (errors.dwellings lists "
        "them), nothing written — send confirm_unknown_owners=true; vote_not_draft; "
        "elevator votes taking common parts: common_parts_vote_missing (no linked vote), "
        "common_parts_vote_invalid (linked vote cancelled, failed or no longer fit), "
        "common_parts_vote_not_open (the linked compound-wide vote is still a draft: open it "
        "first); cost_plan_not_allowed, floor_coefficient_missing, no_cost_weights; "
        "cost_plan_missing (an elevator vote, or a rebuilding one on buildings or entrances, "
        "with neither a cost plan nor the declaration no_cost_plan with its reason). The vote "
        "stays a draft.",
    )
    @blp.alt_response(
        422, schema=ErrorSchema, description="closes_in_past; empty_electorate; scope_invalid"
    )
    def post(self, data, vote_id):
        """Open a draft (staff): freeze the electorate and show T_cnt and T_area

        Casting is accepted from ``opens_at`` to ``closes_at``. Later roster edits do not
        change the frozen electorate. An elevator vote that takes common parts opens only
        once its linked compound-wide vote has been opened (open, also before its start,
        closed, published or final) and has not failed.
        """
        current_principal()
        vote = path_object("vote_id")
        unknown = services.open_vote(vote, data["confirm_unknown_owners"])
        db.session.commit()
        return {
            **_detail(vote),
            "unknown_owners": unknown.count,
            "unknown_dwellings": unknown.labels,
        }


@blp.route("/votes/<int:vote_id>/deadline")
class VoteDeadline(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.DeadlineInSchema)
    @blp.response(200, schemas.VoteSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="campaign_closed: the current closing time has passed (or the vote is "
        "closed, published, final or cancelled); nothing changed",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; deadline_not_later (截止时间只能延后，不能提前); "
        "deadline_too_late (more than 90 days after opens_at)",
    )
    def post(self, data, vote_id):
        """Extend the closing time of a draft, scheduled or open vote (staff)

        Only later, never earlier, and at most 90 days after the start of voting; only before
        the current closing time (database clock, in the same transaction: a cast at the old
        deadline is either counted or refused, never accepted after the effective one). The
        extension is recorded in the vote's verifiable record (``deadline_extended``, with the
        old and new time and the reason) and the electorate's owners are notified.
        """
        principal = current_principal()
        vote = path_object("vote_id")
        services.extend_deadline(vote, data["closes_at"], data["reason"], principal.id)
        db.session.commit()  # the event is sealed in this commit (services.record_event)
        services.announce_extension(vote, data["reason"])
        return _detail(vote)


@blp.route("/votes/<int:vote_id>/cancel")
class VoteCancel(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.VoteSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="vote_has_ballots: someone has cast, the vote runs to its end; "
        "vote_closed; vote_not_cancellable (closed, published or final)",
    )
    def post(self, vote_id):
        """Cancel a vote (staff): a draft, or an opened vote before anyone has cast

        An opened vote's cancellation is recorded in its record. Residents no longer see it.
        """
        principal = require_staff(current_principal())
        vote = services.cancel_vote(path_object("vote_id"), principal.id)
        db.session.commit()
        return _detail(vote)


@blp.route("/votes/<int:vote_id>/attachments")
class VoteAttachments(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.AttachmentUploadSchema, location="files")
    @blp.response(201, schemas.AttachmentSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="vote_not_draft: materials are fixed")
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large: over 10 MB")
    @blp.alt_response(415, schema=ErrorSchema, description="unsupported_file_type")
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error (no file, kind)")
    def post(self, upload, vote_id):
        """Attach a plan, cost estimate or other material to a draft (staff)

        PDF, JPEG or PNG (recognised by content) of at most 10 MB; kept with its SHA-256.
        """
        principal = current_principal()
        file = upload["file"]
        attachment = services.attach_material(
            path_object("vote_id"),
            upload["kind"],
            file.filename or "",
            read_upload(file),
            principal.id,
        )
        db.session.commit()
        return attachment


@blp.route("/votes/<int:vote_id>/attachments/<int:attachment_id>")
class VoteAttachmentFile(MethodView):
    decorators = [jwt_required()]

    @blp.doc(
        security=SECURITY,
        responses={
            "200": {
                "description": "the file as uploaded",
                "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}
                    for media in ("application/pdf", "image/jpeg", "image/png")
                },
            }
        },
    )
    @blp.response(200)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, vote_id, attachment_id):
        """Download a material of the vote: PDF, JPEG or PNG as uploaded"""
        attachment = path_object("attachment_id")
        if attachment.vote_id != vote_id:
            raise not_found()
        return send_file(
            io.BytesIO(attachment.content),
            mimetype=attachment.content_type,
            as_attachment=True,
            download_name=attachment.filename,
        )


@blp.route("/me/votes")
class MyVotes(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MyVoteSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.paginate()
    def get(self, pagination_parameters):
        """Votes of the compounds where I own or rent, latest closing first (resident), with
        whether I may vote in each and whether I have voted"""
        principal = current_principal()
        page = SelectPage(services.resident_votes_query(principal.id), pagination_parameters)
        return services.resident_vote_views(page.items, principal.id, utcnow())


@blp.route("/votes/<int:vote_id>/ballots")
# The hot path: casting finds the vote through the caller's persons in it, and checks the
# caller's session in the same statement.
@resolved_in_view(vote_id=services.find_vote)
@session_checked_in_view
class VoteBallots(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CastInSchema())
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.response(201, schemas.CastSchema)
    @blp.alt_response(
        200,
        schema=schemas.CastSchema,
        success=True,
        description="a retry with the same Idempotency-Key: the earlier cast, not cast again",
    )
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="not_an_owner (tenants, residents owning nothing in the scope); "
        "resident_only (staff)",
    )
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="vote_not_started; vote_closed")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; person_required (several persons: errors.person_id "
        "lists them); person_invalid; idempotency_key_reused",
    )
    def post(self, data, headers, vote_id):
        """Cast my ballot (owner): agree 同意, disagree 不同意 or abstain 弃权

        One ballot per person, covering all their dwellings in the scope; any co-owner may
        cast for a co-owned dwelling. Casting again before the closing time replaces the
        earlier ballot (the latest counts, every cast is kept). Nothing is accepted at or
        after the closing time. The receipt code can be checked on the public page.
        """
        principal = require_resident(current_principal())
        arguments = (
            vote_id,
            principal.id,
            data["choice"],
            data.get("person_id"),
            headers["idempotency_key"],
            principal,
        )
        try:
            cast = casting.cast_as_owner(*arguments)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The database dropped the connection before the commit (a restart, a failover):
            # nothing was written, so the cast is made once more on a new connection.
            db.session.rollback()
            cast = casting.cast_as_owner(*arguments)
        db.session.commit()
        record.schedule_sealing(vote_id)
        return cast, 200 if cast.result.replayed else 201


@blp.route("/votes/<int:vote_id>/my-ballots")
class VoteMyBallots(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MyBallotSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, vote_id):
        """My persons in this vote and the ballot that counts for each (resident; whoever
        cast it). Staff have no ballots: an empty list."""
        principal = current_principal()
        if principal.is_staff:
            return []
        return casting.my_ballots(vote_id, principal.id)


# --- proxies and paper ballots (proxies.py, paper.py) ---

CLOSED = {"schema": ErrorSchema, "description": "vote_closed: not open or past its closing time"}
REPLAYED = {
    "schema": schemas.CastSchema,
    "success": True,
    "description": "a retry with the same Idempotency-Key: the earlier cast, not cast again",
}


@blp.route("/votes/<int:vote_id>/proxies")
class VoteProxies(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProxySchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, vote_id, pagination_parameters):
        """Proxies of a vote: staff all (names and phones masked outside the compound's own
        committee), residents those they granted or hold"""
        principal = current_principal()
        vote = path_object("vote_id")
        page = SelectPage(proxies.proxies_query(vote, principal), pagination_parameters)
        full = is_committee(principal, vote.compound_id)
        return proxies.proxy_views(page.items, principal, full)

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ProxyGrantSchema)
    @blp.response(201, schemas.ProxySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not_an_owner: not an owner here")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="proxy_exists: this person already has a pending or confirmed proxy; "
        "vote_closed",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="proxy_not_signed_in: no account with that phone (ask them to sign in "
        "once); proxy_is_self; person_required; person_invalid",
    )
    def post(self, data, vote_id):
        """Authorise a proxy (委托): an owner names a signed-in person by phone number

        The proxy is pending until committee staff of the compound confirm it."""
        principal = require_resident(current_principal())
        proxy = proxies.grant_proxy(
            path_object("vote_id"), principal.id, data["proxy_phone"], data.get("person_id")
        )
        db.session.commit()
        return proxies.proxy_views([proxy], principal, full=False)[0]


@blp.route("/proxies")
class MyProxies(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProxySchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.paginate()
    def get(self, pagination_parameters):
        """My proxies in every vote, granted or held, newest first

        A proxy who lives elsewhere finds here the votes they may cast in."""
        principal = current_principal()
        page = SelectPage(proxies.my_proxies_query(principal.id), pagination_parameters)
        return proxies.proxy_views(page.items, principal, full=False)


def _decide_proxy(decide):
    principal = current_principal()
    proxy = path_object("proxy_id")
    vote = db.session.get(Vote, proxy.vote_id)
    require_committee(principal, vote.compound_id)
    decide(proxy, principal.id)
    db.session.commit()
    record.schedule_sealing(vote.id)  # the confirmation's event, if any
    return proxies.proxy_views([proxy], principal, full=True)[0]


@blp.route("/proxies/<int:proxy_id>/confirm")
class ProxyConfirm(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProxySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="committee_only")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="proxy_limit_reached: the proxy already represents "
        "VOTE_MAX_PROXIES_PER_PROXY persons in this vote; proxy_not_pending; vote_closed",
    )
    def post(self, proxy_id):
        """Confirm a proxy (compound committee); recorded in the vote's record"""
        limit = current_app.config["VOTE_MAX_PROXIES_PER_PROXY"]
        return _decide_proxy(lambda proxy, staff_id: proxies.confirm_proxy(proxy, staff_id, limit))


@blp.route("/proxies/<int:proxy_id>/reject")
class ProxyReject(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProxySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="committee_only")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="proxy_not_pending")
    def post(self, proxy_id):
        """Reject a pending proxy (compound committee)"""
        return _decide_proxy(proxies.reject_proxy)


@blp.route("/proxies/<int:proxy_id>/revoke")
class ProxyRevoke(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProxySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="not_grantor")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="proxy_not_active")
    def post(self, proxy_id):
        """Revoke a proxy (the owner who granted it)

        A ballot the proxy already cast stays counted until the owner casts again."""
        principal = require_resident(current_principal())
        proxy = proxies.revoke_proxy(path_object("proxy_id"), principal.id)
        db.session.commit()
        return proxies.proxy_views([proxy], principal, full=False)[0]


@blp.route("/proxies/<int:proxy_id>/ballots")
class ProxyBallots(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ProxyBallotSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, schemas.CastSchema)
    @blp.alt_response(200, **REPLAYED)
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="not_the_proxy; proxy_not_confirmed (pending, rejected or revoked)",
    )
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="vote_closed; vote_not_started")
    @blp.alt_response(422, schema=ErrorSchema, description="idempotency_key_reused")
    def post(self, data, headers, proxy_id):
        """Cast by proxy: the confirmed proxy casts the represented owner's ballot

        The ballot is marked `proxy` and records the proxy's account and the owner. The
        latest cast of the person counts, whoever cast it."""
        principal = current_principal()
        cast = proxies.cast_as_proxy(
            path_object("proxy_id"), principal.id, data["choice"], headers["idempotency_key"]
        )
        db.session.commit()
        record.schedule_sealing(path_object("proxy_id").vote_id)
        return cast, 200 if cast.result.replayed else 201


@blp.route("/votes/<int:vote_id>/paper-ballots")
class VotePaperBallots(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.PaperBallotSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, vote_id, pagination_parameters):
        """Paper ballots entered, newest first, with links to their photos (staff)

        `photo_url` is the vote's attachment download, which gives paper ballot photos to
        staff only."""
        require_staff(current_principal())
        vote = path_object("vote_id")
        page = SelectPage(paper.paper_ballots_query(vote), pagination_parameters)
        return paper.paper_ballot_views(vote, page.items)

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.PaperBallotUploadSchema, location="files")
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, schemas.CastSchema)
    @blp.alt_response(200, **REPLAYED)
    @blp.alt_response(403, schema=ErrorSchema, description="committee_only")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="vote_not_started; vote_closed: final or cancelled; counting_over: the "
        "result is published (enter it as a correction for an upheld objection)",
    )
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large: over 10 MB")
    @blp.alt_response(
        415, schema=ErrorSchema, description="unsupported_file_type: not JPEG, PNG or PDF"
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error (no photo, bad choice, no signed_at); person_required; "
        "unknown_dwelling; unknown_person; idempotency_key_reused; signed_in_future; "
        "signed_before_opening; signed_after_closing",
    )
    def post(self, upload, headers, vote_id):
        """Enter a paper ballot (纸质票) with the photo of the signed ballot (compound committee)

        The photo is kept with its SHA-256; the ballot is marked `paper` with the staff
        member who entered it and counts by when the owner signed it (`signed_at`): if the
        owner also cast online or by proxy, the ballot made last counts, whenever it was
        entered (see `GET /votes/{vote_id}/conflicts`). Accepted while the vote is open and,
        for ballots signed before the closing time, until the result is published (the
        counting period: the result is recomputed). After 公示, only as a correction for an
        upheld objection (`POST /objections/{objection_id}/paper-ballots`)."""
        principal = current_principal()
        vote = path_object("vote_id")
        require_committee(principal, vote.compound_id)
        person = paper.find_person(vote, upload.get("person_id"), upload.get("dwelling"))
        photo = upload["photo"]
        cast = paper.enter_paper_ballot(
            vote,
            principal.id,
            person,
            upload["choice"],
            photo.filename or "",
            read_upload(photo),
            upload["signed_at"],
            headers["idempotency_key"],
        )
        db.session.commit()
        record.schedule_sealing(vote.id)
        return cast, 200 if cast.result.replayed else 201


@blp.route("/votes/<int:vote_id>/conflicts")
class VoteConflicts(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ConflictSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, vote_id, pagination_parameters):
        """Owners who cast on more than one channel (online, proxy, paper): each cast and the
        one that counts (the latest)"""
        require_staff(current_principal())
        vote = path_object("vote_id")
        page = SelectPage(paper.conflicts_query(vote), pagination_parameters)
        return paper.conflict_views(vote, page.items)


# --- tally (tally.py; its 公示: notices/) ----------------------------------------------------


NOT_OPENED = {"schema": ErrorSchema, "description": "vote_not_opened: a draft has no tally yet"}
XLSX = {"type": "string", "format": "binary"}


def _close_on_read(vote: Vote) -> None:
    """A vote past its closing time is closed when read (its result stored); the closing side
    effects are enqueued after the commit."""
    if services.close_if_due(vote):
        db.session.commit()
        tasks.enqueue_after_close(vote.id)


@blp.route("/votes/<int:vote_id>/tally")
class VoteTally(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.TallySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    def get(self, vote_id):
        """Live tally (staff): each option by headcount and area, quorum and pass status with
        what is still missing, and a breakdown per building and entrance

        T is the electorate frozen at opening; P counts every ballot (abstaining
        participates); non-voters never count as agreeing. In the breakdown a person counts
        once in each building (and entrance) where they have a dwelling in the vote's scope,
        with the area of their dwellings there: a buyer with dwellings in two buildings
        counts in both, so the buildings' headcounts may add up to more than T_cnt. Once the
        vote has closed (closed here if it is due), this is the result stored at closing.
        """
        require_staff(current_principal())
        vote = path_object("vote_id")
        _close_on_read(vote)
        return tally.committee_tally(vote)


@blp.route("/votes/<int:vote_id>/non-voters")
class VoteNonVoters(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NonVoterQuerySchema, location="query")
    @blp.response(200, schemas.NonVoterSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    @blp.paginate()
    def get(self, query, vote_id, pagination_parameters):
        """Persons who have not voted yet, for door-to-door visits (入户发动) (staff)

        Room labels, owners and area; optionally those with a dwelling in one building or
        entrance. The compound's own committee sees full names and phones (to call them);
        other staff see them masked."""
        principal = current_principal()
        vote = path_object("vote_id")
        tally.require_opened(vote)
        page = SelectPage(tally.non_voters_query(vote, **query), pagination_parameters)
        full_contact = is_committee(principal, vote.compound_id)
        return tally.non_voter_views(vote, page.items, full_contact)


@blp.route("/votes/<int:vote_id>/door-to-door")
class VoteDoorToDoor(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.DoorToDoorQuerySchema, location="query")
    @blp.response(200, schemas.DoorToDoorEntranceSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    @blp.paginate()
    def get(self, query, vote_id, pagination_parameters):
        """The door-to-door sheet (入户发动) (staff): the households still to visit, by
        entrance

        Entrances in natural order (2栋 before 10栋), paginated; each with its progress
        (persons in total, who took part, who is still missing, by headcount and area) and
        its households whose person has not taken part, by floor then room: owners, area,
        and whether a reminder SMS reached them today. The compound's own committee sees
        full names and phones; other staff see them masked."""
        principal = current_principal()
        vote = path_object("vote_id")
        tally.require_opened(vote)
        entrances = tally.door_to_door_entrances(vote, **query)
        pagination_parameters.item_count = len(entrances)
        first = pagination_parameters.first_item
        page = entrances[first : first + pagination_parameters.page_size]
        full_contact = is_committee(principal, vote.compound_id)
        return tally.door_to_door_households(vote, page, full_contact)


@blp.route("/votes/<int:vote_id>/progress")
class VoteProgress(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProgressSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    def get(self, vote_id):
        """Participation progress (residents and staff): P of T by headcount and area

        Until the vote closes only participation, never the running split by choice; after
        it closes, the result (``result``)."""
        vote = path_object("vote_id")
        _close_on_read(vote)
        return tally.progress(vote)


def _xlsx(content: bytes, filename: str):
    # A non-ASCII download_name gets an RFC 5987 ``filename*`` and an ASCII fallback.
    return send_file(
        io.BytesIO(content), mimetype=exports.XLSX_TYPE, as_attachment=True, download_name=filename
    )


@blp.route("/votes/<int:vote_id>/exports/tally.xlsx")
class VoteTallyExport(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, XLSX, content_type=exports.XLSX_TYPE)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    def get(self, vote_id):
        """The tally as an Excel workbook for the archive (档案) (staff): totals, ratios,
        outcome, and a sheet per building and entrance"""
        require_staff(current_principal())
        vote = path_object("vote_id")
        _close_on_read(vote)
        content = exports.tally_workbook(vote)
        return _xlsx(content, f"vote-{vote.id}-tally-表决{vote.id}计票结果.xlsx")


@blp.route("/votes/<int:vote_id>/exports/register.xlsx")
class VoteRegisterExport(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, XLSX, content_type=exports.XLSX_TYPE)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    def get(self, vote_id):
        """The ballot register as an Excel workbook (staff), names masked: every person's
        rooms, area, counted choice, channel, time (Beijing), paper/proxy marks and casts"""
        require_staff(current_principal())
        vote = path_object("vote_id")
        content = exports.register_workbook(vote)
        return _xlsx(content, f"vote-{vote.id}-register-表决{vote.id}投票登记册.xlsx")


@blp.route("/votes/<int:vote_id>/exports/door-to-door.xlsx")
class VoteDoorToDoorExport(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, XLSX, content_type=exports.XLSX_TYPE)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    def get(self, vote_id):
        """The door-to-door sheet as an Excel workbook to print (staff): one A4 sheet per
        entrance with its progress and the households still to visit (room, masked names,
        area, today's SMS) and an empty 走访记录 column"""
        vote = path_object("vote_id")
        content = exports.door_to_door_workbook(vote)
        return _xlsx(content, f"vote-{vote.id}-door-to-door-表决{vote.id}入户发动表.xlsx")


# --- verifiable record (record.py) ---------------------------------------------------------


@public_blp.route("/public/votes/<int:vote_id>/receipts/<receipt:code>")
class PublicReceipt(MethodView):
    @public_blp.response(200, schemas.ReceiptStatusSchema)
    @public_blp.alt_response(404, schema=ErrorSchema, description="no such vote or receipt")
    @public_blp.alt_response(422, schema=ErrorSchema, description="not a receipt code")
    def get(self, vote_id, code):
        """Check a ballot receipt (no sign-in)

        Tells whether the ballot with this receipt is in the vote's record, its entry in the
        vote's hash chain (or that it is recorded and waiting to be sealed), whether a later
        ballot replaced it, whether it is the ballot that counts, and the chain's last entry.
        Nothing about who cast it or how. Each entry's ``hash`` is SHA-256 of
        ``"<parent_hash>|<seq>|<digest>"``; the first entry's parent is SHA-256 of
        ``"participation:vote:<vote_id>"``.
        """
        return record.receipt_status(vote_id, code)


# --- elevator cost plan (costs.py) ---------------------------------------------------------


@blp.record_once
def _init_notifier(state) -> None:
    """The notifier is chosen (and NOTIFIER checked) when the app registers the API."""
    notify.init_app(state.app)


NOT_DRAFT = {"schema": ErrorSchema, "description": "vote_not_draft: the plan is fixed once opened"}


@blp.route("/votes/<int:vote_id>/cost-plan")
class VoteCostPlan(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.StaffCostPlanSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="floor_coefficient_missing / no_cost_weights: the plan does not fit the "
        "frozen electorate (or, for a draft's preview, the current roster)",
    )
    def get(self, vote_id):
        """The cost plan of an elevator vote (staff) and every dwelling's share

        Shares are to the fen and sum exactly to the residents' share (total − subsidy).
        Once opened, of the frozen electorate; for a draft a preview (``preview``: true) from
        the current roster of the scope, computed the same way, so the committee sees each
        household's share before opening. Fields are null when the vote has no plan.
        """
        require_staff(current_principal())
        return costs.plan_view(path_object("vote_id"))

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CostPlanInSchema)
    @blp.response(200, schemas.StaffCostPlanSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_DRAFT)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="cost_plan_not_allowed (not an elevator/rebuild vote on buildings or "
        "entrances), subsidy_exceeds_total, floor_coefficients_invalid, no_cost_weights, "
        "common_parts_vote_invalid",
    )
    def put(self, data, vote_id):
        """Set the cost plan of a draft elevator or rebuilding vote (staff, Art. 283)

        Without ``floor_coefficients`` the residents' share is split by area; with them, by
        coefficient(floor) × area, one coefficient for every floor of the scope.
        """
        current_principal()
        vote = path_object("vote_id")
        costs.set_cost_plan(vote, data)
        db.session.commit()
        return costs.plan_view(vote)

    @blp.doc(security=SECURITY)
    @blp.response(204)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_DRAFT)
    def delete(self, vote_id):
        """Remove the cost plan of a draft vote (staff)"""
        require_staff(current_principal())
        costs.clear_cost_plan(path_object("vote_id"))
        db.session.commit()


@blp.route("/votes/<int:vote_id>/my-share")
class VoteMyShare(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MyShareSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.alt_response(404, schema=ErrorSchema, description="not_found / no_cost_plan")
    def get(self, vote_id):
        """What I pay: the plan and the share of each of my dwellings in the vote (resident)

        Available from the opening (the electorate is frozen then), before voting starts.
        """
        principal = require_resident(current_principal())
        return costs.my_share_view(path_object("vote_id"), principal.id)


@blp.route("/votes/<int:vote_id>/reminders")
class VoteReminders(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ReminderSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate(SelectPage)
    def get(self, vote_id):
        """Reminders sent to the non-voters of a vote (staff), newest first"""
        require_staff(current_principal())
        return tasks.reminders_query(path_object("vote_id"))

    @blp.doc(security=SECURITY)
    @blp.response(202, schemas.ReminderStartedSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="vote_not_accepting: not in its voting period; quiet_hours: between 21:00 "
        "and 08:00 (Asia/Shanghai), no SMS (``errors.send_after``: from when)",
    )
    def post(self, vote_id):
        """Remind the owners who have not voted (staff)

        Every roster owner (with a phone) of a person of the electorate without a counting
        ballot gets an SMS with the vote's title, its closing time and the compound's short
        link, whether they ever signed in or not; owners with an account also get an in-app
        notification. At most one reminder SMS per phone per day in a compound (other votes
        and surveys included: ``skipped_count``), none between 21:00 and 08:00 (a reminder reaching
        21:00 pauses and goes on after 08:00). Sent by a background job (``job_id``), or
        right away when no Redis is configured.
        """
        principal = require_staff(current_principal())
        reminder = tasks.start_reminder(path_object("vote_id"), principal.id)
        db.session.commit()
        job_id = tasks.enqueue_reminder(reminder)
        db.session.refresh(reminder)
        return {"reminder": reminder, "job_id": job_id}


# --- the result as a chart (charts.py) -----------------------------------------------------

PNG = {"type": "string", "format": "binary"}
NO_FONT = {
    "schema": ErrorSchema,
    "description": "chart_font_missing: no font draws Chinese — a broken installation (the "
    "font shipped with the application is missing or damaged and no system CJK font exists)",
}


@blp.route("/votes/<int:vote_id>/charts/result.png")
class VoteResultChart(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, PNG, content_type="image/png")
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    @blp.alt_response(503, **NO_FONT)
    def get(self, vote_id):
        """The tally as a PNG chart (staff): 同意 / 不同意 / 弃权 / 未投票 of the whole scope by
        headcount and by area with the quorum line, 同意 of those who voted with the approval
        line, and per building

        Live while the vote is open; once it has closed (closed here if it is due), the
        result stored at closing (as ``/tally``). With no ballot yet the chart says 暂无数据."""
        vote = path_object("vote_id")
        _close_on_read(vote)
        result = tally.committee_tally(vote)
        return send_file(
            io.BytesIO(charts.vote_chart(result, title=vote.title)), mimetype="image/png"
        )
