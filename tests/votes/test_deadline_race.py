"""Extending a vote's deadline while owners cast at the old deadline, on PostgreSQL, in
sessions of their own that commit for real (the rolled-back test transaction would hide the
race). Every cast is either counted — made before the old deadline, or accepted because the
extension committed first — or refused; none is accepted at or after the effective deadline.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Account, Role, RoleAssignment, StaffUser
from participation.common.errors import ApiError
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Owner, Street
from participation.votes.casting import cast_as_owner
from participation.votes.models import (
    Ballot,
    Choice,
    Matter,
    Vote,
    VoteEvent,
    VotePersonOwner,
    VoteStatus,
)
from participation.votes.record import verify
from participation.votes.services import close_if_due, extend_deadline, open_vote

pytestmark = pytest.mark.postgres

CASTERS = 24
OLD_IN = timedelta(milliseconds=700)  # the old deadline, from the start
EXTENSION = timedelta(milliseconds=400)  # how much later the new one is


def setup_vote(app) -> tuple[int, int, list[int]]:
    """A compound of two generated buildings, an open vote on all of it, an account for each
    of ``CASTERS`` owners. Returns the vote id, the staff id and the account ids."""
    with app.app_context():
        suffix = uuid.uuid4().hex[:6]
        compound = Compound(
            community=Community(
                street=Street(district=District(name=f"区{suffix}"), name=f"街道{suffix}"),
                name=f"社区{suffix}",
            ),
            name=f"小区{suffix}",
        )
        db.session.add(compound)
        db.session.flush()
        content = roster_csv(roster_rows(2, seed=5))
        assert import_roster_file(compound.id, "roster.csv", content).status.value == "done"
        staff = StaffUser(username=f"staff-{suffix}", password_hash="-", display_name="委员")
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        db.session.add(staff)
        db.session.flush()
        now = db_now()
        vote = Vote(
            compound_id=compound.id,
            title="截止时间竞争",
            matter=Matter.OTHER,
            rule=Matter.OTHER.rule,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=1),
            created_by_id=staff.id,
        )
        db.session.add(vote)
        db.session.flush()
        open_vote(vote, confirm_unknown_owners=True)
        owners = db.session.scalars(
            sa.select(Owner).where(Owner.compound_id == compound.id).order_by(Owner.id)
        ).all()
        seen_persons, accounts = set(), []
        for owner in owners:
            person = db.session.scalar(
                sa.select(VotePersonOwner.person_id).filter_by(vote_id=vote.id, owner_id=owner.id)
            )
            if person is None or person in seen_persons:
                continue
            seen_persons.add(person)
            account = Account(phone=f"167{len(accounts):08d}")
            db.session.add(account)
            db.session.flush()
            owner.account_id = account.id
            accounts.append(account.id)
            if len(accounts) == CASTERS:
                break
        assert len(accounts) == CASTERS
        db.session.commit()
        return vote.id, staff.id, accounts


def test_an_extension_racing_casts_at_the_old_deadline(race_app):
    vote_id, staff_id, accounts = setup_vote(race_app)
    with race_app.app_context():
        old = db_now() + OLD_IN
        db.session.execute(sa.update(Vote).filter_by(id=vote_id).values(closes_at=old))
        db.session.commit()
    new = old + EXTENSION
    until = time.monotonic() + (OLD_IN + EXTENSION).total_seconds() + 0.4
    barrier = threading.Barrier(CASTERS + 1)
    outcomes: list[tuple[str, str | None]] = []  # (kind, code)
    extension: list[object] = []

    def caster(account_id: int) -> None:
        barrier.wait()
        while time.monotonic() < until:
            with race_app.app_context():
                try:
                    cast_as_owner(vote_id, account_id, Choice.AGREE)
                    db.session.commit()
                    outcomes.append(("accepted", None))
                except ApiError as error:
                    db.session.rollback()
                    outcomes.append(("refused", error.error_code))
            time.sleep(0.01)

    def extender() -> None:
        barrier.wait()
        # Right at the old deadline: either before it (extended) or after (campaign_closed).
        time.sleep(max(0.0, OLD_IN.total_seconds() - 0.02))
        with race_app.app_context():
            vote = db.session.get(Vote, vote_id)
            try:
                extend_deadline(vote, new, "业主要求延长", staff_id)
                db.session.commit()
                extension.append("extended")
            except ApiError as error:
                db.session.rollback()
                extension.append(error.error_code)

    threads = [threading.Thread(target=caster, args=(a,)) for a in accounts]
    threads.append(threading.Thread(target=extender))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [outcome] = extension
    assert outcome in ("extended", "campaign_closed")
    codes = Counter(code for kind, code in outcomes if kind == "refused")
    assert set(codes) <= {"vote_closed"}, codes
    with race_app.app_context():
        vote = db.session.get(Vote, vote_id)
        effective = new if outcome == "extended" else old
        assert vote.closes_at == effective
        casts = db.session.scalars(
            sa.select(VoteEvent).filter_by(vote_id=vote_id, kind="cast")
        ).all()
        assert len(casts) == sum(1 for kind, _ in outcomes if kind == "accepted")
        # Never a cast accepted at or after the effective deadline.
        assert all(cast.created_at < effective for cast in casts)
        if outcome == "extended":
            extended_at = db.session.scalar(
                sa.select(VoteEvent.created_at).filter_by(vote_id=vote_id, kind="deadline_extended")
            )
            assert extended_at < old
            late = [c for c in casts if c.created_at >= old]
            # Accepted after the old deadline only because the extension was already in force.
            assert all(c.created_at > extended_at for c in late)
        ballots = db.session.scalar(
            sa.select(sa.func.count()).select_from(Ballot).filter_by(vote_id=vote_id)
        )
        assert ballots == len({c.person_id for c in casts})
        assert close_if_due(vote)
        db.session.commit()
        assert vote.status is VoteStatus.CLOSED
        report = verify(vote_id)
        assert report.ok, report.problems
    assert codes["vote_closed"] > 0, "no cast reached the effective deadline"
