"""Every API endpoint that takes an id answers 404 to callers outside the object's scope.

Endpoints are found from the URL map, so a new endpoint is walked automatically; a new kind of
path id fails ``test_every_path_id_is_walked`` until it is given an object here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from participation.auth.models import (
    ClaimKind,
    DwellingClaim,
    Notification,
    Role,
    RoleAssignment,
    SubjectKind,
)
from participation.auth.scoping import PUBLIC_BLUEPRINTS, has_resolver
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.feedback.models import (
    Open311Key,
    Ticket,
    TicketCategory,
    TicketKind,
    TicketPhoto,
)
from participation.feedback.services import ensure_categories
from participation.feedback.storage import photo_storage
from participation.notices.links import ensure_link
from participation.notices.models import (
    LinkTarget,
    Notice,
    NoticeKind,
    Objection,
    ObjectionPhoto,
    PosterBatch,
)
from participation.notices.services import add_attachment
from participation.projects.consultation import publish_plan
from participation.projects.models import (
    ManagementMode,
    OrganisationKind,
    PlanComment,
    ProjectArchive,
    ProjectManagement,
)
from participation.projects.services import create_project, set_organisation
from participation.roster.models import RosterImport
from participation.surveys.models import (
    Option,
    Question,
    QuestionType,
    RespondentBasis,
    Survey,
    SurveyKind,
)
from participation.surveys.services import open_survey
from participation.votes.models import Matter, Proxy, Vote, VotePerson
from participation.votes.services import open_vote, store_attachment

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class World:
    """Compound A with one object of every kind, and the callers from neighbouring B."""

    ids: dict[str, int]
    committee_a: dict
    committee_b: dict
    resident_b: dict


@pytest.fixture
def world(db, make_compound, make_dwelling, make_staff, make_account, sign_in):
    a = make_compound("甲小区")
    b = make_compound("乙小区", community=a.community)  # same community: the closest neighbour
    owner_a = make_dwelling.owner(a, "张三", "13900000001")
    dwelling_a = make_dwelling(a, owners=[owner_a])
    account_a = make_account("13900000001")
    claim = DwellingClaim(
        account_id=account_a.id,
        compound_id=a.id,
        dwelling_id=dwelling_a.id,
        kind=ClaimKind.OWNER,
        name="张三",
        id_last4="1234",
    )
    roster_import = RosterImport(compound_id=a.id, filename="a.csv", content=b"")
    staff_a = make_staff(Role.COMPOUND, a.id)
    _db.session.add_all([claim, roster_import])
    _db.session.flush()
    role_a = _db.session.query(RoleAssignment).filter_by(staff_id=staff_a.id).one()
    vote_a = Vote(
        compound_id=a.id,
        title="甲小区加装电梯",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        building_ids=[dwelling_a.building_id],
        opens_at=utcnow() - timedelta(minutes=1),
        closes_at=utcnow() + timedelta(days=7),
        created_by_id=staff_a.id,
        no_cost_plan=True,  # an elevator vote opens with a cost plan or this declaration
        no_cost_plan_reason="测试：不涉及居民出资",
    )
    _db.session.add(vote_a)
    _db.session.flush()
    material_a = store_attachment(vote_a, "plan", "plan.pdf", b"%PDF-1.4", staff_a.id)
    open_vote(vote_a)
    proxy_a = Proxy(
        vote_id=vote_a.id,
        person_id=_db.session.query(VotePerson.id).filter_by(vote_id=vote_a.id).scalar(),
        owner_id=owner_a.id,
        grantor_account_id=account_a.id,
        proxy_account_id=make_account("13900000003").id,
    )
    _db.session.add(proxy_a)
    survey_a = Survey(
        compound_id=a.id,
        kind=SurveyKind.CONSENT,
        title="甲小区改造意愿征集",
        basis=RespondentBasis.OWNER,
        opens_at=utcnow() - timedelta(minutes=1),
        closes_at=utcnow() + timedelta(days=7),
        created_by_id=staff_a.id,
        questions=[
            Question(
                position=1,
                type=QuestionType.CONSENT,
                text="您是否同意本小区实施改造？",
                options=[
                    Option(position=1, label="同意", value="agree"),
                    Option(position=2, label="不同意", value="disagree"),
                ],
            )
        ],
    )
    _db.session.add(survey_a)
    _db.session.flush()
    open_survey(survey_a)
    objection_a = Objection(vote_id=vote_a.id, summary="异议", recorded_by_id=staff_a.id)
    _db.session.add(objection_a)
    survey_objection_a = Objection(survey_id=survey_a.id, summary="异议", recorded_by_id=staff_a.id)
    _db.session.add(survey_objection_a)
    _db.session.flush()
    objection_photo_a = ObjectionPhoto(
        objection_id=objection_a.id, filename="a.jpg", content_type="image/jpeg",
        content=b"\xff\xd8\xff", sha256="0" * 64,
    )  # fmt: skip
    _db.session.add(objection_photo_a)

    notice_a = Notice(compound_id=a.id, kind=NoticeKind.GENERAL, title="停水通知", public=True)
    _db.session.add(notice_a)
    _db.session.flush()
    notice_attachment_a = add_attachment(notice_a, "a.pdf", b"%PDF-1.4", staff_a.id)
    link_a, _ = ensure_link(a, LinkTarget.COMPOUND, None, staff_a.id)
    batch_a = PosterBatch(
        level="community", place_id=a.community_id, place_name="社区", base_url="http://x/"
    )
    _db.session.add(batch_a)
    open311_key_a = Open311Key(
        district_id=a.community.street.district_id, name="12345", key_hash="0" * 64
    )
    _db.session.add(open311_key_a)

    district_id = community.street.district_id if (community := a.community) else None
    ensure_categories(district_id)
    category_a = _db.session.scalars(
        select(TicketCategory).where(TicketCategory.district_id == district_id)
    ).first()
    ticket_a = Ticket(
        compound_id=a.id,
        kind=TicketKind.COMPLAINT,
        category_id=category_a.id,
        description="脚手架",
        reporter_id=account_a.id,
        ack_due_at=utcnow(),
        resolve_due_at=utcnow(),
    )
    _db.session.add(ticket_a)
    _db.session.flush()
    photo_storage().put("tickets/scope/a.jpg", b"\xff\xd8\xff")
    photo_storage().put("tickets/scope/a-t.jpg", b"\xff\xd8\xff")
    ticket_photo_a = TicketPhoto(
        ticket_id=ticket_a.id, position=1, key="tickets/scope/a.jpg",
        thumbnail_key="tickets/scope/a-t.jpg", width=1, height=1, size=3, sha256="0" * 64,
    )  # fmt: skip
    notification_a = Notification(
        recipient_kind=SubjectKind.STAFF, recipient_id=staff_a.id, kind="t", title="t"
    )
    _db.session.add_all([ticket_photo_a, notification_a])

    project_a = create_project(a, {"year": 2026, "title": "甲小区改造"}, staff_a.id)
    set_organisation(
        a, {"kind": OrganisationKind.OWNERS_COMMITTEE, "name": "甲小区业委会"}, staff_a.id
    )
    consultation_a = publish_plan(
        project_a,
        {
            "title": "甲小区设计方案",
            "opens_at": utcnow() - timedelta(minutes=1),
            "closes_at": utcnow() + timedelta(days=7),
            "items": [{"name": "外墙", "cost": Decimal("100.00"), "residents_part": Decimal("0")}],
        },
        staff_a.id,
    )
    comment_a = PlanComment(consultation_id=consultation_a.id, account_id=account_a.id, text="好")
    management_a = ProjectManagement(
        project_id=project_a.id,
        mode=ManagementMode.PROFESSIONAL,
        survey_id=survey_a.id,
        result={"campaign": "survey", "id": survey_a.id, "chosen": "professional"},
        recorded_by_id=staff_a.id,
    )
    archive_a = ProjectArchive(project_id=project_a.id, created_by_id=staff_a.id)
    _db.session.add_all([comment_a, management_a, archive_a])
    _db.session.flush()

    account_b = make_account("13900000002")
    owner_b = make_dwelling.owner(b, "李四", "13900000002")
    owner_b.account_id = account_b.id
    make_dwelling(b, owners=[owner_b])
    _db.session.flush()
    community = a.community
    return World(
        ids={
            "compound_id": a.id,
            "community_id": community.id,
            "street_id": community.street_id,
            "district_id": community.street.district_id,
            "claim_id": claim.id,
            "import_id": roster_import.id,
            "staff_id": staff_a.id,
            "role_id": role_a.id,
            "vote_id": vote_a.id,
            "attachment_id": material_a.id,
            "proxy_id": proxy_a.id,
            "survey_id": survey_a.id,
            "survey_objection_id": survey_objection_a.id,
            "objection_id": objection_a.id,
            "objection_photo_id": objection_photo_a.id,
            "notice_id": notice_a.id,
            "notice_attachment_id": notice_attachment_a.id,
            "link_id": link_a.id,
            "poster_batch_id": batch_a.id,
            "ticket_id": ticket_a.id,
            "ticket_photo_id": ticket_photo_a.id,
            "ticket_category_id": category_a.id,
            "notification_id": notification_a.id,
            "open311_key_id": open311_key_a.id,
            "project_id": project_a.id,
            "project_step_id": project_a.steps[0].id,
            "plan_consultation_id": consultation_a.id,
            "plan_comment_id": comment_a.id,
            "project_archive_id": archive_a.id,
        },
        committee_a=sign_in(staff_a),
        committee_b=sign_in(make_staff(Role.COMPOUND, b.id)),
        resident_b=sign_in(account_b),
    )


def scoped_rules(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or not rule.arguments:
            continue
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint in PUBLIC_BLUEPRINTS:
            continue
        yield rule


def test_every_path_id_is_walked(app, world):
    for rule in scoped_rules(app):
        for argument in rule.arguments:
            assert has_resolver(argument), f"{rule.rule}: no scope resolver for <{argument}>"
            assert argument in world.ids, f"{rule.rule}: give <{argument}> an object in World"


def _calls(app, world):
    for rule in scoped_rules(app):
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", str(world.ids[argument]))
        for method in sorted(set(rule.methods) & set(METHODS)):
            yield method, url


@pytest.mark.parametrize("caller", ["committee_b", "resident_b"])
def test_neighbours_get_404_everywhere(app, client, world, caller):
    headers = getattr(world, caller)
    checked = 0
    for method, url in _calls(app, world):
        response = client.open(url, method=method, headers=headers, json={})
        assert response.status_code == 404, f"{caller} {method} {url}: {response.status_code}"
        assert response.json["code"] == "not_found", f"{method} {url}"
        checked += 1
    assert checked >= 10


def test_own_committee_reaches_the_same_objects(app, client, world):
    """The walk is meaningful: A's own committee gets past the scope check on every GET."""
    for method, url in _calls(app, world):
        if method != "GET":
            continue
        response = client.get(url, headers=world.committee_a)
        above = ("/staff/", "/districts/", "/streets", "/communities", "/poster-batches")
        if any(part in url for part in above):
            continue  # places, staff and batches above a compound are not its committee's
        if response.status_code == 403 and response.json["code"] == "resident_only":
            continue  # in scope, but a resident's own view (e.g. my-share)
        if response.status_code == 409 and response.json["code"] == "not_a_menu_survey":
            continue  # in scope, but the menu chart of A's consent survey: another kind
        if response.status_code == 409 and response.json["code"] == "archive_not_done":
            continue  # in scope, but A's project archive is still queued: nothing to download
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.json}"
