"""The API against a property-based fuzzer driven by its own OpenAPI document.

schemathesis generates requests for every operation — valid ones and ones that break the
schema (wrong types, missing fields, odd text, huge numbers) — as an anonymous caller, a
compound's committee and one of its owners, each request with a fresh token of its own (so
even signing out or a new password ends nothing the next request needs). Path ids are drawn
at random and, for half of the requests, are the ids of real objects of the compound, so the
requests reach past the 404. Every answer must be no server error, have a status, content
type, headers and body that the document declares. Hypothesis runs derandomized: the same
requests every run.
"""

from __future__ import annotations

import collections
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from participation.auth.models import Role
from participation.common.types import utcnow

EXAMPLES_PER_OPERATION = 30  # × 213 operations: 6,390 requests, about 2½ minutes on 2 cores
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def known_ids(client, sample_compound, make_staff, owner_account, sign_in):
    """Real objects of the sample compound, made through the API as a committee would."""
    committee = make_staff(Role.COMPOUND, sample_compound.id)
    staff = sign_in(committee)
    now = utcnow()
    window = {
        "opens_at": (now - timedelta(minutes=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
    }
    buildings = client.get(
        f"/api/v1/compounds/{sample_compound.id}/buildings", headers=staff
    ).get_json()
    vote = client.post(
        f"/api/v1/compounds/{sample_compound.id}/votes",
        json={
            "title": "1栋加装电梯",
            "matter": "elevator",
            "building_ids": [buildings[0]["id"]],
            "no_cost_plan": True,  # opens with a cost plan or this declaration
            "no_cost_plan_reason": "测试：不涉及居民出资",
            **window,
        },
        headers=staff,
    ).get_json()
    assert "id" in vote, vote
    opened = client.post(f"/api/v1/votes/{vote['id']}/open", json={}, headers=staff)
    assert opened.status_code == 200, opened.get_json()
    survey = client.post(
        f"/api/v1/compounds/{sample_compound.id}/surveys/from-template",
        json={"template": "consent", **window},
        headers=staff,
    ).get_json()
    assert "id" in survey, survey
    project = client.post(
        f"/api/v1/compounds/{sample_compound.id}/projects",
        json={"year": 2026, "title": "样例小区改造"},
        headers=staff,
    ).get_json()
    assert "id" in project, project
    consultation = client.post(
        f"/api/v1/projects/{project['id']}/plan-consultation",
        json={
            "title": "设计方案",
            "items": [{"name": "外墙保温", "cost": "1000.00", "residents_part": "100.00"}],
            **window,
        },
        headers=staff,
    ).get_json()
    assert "id" in consultation, consultation
    compound = sample_compound
    ids = {
        "compound_id": compound.id,
        "community_id": compound.community_id,
        "street_id": compound.community.street_id,
        "district_id": compound.community.street.district_id,
        "vote_id": vote["id"],
        "survey_id": survey["id"],
        "staff_id": committee.id,
        "role_id": committee.roles[0].id,
        "building_id": buildings[0]["id"],
        "project_id": project["id"],
        "project_step_id": project["steps"][0]["id"],
        "plan_consultation_id": consultation["id"],
    }
    owner = owner_account(compound, "1栋1单元101")
    return ids, {"anonymous": None, "committee": committee, "resident": owner}


def test_api_holds_against_the_fuzzer(app, known_ids, sign_in):
    ids, callers = known_ids
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    requests = collections.Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 90

    for operation in operations:
        known = {
            p.name: ids[p.name] for p in operation.path_parameters if p.name in ids
        }
        strategies = [
            operation.as_strategy(mode, path_parameters=path)
            for mode in GenerationMode
            for path in (None, known)
        ]

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies), caller=st.sampled_from(sorted(callers)))
        def run(case, caller):
            subject = callers[caller]
            headers = sign_in(subject) if subject is not None else {}
            requests[caller] += 1
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as failure:  # collected, then reported
                failures.append(f"{caller} {case.method} {case.formatted_path}: {failure}")

        run()

    total = sum(requests.values())
    print(f"fuzzer: {len(operations)} operations, {total} requests {dict(requests)}")
    assert not failures, f"{len(failures)} of {total} requests failed:\n" + "\n\n".join(
        failures[:30]
    )
