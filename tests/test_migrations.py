"""Migrations that move data: a database with votes (and their objections) in it, upgraded to
the newest schema."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import StaffUser
from participation.common.types import UTCDateTime, utcnow
from participation.extensions import db
from participation.notices.models import Objection
from participation.roster.models import (
    Building,
    Community,
    Compound,
    District,
    Dwelling,
    Entrance,
    Street,
)
from participation.surveys.models import RespondentBasis, Survey, SurveyKind, SurveyStatus
from participation.votes import record
from participation.votes.models import (
    Ballot,
    ChainEntry,
    Channel,
    Choice,
    Matter,
    UnsealedEvent,
    Vote,
    VoteEntrance,
    VoteEvent,
    VotePerson,
    VotePersonDwelling,
    VoteStatus,
)
from participation.votes.services import _digest, event_content, receipt_code

BEFORE_TALLY_COLUMNS = "8060ceae07be"
BEFORE_ONE_OBJECTIONS_TABLE = "0c557422a5ed"
BEFORE_OBJECTION_MINIMUM = "a4480883400b"
BEFORE_PLACE_NAMES = "34954ceebbdc"


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A database of its own, empty: beside the suite's on PostgreSQL, a file on SQLite."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(database_url)
    url = url.set(database=f"{url.database}_migrations")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()


def row(model, **values) -> SimpleNamespace:
    """Insert a row of ``model`` naming only ``values`` and the columns with a default in
    Python, so that a column added by a later revision (with a server default) is left out
    under an older schema; returns its id."""
    table = model.__table__
    new_id = db.session.execute(sa.insert(table).values(**values).returning(table.c.id))
    return SimpleNamespace(id=new_id.scalar_one(), **values)


def compound_and_staff(name: str) -> tuple[SimpleNamespace, StaffUser]:
    """``name`` 小区 in its district, street and community, and a staff user (flushed)."""
    district = row(District, name=f"{name}区")
    street = row(Street, district_id=district.id, name=f"{name}街道")
    community = row(Community, street_id=street.id, name=f"{name}社区")
    compound = row(Compound, community_id=community.id, name=f"{name}小区")
    staff = StaffUser(username=f"staff-{name}", password_hash="-", display_name=name)
    db.session.add(staff)
    db.session.flush()
    return compound, staff


def event(vote_id: int, person_id: int, choice: Choice, at) -> int:
    row = {
        "vote_id": vote_id,
        "kind": "cast",
        "person_id": person_id,
        "choice": choice,
        "channel": Channel.ONLINE,
        "nonce": f"{person_id:032d}",
        "created_at": at,
    }
    row["digest"] = _digest(event_content(row))
    row["receipt"] = receipt_code(row["digest"])
    return db.session.execute(sa.insert(VoteEvent).returning(VoteEvent.id), [row]).scalar_one()


def test_ballots_persons_and_the_sealing_queue_are_filled_in(empty_database):
    """An open vote of two persons — 王五 in one entrance, 赵六 with dwellings in two — with a
    sealed cast and an unsealed one, written under the schema before the tally columns."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision=BEFORE_TALLY_COLUMNS)
        compound, staff = compound_and_staff("迁移")
        building = row(Building, compound_id=compound.id, number="1")
        one = row(Entrance, building_id=building.id, number="1")
        two = row(Entrance, building_id=building.id, number="2")
        rooms = ((one, "101", "60.00"), (one, "102", "70.00"), (two, "101", "80.00"))
        dwellings = [
            Dwelling(
                compound_id=compound.id,
                building_id=building.id,
                entrance_id=entrance.id,
                floor=1,
                room=room,
                area=Decimal(area),
            )
            for entrance, room, area in rooms
        ]
        db.session.add_all(dwellings)
        now = utcnow()
        vote = row(
            Vote,
            compound_id=compound.id,
            title="迁移",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            status=VoteStatus.OPEN,
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=1),
            created_by_id=staff.id,
            t_cnt=2,
            t_area=Decimal("210.00"),
        )
        persons = db.session.scalars(
            sa.insert(VotePerson.__table__)
            .values(vote_id=vote.id, key=sa.bindparam("key"), area=sa.bindparam("area"), labels="")
            .returning(VotePerson.id),
            [
                {"key": "buyer:王五", "area": Decimal("60.00")},
                {"key": "buyer:赵六", "area": Decimal("150.00")},
            ],
        ).all()
        wang, zhao = persons
        db.session.execute(
            sa.insert(VotePersonDwelling),
            [
                {"vote_id": vote.id, "person_id": person, "dwelling_id": dwelling.id,
                 "building_id": building.id, "entrance_id": dwelling.entrance_id, "floor": 1,
                 "area": dwelling.area, "label": dwelling.room}
                for person, dwelling in zip((wang, zhao, zhao), dwellings, strict=True)
            ],
        )  # fmt: skip
        sealed = event(vote.id, wang, Choice.AGREE, now)
        pending = event(vote.id, zhao, Choice.DISAGREE, now)
        db.session.execute(
            sa.insert(ChainEntry),
            [{"vote_id": vote.id, "seq": 1, "event_id": sealed,
              "parent_hash": record.genesis_hash(vote.id),
              "hash": record.chain_hash(record.genesis_hash(vote.id), 1,
                                        db.session.scalar(sa.select(VoteEvent.digest)
                                                          .filter_by(id=sealed)))}],
        )  # fmt: skip
        db.session.execute(
            sa.insert(Ballot.__table__).values(
                vote_id=vote.id, person_id=sa.bindparam("person"), event_id=sa.bindparam("event"),
                choice=sa.bindparam("choice"), channel="online", cast_at=now,
            ),
            [{"person": wang, "event": sealed, "choice": "agree"},
             {"person": zhao, "event": pending, "choice": "disagree"}],
        )  # fmt: skip
        vote_id, entrance_id, building_id = vote.id, one.id, building.id
        db.session.commit()
        db.session.remove()  # no transaction of the test stands in the migration's way

        upgrade()

        assert dict(db.session.execute(sa.select(VotePerson.id, VotePerson.entrance_id)).all()) == {
            wang: entrance_id,
            zhao: None,  # spans two entrances
        }
        entrances = db.session.execute(
            sa.select(VoteEntrance.entrance_id, VoteEntrance.building_id, VoteEntrance.t_cnt,
                      VoteEntrance.t_area)
        ).all()  # fmt: skip
        assert entrances == [(entrance_id, building_id, 1, Decimal("60.00"))]
        ballots = db.session.execute(
            sa.select(Ballot.person_id, Ballot.area, Ballot.entrance_id).order_by(Ballot.person_id)
        ).all()
        assert ballots == [(wang, Decimal("60.00"), entrance_id), (zhao, Decimal("150.00"), None)]
        assert list(db.session.scalars(sa.select(UnsealedEvent.event_id))) == [pending]

        # The upgraded vote counts and seals as a new one would.
        from participation.votes.tally import tally

        result = tally(db.session.get(Vote, vote_id))
        (place,) = result["buildings"]
        assert (result["p_cnt"], result["y_area"], place["t_cnt"], place["p_area"]) == (
            2,
            "60.00",
            2,
            "210.00",
        )
        assert record.seal_pending(vote_id) == 1
        db.session.commit()
        report = record.verify(vote_id)
        assert report.ok, report.problems
        assert (report.events, report.pending) == (2, 0)
        db.session.remove()
        db.engine.dispose()


def old_objections(table: str, key: str) -> sa.TableClause:
    """``vote_objections`` or ``survey_objections``, as they were before one table."""
    return sa.table(
        table,
        *(sa.column(name) for name in (key, "summary", "recorded_by_id", "resolution")),
        *(sa.column(name, UTCDateTime()) for name in ("recorded_at", "resolved_at")),
        sa.column("resolved_by_id"),
    )


def test_the_objections_of_votes_and_surveys_move_into_one_table(empty_database):
    """Objections to a vote's result and to a survey's, in the two tables of before, are in
    ``objections`` after the upgrade, naming their campaign, each campaign's in their order,
    resolved or not; the downgrade moves them back."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision=BEFORE_ONE_OBJECTIONS_TABLE)
        compound, staff = compound_and_staff("异议")
        now = utcnow()
        window = {"opens_at": now - timedelta(days=9), "closes_at": now - timedelta(days=8)}
        vote = row(Vote, compound_id=compound.id, title="加装电梯", matter=Matter.ELEVATOR,
                   rule=Matter.ELEVATOR.rule, status=VoteStatus.PUBLISHED,
                   created_by_id=staff.id, **window)  # fmt: skip
        survey = row(Survey, compound_id=compound.id, kind=SurveyKind.CONSENT,
                     title="改造意愿征集", basis=RespondentBasis.OWNER,
                     status=SurveyStatus.PUBLISHED, created_by_id=staff.id, **window)  # fmt: skip
        recorded = {"recorded_by_id": staff.id, "recorded_at": now - timedelta(days=2)}
        resolved = {"resolution": "已核实", "resolved_by_id": staff.id, "resolved_at": now}
        unresolved = dict.fromkeys(resolved)
        db.session.execute(
            sa.insert(old_objections("vote_objections", "vote_id")),
            [
                {"vote_id": vote.id, "summary": "未收到通知", **recorded, **resolved},
                {"vote_id": vote.id, "summary": "面积有误", **recorded, **unresolved},
            ],
        )
        db.session.execute(
            sa.insert(old_objections("survey_objections", "survey_id")),
            [{"survey_id": survey.id, "summary": "问卷未送达", **recorded, **unresolved}],
        )
        vote_id, survey_id, staff_id = vote.id, survey.id, staff.id
        db.session.commit()
        db.session.remove()

        upgrade()

        moved = db.session.execute(
            sa.select(
                Objection.vote_id, Objection.survey_id, Objection.summary, Objection.resolution,
                Objection.resolved_by_id, Objection.recorded_at,
            ).order_by(Objection.id)
        ).all()  # fmt: skip
        assert [row[:5] for row in moved] == [
            (vote_id, None, "未收到通知", "已核实", staff_id),
            (vote_id, None, "面积有误", None, None),
            (None, survey_id, "问卷未送达", None, None),
        ]
        assert {row.recorded_at for row in moved} == {recorded["recorded_at"]}
        db.session.remove()

        downgrade(revision=BEFORE_ONE_OBJECTIONS_TABLE)
        back = db.session.execute(
            sa.select(old_objections("vote_objections", "vote_id").c.summary)
        ).scalars()
        assert list(back) == ["未收到通知", "面积有误"]
        db.session.remove()
        db.engine.dispose()


def test_objection_periods_of_zero_are_raised_to_the_district_minimum(empty_database):
    """A vote and a survey with ``objection_days`` 0 (which skipped 询异) get their
    district's minimum (3 by default); other periods stay; PostgreSQL refuses 0 afterwards."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision=BEFORE_OBJECTION_MINIMUM)
        compound, staff = compound_and_staff("异议期")
        now = utcnow()
        window = {"opens_at": now - timedelta(days=9), "closes_at": now - timedelta(days=8)}
        votes = [
            row(Vote, compound_id=compound.id, title=f"表决{days}", matter=Matter.OTHER,
                rule=Matter.OTHER.rule, status=VoteStatus.FINAL, objection_days=days,
                created_by_id=staff.id, **window)
            for days in (0, 2)
        ]  # fmt: skip
        survey = row(Survey, compound_id=compound.id, kind=SurveyKind.CONSENT,
                     title="改造意愿征集", basis=RespondentBasis.OWNER,
                     status=SurveyStatus.FINAL, objection_days=0, created_by_id=staff.id,
                     **window)  # fmt: skip
        vote_ids, survey_id = [vote.id for vote in votes], survey.id
        db.session.commit()
        db.session.remove()

        upgrade()

        days = db.session.execute(
            sa.select(Vote.objection_days).where(Vote.id.in_(vote_ids)).order_by(Vote.id)
        ).scalars()
        assert list(days) == [3, 2]
        assert db.session.get(Survey, survey_id).objection_days == 3
        if db.engine.dialect.name == "postgresql":  # SQLite: no check (see the migration)
            with pytest.raises(sa.exc.IntegrityError):
                db.session.execute(
                    sa.update(Vote).where(Vote.id == vote_ids[1]).values(objection_days=0)
                )
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_buildings_and_entrances_are_named_as_their_keys_were_shown(empty_database):
    """Buildings and entrances of before the stored names get the names that were derived
    from their keys ("5" → "5栋", "2" → "2单元", "综合楼" as it is, "" for no entrance); the
    columns are NOT NULL afterwards; the downgrade drops them."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision=BEFORE_PLACE_NAMES)
        compound, _ = compound_and_staff("名称")
        five = row(Building, compound_id=compound.id, number="5")
        hall = row(Building, compound_id=compound.id, number="综合楼")
        entrances = [
            row(Entrance, building_id=five.id, number="2"),
            row(Entrance, building_id=hall.id, number=""),
            row(Entrance, building_id=hall.id, number="东单元"),
        ]
        ids = [five.id, hall.id], [entrance.id for entrance in entrances]
        db.session.commit()
        db.session.remove()

        upgrade()

        names = db.session.execute(
            sa.select(Building.name).where(Building.id.in_(ids[0])).order_by(Building.id)
        ).scalars()
        assert list(names) == ["5栋", "综合楼"]
        names = db.session.execute(
            sa.select(Entrance.name).where(Entrance.id.in_(ids[1])).order_by(Entrance.id)
        ).scalars()
        assert list(names) == ["2单元", "", "东单元"]
        db.session.remove()

        downgrade(revision=BEFORE_PLACE_NAMES)
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("buildings")}
        assert "name" not in columns
        upgrade()
        if db.engine.dialect.name == "postgresql":  # SQLite: an empty default (see there)
            with pytest.raises(sa.exc.IntegrityError):
                db.session.execute(
                    sa.insert(Building.__table__).values(compound_id=compound.id, number="6")
                )
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
