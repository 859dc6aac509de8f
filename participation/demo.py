"""``flask demo seed`` and ``flask demo info``: a demo district for trying the product, with
something in every part of it — open votes and surveys, a result on 公示, notices, the board's
short link. It composes every package (roster, votes, surveys, notices), so it sits above them."""

from __future__ import annotations

import os
import secrets
from decimal import Decimal

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.models import Community, Compound, District, Street

demo_cli = AppGroup("demo", help="Demo data for trying the product locally.")

ZERO = Decimal("0.00")
DEMO_STAFF = "demo-committee"
DEMO_RESIDENT_PHONE = "13800000001"
# (compound name, buildings, entrances, floors, rooms per floor)
DEMO_COMPOUNDS = [
    ("幸福里小区", 2, 2, 6, 2),
    ("光明小区", 4, 2, 6, 2),
    ("建设新村", 6, 3, 7, 2),
]


def _credentials_file() -> str:
    """Where the demo committee's password is kept; instance/ may not exist yet when the
    secrets come from the environment."""
    os.makedirs(current_app.instance_path, exist_ok=True)
    return os.path.join(current_app.instance_path, "demo-credentials.txt")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has compounds.")
def seed(if_empty: bool) -> None:
    """Create 示范区 with three compounds from generated rosters, a committee account for the
    first compound and a resident who can sign in with a phone code."""
    from participation.roster.importer import import_roster_file

    if if_empty and db.session.scalar(select(func.count(Compound.id))):
        click.echo("demo: database already has compounds, nothing seeded")
        return
    district = District(name="示范区")
    street = Street(district=district, name="和平街道")
    community = Community(street=street, name="向阳社区")
    db.session.add_all([district, street, community])
    compounds = []
    for index, (name, buildings, entrances, floors, rooms) in enumerate(DEMO_COMPOUNDS):
        compound = Compound(community=community, name=name, address=f"向阳路{index + 1}号")
        db.session.add(compound)
        db.session.flush()
        rows = roster_rows(
            buildings,
            entrances,
            floors,
            rooms,
            seed=index + 1,
            first_phone=DEMO_RESIDENT_PHONE if index == 0 else None,
            hao_lou=(2,),  # "2号楼": shown as the roster writes it
        )
        result = import_roster_file(compound.id, f"{name}.csv", roster_csv(rows))
        if result.status.value != "done":
            raise click.ClickException(f"demo roster for {name} was refused: {result.report}")
        compounds.append(compound)
    from participation.surveys.menu import seed_catalogue

    seed_catalogue()
    password = secrets.token_urlsafe(12)
    staff = StaffUser(
        username=DEMO_STAFF,
        password_hash=generate_password_hash(password),
        display_name="幸福里业委会",
    )
    staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compounds[0].id))
    db.session.add(staff)
    db.session.flush()
    seed_campaigns(compounds[0], staff)
    seed_answers(compounds[0])
    seed_tickets(compounds[0], staff)
    seed_mobilisation(compounds[0], staff)
    seed_project(compounds[0], staff)
    db.session.commit()
    remind_demo_non_voters(compounds[0], staff)
    with open(_credentials_file(), "w", encoding="utf-8") as out:
        out.write(f"{DEMO_STAFF} {password}\n")
    click.echo(f"demo: seeded {len(compounds)} compounds; committee login {DEMO_STAFF}")


@demo_cli.command("info")
@click.option("--base-url", default="http://127.0.0.1:5000")
def info(base_url: str) -> None:
    """Print where to look and how to sign in."""
    try:
        with open(_credentials_file(), encoding="utf-8") as source:
            username, password = source.read().split()
    except FileNotFoundError:
        username, password = DEMO_STAFF, "(run `flask demo seed` first)"
    compound = db.session.scalar(select(Compound).order_by(Compound.id))
    compound_id = compound.id if compound else 1
    compound_name = compound.name if compound else ""
    board = _board_addresses(compound) if compound else {}
    click.echo(
        f"""
participation is starting on {base_url}

  API documentation   {base_url}/api/docs
  OpenAPI document    {base_url}/api/v1/openapi.json
  Resident H5 page    {base_url}/h5/?compound={compound_id}
  Committee workbench {base_url}/workbench/   (sign in: username {username}  password {password})
  Notice-board link   {base_url}/c/{board.get("code", "…")}   (what the QR poster holds)
  A result on 公示     {base_url}{board.get("result", "/notices/votes/1")}
  Complaints (public) {base_url}/api/v1/public/compounds/{compound_id}/supervision
  Project (改造进度)   {base_url}/api/v1/public/compounds/{compound_id}/project-progress

  Committee sign-in   username {username}  password {password}
    curl -s -X POST {base_url}/api/v1/auth/staff-sessions \\
         -H 'Content-Type: application/json' \\
         -d '{{"username": "{username}", "password": "{password}"}}'

  Resident sign-in    phone {DEMO_RESIDENT_PHONE} (owner of 1栋1单元101, {compound_name})
    1. curl -s -X POST {base_url}/api/v1/auth/codes -H 'Content-Type: application/json' \\
            -d '{{"phone": "{DEMO_RESIDENT_PHONE}"}}'
    2. the code appears in this server's log ("sign-in code for 138****0001: ……")
    3. curl -s -X POST {base_url}/api/v1/auth/sessions -H 'Content-Type: application/json' \\
            -d '{{"phone": "{DEMO_RESIDENT_PHONE}", "code": "<code>"}}'
"""
    )


def _board_addresses(compound: Compound) -> dict:
    from participation.notices import links
    from participation.notices.models import LinkTarget, Notice, NoticeKind

    link = links.current_link(LinkTarget.COMPOUND, compound.id)
    result = db.session.scalar(
        select(Notice).where(Notice.compound_id == compound.id, Notice.kind == NoticeKind.RESULT)
    )
    addresses = {"code": link.code} if link else {}
    if result is not None and result.vote_id:
        addresses["result"] = f"/notices/votes/{result.vote_id}"
    return addresses


def seed_campaigns(compound: Compound, staff: StaffUser) -> None:
    """In the first compound: an elevator vote for 1栋 with its cost plan, open; a vote on the
    property service that closed with ballots and is on 公示; a consent, a menu (seven items
    with costs) and a satisfaction survey, open; two notices of the committee; the compound's
    short link."""
    from datetime import timedelta
    from decimal import Decimal

    from participation.common.sql import db_now
    from participation.notices import links, publication
    from participation.notices.models import LinkTarget, Notice, NoticeKind, Verdict
    from participation.roster.models import Building
    from participation.surveys.menu import demo_menu, set_menu
    from participation.surveys.services import create_from_template, open_survey
    from participation.votes.costs import set_cost_plan
    from participation.votes.models import Choice, Matter, Vote, VotePerson
    from participation.votes.services import close_if_due, open_vote

    now = db_now()
    building_1 = db.session.scalar(
        select(Building.id).where(Building.compound_id == compound.id, Building.number == "1")
    )
    elevator = Vote(
        compound_id=compound.id,
        title=ELEVATOR_TITLE,
        description="在1栋北侧加装电梯，每单元一部。费用按楼层系数分摊，政府补贴后由本栋业主承担。",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        building_ids=[building_1],
        opens_at=now,
        closes_at=now + timedelta(days=14),
        created_by_id=staff.id,
    )
    property_vote = Vote(
        compound_id=compound.id,
        title="续聘幸福物业服务有限公司",
        matter=Matter.PROPERTY_SERVICE,
        rule=Matter.PROPERTY_SERVICE.rule,
        opens_at=now - timedelta(days=20),
        closes_at=now + timedelta(days=1),
        created_by_id=staff.id,
    )
    db.session.add_all([elevator, property_vote])
    db.session.flush()
    set_cost_plan(
        elevator,
        {
            "total_cost": Decimal("960000.00"),
            "subsidy": Decimal("480000.00"),
            "takes_common_parts": False,
        },
    )
    open_vote(elevator, confirm_unknown_owners=True)
    open_vote(property_vote, confirm_unknown_owners=True)
    persons = db.session.scalars(
        select(VotePerson.id).where(VotePerson.vote_id == property_vote.id).order_by(VotePerson.id)
    ).all()
    for index, person_id in enumerate(persons[: len(persons) * 3 // 4]):
        choice = Choice.DISAGREE if index % 7 == 0 else Choice.AGREE
        paper_ballot(
            property_vote, person_id, choice, staff, now - timedelta(days=18, hours=index % 48)
        )
    property_vote.closes_at = db_now()
    db.session.flush()
    close_if_due(property_vote)
    publication.publish(publication.VOTES, property_vote)
    objection = publication.record_objection(
        publication.VOTES,
        property_vote,
        "2号楼一位业主书面反映：表决通知张贴时间过短，部分老人未及时看到。",
        staff.id,
    )
    publication.resolve_objection(
        objection,
        Verdict.NOT_UPHELD,
        "经核实，表决通知于开始前7天在各单元门口张贴，并由楼长入户告知；异议不成立。",
        staff.id,
    )

    surveys = {}
    for template, title in (
        ("consent", "幸福里小区老旧小区改造意愿征集"),
        ("menu", "幸福里小区改造内容菜单式选择"),
        ("satisfaction", ""),
    ):
        fields = {"opens_at": now, "closes_at": now + timedelta(days=21)}
        if title:
            fields["title"] = title
        surveys[template] = create_from_template(compound.id, template, fields, staff.id)
    set_menu(surveys["menu"], demo_menu())
    for survey in surveys.values():
        open_survey(survey, confirm_unknown_owners=True)
    db.session.add_all(
        [
            Notice(
                compound_id=compound.id,
                kind=NoticeKind.GENERAL,
                title="12月8日停水通知",
                body="因改造施工，12月8日 9:00–17:00 全小区停水，请提前储水。",
                pinned=True,
                public=True,
                created_by_id=staff.id,
            ),
            Notice(
                compound_id=compound.id,
                kind=NoticeKind.PROGRESS,
                title="1栋外墙保温施工进度",
                body="1栋外墙保温已完成脚手架搭设，预计两周内完成。施工期间请勿在楼下停车。",
                building_ids=[building_1],
                created_by_id=staff.id,
            ),
        ]
    )
    links.ensure_link(compound, LinkTarget.COMPOUND, None, staff.id)


COMMENTS = (
    "楼道灯亮了，晚上回家方便多了。",
    "施工期间噪音有点大，希望以后提前通知。",
    "雨水管换了以后楼下不积水了，谢谢。",
    "希望多装几个扶手，方便老人上下楼。",
)
SATISFACTION_WEIGHTS = {"satisfied": 60, "basic": 25, "dissatisfied": 10, "unknown": 5}


def seed_answers(compound: Compound) -> None:
    """Residents' answers to the open surveys, through the answer path the H5 uses
    (``submit_response``, which keeps the results' tallies): two owners in three answer the
    consent survey (three in four of them agree), half the menu, a third the satisfaction
    survey. The demo resident's own surveys are left for them to answer."""
    import random

    from participation.auth.models import SubjectKind
    from participation.auth.tokens import Principal
    from participation.roster.models import Owner
    from participation.surveys.models import QuestionType, Survey, SurveyStatus
    from participation.surveys.services import slots_of, submit_response

    phones = db.session.scalars(
        select(Owner.phone)
        .where(Owner.compound_id == compound.id, Owner.phone.is_not(None))
        .where(Owner.phone != DEMO_RESIDENT_PHONE)
        .group_by(Owner.phone)
        .order_by(func.min(Owner.id))
    ).all()
    accounts = resident_accounts(phones)
    rng = random.Random(2026)

    def answers_to(survey: Survey) -> list[dict]:
        given = []
        for q in survey.questions:
            options = [o.id for o in q.options]
            if q.type is QuestionType.CONSENT:
                agree = next(o.id for o in q.options if o.value == "agree")
                disagree = next(o.id for o in q.options if o.value == "disagree")
                given.append(
                    {
                        "question_id": q.id,
                        "option_ids": [agree if rng.random() < 0.75 else disagree],
                    }
                )
            elif q.type is QuestionType.SATISFACTION:
                value = rng.choices(
                    list(SATISFACTION_WEIGHTS), list(SATISFACTION_WEIGHTS.values())
                )[0]
                given.append(
                    {
                        "question_id": q.id,
                        "option_ids": [next(o.id for o in q.options if o.value == value)],
                    }
                )
            elif q.type is QuestionType.MENU:  # each item liked by about three in five
                low = q.min_choices or survey.menu_min_items or 1
                high = q.max_choices or survey.menu_max_items or len(options)
                liked = [o for o in rng.sample(options, len(options)) if rng.random() < 0.6]
                missing = max(0, low - len(liked))
                picks = liked[:high] + [o for o in options if o not in liked][:missing]
                given.append({"question_id": q.id, "option_ids": picks})
            elif q.type is QuestionType.MULTIPLE:
                low, high = q.min_choices or 1, min(q.max_choices or 2, 2, len(options))
                given.append(
                    {"question_id": q.id, "option_ids": rng.sample(options, rng.randint(low, high))}
                )
            elif q.type is QuestionType.SINGLE:
                given.append({"question_id": q.id, "option_ids": [rng.choice(options)]})
            elif q.type is QuestionType.RATING:
                given.append({"question_id": q.id, "rating": rng.randint(q.scale_min, q.scale_max)})
            elif q.type is QuestionType.TEXT and (q.required or rng.random() < 0.2):
                given.append({"question_id": q.id, "text": rng.choice(COMMENTS)})
        return given

    surveys = db.session.scalars(
        select(Survey)
        .where(Survey.compound_id == compound.id, Survey.status == SurveyStatus.OPEN)
        .order_by(Survey.id)
    ).all()
    shares = {"consent": 2 / 3, "menu": 1 / 2, "satisfaction": 1 / 3}
    for survey in surveys:
        share = shares.get(survey.kind.value, 0)
        for phone in rng.sample(phones, int(len(phones) * share)):
            account_id = accounts[phone]
            slots = slots_of([survey], account_id)[survey.id]
            if not slots:
                continue
            caller = Principal(SubjectKind.RESIDENT, account_id, "")
            submit_response(
                survey.id,
                caller,
                answers_to(survey),
                person_id=slots[0].person_id,
                dwelling_id=slots[0].dwelling_id,
            )


def paper_ballot(vote, person_id: int, choice, staff: StaffUser, signed_at) -> None:
    """A paper ballot entered as the committee enters one (``votes.paper``), with the photo
    of the signed form."""
    from participation.votes.models import VotePerson
    from participation.votes.paper import enter_paper_ballot

    person = db.session.get(VotePerson, person_id)
    photo = _signed_form_photo()
    enter_paper_ballot(vote, staff.id, person, choice, "纸质表决票.png", photo, signed_at)


_FORM_PHOTO: list[bytes] = []


def _signed_form_photo() -> bytes:
    """A stand-in for the photo of a signed paper ballot: a small PNG form (made once)."""
    if not _FORM_PHOTO:
        import io

        from PIL import Image, ImageDraw

        image = Image.new("RGB", (420, 594), (250, 250, 245))
        draw = ImageDraw.Draw(image)
        for y in range(90, 460, 46):
            draw.line((40, y, 380, y), fill=(90, 90, 90), width=2)
        draw.rectangle((40, 470, 160, 530), outline=(40, 40, 40), width=3)
        draw.line((220, 520, 260, 490, 300, 525, 350, 495), fill=(20, 40, 160), width=4)
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        _FORM_PHOTO.append(out.getvalue())
    return _FORM_PHOTO[0]


def _demo_photo(color: tuple[int, int, int]) -> bytes:
    """A stand-in for a resident's photo: a 1600×1200 JPEG with a few shapes."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1600, 1200), (205, 210, 215))
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 150, 1400, 1050), outline=color, width=24)
    for x in range(260, 1400, 160):
        draw.line((x, 180, x, 1020), fill=(120, 120, 120), width=10)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def resident_accounts(phones) -> dict[str, int]:
    """phone → the id of the resident account with that phone (made if there is none), linked
    to the owners with that phone, as their first sign-in would do."""
    from sqlalchemy import update

    from participation.auth.models import Account
    from participation.roster.models import Owner

    accounts = {}
    for phone in phones:
        account = db.session.scalar(select(Account).where(Account.phone == phone))
        if account is None:
            account = Account(phone=phone)
            db.session.add(account)
            db.session.flush()
        db.session.execute(
            update(Owner)
            .where(Owner.phone == phone, Owner.account_id.is_(None))
            .values(account_id=account.id)
        )
        accounts[phone] = account.id
    return accounts


def seed_tickets(compound: Compound, staff: StaffUser) -> None:
    """Complaints and suggestions in the compound, through the same services as the API:
    the demo resident's complaint with a photo, resolved by the contractor and waiting for
    the resident to confirm it; their suggestion, just filed; a neighbour's noise complaint
    in progress; a neighbour's complaint closed and rated. Nothing if the demo resident is
    not in the compound's roster."""

    from participation.auth.models import SubjectKind
    from participation.auth.tokens import Principal
    from participation.feedback import services
    from participation.feedback.models import TicketKind
    from participation.roster.models import Building, Owner

    phones = db.session.scalars(
        select(Owner.phone)
        .where(Owner.compound_id == compound.id, Owner.phone.is_not(None))
        .order_by(Owner.id)
    ).all()
    neighbour_phone = next((p for p in phones if p != DEMO_RESIDENT_PHONE), None)
    if DEMO_RESIDENT_PHONE not in phones or neighbour_phone is None:
        return
    accounts = resident_accounts((DEMO_RESIDENT_PHONE, neighbour_phone))
    contractor = StaffUser(
        username="demo-contractor",
        password_hash=generate_password_hash(secrets.token_urlsafe(12)),
        display_name="幸福建设施工队",
    )
    contractor.roles.append(RoleAssignment(role=Role.CONTRACTOR, scope_id=compound.id))
    db.session.add(contractor)
    db.session.flush()
    committee = Principal(SubjectKind.STAFF, staff.id, "", ((Role.COMPOUND, compound.id),))
    builder = Principal(SubjectKind.STAFF, contractor.id, "", ((Role.CONTRACTOR, compound.id),))
    buildings = dict(
        db.session.execute(
            select(Building.number, Building.id).where(Building.compound_id == compound.id)
        ).all()
    )
    district_id = compound.community.street.district_id
    services.ensure_categories(district_id)
    categories = {c.name: c.id for c in db.session.scalars(services.categories_query(district_id))}

    def file(phone, kind, category, description, building="1", photo=None):
        filing = services.Filing(
            compound_id=compound.id,
            kind=kind,
            category_id=categories[category],
            description=description,
            building_id=buildings.get(building),
        )
        photos = services.processed_photos([photo] if photo else [])
        with services.stored_photos(photos) as stored:
            ticket = services.file_ticket(accounts[phone], filing, stored, "demo")
            db.session.flush()
        return ticket

    scaffold = file(
        DEMO_RESIDENT_PHONE, TicketKind.COMPLAINT, "施工安全",
        "1栋北侧脚手架没有防护网，有砖块掉落，老人和孩子经过很危险。",
        photo=_demo_photo((200, 40, 40)),
    )  # fmt: skip
    services.act(scaffold, "acknowledge", committee, "已通知施工单位，今天下午到现场核查。")
    services.assign(scaffold, contractor.id, committee)
    services.act(scaffold, "resolve", builder, "已在1栋北侧加装密目安全网和防护棚。")
    file(
        DEMO_RESIDENT_PHONE, TicketKind.SUGGESTION, "设计方案",
        "建议在2号楼门口增设电动自行车充电桩，避免飞线充电。", building="2",
    )  # fmt: skip
    noise = file(
        neighbour_phone, TicketKind.COMPLAINT, "文明施工与噪音",
        "晚上10点以后还在切割钢管，噪音很大，影响休息。", building="2",
    )  # fmt: skip
    services.act(noise, "acknowledge", committee, "已要求施工单位夜间22:00后停止高噪音作业。")
    services.assign(noise, contractor.id, committee)
    services.act(noise, "start", builder, "已调整作业时间，现场有人值守。")
    lights = file(
        neighbour_phone, TicketKind.COMPLAINT, "施工质量", "2号楼1单元楼道灯改造后还是不亮。",
        building="2",
    )  # fmt: skip
    services.act(lights, "acknowledge", committee, "")
    services.act(lights, "resolve", committee, "已更换声控开关，楼道灯恢复正常。")
    neighbour = Principal(SubjectKind.RESIDENT, accounts[neighbour_phone], "")
    services.act(lights, "confirm", neighbour, "")
    services.rate(lights, neighbour, 4, "修得挺快")


ELEVATOR_TITLE = "1栋加装电梯"


def seed_mobilisation(compound: Compound, staff: StaffUser) -> None:
    """What the committee's workbench shows in the last days of the elevator vote: about a
    third of its owners have voted (online, and one on paper), the demo resident asked a
    neighbour to vote for them (a proxy waiting for the committee), a claim whose name and
    ID ending differ from the roster waits for review, and the consent survey's deadline
    was extended by a week with its reason."""
    from datetime import timedelta

    from participation.auth.models import Account, ClaimKind
    from participation.auth.services import file_claim
    from participation.common.sql import db_now
    from participation.surveys.models import Survey, SurveyKind
    from participation.surveys.services import extend_deadline
    from participation.votes.models import Choice, Vote, VotePerson
    from participation.votes.proxies import grant_proxy

    elevator = db.session.scalar(
        select(Vote).where(Vote.compound_id == compound.id, Vote.title == ELEVATOR_TITLE)
    )
    if elevator is None:
        return
    persons = db.session.scalars(
        select(VotePerson.id).where(VotePerson.vote_id == elevator.id).order_by(VotePerson.id)
    ).all()
    signed_at = db_now()
    for index, person_id in enumerate(persons[1::3]):  # the demo resident (first) not among them
        choice = Choice.DISAGREE if index % 5 == 4 else Choice.AGREE
        paper_ballot(elevator, person_id, choice, staff, signed_at)
    resident = db.session.scalar(select(Account.id).where(Account.phone == DEMO_RESIDENT_PHONE))
    neighbour = db.session.scalar(  # the neighbour of seed_tickets
        select(Account.phone).where(Account.phone != DEMO_RESIDENT_PHONE).order_by(Account.id)
    )
    if resident and neighbour:
        grant_proxy(elevator, resident, neighbour)
    stranger = Account(phone="13900000009")
    db.session.add(stranger)
    db.session.flush()
    file_claim(
        stranger.id,
        {
            "compound_id": compound.id,
            "building": "1栋",
            "entrance": "1单元",
            "room": "102",
            "kind": ClaimKind.OWNER,
            "name": "李明",
            "id_last4": "9999",
        },
    )
    consent = db.session.scalar(
        select(Survey).where(Survey.compound_id == compound.id, Survey.kind == SurveyKind.CONSENT)
    )
    if consent is not None:
        extend_deadline(
            consent,
            consent.closes_at + timedelta(days=7),
            "部分业主外出务工，延长一周以便入户征询",
            staff.id,
        )


def remind_demo_non_voters(compound: Compound, staff: StaffUser) -> None:
    """A reminder by SMS to the elevator vote's non-voters (the console sender writes them
    to the log), so that the workbench shows one with its counts; none in the quiet hours."""
    from participation.common.errors import ApiError
    from participation.votes.models import Vote
    from participation.votes.tasks import enqueue_reminder, start_reminder

    elevator = db.session.scalar(
        select(Vote).where(Vote.compound_id == compound.id, Vote.title == ELEVATOR_TITLE)
    )
    try:
        reminder = start_reminder(elevator, staff.id)
    except ApiError as refused:  # 21:00–08:00: the committee sends it in the morning
        db.session.rollback()
        click.echo(f"demo: no reminder sent now ({refused.message})")
        return
    db.session.commit()
    enqueue_reminder(reminder)


def seed_project(compound: Compound, staff: StaffUser) -> None:
    """The compound's 2026 renovation project at 编制方案: its 业主委员会 with a chair (the
    demo committee's own account) and members; 成立组织, 申请项目 and 申报计划 done with their
    dates; the design plan out for comment, with comments from four owners, two of them
    handled; the money by source reconciled with the plan's total."""
    from datetime import date, timedelta

    from participation.auth.models import SubjectKind
    from participation.auth.tokens import Principal
    from participation.common.sql import db_now
    from participation.projects import consultation, funding, services
    from participation.projects.models import (
        FundingSource,
        Handling,
        MemberRole,
        OrganisationKind,
        OrganisationMember,
        Stance,
        StepKey,
        StepStatus,
    )
    from participation.roster.models import Owner

    committee = Principal(SubjectKind.STAFF, staff.id, "", ((Role.COMPOUND, compound.id),))
    project = services.create_project(
        compound, {"year": 2026, "title": "幸福里小区2026年老旧小区综合改造"}, staff.id
    )
    organisation = services.set_organisation(
        compound,
        {
            "kind": OrganisationKind.OWNERS_COMMITTEE,
            "name": "幸福里小区业主委员会",
            "established_on": date(2026, 3, 15),
        },
        staff.id,
    )
    db.session.add_all(
        OrganisationMember(
            organisation_id=organisation.id, name=name, role=role, added_by_id=staff.id
        )
        for name, role in (("周建国", MemberRole.VICE_CHAIR), ("吴秀英", MemberRole.MEMBER))
    )
    db.session.flush()
    staff.phone = "13900000000"
    services.add_member(
        compound, {"name": "郑志明", "phone": "13900000000", "role": MemberRole.CHAIR}, committee
    )
    # The steps behind the compound, seeded as done with their dates (the gates that lead
    # there are walked through the API in tests/projects/test_walk.py).
    history = {
        StepKey.ORGANISE: ("幸福里小区业主委员会", date(2026, 3, 1), date(2026, 3, 15)),
        StepKey.APPLY: ("向阳社区居委会", date(2026, 3, 16), date(2026, 4, 30)),
        StepKey.PLAN: ("和平街道办事处", date(2026, 5, 1), date(2026, 6, 30)),
    }
    for key, (responsible, start, end) in history.items():
        step = services.step_of(project, key)
        step.organisation = responsible
        step.planned_start = step.actual_start = start
        step.planned_end = step.actual_end = end
        step.status = StepStatus.DONE
        services.record(project, staff.id, "completed", step, StepStatus.NOT_STARTED, "演示数据")
    # The compound's campaigns, notices and complaints belong to this project: its district
    # view, report and archive show them.
    from participation.feedback.models import Ticket
    from participation.notices.models import Notice
    from participation.projects.models import LinkKind
    from participation.surveys.models import Survey
    from participation.votes.models import Vote

    for kind, model in (
        (LinkKind.SURVEY, Survey),
        (LinkKind.VOTE, Vote),
        (LinkKind.NOTICE, Notice),
        (LinkKind.TICKET, Ticket),
    ):
        ids = db.session.scalars(
            select(model.id).where(model.compound_id == compound.id).order_by(model.id)
        )
        for target_id in ids:
            services.add_link(project, kind, target_id, staff.id)
    design = services.step_of(project, StepKey.DESIGN)
    design.status, design.organisation = StepStatus.IN_PROGRESS, "市政设计研究院"
    design.planned_start = design.actual_start = date(2026, 7, 1)
    design.planned_end = date(2027, 1, 31)
    for key, start, end in (
        (StepKey.WORKS, date(2027, 3, 1), date(2027, 9, 30)),
        (StepKey.ACCEPTANCE, date(2027, 10, 1), date(2027, 10, 31)),
    ):
        step = services.step_of(project, key)
        step.planned_start, step.planned_end = start, end
    db.session.flush()

    now = db_now()
    plan = consultation.publish_plan(
        project,
        {
            "title": "幸福里小区综合改造设计方案（征求意见稿）",
            "description": "外墙保温、屋面防水、雨污分流、充电设施和适老化改造。",
            "opens_at": now - timedelta(days=4),
            "closes_at": now + timedelta(days=10),
            "items": [
                {"name": "外墙保温", "cost": Decimal("860000.00"), "residents_part": ZERO},
                {"name": "屋面防水", "cost": Decimal("320000.00"), "residents_part": ZERO},
                {"name": "雨污分流", "cost": Decimal("410000.00"), "residents_part": ZERO},
                {
                    "name": "电动车充电设施",
                    "cost": Decimal("96000.00"),
                    "residents_part": Decimal("24000.00"),
                },
                {
                    "name": "楼道扶手（适老化）",
                    "cost": Decimal("38400.00"),
                    "residents_part": Decimal("9600.00"),
                },
            ],
            "documents": [
                {"name": "设计方案说明.pdf", "url": "demo/plan.pdf", "sha256": "0" * 64},
            ],
        },
        staff.id,
    )
    phones = db.session.scalars(
        select(Owner.phone)
        .where(Owner.compound_id == compound.id, Owner.phone.is_not(None))
        .order_by(Owner.id)
        .limit(5)
    ).all()
    accounts = list(resident_accounts(phones[1:5]).values())  # the demo resident comments later
    items = consultation.current_items(plan)
    said = [
        ("充电桩请装在远离窗户的位置", items[3], Stance.SUPPORT, Handling.PARTLY,
         "充电桩移至2号楼北侧，离住宅窗户6米以上"),
        ("希望楼道扶手两侧都装", items[4], Stance.SUPPORT, Handling.ADOPTED, ""),
        ("外墙施工期间请避开午休时间", items[0], Stance.SUPPORT, None, ""),
        ("我家不用充电桩，不愿分摊这部分费用", items[3], Stance.OPPOSE, None, ""),
    ]  # fmt: skip
    for account_id, (text, item, stance, handling, reason) in zip(accounts, said, strict=False):
        consultation.submit_feedback(
            plan,
            account_id,
            {
                "stances": [{"item_id": item.id, "stance": stance}],
                "comments": [{"item_id": item.id, "text": text}],
            },
        )
        if handling is not None:
            comment = db.session.scalars(consultation.comments_query(plan)).all()[-1]
            consultation.handle_comment(comment, handling, reason, staff.id)
    funding.set_funding(
        project,
        [
            {"source": FundingSource.CENTRAL_PROVINCIAL, "amount": Decimal("900000.00")},
            {"source": FundingSource.LOCAL_FINANCE, "amount": Decimal("520000.00")},
            {"source": FundingSource.RESIDENTS, "amount": Decimal("33600.00")},
            {"source": FundingSource.MAINTENANCE_FUND, "amount": Decimal("150000.00")},
            {"source": FundingSource.PUBLIC_INCOME, "amount": Decimal("20800.00")},
            {"source": FundingSource.UTILITIES, "amount": Decimal("100000.00")},
        ],
        staff.id,
    )
