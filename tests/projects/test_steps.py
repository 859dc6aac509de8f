"""A project's eight steps: created in order, each gate refusing (409, a Chinese message,
nothing written) until its condition holds, every move recorded; reopening needs a reason;
neighbours get 404."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from participation.extensions import db as _db
from participation.projects import gates
from participation.projects.models import ProjectEvent, ProjectStep, StepKey, StepStatus

from .conftest import api, refused, step_ids

DONE, NOT_STARTED = StepStatus.DONE, StepStatus.NOT_STARTED


def statuses(**given: StepStatus) -> dict[StepKey, StepStatus]:
    return {key: given.get(key.value, NOT_STARTED) for key in StepKey}


def done_through(last: StepKey) -> dict[StepKey, StepStatus]:
    return {key: DONE if key.position <= last.position else NOT_STARTED for key in StepKey}


# The gates as pure functions -----------------------------------------------------------------


def test_first_step_needs_only_the_organisation():
    facts = gates.Facts(statuses())
    assert gates.refusal(StepKey.ORGANISE, facts)[0] == "organisation_missing"
    facts = gates.Facts(statuses(), organisation_recorded=True)
    assert gates.refusal(StepKey.ORGANISE, facts) is None


@pytest.mark.parametrize("step", list(StepKey)[1:])
def test_no_step_completes_before_the_one_before_it(step):
    everything = dict(
        organisation_recorded=True,
        consent_passed_and_final=True,
        menu_result_in=True,
        consultation_published=True,
        management_recorded=True,
    )
    before = list(StepKey)[step.position - 2]
    almost = {**done_through(before), before: StepStatus.REOPENED}
    assert gates.refusal(step, gates.Facts(almost, **everything))[0] == "step_out_of_order"
    assert gates.refusal(step, gates.Facts(done_through(before), **everything)) is None


def test_apply_needs_a_final_consent_and_design_the_menu_and_the_consultation():
    after_organise = done_through(StepKey.ORGANISE)
    assert gates.refusal(StepKey.APPLY, gates.Facts(after_organise))[0] == "consent_not_final"
    after_plan = done_through(StepKey.PLAN)
    assert gates.refusal(StepKey.DESIGN, gates.Facts(after_plan))[0] == "menu_result_missing"
    menu_only = gates.Facts(after_plan, menu_result_in=True)
    assert gates.refusal(StepKey.DESIGN, menu_only)[0] == "consultation_not_published"


def test_handover_needs_the_management_mode():
    after_acceptance = done_through(StepKey.ACCEPTANCE)
    refused = gates.refusal(StepKey.HANDOVER, gates.Facts(after_acceptance))
    assert refused[0] == "management_missing"
    facts = gates.Facts(after_acceptance, management_recorded=True)
    assert gates.refusal(StepKey.HANDOVER, facts) is None


def test_evaluation_needs_acceptance_done_even_after_handover():
    reopened = {**done_through(StepKey.HANDOVER), StepKey.ACCEPTANCE: StepStatus.REOPENED}
    facts = gates.Facts(reopened)
    assert gates.refusal(StepKey.EVALUATION, facts)[0] == "acceptance_not_done"


def test_a_done_step_is_not_done_again():
    facts = gates.Facts(done_through(StepKey.ORGANISE), organisation_recorded=True)
    assert gates.refusal(StepKey.ORGANISE, facts)[0] == "step_already_done"


# Through the API ----------------------------------------------------------------------------


def events(project_id: int) -> list[ProjectEvent]:
    stmt = sa.select(ProjectEvent).filter_by(project_id=project_id).order_by(ProjectEvent.id)
    return list(_db.session.scalars(stmt))


def status_of(step_id: int) -> StepStatus:
    return _db.session.scalar(sa.select(ProjectStep.status).where(ProjectStep.id == step_id))


def complete(client, headers, step_id: int, **body):
    return api(client, "POST", f"/project-steps/{step_id}/complete", headers, **body)


def test_a_project_has_its_eight_steps_in_order(client, compound, committee, project):
    assert [s["label"] for s in project["steps"]] == [
        "成立组织",
        "申请项目",
        "申报计划",
        "编制方案",
        "项目实施",
        "项目验收",
        "项目接管",
        "绩效评估",
    ]
    assert {s["status"] for s in project["steps"]} == {"not_started"}
    assert project["current_step"] == "organise"
    again = api(
        client, "POST", f"/compounds/{compound.id}/projects", committee, year=2026, title="重复"
    )
    refused(again, 409, "project_exists")
    listed = client.get(f"/api/v1/compounds/{compound.id}/projects", headers=committee)
    assert [p["id"] for p in listed.json] == [project["id"]]


def test_first_steps_refuse_until_their_conditions_hold(
    client, compound, committee, project, consent_survey, menu_survey
):
    ids = step_ids(project)
    p = project["id"]

    # 成立组织: no organisation yet → 409, nothing written
    before = len(events(p))
    refused(complete(client, committee, ids["organise"]), 409, "organisation_missing")
    assert status_of(ids["organise"]) is NOT_STARTED and len(events(p)) == before
    recorded = api(
        client,
        "PUT",
        f"/compounds/{compound.id}/organisation",
        committee,
        kind="owners_committee",
        name="幸福小区业主委员会",
    )
    assert recorded.status_code == 200, recorded.json
    done = complete(client, committee, ids["organise"], reason="业委会已成立")
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and done.json["actual_end"]

    # out of order: 申报计划 before 申请项目
    refused(complete(client, committee, ids["plan"]), 409, "step_out_of_order")

    # 申请项目: consent below 2/3, then passed but not final, then final
    link = f"/projects/{p}/links"
    failed = consent_survey(agree=1)
    linked = api(client, "POST", link, committee, kind="survey", target_id=failed.id)
    assert linked.status_code == 201, linked.json
    refused(complete(client, committee, ids["apply"]), 409, "consent_not_final")
    on_notice = consent_survey(agree=2, final=False)
    api(client, "POST", link, committee, kind="survey", target_id=on_notice.id)
    refused(complete(client, committee, ids["apply"]), 409, "consent_not_final")
    assert status_of(ids["apply"]) is NOT_STARTED
    passed = consent_survey(agree=2)
    api(client, "POST", link, committee, kind="survey", target_id=passed.id)
    assert complete(client, committee, ids["apply"]).status_code == 200
    assert complete(client, committee, ids["plan"]).status_code == 200

    # 编制方案: the menu still open, then closed; the consultation summary not yet published
    running = menu_survey(closed=False)
    api(client, "POST", link, committee, kind="survey", target_id=running.id)
    refused(complete(client, committee, ids["design"]), 409, "menu_result_missing")
    closed = menu_survey(closed=True)
    api(client, "POST", link, committee, kind="survey", target_id=closed.id)
    refused(complete(client, committee, ids["design"]), 409, "consultation_not_published")
    detail = client.get(f"/api/v1/projects/{p}", headers=committee).json
    gate = {g["step"]: g["refusal"] for g in detail["gates"]}
    assert gate["design"]["code"] == "consultation_not_published" and gate["organise"]["code"] == (
        "step_already_done"
    )
    assert detail["current_step"] == "design"


def test_every_move_is_recorded_and_reopening_needs_a_reason(
    client, compound, committee, committee_staff, project
):
    ids = step_ids(project)
    p = project["id"]
    api(
        client,
        "PUT",
        f"/compounds/{compound.id}/organisation",
        committee,
        kind="self_management_group",
        name="1号楼自管小组",
    )
    started = api(
        client,
        "PATCH",
        f"/project-steps/{ids['organise']}",
        committee,
        status="in_progress",
        organisation="幸福社区居委会",
        planned_start="2026-03-01",
        planned_end="2026-03-31",
    )
    assert started.status_code == 200, started.json
    assert started.json["status"] == "in_progress" and started.json["actual_start"]
    complete(client, committee, ids["organise"], reason="已成立", actual_end="2026-12-07")

    reopen = f"/project-steps/{ids['organise']}/reopen"
    refused(api(client, "POST", reopen, committee), 422, "validation_error")
    refused(
        api(client, "POST", f"/project-steps/{ids['apply']}/reopen", committee, reason="x"),
        409,
        "step_not_done",
    )
    reopened = api(client, "POST", reopen, committee, reason="自管小组成员调整，需重新确认")
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["status"] == "reopened" and reopened.json["actual_end"] is None

    moves = [(e.action, e.from_status, e.to_status, e.reason) for e in events(p)]
    assert moves == [
        ("created", None, None, ""),
        ("updated", NOT_STARTED, StepStatus.IN_PROGRESS, ""),
        ("completed", StepStatus.IN_PROGRESS, DONE, "已成立"),
        ("reopened", DONE, StepStatus.REOPENED, "自管小组成员调整，需重新确认"),
    ]
    assert {e.staff_id for e in events(p)} == {committee_staff.id}
    history = client.get(f"/api/v1/projects/{p}/events", headers=committee)
    assert [e["action"] for e in history.json][-1] == "reopened"
    assert {e["staff_name"] for e in history.json} == {committee_staff.display_name}
    # a reopened step completes again (its predecessor: none)
    assert complete(client, committee, ids["organise"]).status_code == 200


def test_bad_input_is_refused_and_nothing_written(
    client, compound, committee, project, make_compound, make_staff
):
    ids = step_ids(project)
    bad_dates = api(
        client,
        "PATCH",
        f"/project-steps/{ids['plan']}",
        committee,
        planned_start="2026-05-01",
        planned_end="2026-04-01",
    )
    refused(bad_dates, 422, "dates_out_of_order")
    assert _db.session.get(ProjectStep, ids["plan"]).planned_start is None
    elsewhere = make_compound("别处小区")
    from participation.notices.models import Notice, NoticeKind

    notice = Notice(compound_id=elsewhere.id, kind=NoticeKind.GENERAL, title="别处的公告")
    _db.session.add(notice)
    _db.session.flush()
    linked = api(
        client,
        "POST",
        f"/projects/{project['id']}/links",
        committee,
        kind="notice",
        target_id=notice.id,
    )
    refused(linked, 422, "link_target_invalid")
    document = api(
        client,
        "POST",
        f"/projects/{project['id']}/documents",
        committee,
        name="设计图",
        url="files/a.pdf",
        sha256="xyz",
    )
    refused(document, 422, "validation_error")


def test_neighbours_get_404_on_every_project_endpoint(client, compound, neighbour, project):
    ids = step_ids(project)
    p = project["id"]
    s = ids["organise"]
    calls = [
        ("GET", f"/compounds/{compound.id}/projects", {}),
        ("POST", f"/compounds/{compound.id}/projects", {"year": 2027, "title": "x"}),
        ("GET", f"/projects/{p}", {}),
        ("GET", f"/projects/{p}/events", {}),
        ("POST", f"/projects/{p}/links", {"kind": "survey", "target_id": 1}),
        ("POST", f"/projects/{p}/documents", {"name": "a", "url": "b", "sha256": "0" * 64}),
        ("GET", f"/project-steps/{s}", {}),
        ("PATCH", f"/project-steps/{s}", {"note": "x"}),
        ("POST", f"/project-steps/{s}/complete", {}),
        ("POST", f"/project-steps/{s}/reopen", {"reason": "x"}),
        ("GET", f"/compounds/{compound.id}/organisation", {}),
        ("PUT", f"/compounds/{compound.id}/organisation", {"kind": "other", "name": "x"}),
    ]
    for method, url, body in calls:
        response = api(client, method, url, neighbour, **body)
        assert (response.status_code, response.json["code"]) == (404, "not_found"), (method, url)
