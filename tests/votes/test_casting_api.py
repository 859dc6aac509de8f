"""Casting through the API: owners and co-owners cast, the latest counts, retries with the same
Idempotency-Key cast once, and everyone else is refused with a clear answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from participation.auth.models import Role, Tenancy
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes.models import Ballot, Choice, VoteEvent, VotePerson


def cast(client, vote, headers, choice="agree", key=None, **body):
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(
        f"/api/v1/votes/{vote.id}/ballots", json={"choice": choice, **body}, headers=headers
    )


def casts_of(vote) -> list[Choice]:
    return _db.session.scalars(
        sa.select(VoteEvent.choice).filter_by(vote_id=vote.id, kind="cast").order_by(VoteEvent.id)
    ).all()


@pytest.fixture
def elevator_vote(sample_compound, make_vote):
    return make_vote(sample_compound, buildings=("2",), open=True)


@pytest.fixture
def owner(sample_compound, owner_account, sign_in):
    return sign_in(owner_account(sample_compound, "2栋1单元101"))


def test_an_owner_casts_and_casting_again_replaces(client, elevator_vote, owner):
    first = cast(client, elevator_vote, owner, "disagree")
    assert first.status_code == 201, first.json
    assert first.json["choice"] == "disagree" and first.json["channel"] == "online"
    assert first.json["replaced"] is False and first.json["replayed"] is False
    assert len(first.json["receipt"]) == 10 and first.json["dwellings"] == "2栋1单元101"

    second = cast(client, elevator_vote, owner, "agree")
    assert second.status_code == 201
    assert second.json["replaced"] is True and second.json["receipt"] != first.json["receipt"]
    assert casts_of(elevator_vote) == [Choice.DISAGREE, Choice.AGREE]
    (ballot,) = _db.session.scalars(sa.select(Ballot).filter_by(vote_id=elevator_vote.id))
    assert ballot.choice is Choice.AGREE

    mine = client.get(f"/api/v1/votes/{elevator_vote.id}/my-ballots", headers=owner)
    assert mine.status_code == 200
    assert [(b["dwellings"], b["choice"], b["receipt"], b["channel"]) for b in mine.json] == [
        ("2栋1单元101", "agree", second.json["receipt"], "online")
    ]


def test_a_retry_with_the_same_idempotency_key_casts_once(client, elevator_vote, owner):
    first = cast(client, elevator_vote, owner, "agree", key="phone-retry-1")
    again = cast(client, elevator_vote, owner, "agree", key="phone-retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["receipt"] == first.json["receipt"]
    assert again.json["replayed"] is True and again.json["replaced"] is False
    assert casts_of(elevator_vote) == [Choice.AGREE]

    reused = cast(client, elevator_vote, owner, "disagree", key="phone-retry-1")
    assert (reused.status_code, reused.json["code"]) == (422, "idempotency_key_reused")
    too_long = cast(client, elevator_vote, owner, key="k" * 65)
    assert (too_long.status_code, too_long.json["code"]) == (422, "validation_error")
    assert "Idempotency-Key" in too_long.json["errors"]
    assert casts_of(elevator_vote) == [Choice.AGREE]


def test_a_retry_after_the_closing_time_answers_as_before(client, elevator_vote, owner):
    first = cast(client, elevator_vote, owner, key="sent-before-closing")
    elevator_vote.closes_at = utcnow() - timedelta(seconds=1)
    _db.session.flush()
    again = cast(client, elevator_vote, owner, key="sent-before-closing")
    assert again.status_code == 200, again.json
    assert again.json["receipt"] == first.json["receipt"]
    fresh = cast(client, elevator_vote, owner, key="sent-after-closing")
    assert (fresh.status_code, fresh.json["code"]) == (409, "vote_closed")


def test_any_co_owner_casts_for_the_co_owned_dwelling(
    db, client, make_compound, make_dwelling, make_account, sign_in, make_vote
):
    compound = make_compound()
    li, gao = make_dwelling.owner(compound, "李红梅"), make_dwelling.owner(compound, "高淑珍")
    make_dwelling(compound, room="302", owners=[li, gao])
    accounts = [make_account(), make_account()]
    li.account_id, gao.account_id = accounts[0].id, accounts[1].id
    vote = make_vote(compound, open=True)
    first = cast(client, vote, sign_in(accounts[0]), "disagree")
    second = cast(client, vote, sign_in(accounts[1]), "agree")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json["replaced"] is True
    ballot = _db.session.scalar(sa.select(Ballot).filter_by(vote_id=vote.id))
    assert ballot.choice is Choice.AGREE
    owners = _db.session.scalars(
        sa.select(VoteEvent.owner_id).filter_by(vote_id=vote.id, kind="cast").order_by(VoteEvent.id)
    ).all()
    assert owners == [li.id, gao.id]
    seen_by_li = client.get(f"/api/v1/votes/{vote.id}/my-ballots", headers=sign_in(accounts[0]))
    assert [b["choice"] for b in seen_by_li.json] == ["agree"]


def test_an_owner_of_several_persons_chooses_one(
    db, client, make_compound, make_dwelling, make_account, sign_in, make_vote
):
    compound = make_compound()
    wang, zhao = make_dwelling.owner(compound, "王伟"), make_dwelling.owner(compound, "赵敏")
    make_dwelling(compound, room="101", owners=[wang])
    make_dwelling(compound, room="102", owners=[wang, zhao])  # another set of owners
    account = make_account()
    wang.account_id = account.id
    vote = make_vote(compound, open=True)
    headers = sign_in(account)
    persons = dict(
        _db.session.execute(
            sa.select(VotePerson.labels, VotePerson.id).filter_by(vote_id=vote.id)
        ).all()
    )

    unspecified = cast(client, vote, headers)
    assert (unspecified.status_code, unspecified.json["code"]) == (422, "person_required")
    assert unspecified.json["errors"]["person_id"] == [
        f"{persons['1栋1单元101']}：1栋1单元101",
        f"{persons['1栋1单元102']}：1栋1单元102",
    ]
    chosen = cast(client, vote, headers, person_id=persons["1栋1单元102"])
    assert chosen.status_code == 201 and chosen.json["dwellings"] == "1栋1单元102"
    others = cast(client, vote, headers, person_id=987654)
    assert (others.status_code, others.json["code"]) == (422, "person_invalid")

    mine = client.get(f"/api/v1/votes/{vote.id}/my-ballots", headers=headers).json
    assert [(b["dwellings"], b["choice"]) for b in mine] == [
        ("1栋1单元101", None),
        ("1栋1单元102", "agree"),
    ]


def test_tenants_non_owners_and_staff_may_not_cast(
    client, sample_compound, elevator_vote, owner_account, make_account, make_staff, sign_in
):
    from participation.roster.models import Dwelling

    tenant = make_account()
    dwelling = _db.session.scalar(
        sa.select(Dwelling).filter_by(compound_id=sample_compound.id, room="101")
    )
    _db.session.add(Tenancy(account_id=tenant.id, dwelling_id=dwelling.id))
    outside_scope = owner_account(sample_compound, "1栋1单元101")  # building 1
    for account in (tenant, outside_scope):
        refused = cast(client, elevator_vote, sign_in(account))
        assert (refused.status_code, refused.json["code"]) == (403, "not_an_owner")
        assert refused.json["message"] == "您不是本次表决范围内的业主，不能投票"
    staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    refused = cast(client, elevator_vote, staff)
    assert (refused.status_code, refused.json["code"]) == (403, "resident_only")
    mine = client.get(f"/api/v1/votes/{elevator_vote.id}/my-ballots", headers=staff)
    assert (mine.status_code, mine.json) == (200, [])
    assert casts_of(elevator_vote) == []


def test_residents_of_other_compounds_do_not_see_the_vote(
    client, elevator_vote, make_compound, make_dwelling, make_account, sign_in
):
    elsewhere = make_compound()
    stranger = make_account()
    owner = make_dwelling.owner(elsewhere)
    owner.account_id = stranger.id
    make_dwelling(elsewhere, owners=[owner])
    assert cast(client, elevator_vote, sign_in(stranger)).status_code == 404


def test_casting_needs_a_valid_sign_in(client, elevator_vote, owner):
    url = f"/api/v1/votes/{elevator_vote.id}/ballots"
    anonymous = client.post(url, json={"choice": "agree"})
    assert (anonymous.status_code, anonymous.json["code"]) == (401, "unauthorized")
    forged = client.post(url, json={"choice": "agree"}, headers={"Authorization": "Bearer x.y.z"})
    assert (forged.status_code, forged.json["code"]) == (401, "invalid_token")
    client.delete("/api/v1/auth/session", headers=owner)
    signed_out = client.post(url, json={"choice": "agree"}, headers=owner)
    assert (signed_out.status_code, signed_out.json["code"]) == (401, "token_revoked")
    # The cast checks the session in its own statement: a signed-out caller is 401 whatever
    # the vote, a vote that does not exist or a bad body included.
    for path, body in (("/api/v1/votes/999999/ballots", {"choice": "agree"}), (url, {})):
        refused = client.post(path, json=body, headers=owner)
        assert (refused.status_code, refused.json["code"]) == (401, "token_revoked"), body
    assert casts_of(elevator_vote) == []


def test_a_cast_checks_the_session_and_the_account_in_its_own_statement(
    client, sample_compound, elevator_vote, owner_account, sign_in, make_staff
):
    """Expired sessions, sessions of another subject and accounts that are gone are refused
    as on every other endpoint, before anything is written; staff are told they cannot cast."""
    from participation.auth.models import Account, AuthSession
    from participation.roster.models import Owner

    url = f"/api/v1/votes/{elevator_vote.id}/ballots"
    expired_account = owner_account(sample_compound, "2栋1单元101")
    expired = sign_in(expired_account)
    _db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.subject_id == expired_account.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    refused = client.post(url, json={"choice": "agree"}, headers=expired)
    assert (refused.status_code, refused.json["code"]) == (401, "token_revoked")

    gone_account = owner_account(sample_compound, "2栋1单元102")
    gone = sign_in(gone_account)
    _db.session.execute(
        sa.update(Owner).where(Owner.account_id == gone_account.id).values(account_id=None)
    )
    _db.session.execute(sa.delete(Account).where(Account.id == gone_account.id))
    refused = client.post(url, json={"choice": "agree"}, headers=gone)
    assert (refused.status_code, refused.json["code"]) == (401, "account_unavailable")

    staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    refused = client.post(url, json={"choice": "agree"}, headers=staff)
    assert (refused.status_code, refused.json["code"]) == (403, "resident_only")
    assert casts_of(elevator_vote) == []


def test_nothing_is_accepted_before_the_opening_or_after_the_closing_time(
    client, sample_compound, make_vote, owner_account, sign_in
):
    later = make_vote(
        sample_compound, open=True, opens_at=utcnow() + timedelta(hours=1), title="明天开始"
    )
    headers = sign_in(owner_account(sample_compound, "1栋1单元101"))
    early = cast(client, later, headers)
    assert (early.status_code, early.json["code"]) == (409, "vote_not_started")
    assert early.json["message"] == "表决尚未开始"

    ended = make_vote(sample_compound, open=True)
    ended.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    late = cast(client, ended, headers)
    assert (late.status_code, late.json["code"]) == (409, "vote_closed")
    assert casts_of(later) == [] and casts_of(ended) == []


@pytest.mark.parametrize(
    "body",
    [{"choice": "yes"}, {}, {"choice": "agree", "person_id": "two"}, {"choice": "agree", "x": 1}],
)
def test_bad_casts_are_refused(client, elevator_vote, owner, body):
    response = client.post(f"/api/v1/votes/{elevator_vote.id}/ballots", json=body, headers=owner)
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert response.json["errors"]
    assert casts_of(elevator_vote) == []


def test_votes_a_resident_may_not_see_are_404_before_anything_else(
    client, sample_compound, make_vote, owner_account, sign_in
):
    """The cast route finds the vote through the caller's persons, not through the resolver;
    its answers for votes they may not see stay the resolver's: 404 first, a bad body too."""
    from participation.votes.models import VoteStatus

    headers = sign_in(owner_account(sample_compound, "2栋1单元101"))
    draft = make_vote(sample_compound, buildings=("2",))
    cancelled = make_vote(sample_compound, buildings=("2",), open=True)
    cancelled.status = VoteStatus.CANCELLED
    _db.session.flush()
    for vote in (draft, cancelled):
        for body in ({"choice": "agree"}, {"choice": "maybe"}):
            url = f"/api/v1/votes/{vote.id}/ballots"
            refused = client.post(url, json=body, headers=headers)
            assert (refused.status_code, refused.json["code"]) == (404, "not_found"), body
    missing = client.post("/api/v1/votes/999999/ballots", json={"choice": "agree"}, headers=headers)
    assert missing.status_code == 404
    assert casts_of(cancelled) == []


def test_a_cast_is_two_statements_on_postgresql(client, elevator_vote, owner, statements_run):
    """The hot path stays lean: the caller's persons with the vote's share lock and the
    sign-in's session, then the write — no loading of the vote, no ping, no session read of
    its own."""
    with statements_run() as statements:
        response = cast(client, elevator_vote, owner, key="lean-1")
    assert response.status_code == 201, response.json
    # Up to the commit (a savepoint's release here); without Redis, sealing follows inline.
    statements = statements[: statements.index("RELEASE")]
    if _db.engine.dialect.name == "postgresql":
        assert statements == ["WITH", "WITH"]
    else:  # SQLite takes the session, the lock and the persons, and the write's steps, apart
        assert statements == ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "INSERT"]


def test_a_cast_whose_connection_was_dropped_before_the_commit_is_made_once_more(
    client, elevator_vote, owner, monkeypatch
):
    from participation.votes import casting

    original, calls = casting.cast_as_owner, []

    def dropped_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise sa.exc.OperationalError(
                "INSERT …", {}, Exception("server closed the connection"),
                connection_invalidated=True,
            )  # fmt: skip
        return original(*args)

    monkeypatch.setattr(casting, "cast_as_owner", dropped_once)
    _db.session.commit()  # the vote is there before the request (its rollback keeps it)
    answer = cast(client, elevator_vote, owner, "agree", key="k-dropped")
    assert answer.status_code == 201, answer.json
    assert len(calls) == 2 and casts_of(elevator_vote) == [Choice.AGREE]


def test_other_database_errors_of_a_cast_are_not_retried(client, elevator_vote, owner, monkeypatch):
    from participation.votes import casting

    calls = []

    def failing(*args):
        calls.append(args)
        raise sa.exc.OperationalError("INSERT …", {}, Exception("disk full"))

    monkeypatch.setattr(casting, "cast_as_owner", failing)
    with pytest.raises(sa.exc.OperationalError):  # a 500 (the test client re-raises it)
        cast(client, elevator_vote, owner, "agree")
    assert len(calls) == 1
