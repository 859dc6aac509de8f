"""Known answers for the public record's format (``participation/votes/record.py``'s docstring).

The expected values are fixed, and recomputed here with plain ``hashlib``, ``base64`` and
``json`` from the documented format, never with the code under test: a changed formula — which
would break every receipt already handed out — fails here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa

from participation.extensions import db as _db
from participation.votes import record
from participation.votes.casting import owned_persons
from participation.votes.models import ChainEntry, Channel, Choice, VoteEvent
from participation.votes.services import _digest, event_content, receipt_code, record_cast

# Vote 42; a cast of person 7 by account 3 (owner 5), online, agreeing; then its opening event.
GENESIS_42 = "081f0c43e6978e2d0be42c868975b5f7c060d3a82c77173ab3141b371842358c"
CAST = {
    "vote_id": 42,
    "kind": "cast",
    "person_id": 7,
    "choice": Choice.AGREE,
    "channel": Channel.ONLINE,
    "account_id": 3,
    "owner_id": 5,
    "nonce": "00112233445566778899aabbccddeeff",
    "created_at": datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=UTC),
}
CAST_JSON = (
    '{"account_id":3,"attachment_id":null,"channel":"online","choice":"agree",'
    '"created_at":"2026-12-02T08:30:15.123456+00:00","kind":"cast",'
    '"nonce":"00112233445566778899aabbccddeeff","owner_id":5,"person_id":7,"proxy_id":null,'
    '"staff_id":null,"vote_id":42}'
)
CAST_DIGEST = "c61dfc08e97745a7b4b82753653ff57ed43dce6cda80af44924862130a3d092d"
CAST_RECEIPT = "YYO7YCHJO5"
OPENED = {
    "vote_id": 42,
    "kind": "opened",
    "nonce": "ffeeddccbbaa99887766554433221100",
    "created_at": datetime(2026, 12, 2, 8, 0, 0, tzinfo=UTC),  # whole second: no fraction
}
OPENED_JSON = (
    '{"account_id":null,"attachment_id":null,"channel":null,"choice":null,'
    '"created_at":"2026-12-02T08:00:00+00:00","kind":"opened",'
    '"nonce":"ffeeddccbbaa99887766554433221100","owner_id":null,"person_id":null,'
    '"proxy_id":null,"staff_id":null,"vote_id":42}'
)
OPENED_DIGEST = "b515d5d95d6b1ca9cc96f7e5909146026d6a996c6bc8e6cfcba285ad186dffe8"
SEQ_1 = "29a8dfa2abc19104b8d65a19610851635d54aad4e91a17aa000c25f719ddfec0"  # the cast
SEQ_2 = "9c50e14798cbee31d59054399f69199b2c7b4e8aef0aa37158303f211bafda80"  # then the opening


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_documented_format_gives_the_fixed_values():
    """The fixed values are what the documented format gives (no project code runs here)."""
    assert sha256("participation:vote:42") == GENESIS_42
    assert sha256(CAST_JSON) == CAST_DIGEST
    assert sha256(OPENED_JSON) == OPENED_DIGEST
    assert base64.b32encode(bytes.fromhex(CAST_DIGEST)).decode()[:10] == CAST_RECEIPT
    assert sha256(f"{GENESIS_42}|1|{CAST_DIGEST}") == SEQ_1
    assert sha256(f"{SEQ_1}|2|{OPENED_DIGEST}") == SEQ_2


def test_the_code_gives_the_fixed_values():
    assert record.genesis_hash(42) == GENESIS_42
    assert _digest(event_content(CAST)) == CAST_DIGEST
    assert _digest(event_content(OPENED)) == OPENED_DIGEST
    assert receipt_code(CAST_DIGEST) == CAST_RECEIPT
    assert record.chain_hash(GENESIS_42, 1, CAST_DIGEST) == SEQ_1
    assert record.chain_hash(SEQ_1, 2, OPENED_DIGEST) == SEQ_2


CONTENT = (
    "account_id",
    "attachment_id",
    "channel",
    "choice",
    "kind",
    "nonce",
    "owner_id",
    "person_id",
    "proxy_id",
    "staff_id",
    "vote_id",
)


def independent_digest(event) -> str:
    """An event row's digest by the documented format, with ``json`` and ``hashlib`` only."""
    content = {key: getattr(event, key) for key in CONTENT}
    content["choice"] = event.choice and event.choice.value
    content["channel"] = event.channel and event.channel.value
    content["created_at"] = event.created_at.astimezone(UTC).isoformat()
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return sha256(canonical)


def test_a_stored_record_verifies_by_the_documented_format(
    sample_compound, make_vote, owner_account
):
    """A real vote's events, receipts and sealed chain, checked the way an outside verifier
    would: from the rows, by the documented format."""
    vote = make_vote(sample_compound, open=True)
    account = owner_account(sample_compound, "1栋1单元101")
    (person,) = owned_persons(vote.id, account.id)
    receipts = [
        record_cast(vote.id, person.id, choice, Channel.ONLINE, account_id=account.id).receipt
        for choice in (Choice.DISAGREE, Choice.AGREE)
    ]
    record.seal_pending(vote.id)

    events = {e.id: e for e in _db.session.scalars(sa.select(VoteEvent).filter_by(vote_id=vote.id))}
    assert sorted(e.kind for e in events.values()) == ["cast", "cast", "opened"]
    for event in events.values():
        assert event.digest == independent_digest(event)
        if event.kind == "cast":
            assert event.receipt == base64.b32encode(bytes.fromhex(event.digest)).decode()[:10]
    assert sorted(e.receipt for e in events.values() if e.kind == "cast") == sorted(receipts)

    entries = _db.session.scalars(
        sa.select(ChainEntry).filter_by(vote_id=vote.id).order_by(ChainEntry.seq)
    ).all()
    parent = sha256(f"participation:vote:{vote.id}")
    assert [entry.seq for entry in entries] == [1, 2, 3]
    for entry in entries:
        assert entry.parent_hash == parent
        assert entry.hash == sha256(f"{parent}|{entry.seq}|{events[entry.event_id].digest}")
        parent = entry.hash
    assert {entry.event_id for entry in entries} == set(events)


# A paper ballot admitted for objection 4 (signed before it was entered), and a void of cast 11:
# the four optional keys appear, sorted among the others, only because they are set.
PAPER = {
    "vote_id": 42,
    "kind": "cast",
    "person_id": 7,
    "choice": Choice.DISAGREE,
    "channel": Channel.PAPER,
    "staff_id": 2,
    "attachment_id": 9,
    "nonce": "0123456789abcdef0123456789abcdef",
    "created_at": datetime(2026, 12, 3, 1, 0, 0, tzinfo=UTC),
    "signed_at": datetime(2026, 12, 2, 11, 45, 0, tzinfo=UTC),
    "objection_id": 4,
    "note": "漏录",
}
PAPER_JSON = (
    '{"account_id":null,"attachment_id":9,"channel":"paper","choice":"disagree",'
    '"created_at":"2026-12-03T01:00:00+00:00","kind":"cast",'
    '"nonce":"0123456789abcdef0123456789abcdef","note":"漏录","objection_id":4,"owner_id":null,'
    '"person_id":7,"proxy_id":null,"signed_at":"2026-12-02T11:45:00+00:00","staff_id":2,'
    '"vote_id":42}'
)
PAPER_DIGEST = "e2214582ab13aeb31cef69a3e2910716717ac195c10b7dcaecf8c5ffb132be28"
VOID = {
    "vote_id": 42,
    "kind": "void",
    "person_id": 7,
    "staff_id": 2,
    "ref_event_id": 11,
    "objection_id": 4,
    "note": "非本人投票",
    "nonce": "fedcba9876543210fedcba9876543210",
    "created_at": datetime(2026, 12, 4, 2, 0, 0, tzinfo=UTC),
}
VOID_JSON = (
    '{"account_id":null,"attachment_id":null,"channel":null,"choice":null,'
    '"created_at":"2026-12-04T02:00:00+00:00","kind":"void",'
    '"nonce":"fedcba9876543210fedcba9876543210","note":"非本人投票","objection_id":4,'
    '"owner_id":null,"person_id":7,"proxy_id":null,"ref_event_id":11,"staff_id":2,"vote_id":42}'
)
VOID_DIGEST = "2c68b3910a06fd1c1f5da240c7506abc5fef246f73e25f2044a4de67e3cdee2d"


def test_the_optional_keys_of_corrections_and_paper_ballots():
    assert sha256(PAPER_JSON) == PAPER_DIGEST and sha256(VOID_JSON) == VOID_DIGEST
    assert json.dumps(event_content(PAPER), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")) == PAPER_JSON  # fmt: skip
    assert _digest(event_content(PAPER)) == PAPER_DIGEST
    assert _digest(event_content(VOID)) == VOID_DIGEST
