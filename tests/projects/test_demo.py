"""The demo's project (``flask demo seed``): at 编制方案 with its organisation, the steps before
it done, the plan out for comment with comments (some handled) and the money reconciled."""

from __future__ import annotations

import sqlalchemy as sa

from participation.demo import seed_project
from participation.extensions import db as _db
from participation.projects import consultation, funding, services
from participation.projects.models import Project, StepKey


def test_the_demo_project_is_at_the_design_step(compound, committee_staff):
    seed_project(compound, committee_staff)
    project = _db.session.scalar(sa.select(Project).filter_by(compound_id=compound.id))
    view = services.project_view(project, detail=True)
    assert view["current_step"] is StepKey.DESIGN
    assert services.organisation_of(compound.id).name == "幸福里小区业主委员会"
    assert funding.funding_view(project)["reconciled"] is True
    comments = consultation.summary(consultation.of_project(project))["comments"]
    assert len(comments) == 2  # the fixture's compound has three owners with phones
    assert [c["handling_label"] for c in comments] == ["部分采纳", "采纳"]
    refusal = next(g["refusal"] for g in view["gates"] if g["step"] is StepKey.DESIGN)
    assert refusal["code"] == "menu_result_missing"
