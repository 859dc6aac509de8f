"""Surveys: questionnaires, the consent gate, the menu of renovation items, satisfaction.

Every ``<int:survey_id>`` is resolved through the caller's scope before the view runs
(``surveys.services.get_survey``).
"""

from __future__ import annotations

import io

from flask import send_file
from flask.views import MethodView
from flask_jwt_extended import jwt_required

from participation.auth.models import Role
from participation.auth.scoping import (
    PUBLIC_BLUEPRINTS,
    is_committee,
    path_object,
    require_cover,
    require_resident,
    require_staff,
    resident_only,
    resolved_in_view,
    staff_only,
)
from participation.auth.tokens import current_principal, session_checked_in_view
from participation.common.errors import ErrorSchema, conflict
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
from participation.common.schemas import IdempotencyHeaderSchema
from participation.common.types import utcnow
from participation.extensions import db
from participation.surveys import charts, consent, doors, menu, schemas, services, tasks
from participation.surveys.exports import XLSX_TYPE, satisfaction_workbook
from participation.surveys.models import Survey, SurveyKind
from participation.surveys.satisfaction import (
    comment_views,
    comments_query,
    public_survey,
    satisfaction_result,
)

blp = Blueprint("surveys", __name__, description="Surveys: consent, menu, satisfaction")
public_blp = Blueprint("public_surveys", __name__, description="Public survey charts")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]


# --- questionnaires and answers (services.py) ----------------------------------------------

NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only"}
DRAFT_INVALID = {
    "schema": ErrorSchema,
    "description": "validation_error; closes_before_opens; closes_in_past; scope_invalid (a "
    "building or entrance not in the compound); field_not_for_kind; menu_items_range; "
    "adoption_threshold_invalid; consent_needs_owners; consent_not_anonymous; "
    "questions_invalid (a consent survey needs exactly one consent question, a menu survey at "
    "most one menu question); question_invalid (errors names questions.<index>); "
    "objection_days_too_short (below the district's min_objection_days, 0 always: "
    "异议期不得少于 N 天)",
}


def _detail(survey: Survey) -> dict:
    return services.survey_view(survey, utcnow(), current_principal(), detail=True)


@blp.route("/compounds/<int:compound_id>/surveys")
class CompoundSurveys(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.SurveyQuerySchema, location="query")
    @blp.response(200, schemas.SurveySchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate()
    def get(self, query, compound_id, pagination_parameters):
        """Surveys of a compound, newest first (staff); ``?kind=``, ``?status=`` as shown"""
        principal = current_principal()
        now = utcnow()
        stmt = services.compound_surveys_query(
            compound_id, query.get("kind"), query.get("status"), now
        )
        page = SelectPage(stmt, pagination_parameters)
        return [services.survey_view(survey, now, principal) for survey in page.items]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.SurveyInSchema)
    @blp.response(201, schemas.SurveySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, **DRAFT_INVALID)
    def post(self, data, compound_id):
        """Create a survey as a draft (staff)

        Question types: single (≥ 2 options), multiple (1 ≤ min_choices ≤ max_choices ≤
        options), rating (scale_min < scale_max), text, consent (同意 / 不同意, created when
        omitted), satisfaction (满意 / 基本满意 / 不满意 / 不了解, created when omitted), menu
        (its options are the survey's menu items, set with ``PUT /surveys/{id}/menu``). A
        consent survey is answered by owners, by name, and has exactly one consent question.
        """
        principal = current_principal()
        survey = services.create_survey(compound_id, data, principal.id)
        db.session.commit()
        return _detail(survey)


@blp.route("/compounds/<int:compound_id>/surveys/from-template")
class CompoundSurveyFromTemplate(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.FromTemplateSchema)
    @blp.response(201, schemas.SurveySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(422, **DRAFT_INVALID)
    def post(self, data, compound_id):
        """Create a draft from a template (staff): consent, menu or satisfaction

        The draft has the template's standard questions (see ``GET /survey-templates``); the
        fields given override the template's title, basis, anonymity and so on.
        """
        principal = current_principal()
        name = data.pop("template")
        survey = services.create_from_template(compound_id, name, data, principal.id)
        db.session.commit()
        return _detail(survey)


@blp.route("/survey-templates")
class SurveyTemplates(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.TemplateSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    def get(self):
        """The templates committees start from, with their standard questions (staff)

        consent 意愿征集: agree to the renovation; ways to contribute (直接出资, 住宅专项维修资金,
        让渡公共收益, 投工投劳); long-term management (专业物业 or 自治管理). menu 菜单式: one
        menu question. satisfaction 满意度: 改造内容, 施工过程, 工程质量, 长效管理 and a
        comment; by residents (tenants included), anonymous.
        """
        require_staff(current_principal())
        return services.template_views()


@blp.route("/surveys/<int:survey_id>")
class SurveyDetail(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.SurveySchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, survey_id):
        """A survey with its questions: residents see the survey (and, for a menu, what each
        item would cost their household), staff also the totals, lifecycle times and how many
        have answered. A survey past its closing time is closed by this read."""
        return _detail(path_object("survey_id"))

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.SurveyPatchSchema)
    @blp.response(200, schemas.SurveySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="survey_not_draft")
    @blp.alt_response(422, **DRAFT_INVALID)
    def patch(self, data, survey_id):
        """Edit a draft (staff); ``questions``, when given, replace all of them"""
        current_principal()
        survey = services.update_draft(path_object("survey_id"), data)
        db.session.commit()
        return _detail(survey)


@blp.route("/surveys/<int:survey_id>/open")
class SurveyOpen(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.OpenSurveySchema)
    @blp.response(200, schemas.SurveyOpenedSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="unknown_owners: dwellings without a known owner (errors.dwellings lists "
        "them), nothing written — send confirm_unknown_owners=true; survey_not_draft",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="closes_in_past; empty_electorate; scope_invalid; no_questions; "
        "menu_empty (no menu items yet); menu_min_items_too_large",
    )
    def post(self, data, survey_id):
        """Open a draft (staff); by owners: freeze the electorate and show T_cnt and T_area

        Answers are accepted from ``opens_at`` to ``closes_at``. Later roster edits do not
        change the frozen electorate.
        """
        current_principal()
        survey = path_object("survey_id")
        frozen = services.open_survey(survey, data["confirm_unknown_owners"])
        db.session.commit()
        unknown = frozen.unknown_owner_labels if frozen is not None else []
        return {**_detail(survey), "unknown_owners": len(unknown), "unknown_dwellings": unknown}


@blp.route("/surveys/<int:survey_id>/deadline")
class SurveyDeadline(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.SurveyDeadlineInSchema)
    @blp.response(200, schemas.SurveySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="campaign_closed: the current closing time has passed (or the survey is "
        "closed, published, final or cancelled); nothing changed",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; deadline_not_later (截止时间只能延后，不能提前); "
        "deadline_too_late (more than 90 days after opens_at)",
    )
    def post(self, data, survey_id):
        """Extend the closing time of a draft, scheduled or open survey (staff)

        Only later, never earlier, and at most 90 days after the start of answering; only
        before the current closing time (database clock, in the same transaction as the
        change). Kept in the survey's deadline history (``deadline_extensions``); those who
        may answer, and those who have, are notified.
        """
        principal = current_principal()
        survey = path_object("survey_id")
        services.extend_deadline(survey, data["closes_at"], data["reason"], principal.id)
        db.session.commit()
        services.announce_extension(survey, data["reason"])
        return _detail(survey)


@blp.route("/surveys/<int:survey_id>/cancel")
class SurveyCancel(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.SurveySchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="survey_has_responses: someone has answered, the survey runs to its end; "
        "survey_closed; survey_not_cancellable (closed, published or final)",
    )
    def post(self, survey_id):
        """Cancel a survey (staff): a draft, or an opened one before anyone has answered"""
        require_staff(current_principal())
        survey = services.cancel_survey(path_object("survey_id"))
        db.session.commit()
        return _detail(survey)


@blp.route("/me/surveys")
class MySurveys(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MySurveySchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="resident_only")
    @blp.paginate()
    def get(self, pagination_parameters):
        """Surveys of the compounds where I own or rent, latest closing first (resident), with
        whether I may answer each and whether I have answered"""
        principal = current_principal()
        stmt = services.resident_surveys_query(principal.id)
        page = SelectPage(stmt, pagination_parameters)
        return services.resident_survey_views(page.items, principal, utcnow())


@blp.route("/surveys/<int:survey_id>/responses")
# The hot path: answering finds the survey through the caller's respondents in it, and
# checks the caller's session with the survey's lock.
@resolved_in_view(survey_id=services.get_survey)
@session_checked_in_view
class SurveyResponses(MethodView):

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ResponseInSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(201, schemas.SubmittedSchema)
    @blp.alt_response(
        200,
        schema=schemas.SubmittedSchema,
        success=True,
        description="a retry with the same Idempotency-Key: the earlier answers, not applied again",
    )
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="not_eligible (not an owner in the electorate / no dwelling in scope); "
        "resident_only (staff)",
    )
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="survey_not_started; survey_closed")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error; unknown_question; duplicate_answer; unknown_option (not "
        "an option of that question); duplicate_choice; too_few_choices; too_many_choices; "
        "rating_out_of_range; text_too_long (over 1000 characters); answer_invalid (e.g. a "
        "rating for a choice question); answer_required; answers_empty — errors names the "
        "question id; person_required / person_invalid (owner basis, errors.person_id lists "
        "the choices); dwelling_required / dwelling_invalid (resident basis); "
        "person_id_not_applicable; dwelling_id_not_applicable",
    )
    def post(self, data, headers, survey_id):
        """Answer a survey (resident)

        By owners: one response per person of the frozen electorate (any co-owner may
        answer; ``person_id`` when I have several). By residents: one response per resident,
        tenants included (``dwelling_id`` when I have several dwellings in scope). Answering
        again before the closing time replaces my earlier answers. Nothing is accepted
        before the opening or at or after the closing time. Anonymous surveys do not keep who
        answered.
        """
        principal = require_resident(current_principal())
        submitted = services.submit_response(
            survey_id,
            principal,
            data["answers"],
            person_id=data.get("person_id"),
            dwelling_id=data.get("dwelling_id"),
            idempotency_key=headers["idempotency_key"],
        )
        db.session.commit()
        return submitted, 200 if submitted.replayed else 201


@blp.route("/surveys/<int:survey_id>/my-response")
class SurveyMyResponse(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MyResponseSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, survey_id):
        """My answers in this survey: one entry per respondent I may answer for (by owners:
        each of my persons; by residents: me), ``answered`` false before I answer. Staff
        have no answers: an empty list."""
        principal = current_principal()
        if principal.is_staff:
            return []
        return services.my_responses(path_object("survey_id"), principal.id)


# --- consent gate (consent.py; its 公示: notices/) -------------------------------------------

CONSENT_NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
NOT_CONSENT = {
    "schema": ErrorSchema,
    "description": "not_consent_survey (not an owner-basis consent survey); survey_not_opened; "
    "no_consent_question",
}


@blp.route("/surveys/<int:survey_id>/consent")
class SurveyConsent(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ConsentTallySchema)
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **CONSENT_NOT_FOUND)
    @blp.alt_response(409, **NOT_CONSENT)
    def get(self, survey_id):
        """The consent gate, live (staff): 3·Y ≥ 2·T by the survey's ``consent_basis``

        T is the electorate frozen at opening, P the persons who answered the consent
        question (同意 or 不同意), Y those who agreed, by headcount and area; participation
        P/T and consent Y/T as exact ratios with percentages; whether the gate is passed and
        what is still missing (还需 N 人 / X m² 同意); a breakdown per building (a person
        counts in each building where they have a dwelling); and the answers to the
        template's questions on contribution ways and long-term management."""
        require_staff(current_principal())
        result = consent.committee_view(path_object("survey_id"))
        db.session.commit()
        return result


@blp.route("/surveys/<int:survey_id>/non-respondents")
class SurveyNonRespondents(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NonRespondentQuerySchema, location="query")
    @blp.response(200, schemas.NonRespondentSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **CONSENT_NOT_FOUND)
    @blp.alt_response(409, **NOT_CONSENT)
    @blp.paginate()
    def get(self, query, survey_id, pagination_parameters):
        """Owners who have not answered the consent question, for door-to-door visits
        (入户发动) (staff)

        Room labels, owners and area; optionally those with a dwelling in one building. The
        compound's own committee sees full names and phones; other staff see them masked."""
        principal = current_principal()
        survey = path_object("survey_id")
        page = SelectPage(consent.non_respondents_query(survey, **query), pagination_parameters)
        full_contact = is_committee(principal, survey.compound_id)
        return consent.non_respondent_views(survey, page.items, full_contact)


# --- menu (menu.py) ------------------------------------------------------------------------

MENU_NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
MENU_STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only"}


@blp.route("/menu-items")
class MenuItems(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.MenuItemQuerySchema, location="query")
    @blp.response(200, schemas.MenuItemSchema(many=True))
    @blp.alt_response(403, **MENU_STAFF_ONLY)
    @blp.alt_response(404, schema=ErrorSchema, description="district_id outside your scope")
    @blp.paginate(SelectPage)
    def get(self, query):
        """The catalogue of renovation items (菜单目录) (staff): the policy list of 基础类,
        完善类 and 提升类 items, with ``?district_id=`` also that district's own items;
        ``?tier=`` one tier only. The policy list is seeded on first use."""
        principal = current_principal()
        stmt = menu.catalogue_query(principal, query.get("tier"), query.get("district_id"))
        db.session.commit()
        return stmt


@blp.route("/districts/<int:district_id>/menu-items")
class DistrictMenuItems(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.MenuItemInSchema)
    @blp.response(201, schemas.MenuItemSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only; outside_scope")
    @blp.alt_response(404, **MENU_NOT_FOUND)
    @blp.alt_response(
        409, schema=ErrorSchema, description="menu_item_exists: on the policy list or already"
    )
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error")
    def post(self, data, district_id):
        """Add a district's own renovation item to the catalogue (district staff or above)"""
        principal = current_principal()
        require_cover(principal, Role.DISTRICT, district_id)
        item = menu.add_district_item(path_object("district_id"), data)
        db.session.commit()
        return item


@blp.route("/surveys/<int:survey_id>/menu")
class SurveyMenu(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MenuSchema)
    @blp.alt_response(404, **MENU_NOT_FOUND)
    def get(self, survey_id):
        """A survey's menu (菜单) grouped by tier, with each item's estimated cost and the
        residents' part; for a signed-in owner also ``my_cost``, what it would cost their
        household: the fixed amount per household where set, else their area share of the
        residents' part, to the fen (the shares of all households sum exactly to it)

        The area share is of the whole scope: the electorate frozen when an owner-basis
        survey opened, else the roster. A survey without a menu shows an empty one."""
        principal = current_principal()
        account_id = principal.id if principal.is_resident else None
        return menu.menu_view(path_object("survey_id"), account_id)

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.MenuInSchema)
    @blp.response(200, schemas.MenuSchema)
    @blp.alt_response(403, **MENU_STAFF_ONLY)
    @blp.alt_response(404, **MENU_NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="not_a_menu_survey; survey_not_draft")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error (amounts ≥ 0 with at most two decimals, residents' "
        "part ≤ estimated cost, 0 ≤ min_items ≤ max_items ≤ items, no item twice); "
        "menu_item_invalid (not on the policy list nor the compound's district's own)",
    )
    def put(self, data, survey_id):
        """Set the menu of a draft menu survey (staff): items with estimated cost and
        residents' part, how many a respondent picks, the budget cap and the adoption
        threshold of improvement and enhancement items (default more than half)

        Replaces the options of the survey's menu question (created if missing): one per
        item, so answers choose items as options."""
        current_principal()
        survey = path_object("survey_id")
        menu.set_menu(survey, data)
        db.session.commit()
        return menu.menu_view(survey, None)


@blp.route("/surveys/<int:survey_id>/menu/result")
class SurveyMenuResult(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.MenuResultSchema)
    @blp.alt_response(403, **MENU_STAFF_ONLY)
    @blp.alt_response(404, **MENU_NOT_FOUND)
    def get(self, survey_id):
        """The menu's result (staff): live while the survey is open, final after closing

        Each item's support by headcount and (owner basis) area, of the respondents. Basic
        items are always included (应改尽改), by support. Improvement and enhancement items
        are adopted when their support reaches the threshold, then fitted to the budget cap
        in order of support (ties: area, catalogue position); an item that no longer fits is
        ``over_budget``. Basic items past the cap are still included: ``cap_exceeded``."""
        require_staff(current_principal())
        return menu.menu_result(path_object("survey_id"))


@blp.route("/surveys/<int:survey_id>/menu/result.xlsx")
class SurveyMenuExport(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX_TYPE)
    @blp.alt_response(403, **MENU_STAFF_ONLY)
    @blp.alt_response(404, **MENU_NOT_FOUND)
    def get(self, survey_id):
        """The draft renovation list (改造内容清单) as an Excel workbook (staff): 类别, 项目,
        估算投资, 居民出资, 支持人数, 支持率, 支持面积, 是否纳入, 说明, and a totals row"""
        require_staff(current_principal())
        survey = path_object("survey_id")
        # A non-ASCII download_name gets an RFC 5987 ``filename*`` and an ASCII fallback.
        return send_file(
            io.BytesIO(menu.result_workbook(survey)),
            mimetype=XLSX_TYPE,
            as_attachment=True,
            download_name=f"survey-{survey.id}-menu-问卷{survey.id}改造内容清单.xlsx",
        )


# --- satisfaction, charts and exports (satisfaction.py, charts.py, exports.py) -------------

SATISFACTION_NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
BINARY = {"type": "string", "format": "binary"}
NO_FONT = {
    "schema": ErrorSchema,
    "description": "chart_font_missing: no font draws Chinese — a broken installation (the "
    "font shipped with the application is missing or damaged and no system CJK font exists)",
}
BAD_CHART = {"schema": ErrorSchema, "description": "validation_error: by"}


def _png(content: bytes):
    return send_file(io.BytesIO(content), mimetype="image/png")


@blp.route("/surveys/<int:survey_id>/satisfaction")
class SurveySatisfaction(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.SatisfactionSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **SATISFACTION_NOT_FOUND)
    def get(self, survey_id):
        """Satisfaction (效果共评) (staff): each dimension's counts of 满意 / 基本满意 / 不满意 /
        不了解 and its rate, overall, per building and per renovation item

        rate = (满意 + 基本满意) / (满意 + 基本满意 + 不满意): 不了解 is left out; without
        such answers the rate is null. Overall adds the counts of every dimension. ``passed``:
        rate ≥ the survey's ``satisfaction_threshold`` (80.00% when unset), compared exactly.
        A survey without satisfaction questions has no dimensions and a null rate."""
        require_staff(current_principal())
        return satisfaction_result(path_object("survey_id"))


@blp.route("/surveys/<int:survey_id>/comments")
class SurveyComments(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.SurveyCommentSchema(many=True))
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **SATISFACTION_NOT_FOUND)
    @blp.paginate()
    def get(self, survey_id, pagination_parameters):
        """Free-text comments for the committee (staff)

        Named surveys: newest first, with the time, building and room labels (never names
        or phones). Anonymous surveys: the text and its question only, in an order that does
        not follow submission."""
        require_staff(current_principal())
        survey = path_object("survey_id")
        page = SelectPage(comments_query(survey), pagination_parameters)
        return comment_views(survey, page.items)


@blp.route("/surveys/<int:survey_id>/charts/satisfaction.png")
class SurveySatisfactionChart(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.SatisfactionChartQuerySchema, location="query")
    @blp.response(200, BINARY, content_type="image/png")
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **SATISFACTION_NOT_FOUND)
    @blp.alt_response(422, **BAD_CHART)
    @blp.alt_response(503, **NO_FONT)
    def get(self, query, survey_id):
        """Satisfaction rates as a PNG bar chart (staff): ``by=dimension`` (overall first),
        ``building`` or ``item``; a dashed line marks the pass threshold"""
        current_principal()
        survey = path_object("survey_id")
        result = satisfaction_result(survey)
        return _png(charts.satisfaction_chart(result, query["by"], title=survey.title))


@blp.route("/surveys/<int:survey_id>/satisfaction.xlsx")
class SurveySatisfactionExport(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, BINARY, content_type=XLSX_TYPE)
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **SATISFACTION_NOT_FOUND)
    def get(self, survey_id):
        """Satisfaction as an Excel workbook (staff): sheets per dimension (with the overall
        row), per building and per renovation item"""
        require_staff(current_principal())
        survey = path_object("survey_id")
        # A non-ASCII download_name gets an RFC 5987 ``filename*`` and an ASCII fallback.
        return send_file(
            io.BytesIO(satisfaction_workbook(survey)),
            mimetype=XLSX_TYPE,
            as_attachment=True,
            download_name=f"survey-{survey.id}-satisfaction-问卷{survey.id}满意度.xlsx",
        )


@public_blp.route("/public/surveys/<int:survey_id>/charts/satisfaction.png")
class PublicSatisfactionChart(MethodView):
    @public_blp.arguments(schemas.SatisfactionChartQuerySchema, location="query")
    @public_blp.response(200, BINARY, content_type="image/png")
    @public_blp.alt_response(
        404, schema=ErrorSchema, description="no such closed survey with satisfaction questions"
    )
    @public_blp.alt_response(422, **BAD_CHART)
    @public_blp.alt_response(503, **NO_FONT)
    def get(self, query, survey_id):
        """Satisfaction rates as a PNG bar chart for the public notice (no sign-in): closed,
        published or final surveys only; aggregates only"""
        survey = public_survey(survey_id)
        result = satisfaction_result(survey)
        return _png(charts.satisfaction_chart(result, query["by"], title=survey.title))


# --- charts of the consent and menu results (charts.py) ------------------------------------

NOT_MENU = {"schema": ErrorSchema, "description": "not_a_menu_survey: not a menu survey"}


@blp.route("/surveys/<int:survey_id>/charts/consent.png")
class SurveyConsentChart(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, BINARY, content_type="image/png")
    @blp.alt_response(403, schema=ErrorSchema, description="staff_only")
    @blp.alt_response(404, **CONSENT_NOT_FOUND)
    @blp.alt_response(409, **NOT_CONSENT)
    @blp.alt_response(503, **NO_FONT)
    def get(self, survey_id):
        """The consent gate as a PNG chart (staff): 同意 / 不同意 / 未表态 of the whole scope
        by headcount and by area with the two-thirds line, then per building

        Live while the survey is open, the stored result once closed (as ``/consent``). With
        no answer yet the chart says 暂无数据."""
        survey = path_object("survey_id")
        result = consent.current_result(survey)
        db.session.commit()
        return _png(charts.consent_chart(result, title=survey.title))


@blp.route("/surveys/<int:survey_id>/charts/menu.png")
class SurveyMenuChart(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, BINARY, content_type="image/png")
    @blp.alt_response(403, **MENU_STAFF_ONLY)
    @blp.alt_response(404, **MENU_NOT_FOUND)
    @blp.alt_response(409, **NOT_MENU)
    @blp.alt_response(503, **NO_FONT)
    def get(self, survey_id):
        """The menu's result as a PNG chart (staff): each item's support of the respondents
        by tier, 纳入 / 超出预算 / 未采纳 marked, the adoption threshold drawn

        Live while the survey is open, final after closing (as ``/menu/result``). With no
        respondent yet the chart says 暂无数据."""
        survey = path_object("survey_id")
        if survey.kind is not SurveyKind.MENU:
            raise conflict("not_a_menu_survey", "该问卷不是菜单式问卷，没有改造内容图表")
        return _png(charts.menu_chart(menu.menu_result(survey), title=survey.title))


# --- reminders and the door-to-door sheet (tasks.py, doors.py) -----------------------------


@blp.route("/surveys/<int:survey_id>/reminders")
class SurveyReminders(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.SurveyReminderSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.paginate(SelectPage)
    def get(self, survey_id):
        """Reminders sent to those who have not answered a survey (staff), newest first"""
        require_staff(current_principal())
        return tasks.reminders_query(path_object("survey_id"))

    @blp.doc(security=SECURITY)
    @blp.response(202, schemas.SurveyReminderStartedSchema)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="survey_not_accepting: not accepting answers (not open, not started or "
        "past its closing time); survey_anonymous: an anonymous survey does not know who "
        "answered; quiet_hours: between 21:00 and 08:00 (Asia/Shanghai), no SMS "
        "(``errors.send_after``: from when)",
    )
    def post(self, survey_id):
        """Remind those who have not answered (staff)

        Owner basis (consent, menu): every roster owner (with a phone) of a person of the
        frozen electorate without a response; resident basis: every roster owner of a
        dwelling of the scope none of whose residents answered. Each gets an SMS (template
        ``survey_reminder``) with the survey's title, its closing time and the compound's
        short link, signed in or not; owners with an account also get an in-app
        notification. At most one reminder SMS per phone per day in a compound, votes'
        reminders included (``skipped_count``); none between 21:00 and 08:00 (a reminder
        reaching 21:00 pauses and goes on after 08:00). Sent by a background job
        (``job_id``), or right away when no Redis is configured.
        """
        principal = require_staff(current_principal())
        reminder = tasks.start_reminder(path_object("survey_id"), principal.id)
        db.session.commit()
        job_id = tasks.enqueue_reminder(reminder)
        db.session.refresh(reminder)
        return {"reminder": reminder, "job_id": job_id}


NOT_OPENED = {"schema": ErrorSchema, "description": "survey_not_opened: still a draft"}


@blp.route("/surveys/<int:survey_id>/door-to-door")
class SurveyDoorToDoor(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.SurveyDoorToDoorQuerySchema, location="query")
    @blp.response(200, schemas.SurveyDoorToDoorEntranceSchema(many=True))
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    @blp.paginate()
    def get(self, query, survey_id, pagination_parameters):
        """The door-to-door sheet (入户发动) (staff): the households still to visit, by
        entrance

        Entrances in natural order (2栋 before 10栋), paginated; each with its progress —
        persons (owner basis) or dwellings (resident basis) in total, answered, still
        missing, by headcount and area — and its households not answered for, by floor then
        room: owners, area, and whether a reminder SMS reached them today. The compound's
        own committee sees full names and phones; other staff see them masked."""
        principal = current_principal()
        survey = path_object("survey_id")
        doors.require_opened(survey)
        entrances = doors.door_to_door(survey, **query)
        pagination_parameters.item_count = len(entrances)
        first = pagination_parameters.first_item
        page = entrances[first : first + pagination_parameters.page_size]
        full_contact = is_committee(principal, survey.compound_id)
        return doors.with_households(survey, page, full_contact)


@blp.route("/surveys/<int:survey_id>/exports/door-to-door.xlsx")
class SurveyDoorToDoorExport(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @blp.doc(security=SECURITY)
    @blp.response(200, BINARY, content_type=XLSX_TYPE)
    @blp.alt_response(403, **STAFF_ONLY)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, **NOT_OPENED)
    def get(self, survey_id):
        """The door-to-door sheet as an Excel workbook to print (staff): one A4 sheet per
        entrance with its progress and the households still to visit (room, masked names,
        area, today's SMS) and an empty 走访记录 column"""
        survey = path_object("survey_id")
        content = doors.door_to_door_xlsx(survey)
        name = f"survey-{survey.id}-door-to-door-问卷{survey.id}入户发动表.xlsx"
        return send_file(
            io.BytesIO(content), mimetype=XLSX_TYPE, as_attachment=True, download_name=name
        )
