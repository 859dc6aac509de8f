"""公示 in one place (notices/publication.py): the same flow for a vote and for a consent
survey through the API, on the paths each has always had — publish, objections, resolution,
finalisation — one public notice document for both, and committee members acting at once on
real PostgreSQL. (Vote-only details: tests/votes/test_results.py; the consent notice's
figures: tests/surveys/test_consent.py; the migration that moved the objections:
tests/test_migrations.py.)"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import current_app
from jsonschema import ValidationError
from openapi_schema_validator import OAS30Validator, validate

from participation.auth.models import Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.types import utcnow
from participation.counting import Basis
from participation.extensions import db as _db
from participation.notices.models import Objection
from participation.roster.models import (
    Building,
    Community,
    Compound,
    District,
    Dwelling,
    Entrance,
    Owner,
    Ownership,
    Street,
)
from participation.surveys.models import (
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from participation.surveys.services import open_survey
from participation.votes.models import Channel, Choice, Matter, Vote, VotePerson, VoteStatus
from participation.votes.services import open_vote, record_cast

KINDS = ("vote", "survey")


@dataclass(frozen=True)
class Campaign:
    """A campaign made through the API and the 公示 paths of its kind."""

    kind: str
    id: int
    model: type[Vote] | type[Survey]
    objections: str  # the resolve path's prefix: /objections or /survey-objections

    @property
    def path(self) -> str:
        return f"/{self.kind}s/{self.id}"

    def row(self) -> Vote | Survey:
        return _db.session.get(self.model, self.id)

    def resolve(self, objection_id: int) -> str:
        return f"{self.objections}/{objection_id}/resolve"


def post(client, url: str, headers: dict, **body):
    return client.post(f"/api/v1{url}", headers=headers, json=body)


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert response.json["message"]


@pytest.fixture
def committee(sample_compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, sample_compound.id))


@pytest.fixture
def make_campaign(client, sample_compound, committee):
    """``make_campaign("vote")`` → an opened vote on the whole sample compound (更换物业);
    ``make_campaign("survey")`` → an opened consent survey from the template."""

    def make(kind: str) -> Campaign:
        now = utcnow()
        window = {
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(days=7)).isoformat(),
        }
        compound = f"/compounds/{sample_compound.id}"
        if kind == "vote":
            body = {"title": "选聘物业服务企业", "matter": "property_service", **window}
            made = post(client, f"{compound}/votes", committee, **body)
            campaign = Campaign("vote", made.json["id"], Vote, "/objections")
        else:
            body = {"template": "consent", "title": "改造意愿征集", **window}
            made = post(client, f"{compound}/surveys/from-template", committee, **body)
            campaign = Campaign("survey", made.json["id"], Survey, "/survey-objections")
        assert made.status_code == 201, made.json
        opened = post(client, f"{campaign.path}/open", committee, confirm_unknown_owners=True)
        assert opened.status_code == 200, opened.json
        return campaign

    return make


def close(campaign: Campaign) -> None:
    """Past its closing time: the next request naming it closes it."""
    campaign.row().closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def end_objection_period(campaign: Campaign) -> None:
    campaign.row().objection_until = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


@pytest.mark.parametrize("kind", KINDS)
def test_publish_object_resolve_and_finalize(client, make_campaign, committee, kind):
    campaign = make_campaign(kind)
    c = campaign.path
    refused(post(client, f"{c}/publish", committee), 409, f"{kind}_not_closed")
    early = post(client, f"{c}/objections", committee, summary="异议")
    refused(early, 409, f"{kind}_not_published")
    refused(post(client, f"{c}/finalize", committee), 409, f"{kind}_not_published")

    close(campaign)
    published = post(client, f"{c}/publish", committee)
    assert published.status_code == 200, published.json
    assert (published.json["id"], published.json["status"]) == (campaign.id, "published")
    row = campaign.row()
    assert row.status.value == "published" and row.result is not None
    assert row.objection_until - row.published_at == timedelta(days=7)
    refused(post(client, f"{c}/publish", committee), 409, f"{kind}_not_closed")
    running = post(client, f"{c}/finalize", committee)
    refused(running, 409, "objection_period_running")
    assert "异议期至" in running.json["message"]

    first = post(client, f"{c}/objections", committee, summary="  1栋1单元101 称未收到通知  ")
    assert first.status_code == 201, first.json
    other = "survey" if kind == "vote" else "vote"
    assert first.json[f"{kind}_id"] == campaign.id and first.json[f"{other}_id"] is None
    assert (first.json["summary"], first.json["resolved_at"]) == ("1栋1单元101 称未收到通知", None)
    resolve = campaign.resolve(first.json["id"])
    resolved = post(
        client, resolve, committee, verdict="not_upheld", resolution="已核实：通知已张贴"
    )
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolution"] == "已核实：通知已张贴" and resolved.json["resolved_at"]
    refused(
        post(client, resolve, committee, verdict="not_upheld", resolution="再次处理"),
        409,
        "objection_resolved",
    )

    second = post(client, f"{c}/objections", committee, summary="对面积有异议")
    listed = client.get(f"/api/v1{c}/objections", headers=committee)
    assert listed.status_code == 200, listed.json
    assert [o["id"] for o in listed.json] == [first.json["id"], second.json["id"]]
    assert '"total": 2' in listed.headers["X-Pagination"]

    end_objection_period(campaign)
    late = post(client, f"{c}/objections", committee, summary="逾期")
    refused(late, 409, "objection_period_over")
    unresolved = post(client, f"{c}/finalize", committee)
    refused(unresolved, 409, "objections_unresolved")
    assert unresolved.json["errors"] == {"unresolved": ["1"]}
    post(
        client,
        campaign.resolve(second.json["id"]),
        committee,
        verdict="not_upheld",
        resolution="以登记簿为准",
    )
    final = post(client, f"{c}/finalize", committee)
    assert final.status_code == 200, final.json
    assert final.json["status"] == "final" and final.json["finalized_at"]
    refused(post(client, f"{c}/finalize", committee), 409, f"{kind}_not_published")

    stored = _db.session.scalars(
        sa.select(Objection).where(getattr(Objection, f"{kind}_id") == campaign.id)
    ).all()
    assert [o.resolved_at is not None for o in stored] == [True, True]
    assert all(getattr(o, f"{other}_id") is None for o in stored)


@pytest.mark.parametrize("kind", KINDS)
def test_neighbours_get_404_and_residents_403(
    client, sample_compound, make_campaign, committee, make_compound, make_staff, owner_account,
    sign_in, kind,
):  # fmt: skip
    campaign = make_campaign(kind)
    close(campaign)
    post(client, f"{campaign.path}/publish", committee)
    objection = post(client, f"{campaign.path}/objections", committee, summary="异议").json
    calls = [
        ("POST", f"{campaign.path}/publish"),
        ("GET", f"{campaign.path}/objections"),
        ("POST", f"{campaign.path}/objections"),
        ("POST", f"{campaign.path}/finalize"),
        ("POST", campaign.resolve(objection["id"])),
    ]
    neighbour = sign_in(make_staff(Role.COMPOUND, make_compound().id))
    for method, url in calls:
        body = {"summary": "x", "verdict": "not_upheld", "resolution": "x"}
        refused(client.open(f"/api/v1{url}", method=method, headers=neighbour, json=body), 404,
                "not_found")  # fmt: skip

    resident = sign_in(owner_account(sample_compound, "1栋1单元101"))
    expected = ["committee_only", "staff_only", "staff_only", "committee_only"]
    for (method, url), code in zip(calls[:4], expected, strict=True):
        response = client.open(f"/api/v1{url}", method=method, headers=resident, json={})
        refused(response, 403, code)  # 403 before the (empty, invalid) body is read
    # The objection itself is reached through staff scope only: a resident does not see it.
    answer = {"verdict": "not_upheld", "resolution": "x"}
    refused(post(client, campaign.resolve(objection["id"]), resident, **answer), 404, "not_found")
    community = sign_in(make_staff(Role.COMMUNITY, sample_compound.community_id))
    assert client.get(f"/api/v1{campaign.path}/objections", headers=community).json
    refused(post(client, f"{campaign.path}/finalize", community), 403, "committee_only")


def test_an_objection_is_resolved_on_its_own_kinds_path_only(client, make_campaign, committee):
    """One table holds the objections of every kind: a vote's objection is not a survey's."""
    objections = {}
    for kind in KINDS:
        campaign = make_campaign(kind)
        close(campaign)
        post(client, f"{campaign.path}/publish", committee)
        made = post(client, f"{campaign.path}/objections", committee, summary="异议")
        objections[kind] = made.json["id"]
    wrong = [
        f"/survey-objections/{objections['vote']}/resolve",
        f"/objections/{objections['survey']}/resolve",
    ]
    for url in wrong:
        refused(
            post(client, url, committee, verdict="not_upheld", resolution="x"), 404, "not_found"
        )
    assert (
        _db.session.scalar(sa.select(sa.func.count()).where(Objection.resolved_at.is_not(None)))
        == 0
    )


def test_the_public_notices_of_both_kinds_are_one_document(app, client, make_campaign, committee):
    notices = {}
    for kind in KINDS:
        campaign = make_campaign(kind)
        url = f"/api/v1/public{campaign.path}/notice"
        close(campaign)
        assert client.get(url).status_code == 404  # closed, not yet published
        post(client, f"{campaign.path}/publish", committee)
        post(client, f"{campaign.path}/objections", committee, summary="异议")
        response = client.get(url)  # no sign-in
        assert response.status_code == 200, response.json
        notices[kind] = response.json

    vote, survey = notices["vote"], notices["survey"]
    assert set(vote) == set(survey) == {
        "kind", "id", "vote_id", "survey_id", "title", "matter", "rule", "proxy_rule", "basis",
        "compound",
        "buildings", "entrances", "opens_at", "closes_at", "published_at", "objection_until",
        "finalized_at", "final", "result", "decision", "objections", "corrections",
    }  # fmt: skip
    assert vote["decision"] == {"own_passed": False, "common_parts": None, "passed": False}
    assert survey["decision"] is None
    assert (vote["kind"], vote["vote_id"], vote["survey_id"]) == ("vote", vote["id"], None)
    assert (survey["kind"], survey["survey_id"]) == ("survey", survey["id"])
    assert survey["vote_id"] is None
    assert (vote["matter"], vote["rule"], vote["basis"]) == (
        "property_service",
        "civil_code_ordinary",
        "both",
    )
    assert (survey["matter"], survey["rule"], survey["basis"]) == (
        "consent",
        "renovation_consent",
        Basis.COUNT.value,
    )
    for notice in (vote, survey):
        assert notice["compound"] == "样例小区"
        assert notice["buildings"] == notice["entrances"] == []  # the whole compound
        assert notice["final"] is False and notice["finalized_at"] is None
        assert notice["published_at"] and notice["objection_until"]
        assert (notice["objections"]["received"], notice["objections"]["resolved"]) == (1, 0)
        assert [item["summary"] for item in notice["objections"]["items"]] == ["异议"]
        assert (notice["result"]["t_cnt"], notice["result"]["p_cnt"]) == (45, 0)
        assert notice["result"]["passed"] is False and "buildings" not in notice["result"]
    assert "quorum_met" in vote["result"] and "consent" in survey["result"]

    # Each is what the OpenAPI document says, its result the one schema of its kind.
    spec = client.get("/api/v1/openapi.json").json
    document = {"$ref": "#/components/schemas/ResultNotice", "components": spec["components"]}
    for notice in (vote, survey):
        validate(notice, document, cls=OAS30Validator)
    with pytest.raises(ValidationError):  # a result of neither kind
        validate({**vote, "result": {**vote["result"], **survey["result"]}}, document,
                 cls=OAS30Validator)  # fmt: skip


# Concurrency (real PostgreSQL, own database and app) ------------------------------------------


def _closed_campaign(kind: str) -> tuple[int, str]:
    """A closed vote or consent survey of one owner, who agreed to the vote and has not
    answered the survey, and a committee token; committed."""
    compound = Compound(
        community=Community(street=Street(district=District(name="区"), name="街道"), name="社区"),
        name="小区",
    )
    _db.session.add(compound)
    _db.session.flush()
    building = Building(compound_id=compound.id, number="1")
    _db.session.add(building)
    _db.session.flush()
    entrance = Entrance(building_id=building.id, number="1")
    staff = StaffUser(username="committee", password_hash="-", display_name="业委会")
    staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
    owner = Owner(compound_id=compound.id, name="业主", id_hash="hash", id_last4="0000")
    _db.session.add_all([entrance, staff, owner])
    _db.session.flush()
    dwelling = Dwelling(
        compound_id=compound.id,
        building_id=building.id,
        entrance_id=entrance.id,
        floor=1,
        room="101",
        area=Decimal("80.00"),
    )
    _db.session.add_all([dwelling, Ownership(owner=owner, dwelling=dwelling)])
    now = utcnow()
    window = {"opens_at": now - timedelta(minutes=1), "closes_at": now + timedelta(days=1)}
    if kind == "vote":
        matter = Matter.ELEVATOR
        campaign = Vote(compound_id=compound.id, title="加装电梯", matter=matter, rule=matter.rule,
                        created_by_id=staff.id, **window)  # fmt: skip
        _db.session.add(campaign)
        _db.session.flush()
        open_vote(campaign)
        person_id = _db.session.scalar(sa.select(VotePerson.id).filter_by(vote_id=campaign.id))
        record_cast(campaign.id, person_id, Choice.AGREE, Channel.ONLINE)
    else:
        consent = Question(position=1, type=QuestionType.CONSENT, text="是否同意改造？")
        consent.options = [
            Option(position=1, label="同意", value="agree"),
            Option(position=2, label="不同意", value="disagree"),
        ]
        campaign = Survey(compound_id=compound.id, kind=SurveyKind.CONSENT, title="改造意愿征集",
                          basis=RespondentBasis.OWNER, created_by_id=staff.id,
                          questions=[consent], **window)  # fmt: skip
        _db.session.add(campaign)
        _db.session.flush()
        open_survey(campaign)
    campaign.closes_at = utcnow() - timedelta(microseconds=1)
    with current_app.test_request_context():
        token = issue_tokens(SubjectKind.STAFF, staff.id)["access_token"]
    _db.session.commit()
    return campaign.id, token


def _all_at_once(race_app, count: int, method: str, url: str, token: str, body=None):
    barrier = threading.Barrier(count)
    outcomes: list[tuple[int, str | None]] = []

    def call():
        client = race_app.test_client()
        barrier.wait()
        response = client.open(
            url, method=method, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        outcomes.append((response.status_code, response.json.get("code")))

    workers = [threading.Thread(target=call) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(outcomes, key=lambda outcome: outcome[0])


@pytest.mark.postgres
@pytest.mark.parametrize("kind", KINDS)
def test_committee_members_acting_at_once_succeed_once(race_app, kind):
    """Five committee members publish, resolve the same objection and finalise at the same
    moment: each step succeeds exactly once and the others get a clear 409."""
    with race_app.app_context():
        campaign_id, token = _closed_campaign(kind)
    model = Vote if kind == "vote" else Survey
    path = f"/api/v1/{kind}s/{campaign_id}"
    ok_once = lambda code: [(200, None)] + [(409, code)] * 4  # noqa: E731

    published = _all_at_once(race_app, 5, "POST", f"{path}/publish", token)
    assert published == ok_once(f"{kind}_not_closed")

    client = race_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    objection = client.post(f"{path}/objections", headers=headers, json={"summary": "异议"}).json
    prefix = "objections" if kind == "vote" else "survey-objections"
    resolve = f"/api/v1/{prefix}/{objection['id']}/resolve"
    resolved = _all_at_once(
        race_app, 5, "POST", resolve, token, {"verdict": "not_upheld", "resolution": "已处理"}
    )
    assert resolved == ok_once("objection_resolved")

    with race_app.app_context():
        _db.session.execute(
            sa.update(model).where(model.id == campaign_id).values(objection_until=utcnow())
        )
        _db.session.commit()
    finalized = _all_at_once(race_app, 5, "POST", f"{path}/finalize", token)
    assert finalized == ok_once(f"{kind}_not_published")

    with race_app.app_context():
        campaign = _db.session.get(model, campaign_id)
        final = VoteStatus.FINAL if kind == "vote" else SurveyStatus.FINAL
        assert campaign.status is final
        assert campaign.result["y_cnt"] == (1 if kind == "vote" else 0)
        key = getattr(Objection, f"{kind}_id")
        objections = _db.session.scalars(sa.select(Objection).where(key == campaign_id)).all()
        assert [(o.resolution, o.resolved_at is not None) for o in objections] == [("已处理", True)]


# The printable 公示 pages and the board's result notices ---------------------------------------

INTERNAL_WORDS = ("agree", "disagree", "abstain", "basis", "civil_code", "renovation_consent")


@pytest.mark.parametrize("kind", KINDS)
def test_the_result_goes_on_the_board_and_on_a_printable_page(
    client, make_campaign, committee, kind
):
    campaign = make_campaign(kind)
    page_url = f"/notices/{kind}s/{campaign.id}"
    assert client.get(page_url).status_code == 404  # nothing to show before 公示
    close(campaign)
    assert post(client, f"{campaign.path}/publish", committee).status_code == 200

    page = client.get(page_url)
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    heading = "表决结果公示" if kind == "vote" else "改造意愿征集结果公示"
    assert heading in text and "公示期" in text and "书面提出" in text
    assert ("三分之二以上" in text) and ("业主总数" in text)
    for word in INTERNAL_WORDS:
        assert word not in text.replace("renovation", ""), word
    assert "张" not in text.split("<main", 1)[1].split("规则", 1)[0]  # no names in the result
    chart = client.get(f"{page_url}/chart.png")
    assert chart.status_code == 200 and chart.mimetype == "image/png"

    board = client.get(f"/api/v1/public/compounds/{campaign.row().compound_id}/notices").json
    result = next(n for n in board if n["kind"] == "result")
    assert result[f"{kind}_id"] == campaign.id and result["pinned"] is True
    notice_page = client.get(f"/notices/{result['id']}").get_data(as_text=True)
    assert f'href="{page_url}"' in notice_page

    end_objection_period(campaign)
    assert post(client, f"{campaign.path}/finalize", committee).status_code == 200
    final = client.get(page_url).get_data(as_text=True)
    assert "结果已确认" in final and "本结果已确认为最终结果" in final
    board = client.get(f"/api/v1/public/compounds/{campaign.row().compound_id}/notices").json
    assert next(n for n in board if n["kind"] == "result")["pinned"] is False


def test_the_vote_page_says_what_was_missing(client, make_campaign, committee):
    campaign = make_campaign("vote")
    close(campaign)
    post(client, f"{campaign.path}/publish", committee)
    text = client.get(f"/notices/votes/{campaign.id}").get_data(as_text=True)
    assert "表决未通过" in text and "参与表决的业主未达到三分之二" in text
    assert "未表决" in text and "过半数" in text


def test_a_draft_or_unknown_campaign_has_no_page(client, make_campaign):
    campaign = make_campaign("vote")
    for url in (f"/notices/votes/{campaign.id}", "/notices/votes/999999", "/notices/polls/1"):
        assert client.get(url).status_code == 404, url
