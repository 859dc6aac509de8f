"""The decision of a vote: its own rule's outcome and, for an elevator vote that takes common
parts of the compound (加装电梯占用共有部分), the outcome of the linked compound-wide vote.

An elevator vote that takes common parts passes only if its own rule passes (stored in
``vote.result`` at closing, which keeps its own figures: ``record.verify`` checks them) AND
the linked vote passed. The combination is computed on read, here only, and shown wherever
the vote's outcome is: the tally, the residents' progress, the vote's view, the 公示 notice and
the cost plan.

``passed`` is True, False, or None (pending):

- own rule not yet decided (the vote is not closed)          → None
- own rule failed                                            → False (whatever the link)
- own rule passed, no common parts taken                     → True
- own rule passed, linked vote passed                        → True
- own rule passed, linked vote failed or was cancelled       → False
- own rule passed, linked vote undecided (draft, open, or
  past its closing time but not yet closed: no stored result) → None
"""

from __future__ import annotations

from sqlalchemy import select

from participation.common.sql import db_now
from participation.extensions import db
from participation.votes.models import Vote, VoteStatus
from participation.votes.services import effective_status


def linked_passed(status: VoteStatus, result: dict | None) -> bool | None:
    """The outcome of the linked compound-wide vote: its stored result once closed (also
    while it is on public notice), False once cancelled, None while undecided."""
    if status is VoteStatus.CANCELLED:
        return False
    if result is None:
        return None
    return bool(result["passed"])


def combine(own_passed: bool | None, needs_link: bool, linked: bool | None) -> bool | None:
    """The decision from the vote's own outcome and, when it ``needs_link``, the linked
    vote's (both True, False or None for undecided). Failure anywhere decides at once."""
    if own_passed is False or (needs_link and linked is False):
        return False
    if own_passed is None or (needs_link and linked is None):
        return None
    return True


def decision(vote: Vote) -> dict:
    """``{"own_passed", "common_parts", "passed"}`` of ``vote``; ``common_parts`` is
    ``{"vote_id", "title", "status", "passed"}`` of the linked vote (its status as of now), or
    None when the vote takes no common parts."""
    own = None if vote.result is None else bool(vote.result["passed"])
    common_parts = None
    linked = None
    if vote.takes_common_parts:
        if vote.common_parts_vote_id is not None:
            other = db.session.scalar(select(Vote).where(Vote.id == vote.common_parts_vote_id))
            linked = linked_passed(other.status, other.result)
            common_parts = {
                "vote_id": other.id,
                "title": other.title,
                "status": effective_status(other, db_now()).value,
                "passed": linked,
            }
        else:  # a draft not yet linked: cannot open, so never decided
            common_parts = {"vote_id": None, "title": None, "status": None, "passed": None}
    return {
        "own_passed": own,
        "common_parts": common_parts,
        "passed": combine(own, vote.takes_common_parts, linked),
    }
