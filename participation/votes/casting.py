"""Casting a ballot: the owner resolution and the response shared by every way to cast.

An owner signed in as a resident casts for a person of the frozen electorate whose owners
include them (a co-owner may cast for the co-owned dwelling). ``services.record_cast`` does the
writing: deadline against the database clock, idempotency, latest cast wins.

This is the hot path, two statements on PostgreSQL: the caller's persons in the vote, with the
owner behind each and whether they already have a ballot, read together with
``record_cast``'s lock and clock; then ``record_cast``'s one statement writing the cast.
Statements are built once and, on PostgreSQL, run on the driver (``common.sql.hot_rows``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, any_, bindparam, exists, func, select, true, tuple_

from participation.auth.tokens import SESSION_COLUMNS, Principal, check_session
from participation.common.errors import forbidden, invalid
from participation.common.sql import dialect_name, hot_rows
from participation.extensions import db
from participation.roster.models import Owner
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    VoteEvent,
    VotePerson,
    VotePersonOwner,
)
from participation.votes.services import (
    LOCK_AND_CLOCK,
    CastResult,
    lock_for_cast,
    record_cast,
)


@dataclass(frozen=True)
class OwnedPerson:
    """A person of the electorate the resident may cast for as one of its owners."""

    id: int
    dwellings: str  # room labels
    owner_id: int  # the caller's owner record behind it (the lowest, for co-owners)
    has_ballot: bool


@dataclass(frozen=True)
class Cast:
    """What the caster is told (``schemas.CastSchema``), whatever the channel."""

    person_id: int
    dwellings: str
    channel: Channel
    result: CastResult
    replaced: bool  # an earlier cast for this person existed: this one replaces it


# The roster owners linked to the resident account ``:account_id``.
OWNERS_OF_ACCOUNT = select(Owner.id).where(Owner.account_id == bindparam("account_id"))


def _persons_of(dialect: str, *columns):
    """``SELECT`` the persons of the vote ``:vote_id`` behind the owners linked to the account
    ``:account_id``, with ``columns``.

    On PostgreSQL the owners are an array computed first (``= ANY(ARRAY(SELECT …))``, one
    index lookup), so the persons are found through the (vote, owner) index: given a join
    or ``IN (SELECT …)``, the planner may hash every person of a freshly opened vote, whose
    rows are not yet in its statistics (22 ms a cast at 20,000 persons).
    """
    if dialect == "postgresql":
        owned = VotePersonOwner.owner_id == any_(func.array(OWNERS_OF_ACCOUNT.scalar_subquery()))
    else:
        owned = VotePersonOwner.owner_id.in_(OWNERS_OF_ACCOUNT)
    return (
        select(VotePerson.id, VotePerson.labels, *columns)
        .select_from(VotePersonOwner)
        .join(VotePerson, VotePerson.id == VotePersonOwner.person_id)
        .where(VotePersonOwner.vote_id == bindparam("vote_id"), owned)
    )


BALLOT_OF_PERSON = and_(Ballot.vote_id == VotePerson.vote_id, Ballot.person_id == VotePerson.id)


# Built once per backend: constructing a statement costs more than running it on the cast path.
@functools.cache
def _owned_persons(dialect: str):
    return _persons_of(
        dialect, VotePersonOwner.owner_id, Ballot.person_id.is_not(None).label("has_ballot")
    ).outerjoin(Ballot, BALLOT_OF_PERSON)


@functools.cache
def _locked_with_owned_persons(dialect: str):
    """PostgreSQL: ``record_cast``'s lock and clock (``LOCK_AND_CLOCK``), the caller's
    persons and the caller's sign-in session (``tokens.SESSION_COLUMNS``, ``:sid``) in one
    round trip — a row per person, or one without a person."""
    persons = _owned_persons(dialect).subquery()
    return (
        select(*LOCK_AND_CLOCK.selected_columns, *persons.c, *SESSION_COLUMNS.c)
        .select_from(LOCK_AND_CLOCK.get_final_froms()[0])
        .outerjoin(persons, true())
        .outerjoin(SESSION_COLUMNS, true())
        .order_by(persons.c.id, persons.c.owner_id)
    )


@functools.cache
def _my_ballots(dialect: str):
    return (
        _persons_of(dialect, Ballot.choice, Ballot.channel, Ballot.cast_at, VoteEvent.receipt)
        .outerjoin(Ballot, BALLOT_OF_PERSON)
        .outerjoin(VoteEvent, VoteEvent.id == Ballot.event_id)
        .distinct()
        .order_by(VotePerson.id)
    )


def _persons(rows) -> list[OwnedPerson]:
    """One per person (the lowest owner id for co-owners), from rows in that order."""
    persons: dict[int, OwnedPerson] = {}
    for row in rows:
        if row.id is not None:
            persons.setdefault(
                row.id, OwnedPerson(row.id, row.labels, row.owner_id, row.has_ballot)
            )
    return list(persons.values())


def owned_persons(vote_id: int, account_id: int) -> list[OwnedPerson]:
    """The caller's persons in this vote."""
    params = {"vote_id": vote_id, "account_id": account_id}
    ordered = _owned_persons(dialect_name()).order_by(VotePerson.id, VotePersonOwner.owner_id)
    return _persons(db.session.execute(ordered, params))


def owned_persons_locked(
    vote_id: int, account_id: int, caller: Principal | None = None
) -> tuple[list[OwnedPerson], tuple | None]:
    """The caller's persons in this vote, and the vote's status and the database clock with
    the vote row share-locked for the cast (``record_cast``'s ``locked``; None: no such
    vote). ``caller``: a resident whose session is to be checked first
    (``tokens.check_session``: 401 otherwise)."""
    dialect = dialect_name()
    if dialect != "postgresql":
        if caller:
            check_session(caller)
        locked = lock_for_cast(vote_id)
        return (owned_persons(vote_id, account_id) if locked else []), locked
    sid = caller.session_id if caller else None
    params = {"vote_id": vote_id, "account_id": account_id, "sid": sid}
    rows = hot_rows(_locked_with_owned_persons(dialect), params)
    if caller:
        check_session(caller, rows[0] if rows else None)
    if not rows:
        return [], None
    return _persons(rows), (rows[0], rows[0].now)


def choose_person(persons: list[OwnedPerson], person_id: int | None) -> OwnedPerson:
    """The person to cast for: the only one, or the one named. 403 for a resident who owns
    nothing in the vote's scope (tenants, non-owners); 422 listing the options otherwise."""
    if not persons:
        raise forbidden("您不是本次表决范围内的业主，不能投票", code="not_an_owner")
    options = [f"{p.id}：{p.dwellings}" for p in persons]
    if person_id is None:
        if len(persons) == 1:
            return persons[0]
        raise invalid(
            "person_required",
            "您在本次表决中有多个表决权，请选择为哪一户投票",
            {"person_id": options},
        )
    for person in persons:
        if person.id == person_id:
            return person
    raise invalid(
        "person_invalid", "只能为您本人的房屋投票", {"person_id": ["不是您的表决权", *options]}
    )


def cast_as_owner(
    vote_id: int,
    account_id: int,
    choice: Choice,
    person_id: int | None = None,
    idempotency_key: str | None = None,
    caller: Principal | None = None,
) -> Cast:
    """The signed-in owner casts online for their person (``person_id`` when they have
    several). Casting again replaces the earlier ballot; every cast is kept. The vote is
    not loaded first: owning a person of its electorate is what lets the caller cast (the
    route answers 404 for a vote out of the caller's scope: ``scoping.resolved_in_view``).
    ``caller``: the resident whose session the route left to be checked here, in the first
    statement (``tokens.session_checked_in_view``)."""
    persons, locked = owned_persons_locked(vote_id, account_id, caller)
    person = choose_person(persons, person_id)
    result = record_cast(
        vote_id,
        person.id,
        choice,
        Channel.ONLINE,
        account_id=account_id,
        owner_id=person.owner_id,
        idempotency_key=idempotency_key,
        locked=locked,
    )
    return completed_cast(
        vote_id, person.id, person.dwellings, Channel.ONLINE, result, had_ballot=person.has_ballot
    )


def completed_cast(
    vote_id: int,
    person_id: int,
    dwellings: str,
    channel: Channel,
    result: CastResult,
    had_ballot: bool | None = None,
) -> Cast:
    """The response to a cast. ``had_ballot``: whether the person had a ballot when the cast
    was made, if the caller looked it up; a replay (or an unknown) is read from the record."""
    if result.replayed or had_ballot is None:
        had_ballot = _cast_before(vote_id, person_id, result)
    return Cast(person_id, dwellings, channel, result, had_ballot)


def _cast_before(vote_id: int, person_id: int, result: CastResult) -> bool:
    return db.session.scalar(
        select(
            exists().where(
                VoteEvent.vote_id == vote_id,
                VoteEvent.person_id == person_id,
                VoteEvent.kind == "cast",
                tuple_(VoteEvent.created_at, VoteEvent.id) < (result.cast_at, result.event_id),
            )
        )
    )


@dataclass(frozen=True)
class MyBallot:
    person_id: int
    dwellings: str
    choice: Choice | None
    channel: Channel | None
    cast_at: datetime | None
    receipt: str | None


def my_ballots(vote_id: int, account_id: int) -> list[MyBallot]:
    """The caller's persons in this vote with their counting ballot, if any (whoever cast it:
    the owner, a co-owner, a proxy or staff on paper)."""
    params = {"vote_id": vote_id, "account_id": account_id}
    return [MyBallot(*row) for row in db.session.execute(_my_ballots(dialect_name()), params)]
