"""项目接管: the management mode after the works (专业物业, 社区物业服务中心, 自治管理), as the
owners chose it in a vote or a survey whose result is final (公示 over), recorded with that
result as it stood. Functions flush, never commit.

- A survey: its question whose options are the modes (values ``professional``,
  ``community_centre``, ``self_managed``, as the consent template's 长效管理 question), counted
  by owner-person (``surveys.consent.distributions``); the mode recorded must be the option
  most chosen, and a tie decides nothing.
- A vote: a decision on one mode (e.g. 选聘物业服务企业); it must have passed.
"""

from __future__ import annotations

from sqlalchemy import select

from participation.common.errors import conflict, invalid
from participation.common.sql import db_now
from participation.extensions import db
from participation.projects import services
from participation.projects.models import LinkKind, ManagementMode, Project, ProjectManagement
from participation.surveys.consent import distributions
from participation.surveys.models import Survey, SurveyStatus
from participation.votes.decision import decision
from participation.votes.models import Vote, VoteStatus

MODES = tuple(mode.value for mode in ManagementMode)


def management_of(project: Project) -> ProjectManagement | None:
    return db.session.scalar(select(ProjectManagement).filter_by(project_id=project.id))


def _campaign(project: Project, model, campaign_id: int):
    campaign = db.session.get(model, campaign_id)
    if campaign is None or campaign.compound_id != project.compound_id:
        field = "vote_id" if model is Vote else "survey_id"
        message = "本小区没有这项表决或问卷"
        raise invalid("campaign_invalid", message, {field: [message]})
    return campaign


def _survey_result(survey: Survey, mode: ManagementMode) -> dict:
    if survey.status is not SurveyStatus.FINAL:
        raise conflict("campaign_not_final", "该问卷的结果尚未公示期满确认，不能据此登记管理方式")
    found = distributions(survey, MODES)
    if not found or not found[0]["respondents"]:
        raise conflict("no_management_answers", "该问卷没有业主回答管理方式问题")
    question = found[0]
    counts = {o["value"]: o["count"] for o in question["options"]}
    top = max(counts.values())
    winners = [value for value, count in counts.items() if count == top]
    if len(winners) > 1:
        raise conflict("management_tie", "问卷中得票最多的管理方式并列，未形成结果")
    if winners[0] != mode.value:
        chosen = next(o["label"] for o in question["options"] if o["value"] == winners[0])
        raise conflict("mode_not_chosen", f"业主选择的管理方式是“{chosen}”，与登记的不一致")
    return {
        "campaign": "survey",
        "id": survey.id,
        "title": survey.title,
        "question": question["text"],
        "respondents": question["respondents"],
        "chosen": mode.value,
        "options": [
            {"value": o["value"], "label": o["label"], "count": o["count"]}
            for o in question["options"]
        ],
    }


def _vote_result(vote: Vote, mode: ManagementMode) -> dict:
    if vote.status is not VoteStatus.FINAL:
        raise conflict("campaign_not_final", "该表决的结果尚未公示期满确认，不能据此登记管理方式")
    if not decision(vote)["passed"]:
        raise conflict("management_vote_failed", "该表决未通过，不能据此登记管理方式")
    figures = ("t_cnt", "t_area", "p_cnt", "p_area", "y_cnt", "y_area", "passed")
    return {
        "campaign": "vote",
        "id": vote.id,
        "title": vote.title,
        "chosen": mode.value,
        **{key: vote.result.get(key) for key in figures},
    }


def record_management(project: Project, data: dict, staff_id: int) -> ProjectManagement:
    """Record (or replace) the mode with the final result of the campaign that chose it;
    the campaign is linked to the project."""
    services.lock(project)
    mode = data["mode"]
    if data.get("vote_id") is not None:
        vote = _campaign(project, Vote, data["vote_id"])
        result, kind, target = _vote_result(vote, mode), LinkKind.VOTE, vote.id
    else:
        survey = _campaign(project, Survey, data["survey_id"])
        result, kind, target = _survey_result(survey, mode), LinkKind.SURVEY, survey.id
    management = management_of(project) or ProjectManagement(project_id=project.id)
    now = db_now()
    management.mode = mode
    management.vote_id = target if kind is LinkKind.VOTE else None
    management.survey_id = target if kind is LinkKind.SURVEY else None
    management.result = result
    management.recorded_by_id = staff_id
    management.recorded_at = now
    db.session.add(management)
    services.add_link(project, kind, target, staff_id)
    services.record(project, staff_id, "management_set", reason=mode.label)
    db.session.flush()
    return management


def management_view(management: ProjectManagement) -> dict:
    return {
        "mode": management.mode,
        "label": management.mode.label,
        "vote_id": management.vote_id,
        "survey_id": management.survey_id,
        "result": management.result,
        "recorded_at": management.recorded_at,
    }
