"""Places, roster, electorate."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import jwt_required
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
    staff_only,
)
from participation.auth.tokens import current_principal
from participation.common.errors import ErrorSchema, forbidden, not_found
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
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
    @blp.response(200, schemas.DistrictSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """Districts you cover, with their shortest objection period"""
        principal = _staff()
        stmt = select(District).order_by(District.id)
        if not principal.is_admin:
            stmt = stmt.where(District.id.in_(principal.ids_for(Role.DISTRICT)))
        return stmt

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.DistrictInSchema)
    @blp.response(201, schemas.DistrictSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="admin only")
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data):
        """Create a district (admin); ``min_objection_days`` defaults to 3"""
        principal = current_principal()
        if not principal.is_admin:
            raise forbidden("只有系统管理员可以新建区")
        district = services.create_district(data["name"], data["min_objection_days"])
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

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NameSchema)
    @blp.response(201, schemas.PlaceSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data, district_id):
        """Create a street in a district"""
        require_cover(current_principal(), Role.DISTRICT, district_id)
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

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NameSchema)
    @blp.response(201, schemas.PlaceSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data, street_id):
        """Create a community in a street"""
        require_cover(current_principal(), Role.STREET, street_id)
        community = services.create_community(path_object("street_id"), data["name"])
        db.session.commit()
        return community


@blp.route("/communities/<int:community_id>/compounds")
class CommunityCompounds(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CompoundInSchema)
    @blp.response(201, schemas.CompoundSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="name taken")
    def post(self, data, community_id):
        """Create a compound in a community"""
        require_cover(current_principal(), Role.COMMUNITY, community_id)
        compound = services.create_compound(path_object("community_id"), **data)
        db.session.commit()
        return compound


# --- compounds ----------------------------------------------------------------------------


@blp.route("/compounds")
class Compounds(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CompoundQuerySchema, location="query")
    @blp.response(200, schemas.CompoundSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """Compounds in your scope"""
        principal = current_principal()
        stmt = (
            select(Compound)
            .order_by(Compound.id)
            .options(
                selectinload(Compound.community)
                .selectinload(Community.street)
                .selectinload(Street.district)
            )
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
        return services.public_compound(compound)


# --- roster import (importer.py) -----------------------------------------------------------

import io  # noqa: E402

from flask import current_app, send_file, url_for  # noqa: E402

from participation.auth.scoping import get_scoped, path_resolver  # noqa: E402
from participation.common import jobs  # noqa: E402
from participation.common.errors import ApiError  # noqa: E402
from participation.roster import import_schemas, importer  # noqa: E402
from participation.roster.models import ImportStatus, RosterImport  # noqa: E402
from participation.roster.tasks import enqueue_import  # noqa: E402

LOCATION_HEADER = {"Location": {"description": "the import", "schema": {"type": "string"}}}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@path_resolver("import_id")
def _roster_import(import_id: int, principal) -> RosterImport:
    return get_scoped(RosterImport, import_id, principal)


@blp.route("/compounds/<int:compound_id>/roster-imports")
class CompoundRosterImports(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, import_schemas.RosterImportSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate(SelectPage)
    def get(self, compound_id):
        """Roster imports of a compound, newest first"""
        _staff()
        compound = path_object("compound_id")
        return (
            select(RosterImport)
            .where(RosterImport.compound_id == compound.id)
            .order_by(RosterImport.id.desc())
        )

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(import_schemas.RosterUploadSchema, location="files")
    @blp.response(
        200,
        import_schemas.RosterImportDetailSchema,
        description="Small file, imported in this request: status done, with the report",
    )
    @blp.alt_response(
        202,
        schema=import_schemas.RosterImportDetailSchema,
        description="Large file, queued: follow the Location header for progress and report",
        headers=LOCATION_HEADER,
        success=True,
    )
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(413, schema=ErrorSchema, description="file_too_large")
    @blp.alt_response(415, schema=ErrorSchema, description="unsupported_file_type: not .csv/.xlsx")
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="queue_unavailable: a large file must be queued and the job queue is "
        "unreachable; nothing written, retry after Retry-After seconds",
    )
    @blp.alt_response(
        422,
        schema=import_schemas.RosterRejectedSchema,
        description="roster_invalid: rows with problems, nothing written; errors.rows lists "
        "them all and Location names the rejected import. Also unreadable_file (damaged "
        "file or unknown encoding) and validation_error (no file).",
        headers=LOCATION_HEADER,
    )
    def post(self, upload, compound_id):
        """Import a roster file (房产名册)

        CSV (UTF-8 with or without BOM, or GB18030) or XLSX (first sheet), with the header
        row of the template (`GET /roster-template.csv`). Every row is checked first; if any
        has a problem, nothing is written and every problem is reported with its line and
        column. Otherwise dwellings and owners are created or updated in place; dwellings
        of the compound that are not in the file are listed in the report and kept.
        With `dry_run=true` nothing is written: the report says what would change.
        A row that would replace a stored area by one of a lower source (登记 > 实测 > 合同)
        is a problem of that row, unless `confirm_area_downgrade=true` with an
        `area_downgrade_reason`: then it is applied and the report lists each such dwelling
        and keeps the reason. Resident accounts follow the roster: an owner whose phone has
        signed in before is linked at once, a removed owner or a changed phone is unlinked
        (the report's `account_links`).
        Files of up to `IMPORT_INLINE_MAX_ROWS` rows are imported in the request (200 or
        422); larger ones run in the background (202), or are refused with 503 while the job
        queue is unreachable.
        """
        principal = current_principal()
        compound = path_object("compound_id")
        filename, content = _uploaded_file(upload["file"])
        rows = importer.count_rows(filename, content)
        if rows > current_app.config["IMPORT_INLINE_MAX_ROWS"]:
            _require_queue()  # before anything is written
            roster_import = importer.new_import(
                compound.id,
                filename,
                content,
                upload["dry_run"],
                principal.id,
                rows,
                area_downgrade_reason=upload["area_downgrade_reason"],
            )
            db.session.commit()
            enqueue_import(roster_import)
            return roster_import, 202, {"Location": _import_url(roster_import)}
        roster_import = importer.import_roster_file(
            compound.id,
            filename,
            content,
            upload["dry_run"],
            principal.id,
            upload["area_downgrade_reason"],
        )
        db.session.commit()
        if roster_import.status is ImportStatus.REJECTED:
            raise ApiError(
                422,
                "roster_invalid",
                roster_import.report["message"],
                {"rows": roster_import.report["problems"]},
                headers={"Location": _import_url(roster_import)},
            )
        return roster_import


QUEUE_RETRY_AFTER = 30  # seconds, in the Retry-After of a 503 queue_unavailable


def _require_queue() -> None:
    """A large import must be queued: with Redis unreachable, 503 before anything is written."""
    try:
        jobs.require_queue()
    except jobs.QueueUnavailable as error:
        raise ApiError(
            503,
            "queue_unavailable",
            "后台任务服务暂时不可用，大文件暂时无法导入，请稍后重试",
            headers={"Retry-After": str(QUEUE_RETRY_AFTER)},
        ) from error


@blp.route("/roster-imports/<int:import_id>")
class RosterImportDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, import_schemas.RosterImportDetailSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, import_id):
        """A roster import: status, progress (rows_done of rows_total) and report"""
        _staff()
        return path_object("import_id")


@blp.route("/roster-template.csv")
class RosterTemplateCsv(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="text/csv")
    @blp.alt_response(403, schema=ErrorSchema, description="staff only")
    def get(self):
        """Roster template: the header row and one example row (UTF-8 CSV with BOM)"""
        _staff()
        return _download(importer.template_csv(), "text/csv; charset=utf-8", "csv")


@blp.route("/roster-template.xlsx")
class RosterTemplateXlsx(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX_TYPE)
    @blp.alt_response(403, schema=ErrorSchema, description="staff only")
    def get(self):
        """Roster template as an Excel workbook (room, phone and ID columns are text)"""
        _staff()
        return _download(importer.template_xlsx(), XLSX_TYPE, "xlsx")


def _uploaded_file(upload) -> tuple[str, bytes]:
    limit = current_app.config["IMPORT_MAX_BYTES"]
    content = upload.read(limit + 1)
    if len(content) > limit:
        size = f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit} 字节"
        raise ApiError(413, "file_too_large", f"文件过大：名册文件不能超过 {size}")
    return upload.filename or "", content


def _import_url(roster_import: RosterImport) -> str:
    return url_for("roster.RosterImportDetail", import_id=roster_import.id)


def _download(content: bytes, mimetype: str, extension: str):
    return send_file(
        io.BytesIO(content),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"房产名册模板.{extension}",
    )
