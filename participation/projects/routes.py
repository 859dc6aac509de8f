"""The projects API: a compound's projects, their eight steps (edit, complete through the
gate, reopen), links to the compound's campaigns, notices and tickets, documents, history;
the compound's self-governing organisation.

Every ``<int:project_id>`` / ``<int:project_step_id>`` is resolved through the caller's scope
before the view runs (``projects.services``): staff of another compound, and residents, get
404.
"""

from __future__ import annotations

import io

from flask import send_file
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from sqlalchemy.exc import IntegrityError

from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    is_committee,
    path_object,
    resident_only,
    staff_only,
)
from participation.auth.tokens import current_principal
from participation.common.errors import ErrorSchema, not_found
from participation.common.pagination import RowsPage, SelectPage
from participation.common.parsing import Blueprint
from participation.common.schemas import IdempotencyHeaderSchema
from participation.common.sql import db_now
from participation.extensions import db
from participation.projects import consultation as consultation_service
from participation.projects import (
    evaluation,
    funding,
    management,
    overview,
    progress,
    schemas,
    services,
    tasks,
)
from participation.projects.models import ArchiveStatus
from participation.surveys.exports import XLSX_TYPE

blp = Blueprint("projects", __name__, description="Renovation projects: the eight steps")
public_blp = Blueprint("public_projects", __name__, description="Public progress of projects")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only"}
GATE_REFUSED = {
    "schema": ErrorSchema,
    "description": "step_already_done; step_out_of_order (the step before is not done); "
    "organisation_missing (成立组织); consent_not_final (申请项目: a linked consent survey that "
    "passed 2/3 with its 公示 final); menu_result_missing, consultation_not_published (编制方案); "
    "management_missing (项目接管); acceptance_not_done (绩效评估)",
}


@blp.route("/compounds/<int:compound_id>/projects")
class CompoundProjects(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProjectSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, compound_id, pagination_parameters):
        """Projects of a compound, newest year first (staff in scope)"""
        page = SelectPage(
            services.compound_projects(path_object("compound_id")), pagination_parameters
        )
        return [services.project_view(project) for project in page.items]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ProjectInSchema)
    @blp.response(201, schemas.ProjectDetailSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="project_exists (for that year)")
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    def post(self, data, compound_id):
        """Create the compound's project of a programme year, its eight steps not started
        (staff in scope)"""
        project = services.create_project(path_object("compound_id"), data, current_principal().id)
        db.session.commit()
        return services.project_view(project, detail=True), 201


@blp.route("/projects/<int:project_id>")
class ProjectDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProjectDetailSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, project_id):
        """A project with its steps, links, documents and what each step's gate says now"""
        return services.project_view(path_object("project_id"), detail=True)


@blp.route("/projects/<int:project_id>/events")
class ProjectEvents(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProjectEventSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, project_id, pagination_parameters):
        """The project's history, oldest first: every move of a step, who (``staff_name``),
        when and why"""
        events = SelectPage(
            services.events_query(path_object("project_id")), pagination_parameters
        ).items
        return services.event_views(events)


@blp.route("/projects/<int:project_id>/links")
class ProjectLinks(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ProjectLinkInSchema)
    @blp.response(201, schemas.ProjectLinkSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; link_target_invalid (not of the project's compound)",
    )
    def post(self, data, project_id):
        """Link a vote, survey, notice or ticket of the compound to the project"""
        link = services.add_link(
            path_object("project_id"), data["kind"], data["target_id"], current_principal().id
        )
        db.session.commit()
        return link, 201


@blp.route("/projects/<int:project_id>/documents")
class ProjectDocuments(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ProjectDocumentInSchema)
    @blp.response(201, schemas.ProjectDocumentSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error; step_not_in_project")
    def post(self, data, project_id):
        """Record a document or a before/after photo of the project (name, address, SHA-256)"""
        document = services.add_document(path_object("project_id"), data, current_principal().id)
        db.session.commit()
        return document, 201


@blp.route("/project-steps/<int:project_step_id>")
class StepDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProjectStepSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, project_step_id):
        """One step of a project"""
        return services.step_view(path_object("project_step_id"))

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ProjectStepPatchSchema)
    @blp.response(200, schemas.ProjectStepSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="step_done (reopen it first)")
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error; dates_out_of_order")
    def patch(self, data, project_step_id):
        """Edit a step's dates, responsible organisation and note; start it"""
        step = services.update_step(path_object("project_step_id"), data, current_principal().id)
        db.session.commit()
        return services.step_view(step)


@blp.route("/project-steps/<int:project_step_id>/complete")
class StepComplete(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.StepCompleteSchema)
    @blp.response(200, schemas.ProjectStepSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **GATE_REFUSED)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error; dates_out_of_order")
    def post(self, data, project_step_id):
        """Complete a step: the step before must be done and the step's own condition met;
        otherwise 409 and nothing is written"""
        step = services.complete_step(
            path_object("project_step_id"),
            current_principal().id,
            data["reason"],
            data.get("actual_end"),
        )
        db.session.commit()
        return services.step_view(step)


@blp.route("/project-steps/<int:project_step_id>/reopen")
class StepReopen(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.StepReopenSchema)
    @blp.response(200, schemas.ProjectStepSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="step_not_done")
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error (reason required)")
    def post(self, data, project_step_id):
        """Reopen a done step, with the reason"""
        step = services.reopen_step(
            path_object("project_step_id"), current_principal().id, data["reason"]
        )
        db.session.commit()
        return services.step_view(step)


@blp.route("/compounds/<int:compound_id>/organisation")
class CompoundOrganisation(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.OrganisationSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, schema=ErrorSchema, description="not_found (none recorded yet)")
    def get(self, compound_id):
        """The compound's self-governing organisation (成立组织)"""
        organisation = services.organisation_of(compound_id)
        if organisation is None:
            raise not_found("本小区尚未登记自治组织")
        return organisation

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.OrganisationInSchema)
    @blp.response(200, schemas.OrganisationSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    def put(self, data, compound_id):
        """Record or correct the compound's self-governing organisation: 业委会, 自管小组,
        居民议事会 …"""
        organisation = services.set_organisation(
            path_object("compound_id"), data, current_principal().id
        )
        db.session.commit()
        return organisation


@blp.route("/compounds/<int:compound_id>/organisation/members")
class OrganisationMembers(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MemberSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, compound_id):
        """Members of the compound's self-governing organisation with their roles (names and
        phones in full to the compound's committee only)"""
        return services.member_views(path_object("compound_id"), current_principal())

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.MemberInSchema)
    @blp.response(201, schemas.MemberAddedSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only; outside_scope")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="organisation_missing (record it first); member_exists (that phone)",
    )
    @blp.alt_response(
        422, schema=ErrorSchema, description="validation_error; phone_required (主任/副主任/秘书)"
    )
    def post(self, data, compound_id):
        """Add a member. 主任, 副主任 and 秘书 get the compound's committee role: the staff
        account with their phone is linked (the role added), or one is created and its first
        password shown once"""
        compound = path_object("compound_id")
        principal = current_principal()
        member, account = services.add_member(compound, data, principal)
        db.session.commit()
        full = is_committee(principal, compound.id)
        return {"member": services.member_view(member, full), "account": account or None}, 201


# 方案征求意见 (consultation.py) ---------------------------------------------------------------


@blp.route("/projects/<int:project_id>/plan-consultation")
class ProjectConsultation(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ConsultationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="not_found (none published yet)")
    def get(self, project_id):
        """The project's design plan put to the residents, as staff see it (counts so far)"""
        consultation = consultation_service.get_project_consultation(path_object("project_id"))
        return consultation_service.consultation_view(consultation, current_principal())

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ConsultationInSchema)
    @blp.response(201, schemas.ConsultationSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="consultation_exists")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; closes_before_opens; residents_part_exceeds_cost",
    )
    def post(self, data, project_id):
        """Publish the design plan for comment: its items with costs and residents' part,
        documents and drawings, the period; announced on the compound's board"""
        consultation = consultation_service.publish_plan(
            path_object("project_id"), data, current_principal().id
        )
        db.session.commit()
        return consultation_service.consultation_view(consultation, current_principal()), 201


@blp.route("/plan-consultations/<int:plan_consultation_id>")
class ConsultationDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ConsultationSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, plan_consultation_id):
        """The design plan: staff in scope see the support and opposition so far; a resident
        of the compound sees their household's share and their own feedback"""
        return consultation_service.consultation_view(
            path_object("plan_consultation_id"), current_principal()
        )


@blp.route("/plan-consultations/<int:plan_consultation_id>/feedback")
class ConsultationFeedback(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.FeedbackInSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(200, schemas.MyFeedbackSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409, schema=ErrorSchema, description="consultation_not_open (outside the period)"
    )
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error; item_not_in_plan")
    def post(self, data, headers, plan_consultation_id):
        """Support or oppose items (the latest stance counts) and comment, during the
        period (a resident of the compound); a retry with the same Idempotency-Key stores
        nothing again and answers what is stored"""
        consultation = path_object("plan_consultation_id")
        account_id = current_principal().id
        key = headers["idempotency_key"]
        try:
            mine = consultation_service.submit_feedback(consultation, account_id, data, key)
            db.session.commit()
        except IntegrityError:  # the same submission, stored by a concurrent retry
            db.session.rollback()
            if not consultation_service.submitted_with_key(consultation, account_id, key):
                raise
            mine = consultation_service.my_feedback(consultation, account_id)
        return mine


@blp.route("/plan-consultations/<int:plan_consultation_id>/shares")
class ConsultationShares(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.HouseholdShareSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="no_households")
    def get(self, plan_consultation_id):
        """Each household's share of the residents' part of the current plan, to the fen, by
        area (the shares add up exactly)"""
        return consultation_service.household_shares(path_object("plan_consultation_id"))


@blp.route("/plan-consultations/<int:plan_consultation_id>/comments")
class ConsultationComments(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.PlanCommentSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, plan_consultation_id, pagination_parameters):
        """The residents' comments with their handling, oldest first (staff)"""
        stmt = consultation_service.comments_query(path_object("plan_consultation_id"))
        page = SelectPage(stmt, pagination_parameters)
        return [consultation_service.comment_view(c) for c in page.items]


@blp.route("/plan-comments/<int:plan_comment_id>/handling")
class CommentHandling(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.HandlingInSchema)
    @blp.response(200, schemas.PlanCommentSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="summary_published")
    @blp.alt_response(
        422, schema=ErrorSchema, description="validation_error; reason_required (partly/rejected)"
    )
    def post(self, data, plan_comment_id):
        """Record how a comment was handled: adopted, partly adopted or rejected (with the
        reason unless adopted)"""
        comment = consultation_service.handle_comment(
            path_object("plan_comment_id"), data["handling"], data["reason"], current_principal().id
        )
        db.session.commit()
        return consultation_service.comment_view(comment)


@blp.route("/plan-consultations/<int:plan_consultation_id>/summary")
class ConsultationSummary(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ConsultationSummarySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, plan_consultation_id):
        """The summary as the notice shows it (or will): support and opposition per item,
        the comments with their handling, rooms at most"""
        return consultation_service.summary(path_object("plan_consultation_id"))

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ConsultationSummarySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="summary_published; consultation_still_open; comments_unhandled",
    )
    def post(self, plan_consultation_id):
        """Publish the summary as a public notice of the compound's board (after the period,
        every comment handled)"""
        consultation = consultation_service.publish_summary(
            path_object("plan_consultation_id"), current_principal().id
        )
        db.session.commit()
        return consultation_service.summary(consultation)


@blp.route("/plan-consultations/<int:plan_consultation_id>/revision")
class ConsultationRevision(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.RevisionInSchema)
    @blp.response(201, schemas.PlanReviewSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="summary_not_published")
    @blp.alt_response(
        422, schema=ErrorSchema, description="validation_error; residents_part_exceeds_cost"
    )
    def post(self, data, plan_consultation_id):
        """Record the revised plan (its items replace the current ones) and its review
        (方案审查: reviewer, date, conclusion, documents), published as a notice"""
        review = consultation_service.record_revision(
            path_object("plan_consultation_id"), data, current_principal().id
        )
        db.session.commit()
        return review, 201


# Funding (funding.py) -------------------------------------------------------------------------


@blp.route("/projects/<int:project_id>/funding")
class ProjectFundingView(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.FundingSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, project_id):
        """The plan's money by source against its total; 居民出资 due, collected, outstanding"""
        return funding.funding_view(path_object("project_id"))

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.FundingInSchema)
    @blp.response(200, schemas.FundingSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="plan_missing")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; duplicate_source; funding_not_reconciled (the sources "
        "do not add up to the plan's total: the difference in the message); "
        "residents_part_mismatch",
    )
    def put(self, data, project_id):
        """Set the plan's money by source (中央/省补助, 地方财政, 居民出资, 维修资金, 公共收益,
        社会资本, 专业经营单位), to the fen; it must add up exactly to the plan's total"""
        project = path_object("project_id")
        funding.set_funding(project, data["sources"], current_principal().id)
        db.session.commit()
        return funding.funding_view(project)


@blp.route("/projects/<int:project_id>/collections")
class ProjectCollections(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.CollectionInSchema)
    @blp.response(201, schemas.CollectionSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; dwelling_not_in_compound; amount_not_positive",
    )
    def post(self, data, project_id):
        """Record a household's payment towards its share of 居民出资"""
        collection = funding.record_collection(
            path_object("project_id"), data, current_principal().id
        )
        db.session.commit()
        return collection, 201


@blp.route("/projects/<int:project_id>/households")
class ProjectHouseholds(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.HouseholdDueSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="plan_missing; no_households")
    def get(self, project_id):
        """Each household's share of 居民出资, what it has paid and what is outstanding"""
        return funding.households_view(path_object("project_id"))


# 项目接管 (management.py) -----------------------------------------------------------------------


@blp.route("/projects/<int:project_id>/management")
class ProjectManagementView(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ManagementSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="not_found (none recorded yet)")
    def get(self, project_id):
        """The management mode after the works and the result of the campaign that chose it"""
        recorded = management.management_of(path_object("project_id"))
        if recorded is None:
            raise not_found("尚未登记改造后的管理方式")
        return management.management_view(recorded)

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ManagementInSchema)
    @blp.response(200, schemas.ManagementSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="campaign_not_final (公示 not over); management_vote_failed; "
        "no_management_answers; management_tie; mode_not_chosen (the owners chose another)",
    )
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error; campaign_invalid")
    def put(self, data, project_id):
        """Record the management mode (专业物业, 社区物业服务中心, 自治管理) the owners chose in
        a vote or survey of the compound whose result is final; its result is kept as it is"""
        recorded = management.record_management(
            path_object("project_id"), data, current_principal().id
        )
        db.session.commit()
        return management.management_view(recorded)


# Public progress (progress.py) ------------------------------------------------------------------


@public_blp.route("/public/compounds/<int:compound_id>/project-progress")
class PublicProgress(MethodView):
    @public_blp.response(200, schemas.ProjectProgressSchema)
    @public_blp.alt_response(404, schema=ErrorSchema, description="not_found (no project)")
    def get(self, compound_id):
        """The progress of the compound's latest project (no sign-in): the eight steps with
        their dates and status, photos before and after, the money by source. No personal
        data"""
        return progress.progress(progress.latest_project(compound_id))


@blp.route("/projects/<int:project_id>/progress-notice")
class ProgressNotice(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProjectProgressNoticeSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def post(self, project_id):
        """Post the project's progress as a public notice of the compound's board (the same
        notice, brought up to date, when posted again)"""
        notice = progress.post_progress_notice(path_object("project_id"), current_principal().id)
        db.session.commit()
        return {"notice_id": notice.id, "title": notice.title, "body": notice.body}


# District view (overview.py) --------------------------------------------------------------------

BINARY = {"type": "string", "format": "binary"}
BAD_SORT = {"schema": ErrorSchema, "description": "validation_error: sort, order"}


def _overview_rows(query) -> list[dict]:
    return overview.all_rows(current_principal(), db_now(), query["sort"], query["order"] == "desc")


@blp.route("/project-overview")
class ProjectOverview(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.OverviewQuerySchema, location="query")
    @blp.response(200, schemas.OverviewRowSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(422, **BAD_SORT)
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Every project in your scope (compound, community, street or district) with its
        current step, consent rate, menu items adopted, complaints open and overdue and
        satisfaction rate; ``sort`` by one of them, ``order`` asc or desc (staff). The
        complaints are the project's: linked to it, or filed in the compound during its works
        period (from the day 项目实施 started to the end of the day 项目验收 was done, or
        until now)"""
        stmt = overview.overview_query(
            current_principal(), db_now(), query["sort"], query["order"] == "desc"
        )
        return [overview.row_view(row) for row in RowsPage(stmt, pagination_parameters).items]


@blp.route("/project-overview.xlsx")
class ProjectOverviewExport(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.OverviewQuerySchema, location="query")
    @blp.response(200, BINARY, content_type=XLSX_TYPE)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(422, **BAD_SORT)
    def get(self, query):
        """The district view as an Excel workbook, every row in the order asked (staff)"""
        content = overview.overview_workbook(_overview_rows(query))
        return send_file(
            io.BytesIO(content),
            mimetype=XLSX_TYPE,
            as_attachment=True,
            download_name="project-overview-改造项目一览.xlsx",
        )


@blp.route("/project-overview/chart.png")
class ProjectOverviewChart(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, BINARY, content_type="image/png")
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(
        503, schema=ErrorSchema, description="chart_font_missing: no font draws Chinese"
    )
    def get(self):
        """How many projects of your scope are at each step, as a PNG bar chart (staff)"""
        rows = _overview_rows({"sort": "compound", "order": "asc"})
        return send_file(io.BytesIO(overview.overview_chart(rows)), mimetype="image/png")


# 绩效评估 (evaluation.py) -------------------------------------------------------------------------


@blp.route("/projects/<int:project_id>/evaluation")
class ProjectEvaluation(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.EvaluationSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, project_id):
        """The evaluation report (绩效评估): satisfaction by dimension, building and item,
        complaint figures, each step's planned and actual dates. Complaints and suggestions
        are the project's: those linked to it, and those of the compound filed during its
        works period (from the day 项目实施 started to the end of the day 项目验收 was done,
        or until now)"""
        return evaluation.report(path_object("project_id"))


@blp.route("/projects/<int:project_id>/evaluation.xlsx")
class ProjectEvaluationExport(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, BINARY, content_type=XLSX_TYPE)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, project_id):
        """The evaluation report as an Excel workbook: 计划与实际, 投诉建议, and the
        satisfaction sheets (分维度, 分楼栋, 分改造项目)"""
        project = path_object("project_id")
        content = evaluation.report_workbook(evaluation.report(project))
        return send_file(
            io.BytesIO(content),
            mimetype=XLSX_TYPE,
            as_attachment=True,
            download_name=f"project-{project.id}-evaluation-绩效评估.xlsx",
        )


# 档案管理 (tasks.py) ---------------------------------------------------------------------------

ZIP_DOC = {
    "200": {
        "description": "zip",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@blp.route("/projects/<int:project_id>/archives")
class ProjectArchives(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(202, schemas.ArchiveSchema)
    @blp.alt_response(
        200, schema=schemas.ArchiveSchema, success=True, description="one is under way"
    )
    @blp.alt_response(404, **NOT_FOUND)
    def post(self, project_id):
        """Build the project's archive (档案) as one .zip in the background: every notice,
        campaign result, register, cost plan, the plan consultation's summary, each vote's
        record with its chain and verification report, and manifest.json with the SHA-256
        of every file. Asking again while one is under way returns that one"""
        archive, created = tasks.create_archive(path_object("project_id"), current_principal().id)
        db.session.commit()
        if not created:
            return archive, 200
        tasks.enqueue_archive(archive)
        db.session.refresh(archive)
        return archive, 202, {"Location": f"/api/v1/project-archives/{archive.id}"}


@blp.route("/project-archives/<int:project_archive_id>")
class ArchiveDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ArchiveSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, project_archive_id):
        """An archive: status and progress (``done`` of ``total`` files)"""
        return path_object("project_archive_id")


@blp.route("/project-archives/<int:project_archive_id>/download")
class ArchiveDownload(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY, responses=ZIP_DOC)
    @blp.response(200)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409, schema=ErrorSchema, description="archive_not_done (still being built); archive_failed"
    )
    def get(self, project_archive_id):
        """The archive's .zip"""
        archive = path_object("project_archive_id")
        path = tasks.archive_path(archive)
        if archive.status is not ArchiveStatus.DONE or not path.exists():
            raise tasks.not_done(archive)
        return send_file(
            path, mimetype="application/zip", as_attachment=True, download_name=archive.filename
        )
