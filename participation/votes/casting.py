"""Casting a ballot: the owner resolution and the response shared by every way to cast.

An owner signed in as a resident casts for a person of the frozen electorate whose owners
include them (a co-owner may cast for the co-owned dwelling). ``services.record_cast`` does the
writing: deadline against the database clock, idempotency, latest cast wins.

This is the hot path: the caller's owner records (an index lookup), then their persons in the
vote with the owner behind each and whether they already have a ballot (one query), then
``record_cast``'s lock with the clock, insert and upsert. Statements are built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, select, tuple_

from participation.common.errors import forbidden, invalid
from participation.extensions import db
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Vote,
    VoteEvent,
    VotePerson,
    VotePersonOwner,
)
from participation.votes.services import CastResult, owner_ids_of, record_cast


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


def _persons_of(*columns):
    """``SELECT`` the persons of the vote ``:vote_id`` behind the owners ``:owner_ids``, with
    ``columns`` (the owners from ``services.owner_ids_of``, which says why)."""
    return (
        select(VotePerson.id, VotePerson.labels, *columns)
        .select_from(VotePersonOwner)
        .join(VotePerson, VotePerson.id == VotePersonOwner.person_id)
        .where(
            VotePersonOwner.vote_id == bindparam("vote_id"),
            VotePersonOwner.owner_id.in_(bindparam("owner_ids", expanding=True)),
        )
    )


def _with_owners(vote_id: int, account_id: int) -> dict | None:
    """The parameters of ``_persons_of``; None if the account owns nothing anywhere."""
    owner_ids = owner_ids_of(account_id)
    return {"vote_id": vote_id, "owner_ids": owner_ids} if owner_ids else None


BALLOT_OF_PERSON = and_(Ballot.vote_id == VotePerson.vote_id, Ballot.person_id == VotePerson.id)
# Built once: constructing a statement costs more than running it on the cast path.
OWNED_PERSONS = (
    _persons_of(VotePersonOwner.owner_id, Ballot.person_id.is_not(None))
    .outerjoin(Ballot, BALLOT_OF_PERSON)
    .order_by(VotePerson.id, VotePersonOwner.owner_id)
)
MY_BALLOTS = (
    _persons_of(Ballot.choice, Ballot.channel, Ballot.cast_at, VoteEvent.receipt)
    .outerjoin(Ballot, BALLOT_OF_PERSON)
    .outerjoin(VoteEvent, VoteEvent.id == Ballot.event_id)
    .distinct()
    .order_by(VotePerson.id)
)


def owned_persons(vote_id: int, account_id: int) -> list[OwnedPerson]:
    """The caller's persons in this vote (lowest owner id per person)."""
    params = _with_owners(vote_id, account_id)
    if params is None:
        return []
    persons: dict[int, OwnedPerson] = {}
    for person_id, labels, owner_id, has_ballot in db.session.execute(OWNED_PERSONS, params):
        persons.setdefault(person_id, OwnedPerson(person_id, labels, owner_id, has_ballot))
    return list(persons.values())


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
    vote: Vote,
    account_id: int,
    choice: Choice,
    person_id: int | None = None,
    idempotency_key: str | None = None,
) -> Cast:
    """The signed-in owner casts online for their person (``person_id`` when they have
    several). Casting again replaces the earlier ballot; every cast is kept."""
    person = choose_person(owned_persons(vote.id, account_id), person_id)
    result = record_cast(
        vote,
        person.id,
        choice,
        Channel.ONLINE,
        account_id=account_id,
        owner_id=person.owner_id,
        idempotency_key=idempotency_key,
    )
    return completed_cast(
        vote.id, person.id, person.dwellings, Channel.ONLINE, result, had_ballot=person.has_ballot
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
    params = _with_owners(vote_id, account_id)
    if params is None:
        return []
    return [MyBallot(*row) for row in db.session.execute(MY_BALLOTS, params)]
