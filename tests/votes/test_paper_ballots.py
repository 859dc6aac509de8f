"""Paper ballots (纸质票): entered by the compound's committee with a photo that is kept; the
later of a paper and an online cast counts, and committees see the conflict."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common.types import utcnow
from participation.extensions import db as _db
from participation.votes import record
from participation.votes.casting import cast_as_owner
from participation.votes.models import (
    Ballot,
    Channel,
    Choice,
    VoteAttachment,
    VoteEvent,
    VotePersonDwelling,
)

JPEG = b"\xff\xd8\xff\xe0" + b"signed paper ballot" * 10
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def client(scoped_client):
    return scoped_client


@pytest.fixture
def case(sample_compound, make_vote, make_staff, owner_account, sign_in):
    vote = make_vote(sample_compound, buildings=("2",), open=True)
    committee = make_staff(Role.COMPOUND, sample_compound.id)
    owner = owner_account(sample_compound, "2栋1单元101")
    return SimpleNamespace(
        compound=sample_compound,
        vote=vote,
        owner=owner,
        committee=committee,
        as_committee=sign_in(committee),
        as_owner=sign_in(owner),
        sign_in=sign_in,
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


def enter(client, case, headers=None, photo=(JPEG, "ballot.jpg"), **fields):
    """Enter a paper ballot signed now (``signed_at``: an aware datetime, or None to leave
    it out)."""
    fields.setdefault("signed_at", utcnow())
    if fields["signed_at"] is not None:
        fields["signed_at"] = fields["signed_at"].isoformat()
    data = {"dwelling": "2栋1单元101", "choice": "agree", **fields}
    data = {key: value for key, value in data.items() if value is not None}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo[0]), photo[1])
    return client.post(
        f"/api/v1/votes/{case.vote.id}/paper-ballots",
        data=data,
        headers=headers or case.as_committee,
        content_type="multipart/form-data",
    )


def written():
    """(paper photos, casts) in the database."""
    photos = sa.select(sa.func.count(VoteAttachment.id)).filter_by(kind="paper_ballot")
    casts = sa.select(sa.func.count(VoteEvent.id)).filter_by(kind="cast")
    return _db.session.scalar(photos), _db.session.scalar(casts)


def ballot_of(case, person_id):
    return _db.session.get(Ballot, (case.vote.id, person_id))


def test_paper_ballot_keeps_its_photo_and_who_entered_it(client, case):
    response = enter(client, case, choice="disagree")
    assert response.status_code == 201, response.json
    assert (response.json["channel"], response.json["choice"]) == ("paper", "disagree")
    assert response.json["dwellings"] == "2栋1单元101"

    event = _db.session.scalar(sa.select(VoteEvent).filter_by(kind="cast"))
    assert (event.channel, event.staff_id, event.account_id) == (
        Channel.PAPER,
        case.committee.id,
        None,
    )
    photo = _db.session.get(VoteAttachment, event.attachment_id)
    assert (photo.kind, photo.content_type, photo.uploaded_by_id) == (
        "paper_ballot",
        "image/jpeg",
        case.committee.id,
    )
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest()
    ballot = ballot_of(case, event.person_id)
    assert (ballot.channel, ballot.choice) == (Channel.PAPER, Choice.DISAGREE)

    listed = client.get(f"/api/v1/votes/{case.vote.id}/paper-ballots", headers=case.as_committee)
    (item,) = listed.json
    assert (item["id"], item["counts"], item["photo_type"]) == (event.id, True, "image/jpeg")
    assert item["entered_by"] == case.committee.display_name
    assert item["owner_names"].endswith("*")
    download = client.get(item["photo_url"], headers=case.as_committee)
    assert download.status_code == 200
    assert (download.data, download.mimetype) == (JPEG, "image/jpeg")
    assert client.get(item["photo_url"], headers=case.as_owner).status_code == 404


def test_by_person_id_with_a_png(client, case):
    person_id = _db.session.scalar(
        sa.select(VotePersonDwelling.person_id).filter_by(vote_id=case.vote.id, label="2栋1单元102")
    )
    response = enter(client, case, dwelling=None, person_id=person_id, photo=(PNG, "b.png"))
    assert response.status_code == 201, response.json
    assert (response.json["person_id"], response.json["dwellings"]) == (person_id, "2栋1单元102")


def test_paper_then_online_later_online_counts_and_the_conflict_is_listed(client, case):
    assert enter(client, case, choice="disagree").status_code == 201
    online = cast_as_owner(case.vote.id, case.owner.id, Choice.AGREE)
    ballot = ballot_of(case, online.person_id)
    assert (ballot.channel, ballot.choice) == (Channel.ONLINE, Choice.AGREE)

    response = client.get(f"/api/v1/votes/{case.vote.id}/conflicts", headers=case.as_committee)
    assert response.status_code == 200
    (conflict,) = response.json
    assert conflict["dwellings"] == "2栋1单元101"
    assert conflict["owner_names"].endswith("*")
    assert [(c["channel"], c["choice"], c["counts"]) for c in conflict["casts"]] == [
        ("paper", "disagree", False),
        ("online", "agree", True),
    ]


def test_online_then_paper_later_paper_counts(client, case):
    online = cast_as_owner(case.vote.id, case.owner.id, Choice.AGREE)
    assert enter(client, case, choice="abstain").status_code == 201
    ballot = ballot_of(case, online.person_id)
    assert (ballot.channel, ballot.choice) == (Channel.PAPER, Choice.ABSTAIN)
    (conflict,) = client.get(
        f"/api/v1/votes/{case.vote.id}/conflicts", headers=case.as_committee
    ).json
    assert [c["counts"] for c in conflict["casts"]] == [False, True]


def test_a_retried_entry_is_kept_once(client, case):
    headers = {**case.as_committee, "Idempotency-Key": "paper-7"}
    first = enter(client, case, headers=headers)
    again = enter(client, case, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["replayed"] is True and again.json["receipt"] == first.json["receipt"]
    assert written() == (1, 1)
    reused = enter(client, case, headers=headers, choice="disagree")
    assert (reused.status_code, reused.json["code"]) == (422, "idempotency_key_reused")
    assert written() == (1, 1)


@pytest.mark.parametrize(
    ("fields", "status", "code", "message"),
    [
        ({"photo": None}, 422, "validation_error", "请上传签字纸质票的照片"),
        ({"photo": (b"GIF89a....", "ballot.jpg")}, 415, "unsupported_file_type", "JPEG"),
        ({"dwelling": "9栋1单元101"}, 422, "unknown_dwelling", "9栋1单元101"),
        ({"dwelling": "1栋1单元101"}, 422, "unknown_dwelling", "没有房屋"),  # not in scope
        ({"choice": "yes"}, 422, "validation_error", "同意"),
        ({"choice": None}, 422, "validation_error", "请选择"),
        ({"dwelling": None}, 422, "person_required", "二选一"),
        ({"person_id": "999999"}, 422, "person_required", "二选一"),  # with a dwelling too
        ({"dwelling": None, "person_id": "999999"}, 422, "unknown_person", "没有该表决权人"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(client, case, fields, status, code, message):
    response = enter(client, case, **fields)
    assert response.status_code == status, response.json
    assert response.json["code"] == code
    assert message in str(response.json), response.json
    assert written() == (0, 0)


def test_a_photo_over_10_mb_is_refused(client, case):
    response = enter(client, case, photo=(JPEG + b"\x00" * (10 * 2**20), "big.jpg"))
    assert (response.status_code, response.json["code"]) == (413, "file_too_large")
    assert "10 MB" in response.json["message"]
    assert written() == (0, 0)


def test_only_the_compound_committee_enters(client, case, make_staff):
    community = case.sign_in(make_staff(Role.COMMUNITY, case.compound.community_id))
    response = enter(client, case, headers=community)
    assert (response.status_code, response.json["code"]) == (403, "committee_only")
    assert (
        client.get(f"/api/v1/votes/{case.vote.id}/paper-ballots", headers=community).status_code
        == 200
    )
    resident = client.get(f"/api/v1/votes/{case.vote.id}/paper-ballots", headers=case.as_owner)
    assert resident.status_code == 403
    assert enter(client, case, headers=case.as_owner).status_code == 403
    assert written() == (0, 0)


def test_neighbours_get_404(client, case, neighbours):
    assert enter(client, case).status_code == 201
    photo_id = _db.session.scalar(sa.select(VoteEvent.attachment_id).filter_by(kind="cast"))
    for headers in neighbours:
        assert enter(client, case, headers=headers).status_code == 404
        for url in (
            f"/api/v1/votes/{case.vote.id}/paper-ballots",
            f"/api/v1/votes/{case.vote.id}/conflicts",
            f"/api/v1/votes/{case.vote.id}/attachments/{photo_id}",
        ):
            assert client.get(url, headers=headers).status_code == 404, url


def close(case) -> None:
    case.vote.closes_at = utcnow() - timedelta(microseconds=1)
    _db.session.flush()


def test_a_ballot_signed_before_an_online_cast_but_entered_after_it_does_not_override_it(
    client, case
):
    """Among an owner's ballots the latest *made* counts: a paper ballot signed before the
    owner's online cast, typed in after it, leaves the online cast counting."""
    signed = utcnow()
    online = cast_as_owner(case.vote.id, case.owner.id, Choice.AGREE)
    response = enter(client, case, choice="disagree", signed_at=signed)
    assert (response.status_code, response.json["replaced"]) == (201, True)
    ballot = ballot_of(case, online.person_id)
    assert (ballot.channel, ballot.choice) == (Channel.ONLINE, Choice.AGREE)
    (conflict,) = client.get(
        f"/api/v1/votes/{case.vote.id}/conflicts", headers=case.as_committee
    ).json
    paper, online_cast = conflict["casts"]  # in the order they were made
    assert (paper["channel"], paper["counts"], online_cast["counts"]) == ("paper", False, True)
    assert paper["made_at"] < online_cast["made_at"] < paper["entered_at"]
    (listed,) = client.get(
        f"/api/v1/votes/{case.vote.id}/paper-ballots", headers=case.as_committee
    ).json
    assert listed["signed_at"] < listed["entered_at"] and listed["counts"] is False


def test_in_the_counting_period_a_ballot_signed_in_time_is_entered_and_counted(client, case):
    """After the closing time and before 公示: a paper ballot signed a microsecond before the
    closing time counts, and the result stored at closing is recomputed."""
    close(case)
    committee_tally = client.get(f"/api/v1/votes/{case.vote.id}/tally", headers=case.as_committee)
    assert committee_tally.json["status"] == "closed" and committee_tally.json["p_cnt"] == 0
    response = enter(client, case, signed_at=case.vote.closes_at - timedelta(microseconds=1))
    assert response.status_code == 201, response.json
    _db.session.expire_all()
    assert (case.vote.result["p_cnt"], case.vote.result["y_cnt"]) == (1, 1)
    assert record.verify(case.vote.id).ok


@pytest.mark.parametrize(
    ("signed", "code", "message"),
    [
        (lambda vote: vote.closes_at, "signed_after_closing", "截止"),
        (lambda vote: utcnow() + timedelta(hours=1), "signed_in_future", "晚于现在"),
        (lambda vote: vote.opens_at - timedelta(microseconds=1), "signed_before_opening", "早于"),
    ],
)
def test_a_ballot_signed_outside_the_vote_is_refused(client, case, signed, code, message):
    close(case)
    response = enter(client, case, signed_at=signed(case.vote))
    assert (response.status_code, response.json["code"]) == (422, code), response.json
    assert message in response.json["message"] and "signed_at" in response.json["errors"]
    assert written() == (0, 0)


def test_a_ballot_without_its_signing_time_is_refused(client, case):
    response = enter(client, case, signed_at=None)
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert "签署" in str(response.json["errors"]["signed_at"])
    assert written() == (0, 0)


def test_after_publication_paper_ballots_wait_for_an_upheld_objection(client, case):
    close(case)
    published = client.post(f"/api/v1/votes/{case.vote.id}/publish", headers=case.as_committee)
    assert published.status_code == 200, published.json
    response = enter(client, case, signed_at=case.vote.closes_at - timedelta(hours=1))
    assert (response.status_code, response.json["code"]) == (409, "counting_over")
    assert "异议" in response.json["message"]
    assert written() == (0, 0)
