"""Places, roster, electorate."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.auth.models import Role
from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    in_scope,
    path_object,
    place_covered,
    require_cover,
    require_staff,
)
from participation.auth.tokens import current_principal
from participation.common.errors import ErrorSchema, forbidden, not_found
from participation.common.pagination import SelectPage
from participation.extensions import db
from participation.roster import schemas, services
from participation.roster.electorate import Scope
from participation.roster.models import Community, Compound, District, Street

blp = Blueprint("roster", __name__, description="Places, roster and electorate (staff)")
public_blp = Blueprint("public", __name__, description="Public pages behind a notice-board QR code")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}


def _staff():
    return require_staff(current_principal())


# --- places -------------------------------------------------------------------------------


@blp.route("/districts")
class Districts(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.PlaceSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """Districts you cover"""
        principal = _staff()
        stmt = select(District).order_by(District.id)
        if not principal.is_admin:
            stmt = stmt.where(District.id.in_(principal.ids_for(Role.DISTRICT)))
        return stmt

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NameSchema)
    @blp.response(201, schemas.PlaceSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="admin only")
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data):
        """Create a district (admin)"""
        principal = _staff()
        if not principal.is_admin:
            raise forbidden("只有系统管理员可以新建区")
        district = services.create_district(data["name"])
        db.session.commit()
        return district


def _children(model, parent_column, parent_id: int):
    return select(model).where(parent_column == parent_id).order_by(model.id)


@blp.route("/districts/<int:district_id>/streets")
class DistrictStreets(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.PlaceSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate(SelectPage)
    def get(self, district_id):
        """Streets of a district"""
        principal = _staff()
        stmt = _children(Street, Street.district_id, district_id)
        if principal.is_admin or district_id in principal.ids_for(Role.DISTRICT):
            return stmt
        return stmt.where(Street.id.in_(principal.ids_for(Role.STREET)))

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NameSchema)
    @blp.response(201, schemas.PlaceSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data, district_id):
        """Create a street in a district"""
        require_cover(_staff(), Role.DISTRICT, district_id)
        street = services.create_street(path_object("district_id"), data["name"])
        db.session.commit()
        return street


@blp.route("/streets/<int:street_id>/communities")
class StreetCommunities(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.PlaceSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate(SelectPage)
    def get(self, street_id):
        """Communities of a street"""
        principal = _staff()
        stmt = _children(Community, Community.street_id, street_id)
        if place_covered(principal, Role.STREET, street_id):
            return stmt
        return stmt.where(Community.id.in_(principal.ids_for(Role.COMMUNITY)))

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NameSchema)
    @blp.response(201, schemas.PlaceSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data, street_id):
        """Create a community in a street"""
        require_cover(_staff(), Role.STREET, street_id)
        community = services.create_community(path_object("street_id"), data["name"])
        db.session.commit()
        return community


@blp.route("/communities/<int:community_id>/compounds")
class CommunityCompounds(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CompoundInSchema)
    @blp.response(201, schemas.CompoundSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data, community_id):
        """Create a compound in a community"""
        require_cover(_staff(), Role.COMMUNITY, community_id)
        compound = services.create_compound(path_object("community_id"), **data)
        db.session.commit()
        return compound


# --- compounds ----------------------------------------------------------------------------


@blp.route("/compounds")
class Compounds(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CompoundQuerySchema, location="query")
    @blp.response(200, schemas.CompoundSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """Compounds in your scope"""
        principal = _staff()
        stmt = select(Compound).order_by(Compound.id).options(
            selectinload(Compound.community)
            .selectinload(Community.street)
            .selectinload(Street.district)
        )
        if "community_id" in query:
            stmt = stmt.where(Compound.community_id == query["community_id"])
        return in_scope(stmt, Compound.id, principal)


@blp.route("/compounds/<int:compound_id>")
class CompoundDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.CompoundDetailSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """A compound with its roster counts"""
        return services.compound_detail(path_object("compound_id"))

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CompoundPatchSchema)
    @blp.response(200, schemas.CompoundSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def patch(self, data, compound_id):
        """Rename a compound or change its address"""
        compound = services.update_compound(path_object("compound_id"), data)
        db.session.commit()
        return compound


@blp.route("/compounds/<int:compound_id>/buildings")
class CompoundBuildings(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.BuildingSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """Buildings and entrances with their dwelling counts"""
        return services.buildings_summary(path_object("compound_id"))


@blp.route("/compounds/<int:compound_id>/dwellings")
class CompoundDwellings(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.DwellingQuerySchema, location="query")
    @blp.response(200, schemas.DwellingSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, query, compound_id, pagination_parameters):
        """Dwellings (专有部分) of a compound; owner names masked"""
        stmt = services.dwellings_query(path_object("compound_id"), **query)
        page = SelectPage(stmt, pagination_parameters)
        return [services.dwelling_view(d) for d in page.items]


@blp.route("/compounds/<int:compound_id>/owners")
class CompoundOwners(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.OwnerSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, compound_id, pagination_parameters):
        """Owners; full name and phone only for the compound's own committee"""
        compound = path_object("compound_id")
        full = services.sees_contact_data(current_principal(), compound)
        page = SelectPage(services.owners_query(compound), pagination_parameters)
        return [services.owner_view(owner, full) for owner in page.items]


@blp.route("/compounds/<int:compound_id>/electorate")
class CompoundElectorate(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ScopeQuerySchema, location="query")
    @blp.response(200, schemas.ElectorateSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="building or entrance not in compound")
    def get(self, query, compound_id):
        """T_cnt and T_area of a scope: the whole compound, some buildings or entrances"""
        scope = Scope(
            compound_id=compound_id,
            building_ids=tuple(query["building_ids"]),
            entrance_ids=tuple(query["entrance_ids"]),
        )
        return services.electorate_summary(scope).as_dict()


# --- public -------------------------------------------------------------------------------


@public_blp.route("/public/compounds/<int:compound_id>")
class PublicCompound(MethodView):
    @public_blp.response(200, schemas.PublicCompoundSchema)
    @public_blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """What the notice-board QR code shows: the compound and its buildings, no personal data"""
        compound = db.session.get(Compound, compound_id)
        if compound is None:
            raise not_found()
        return {
            "id": compound.id,
            "name": compound.name,
            "address": compound.address,
            "buildings": services.buildings_summary(compound),
        }


# --- roster import (importer.py) -----------------------------------------------------------
