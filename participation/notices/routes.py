"""The notice board (公示栏).

公示 (publication): one set of views serves votes and surveys, each on the paths it has
always had (``/votes/{id}/publish``, ``/surveys/{id}/publish``, …), made by
:func:`_publication_views` for each kind of campaign in ``publication``. Every path id is
resolved through the caller's scope before the view runs: ``vote_id`` and ``survey_id`` by
their packages, ``objection_id`` and ``survey_objection_id`` by ``publication``.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import jwt_required

from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    path_object,
    require_committee,
    require_staff,
    staff_only,
)
from participation.auth.tokens import current_principal
from participation.common.errors import ErrorSchema
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
from participation.extensions import db
from participation.notices import publication, schemas
from participation.notices.publication import SURVEYS, VOTES, CampaignKind

blp = Blueprint(
    "notices", __name__, description="公示: results on public notice, objections, final results"
)
public_blp = Blueprint("public_notices", __name__, description="Public notices of results (公示)")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
COMMITTEE_ONLY = {"schema": ErrorSchema, "description": "committee_only"}
STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only"}


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
            principal = current_principal()
            objection = path_object(objection_id)
            objected = publication.campaign_of(kind, objection)
            require_committee(principal, objected.compound_id)
            publication.resolve_objection(objection, data["resolution"].strip(), principal.id)
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
