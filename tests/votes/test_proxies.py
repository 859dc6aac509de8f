"""Proxies (委托): granted by an owner, confirmed by the compound's committee, limited to N
persons per proxy (also under concurrent confirmations), cast for the owner, revocable."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from participation.auth.models import Account, Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.common.types import utcnow
from participation.extensions import db as _db
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
from participation.votes import record
from participation.votes.casting import cast_as_owner
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    Matter,
    Proxy,
    ProxyStatus,
    Vote,
    VoteEvent,
)
from participation.votes.proxies import grant_proxy
from participation.votes.services import open_vote

PROXY_PHONE = "13700000001"


@pytest.fixture
def case(sample_compound, make_vote, owner_account, make_account, make_staff, sign_in):
    """An open vote on building 2, its owner of 2栋1单元101, a signed-up proxy and the
    compound's committee."""
    vote = make_vote(sample_compound, buildings=("2",), open=True)
    owner = owner_account(sample_compound, "2栋1单元101")
    proxy = make_account(PROXY_PHONE)
    committee = make_staff(Role.COMPOUND, sample_compound.id)
    return SimpleNamespace(
        compound=sample_compound,
        vote=vote,
        owner=owner,
        proxy=proxy,
        committee_id=committee.id,
        as_owner=sign_in(owner),
        as_proxy=sign_in(proxy),
        as_committee=sign_in(committee),
        sign_in=sign_in,
        owner_account=owner_account,
    )


@pytest.fixture
def neighbours(case, make_compound, make_dwelling, make_staff, make_account, sign_in):
    """Headers of the committee and of an owner of the neighbouring compound."""
    other = make_compound("邻小区", community=case.compound.community)
    resident = make_account()
    owner = make_dwelling.owner(other, "王五")
    owner.account_id = resident.id
    make_dwelling(other, owners=[owner])
    return [sign_in(make_staff(Role.COMPOUND, other.id)), sign_in(resident)]


def grant(client, case, headers=None, phone=PROXY_PHONE, **body):
    return client.post(
        f"/api/v1/votes/{case.vote.id}/proxies",
        json={"proxy_phone": phone, **body},
        headers=headers or case.as_owner,
    )


def granted(client, case, headers=None) -> int:
    response = grant(client, case, headers)
    assert response.status_code == 201, response.json
    return response.json["id"]


def confirmed(client, case, headers=None) -> int:
    proxy_id = granted(client, case, headers)
    response = client.post(f"/api/v1/proxies/{proxy_id}/confirm", headers=case.as_committee)
    assert response.status_code == 200, response.json
    return proxy_id


def cast(client, case, proxy_id, choice="agree", headers=None):
    return client.post(
        f"/api/v1/proxies/{proxy_id}/ballots",
        json={"choice": choice},
        headers=headers or case.as_proxy,
    )


def casts():
    return _db.session.scalar(sa.select(sa.func.count(VoteEvent.id)).filter_by(kind="cast"))


def test_grant_confirm_and_cast_records_who_cast_for_whom(client, case):
    response = grant(client, case)
    assert response.status_code == 201, response.json
    proxy_id = response.json["id"]
    assert response.json["status"] == "pending"
    assert response.json["dwellings"] == "2栋1单元101"
    assert response.json["proxy_phone"] == "137****0001"
    assert response.json["relation"] == "granted"

    held = client.get("/api/v1/proxies", headers=case.as_proxy)
    assert [(p["id"], p["relation"]) for p in held.json] == [(proxy_id, "held")]
    assert held.json[0]["owner_name"].endswith("*")
    listed = client.get(f"/api/v1/votes/{case.vote.id}/proxies", headers=case.as_committee)
    assert listed.json[0]["proxy_phone"] == PROXY_PHONE  # the compound's own committee
    assert "*" not in listed.json[0]["owner_name"]

    confirm = client.post(f"/api/v1/proxies/{proxy_id}/confirm", headers=case.as_committee)
    assert confirm.status_code == 200, confirm.json
    assert confirm.json["status"] == "confirmed"
    event = _db.session.scalar(sa.select(VoteEvent).filter_by(vote_id=case.vote.id, kind="proxy"))
    assert (event.proxy_id, event.staff_id) == (proxy_id, case.committee_id)

    response = cast(client, case, proxy_id, headers={**case.as_proxy, "Idempotency-Key": "p-1"})
    assert response.status_code == 201, response.json
    assert (response.json["channel"], response.json["choice"]) == ("proxy", "agree")
    assert len(response.json["receipt"]) == 10
    again = cast(client, case, proxy_id, headers={**case.as_proxy, "Idempotency-Key": "p-1"})
    assert (again.status_code, again.json["replayed"]) == (200, True)
    assert again.json["receipt"] == response.json["receipt"]

    proxy = _db.session.get(Proxy, proxy_id)
    event = _db.session.scalar(sa.select(VoteEvent).filter_by(kind="cast", proxy_id=proxy_id))
    assert (event.channel, event.account_id) == (Channel.PROXY, case.proxy.id)
    assert (event.owner_id, event.person_id) == (proxy.owner_id, proxy.person_id)
    ballot = _db.session.get(Ballot, (case.vote.id, proxy.person_id))
    assert (ballot.channel, ballot.choice, ballot.event_id) == (
        Channel.PROXY,
        Choice.AGREE,
        event.id,
    )
    assert casts() == 1


def test_replaced_says_whether_this_person_had_cast_before(client, case):
    """A proxy's cast answers ``replaced`` for its own person only: not for another owner's
    cast, not for the proxy's confirmation in the record; true once it casts again."""
    neighbour = case.sign_in(case.owner_account(case.compound, "2栋1单元102"))
    other = client.post(
        f"/api/v1/votes/{case.vote.id}/ballots", json={"choice": "agree"}, headers=neighbour
    )
    assert (other.status_code, other.json["replaced"]) == (201, False)
    proxy_id = confirmed(client, case)
    first = cast(client, case, proxy_id, "disagree")
    assert (first.status_code, first.json["replaced"]) == (201, False), first.json
    second = cast(client, case, proxy_id, "agree")
    assert (second.status_code, second.json["replaced"]) == (201, True), second.json


def test_a_proxy_not_confirmed_cannot_cast(client, case):
    proxy_id = granted(client, case)
    response = cast(client, case, proxy_id)
    assert response.status_code == 403
    assert response.json["code"] == "proxy_not_confirmed"
    assert "确认" in response.json["message"]
    client.post(f"/api/v1/proxies/{proxy_id}/reject", headers=case.as_committee)
    assert cast(client, case, proxy_id).json["message"] == "委托未获业委会确认，不能代为投票"
    assert casts() == 0


def test_only_the_proxy_casts_and_only_the_grantor_revokes(client, case):
    proxy_id = confirmed(client, case)
    assert cast(client, case, proxy_id, headers=case.as_owner).json["code"] == "not_the_proxy"
    revoke = client.post(f"/api/v1/proxies/{proxy_id}/revoke", headers=case.as_proxy)
    assert (revoke.status_code, revoke.json["code"]) == (403, "not_grantor")


def test_a_revoked_proxy_cannot_cast_but_its_earlier_cast_stays(client, case):
    proxy_id = confirmed(client, case)
    assert cast(client, case, proxy_id, "disagree").status_code == 201
    revoke = client.post(f"/api/v1/proxies/{proxy_id}/revoke", headers=case.as_owner)
    assert revoke.status_code == 200 and revoke.json["status"] == "revoked"

    response = cast(client, case, proxy_id, "agree")
    assert response.status_code == 403
    assert response.json["message"] == "委托人已撤销委托，不能代为投票"
    person_id = _db.session.get(Proxy, proxy_id).person_id
    ballot = _db.session.get(Ballot, (case.vote.id, person_id))
    assert (ballot.channel, ballot.choice) == (Channel.PROXY, Choice.DISAGREE)

    cast_as_owner(case.vote.id, case.owner.id, Choice.AGREE)  # the owner casts later: it counts
    _db.session.refresh(ballot)
    assert (ballot.channel, ballot.choice) == (Channel.ONLINE, Choice.AGREE)
    again = client.post(f"/api/v1/proxies/{proxy_id}/revoke", headers=case.as_owner)
    assert (again.status_code, again.json["code"]) == (409, "proxy_not_active")


def test_one_active_proxy_per_person(client, case, make_account):
    proxy_id = granted(client, case)
    make_account("13700000002")
    second = grant(client, case, phone="13700000002")
    assert (second.status_code, second.json["code"]) == (409, "proxy_exists")
    client.post(f"/api/v1/proxies/{proxy_id}/revoke", headers=case.as_owner)
    assert grant(client, case, phone="13700000002").status_code == 201


def test_the_proxy_must_have_signed_in_once(client, case):
    response = grant(client, case, phone="13799999999")
    assert response.status_code == 422
    assert response.json["code"] == "proxy_not_signed_in"
    assert "登录" in response.json["message"] and "1379" not in response.json["message"]
    myself = grant(client, case, phone=case.owner.phone)
    assert (myself.status_code, myself.json["code"]) == (422, "proxy_is_self")
    bad = grant(client, case, phone="12345")
    assert bad.status_code == 422 and bad.json["errors"]["proxy_phone"]
    assert _db.session.scalar(sa.select(sa.func.count(Proxy.id))) == 0


def test_only_owners_in_scope_may_grant(client, case, make_account):
    outside = case.owner_account(case.compound, "1栋1单元101")  # building 1: not in the vote
    response = grant(client, case, headers=case.sign_in(outside))
    assert (response.status_code, response.json["code"]) == (403, "not_an_owner")
    stranger = grant(client, case, headers=case.sign_in(make_account()))
    assert stranger.status_code == 404  # not a resident of the compound: no such vote


def test_a_proxy_represents_at_most_n_persons(client, case, app, monkeypatch):
    monkeypatch.setitem(app.config, "VOTE_MAX_PROXIES_PER_PROXY", 2)
    rooms = ["2栋1单元101", "2栋1单元102", "2栋1单元201"]
    proxy_ids = [
        granted(client, case, case.sign_in(case.owner_account(case.compound, room)))
        for room in rooms
    ]
    statuses = [
        client.post(f"/api/v1/proxies/{i}/confirm", headers=case.as_committee) for i in proxy_ids
    ]
    assert [r.status_code for r in statuses] == [200, 200, 409]
    assert statuses[2].json["code"] == "proxy_limit_reached"
    assert "最多代理 2 位" in statuses[2].json["message"]
    assert _db.session.get(Proxy, proxy_ids[2]).status is ProxyStatus.PENDING


def test_staff_above_the_compound_see_masked_and_cannot_decide(client, case, make_staff):
    proxy_id = granted(client, case)
    community = case.sign_in(make_staff(Role.COMMUNITY, case.compound.community_id))
    listed = client.get(f"/api/v1/votes/{case.vote.id}/proxies", headers=community)
    assert listed.status_code == 200
    assert listed.json[0]["proxy_phone"] == "137****0001"
    response = client.post(f"/api/v1/proxies/{proxy_id}/confirm", headers=community)
    assert (response.status_code, response.json["code"]) == (403, "committee_only")


def test_neighbours_get_404_on_proxies(client, case, neighbours):
    proxy_id = granted(client, case)
    for headers in neighbours:
        for url in (
            f"/api/v1/proxies/{proxy_id}/confirm",
            f"/api/v1/proxies/{proxy_id}/revoke",
            f"/api/v1/proxies/{proxy_id}/ballots",
            f"/api/v1/votes/{case.vote.id}/proxies",
        ):
            response = client.post(url, json={"choice": "agree"}, headers=headers)
            assert response.status_code == 404, url


def test_nothing_after_closing(client, case):
    proxy_id = confirmed(client, case)
    pending = granted(client, case, case.sign_in(case.owner_account(case.compound, "2栋1单元102")))
    case.vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()
    assert cast(client, case, proxy_id).json["code"] == "vote_closed"
    confirm = client.post(f"/api/v1/proxies/{pending}/confirm", headers=case.as_committee)
    assert (confirm.status_code, confirm.json["code"]) == (409, "vote_closed")
    assert casts() == 0


# Concurrency (real PostgreSQL, own database and app) ------------------------------------------


@pytest.mark.postgres
def test_concurrent_confirmations_to_one_proxy_stop_at_n(race_app):
    """N + 2 owners' proxies to the same person, confirmed all at once: exactly N succeed."""
    limit = race_app.config["VOTE_MAX_PROXIES_PER_PROXY"]
    threads = limit + 2
    with race_app.app_context():
        vote, staff, owners = _race_vote(threads)
        proxy_ids = [grant_proxy(vote, owner, PROXY_PHONE).id for owner in owners]
        with race_app.test_request_context():
            token = issue_tokens(SubjectKind.STAFF, staff.id)["access_token"]
        _db.session.commit()
        vote_id = vote.id

    barrier = threading.Barrier(threads)
    responses: dict[int, tuple[int, str | None]] = {}

    def confirm(proxy_id: int):
        client = race_app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/proxies/{proxy_id}/confirm", headers={"Authorization": f"Bearer {token}"}
        )
        responses[proxy_id] = (response.status_code, response.json.get("code"))

    workers = [threading.Thread(target=confirm, args=(i,)) for i in proxy_ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    outcomes = sorted(responses.values(), key=lambda r: r[0])
    assert [status for status, _ in outcomes] == [200] * limit + [409] * 2
    assert all(code == "proxy_limit_reached" for status, code in outcomes if status == 409)
    with race_app.app_context():
        statuses = dict(
            _db.session.execute(sa.select(Proxy.id, Proxy.status).filter_by(vote_id=vote_id)).all()
        )
        assert sorted(statuses.values()) == sorted(
            [ProxyStatus.CONFIRMED] * limit + [ProxyStatus.PENDING] * 2
        )
        for proxy_id, (status, _) in responses.items():
            expected = ProxyStatus.CONFIRMED if status == 200 else ProxyStatus.PENDING
            assert statuses[proxy_id] is expected
        recorded = _db.session.scalars(
            sa.select(VoteEvent.proxy_id).filter_by(vote_id=vote_id, kind="proxy")
        ).all()
        assert sorted(recorded) == sorted(i for i, (s, _) in responses.items() if s == 200)


def _race_vote(persons: int):
    """A compound of ``persons`` owners with accounts, its committee, a proxy's account and
    an open vote (committed by the caller)."""
    district = District(name="区")
    community = Community(street=Street(district=district, name="街道"), name="社区")
    compound = Compound(community=community, name="小区")
    _db.session.add(compound)
    _db.session.flush()
    building = Building(compound_id=compound.id, number="1")
    _db.session.add(building)
    _db.session.flush()
    entrance = Entrance(building_id=building.id, number="1")
    staff = StaffUser(username="committee", password_hash="-", display_name="业委会")
    staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
    _db.session.add_all([entrance, staff, Account(phone=PROXY_PHONE)])
    _db.session.flush()
    accounts = [Account(phone=f"1360000{i:04d}") for i in range(persons)]
    _db.session.add_all(accounts)
    _db.session.flush()
    for i, account in enumerate(accounts):
        owner = Owner(
            compound_id=compound.id,
            name=f"业主{i}",
            id_hash=f"hash-{i}",
            id_last4="0000",
            account_id=account.id,
        )
        dwelling = Dwelling(
            compound_id=compound.id,
            building_id=building.id,
            entrance_id=entrance.id,
            floor=1,
            room=str(101 + i),
            area=Decimal("80.00"),
        )
        _db.session.add_all([owner, dwelling, Ownership(owner=owner, dwelling=dwelling)])
    now = utcnow()
    vote = Vote(
        compound_id=compound.id,
        title="加装电梯",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=1),
        created_by_id=staff.id,
    )
    _db.session.add(vote)
    _db.session.flush()
    open_vote(vote)
    return vote, staff, [a.id for a in accounts]


@pytest.mark.parametrize(
    ("rule", "counting"),
    [("latest", ("disagree", "proxy")), ("owner_prevails", ("agree", "online"))],
)
def test_the_compounds_rules_say_whether_the_owners_own_ballot_prevails(
    client, case, make_vote, rule, counting
):
    """议事规则: by default the latest ballot made counts, the proxy's included; a compound may
    let the owner's own ballot prevail over a proxy's, cast earlier or later. Set on the
    compound, frozen into the vote at opening, shown in its rule, replayed by verify."""
    compound_url = f"/api/v1/compounds/{case.compound.id}"
    patched = client.patch(compound_url, json={"proxy_rule": rule}, headers=case.as_committee)
    assert (patched.status_code, patched.json["proxy_rule"]) == (200, rule), patched.json
    case.vote = make_vote(case.compound, buildings=("2",), open=True)
    proxy_id = confirmed(client, case)

    assert cast(client, case, proxy_id, "abstain").status_code == 201  # no own ballot yet
    person_id = cast_as_owner(case.vote.id, case.owner.id, Choice.AGREE).person_id
    assert cast(client, case, proxy_id, "disagree").status_code == 201  # the latest made
    ballot = _db.session.get(Ballot, (case.vote.id, person_id))
    assert (ballot.choice.value, ballot.channel.value) == counting
    assert record.verify(case.vote.id).ok, record.verify(case.vote.id).problems

    shown = client.get(f"/api/v1/votes/{case.vote.id}", headers=case.as_owner).json
    assert shown["proxy_rule"] == rule
    assert ("本人" in shown["precedence"]) is (rule == "owner_prevails")
    # A change of the rules later does not change an opened vote.
    client.patch(
        f"/api/v1/compounds/{case.compound.id}", json={"proxy_rule": "latest"},
        headers=case.as_committee,
    )  # fmt: skip
    _db.session.refresh(case.vote)
    assert case.vote.proxy_rule.value == rule


def test_an_unknown_proxy_rule_is_refused(client, case):
    response = client.patch(
        f"/api/v1/compounds/{case.compound.id}", json={"proxy_rule": "owner"},
        headers=case.as_committee,
    )  # fmt: skip
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert "owner_prevails" in str(response.json["errors"])
