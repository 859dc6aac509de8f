"""The one-a-day claims of votes' reminders move into the table every campaign shares
(``reminder_sms``): kept, as campaign ``vote``, and still holding the day against a survey's
reminder; the downgrade moves them back."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from participation import create_app
from participation.auth.models import StaffUser
from participation.auth.reminders import ReminderSms, phone_digest
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Owner, Street
from participation.votes.models import Matter, Vote, VoteReminder, VoteStatus

BEFORE_SHARED_CLAIMS = "d51516858944"


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A database of its own, empty: beside the suite's on PostgreSQL, a file on SQLite."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(database_url)
    url = url.set(database=f"{url.database}_claims")
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
    table = model.__table__
    new_id = db.session.execute(sa.insert(table).values(**values).returning(table.c.id))
    return SimpleNamespace(id=new_id.scalar_one(), **values)


OLD = sa.table(
    "vote_reminder_sms",
    sa.column("id"),
    sa.column("compound_id"),
    sa.column("phone_digest"),
    sa.column("day"),
    sa.column("reminder_id"),
    sa.column("owner_id"),
    sa.column("uncertain"),
    sa.column("sent_at"),
)


def test_votes_claims_are_kept_in_the_shared_table(empty_database):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision=BEFORE_SHARED_CLAIMS)
        district = row(District, name="迁移区")
        street = row(Street, district_id=district.id, name="迁移街道")
        community = row(Community, street_id=street.id, name="迁移社区")
        compound = row(Compound, community_id=community.id, name="迁移小区")
        staff = StaffUser(username="staff-claims", password_hash="-", display_name="委员")
        db.session.add(staff)
        db.session.flush()
        owner = row(
            Owner, compound_id=compound.id, name="张三", phone="13800000001", id_hash="-",
            id_last4="0000",
        )  # fmt: skip
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
        )
        reminder = row(VoteReminder, vote_id=vote.id, created_by_id=staff.id, status="done")
        day = date(2026, 12, 7)
        values = {
            "compound_id": compound.id,
            "reminder_id": reminder.id,
            "owner_id": owner.id,
            "sent_at": now,
        }
        db.session.execute(
            sa.insert(OLD),
            [
                {**values, "id": 1, "phone_digest": phone_digest("13800000001"), "day": day,
                 "uncertain": False},
                {**values, "id": 2, "phone_digest": phone_digest("13800000002"), "day": day,
                 "uncertain": True},
            ],
        )  # fmt: skip
        db.session.commit()
        db.session.remove()

        upgrade()

        claims = db.session.execute(
            sa.select(
                ReminderSms.id,
                ReminderSms.campaign,
                ReminderSms.reminder_id,
                ReminderSms.day,
                ReminderSms.uncertain,
            ).order_by(ReminderSms.id)
        ).all()
        assert [tuple(c) for c in claims] == [
            (1, "vote", reminder.id, day, False),
            (2, "vote", reminder.id, day, True),
        ]
        # the kept claim holds the day against any campaign; new claims get new ids
        with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.execute(
                sa.insert(ReminderSms.__table__).values(
                    campaign="survey", **{**values, "reminder_id": 9},
                    phone_digest=phone_digest("13800000001"), day=day, uncertain=False,
                )
            )  # fmt: skip
        new_id = db.session.execute(
            sa.insert(ReminderSms.__table__)
            .values(
                campaign="survey", phone_digest=phone_digest("13800000003"), day=day,
                uncertain=False, **values,
            )
            .returning(ReminderSms.id)
        ).scalar_one()  # fmt: skip
        assert new_id > 2  # (PostgreSQL: the refused insert used up 3)
        db.session.commit()
        db.session.remove()

        downgrade(revision=BEFORE_SHARED_CLAIMS)
        kept = db.session.execute(sa.select(OLD.c.id).order_by(OLD.c.id)).scalars().all()
        assert kept == [1, 2]  # the survey's claim went with its table
        db.session.remove()
        upgrade()
        db.session.remove()
        db.engine.dispose()
