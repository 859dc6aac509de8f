"""A project walks its eight steps through the API, each gate refusing first (409, nothing
written) and passing once its condition holds; the management mode after the works is
recorded from a campaign's final result."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.projects.models import (
    PlanConsultation,
    ProjectEvent,
    ProjectManagement,
    ProjectStep,
    StepStatus,
)
from participation.votes.models import Matter, Vote, VoteStatus

from .conftest import api, refused, step_ids


def history(project_id: int) -> int:
    stmt = sa.select(sa.func.count()).where(ProjectEvent.project_id == project_id)
    return _db.session.scalar(stmt)


def test_the_project_walks_all_eight_steps(
    client, compound, committee, project, consent_survey, menu_survey, owner_account, sign_in
):
    ids = step_ids(project)
    p = project["id"]

    def complete(step: str, refusal: str | None = None):
        before = history(p)
        response = api(client, "POST", f"/project-steps/{ids[step]}/complete", committee)
        if refusal is None:
            assert response.status_code == 200, (step, response.json)
            assert response.json["status"] == "done"
            assert history(p) == before + 1
        else:
            refused(response, 409, refusal)
            assert history(p) == before, "a refusal writes nothing"
            status = _db.session.scalar(
                sa.select(ProjectStep.status).where(ProjectStep.id == ids[step])
            )
            assert status is not StepStatus.DONE

    def link(kind: str, target_id: int) -> None:
        response = api(
            client, "POST", f"/projects/{p}/links", committee, kind=kind, target_id=target_id
        )
        assert response.status_code == 201, response.json

    # 1 成立组织
    complete("organise", "organisation_missing")
    api(
        client,
        "PUT",
        f"/compounds/{compound.id}/organisation",
        committee,
        kind="owners_committee",
        name="幸福小区业主委员会",
    )
    complete("organise")

    # 2 申请项目 (and nothing after it completes first)
    for later in ("plan", "design", "works", "acceptance", "handover", "evaluation"):
        complete(later, "step_out_of_order")
    complete("apply", "consent_not_final")
    survey = consent_survey(agree=2, management=("professional", "professional", "self_managed"))
    link("survey", survey.id)
    complete("apply")

    # 3 申报计划
    complete("plan")

    # 4 编制方案: the menu result, then the consultation summary
    complete("design", "menu_result_missing")
    link("survey", menu_survey(closed=True).id)
    complete("design", "consultation_not_published")
    now = utcnow()
    consultation = api(
        client,
        "POST",
        f"/projects/{p}/plan-consultation",
        committee,
        title="设计方案",
        opens_at=(now - timedelta(minutes=1)).isoformat(),
        closes_at=(now + timedelta(days=7)).isoformat(),
        items=[{"name": "外墙保温", "cost": "100000.00", "residents_part": "1000.00"}],
    ).json
    resident = sign_in(owner_account(compound, "1栋1单元101"))
    c = f"/plan-consultations/{consultation['id']}"
    api(client, "POST", f"{c}/feedback", resident, comments=[{"text": "同意"}])
    complete("design", "consultation_not_published")
    row = _db.session.get(PlanConsultation, consultation["id"])
    row.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    comment = client.get(f"/api/v1{c}/comments", headers=committee).json[0]
    api(client, "POST", f"/plan-comments/{comment['id']}/handling", committee, handling="adopted")
    assert api(client, "POST", f"{c}/summary", committee).status_code == 200
    complete("design")

    # 5 项目实施, 6 项目验收
    complete("works")
    complete("acceptance")

    # 7 项目接管: the owners chose 专业物业 (2 of 3) in the consent survey
    complete("handover", "management_missing")
    mode = f"/projects/{p}/management"
    refused(
        api(client, "PUT", mode, committee, mode="self_managed", survey_id=survey.id),
        409,
        "mode_not_chosen",
    )
    recorded = api(client, "PUT", mode, committee, mode="professional", survey_id=survey.id)
    assert recorded.status_code == 200, recorded.json
    assert recorded.json["label"] == "专业物业"
    assert [(o["value"], o["count"]) for o in recorded.json["result"]["options"]] == [
        ("professional", 2),
        ("self_managed", 1),
    ]
    complete("handover")

    # 8 绩效评估: not while 项目验收 is reopened
    reopened = api(
        client,
        "POST",
        f"/project-steps/{ids['acceptance']}/reopen",
        committee,
        reason="验收资料缺少消防检测报告",
    )
    assert reopened.status_code == 200, reopened.json
    complete("evaluation", "acceptance_not_done")
    complete("acceptance")
    complete("evaluation")

    detail = client.get(f"/api/v1/projects/{p}", headers=committee).json
    assert detail["current_step"] is None
    assert {s["status"] for s in detail["steps"]} == {"done"}
    moves = client.get(f"/api/v1/projects/{p}/events?page_size=100", headers=committee).json
    completed = [e for e in moves if e["action"] == "completed"]
    assert len(completed) == 9  # eight steps, 项目验收 twice
    assert [e["action"] for e in moves if e["action"] == "reopened"] == ["reopened"]


def test_management_needs_a_final_result_that_chose_the_mode(
    client, compound, committee, committee_staff, project, consent_survey, make_compound
):
    mode = f"/projects/{project['id']}/management"
    on_notice = consent_survey(final=False, management=("professional",) * 3)
    refused(
        api(client, "PUT", mode, committee, mode="professional", survey_id=on_notice.id),
        409,
        "campaign_not_final",
    )
    tie = consent_survey(management=("professional", "self_managed"))
    refused(
        api(client, "PUT", mode, committee, mode="professional", survey_id=tie.id),
        409,
        "management_tie",
    )
    silent = consent_survey()
    refused(
        api(client, "PUT", mode, committee, mode="professional", survey_id=silent.id),
        409,
        "no_management_answers",
    )
    refused(api(client, "PUT", mode, committee, mode="professional"), 422, "validation_error")

    now = utcnow()

    def final_vote(passed: bool, compound_id: int = compound.id) -> Vote:
        vote = Vote(
            compound_id=compound_id,
            title="选聘物业服务企业",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            status=VoteStatus.FINAL,
            opens_at=now - timedelta(days=20),
            closes_at=now - timedelta(days=10),
            created_by_id=committee_staff.id,
            result={"passed": passed, "t_cnt": 3, "p_cnt": 3, "y_cnt": 2 if passed else 1},
        )
        _db.session.add(vote)
        _db.session.flush()
        return vote

    failed = final_vote(False)
    refused(
        api(client, "PUT", mode, committee, mode="community_centre", vote_id=failed.id),
        409,
        "management_vote_failed",
    )
    elsewhere = final_vote(True, make_compound("别处小区").id)
    refused(
        api(client, "PUT", mode, committee, mode="community_centre", vote_id=elsewhere.id),
        422,
        "campaign_invalid",
    )
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProjectManagement)) == 0
    refused(api(client, "GET", mode, committee), 404, "not_found")

    passed = final_vote(True)
    recorded = api(client, "PUT", mode, committee, mode="community_centre", vote_id=passed.id)
    assert recorded.status_code == 200, recorded.json
    assert (recorded.json["label"], recorded.json["result"]["y_cnt"]) == ("社区物业服务中心", 2)
    links = client.get(f"/api/v1/projects/{project['id']}", headers=committee).json["links"]
    assert {(link["kind"], link["target_id"]) for link in links} == {("vote", passed.id)}
