"""委托: an owner authorises another signed-in person to vote for them in one vote.

Life of a proxy: the owner grants it (pending) → committee staff of the compound confirm or
reject it → the proxy casts for the owner's person (channel ``proxy``, the ballot records the
proxy's account and the owner). The owner may revoke it at any time; a cast the proxy already
made stays (the latest cast counts), and the owner may cast later, which replaces it.

Rules kept by the database, not by a check-then-write:
- one active (pending or confirmed) proxy per person and vote — a partial unique index;
- a proxy holds at most ``limit`` confirmed proxies per vote — confirmations of the same proxy
  account are serialised by locking that account's row before counting;
- a revocation and a cast by the proxy are serialised on the proxy row, so no cast is
  accepted after a revocation has committed.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, text, update

from participation.auth.models import Account
from participation.auth.scoping import in_scope, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import conflict, forbidden, invalid, not_found
from participation.common.privacy import mask_name, mask_phone
from participation.common.sql import db_now, upsert
from participation.extensions import db
from participation.roster.models import Owner
from participation.votes.casting import Cast, choose_person, completed_cast, owned_persons
from participation.votes.models import (
    Channel,
    Choice,
    Proxy,
    ProxyStatus,
    Vote,
    VotePerson,
    VoteStatus,
)
from participation.votes.services import effective_status, record_cast, record_event

ACTIVE = (ProxyStatus.PENDING, ProxyStatus.CONFIRMED)


@path_resolver("proxy_id")
def get_proxy(proxy_id: int, principal: Principal) -> Proxy:
    """Staff: proxies of votes in their compounds. Residents: proxies they granted or hold."""
    stmt = select(Proxy).where(Proxy.id == proxy_id)
    if principal.is_staff:
        stmt = in_scope(stmt.join(Vote, Vote.id == Proxy.vote_id), Vote.compound_id, principal)
    else:
        stmt = stmt.where(_granted_or_held(principal.id))
    proxy = db.session.scalar(stmt)
    if proxy is None:
        raise not_found()
    return proxy


def _require_open(vote: Vote) -> None:
    if effective_status(vote, db_now()) is not VoteStatus.OPEN:
        raise conflict("vote_closed", "表决已截止或未开启，不能办理委托")


# Granting and deciding ---------------------------------------------------------------------


def grant_proxy(
    vote: Vote, account_id: int, proxy_phone: str, person_id: int | None = None
) -> Proxy:
    """The owner signed in as ``account_id`` authorises the account with ``proxy_phone``."""
    person = choose_person(owned_persons(vote.id, account_id), person_id)
    _require_open(vote)
    proxy_account_id = db.session.scalar(select(Account.id).where(Account.phone == proxy_phone))
    if proxy_account_id is None:
        raise invalid(
            "proxy_not_signed_in",
            "无法委托该手机号，请先请受托人用此手机号登录一次本平台，再办理委托",
        )
    if proxy_account_id == account_id:
        raise invalid("proxy_is_self", "不能委托给自己")
    stmt = (
        upsert(Proxy)
        .values(
            vote_id=vote.id,
            person_id=person.id,
            owner_id=person.owner_id,
            grantor_account_id=account_id,
            proxy_account_id=proxy_account_id,
            status=ProxyStatus.PENDING,
            created_at=db_now(),
        )
        .on_conflict_do_nothing(
            index_elements=["vote_id", "person_id"],
            index_where=text("status IN ('pending', 'confirmed')"),
        )
        .returning(Proxy.id)
    )
    proxy_id = db.session.execute(stmt).scalar()
    if proxy_id is None:
        raise conflict("proxy_exists", "该户在本次表决中已有待确认或已确认的委托，如需更换请先撤销")
    return db.session.get(Proxy, proxy_id)


def confirm_proxy(proxy: Proxy, staff_id: int, limit: int) -> Proxy:
    """Confirm a pending proxy unless its holder already represents ``limit`` persons in this
    vote. Confirmations for the same holder wait for each other on the holder's account row
    (``FOR NO KEY UPDATE``: inserts that merely reference the account are not blocked), so
    the count below is never stale."""
    vote = db.session.get(Vote, proxy.vote_id)
    _require_open(vote)
    db.session.execute(
        select(Account.id)
        .where(Account.id == proxy.proxy_account_id)
        .with_for_update(key_share=True)
    )
    held = db.session.scalar(
        select(func.count(Proxy.id)).where(
            Proxy.vote_id == proxy.vote_id,
            Proxy.proxy_account_id == proxy.proxy_account_id,
            Proxy.status == ProxyStatus.CONFIRMED,
        )
    )
    if held >= limit:
        raise conflict(
            "proxy_limit_reached",
            f"该受托人在本次表决中已代理 {held} 位业主，每位受托人最多代理 {limit} 位",
        )
    now = db_now()
    _decide(proxy, ProxyStatus.CONFIRMED, staff_id, now)
    record_event(
        vote, "proxy", now, proxy_id=proxy.id, person_id=proxy.person_id, staff_id=staff_id
    )
    return proxy


def reject_proxy(proxy: Proxy, staff_id: int) -> Proxy:
    _decide(proxy, ProxyStatus.REJECTED, staff_id, db_now())
    return proxy


def _decide(proxy: Proxy, status: ProxyStatus, staff_id: int, now) -> None:
    decided = db.session.execute(
        update(Proxy)
        .where(Proxy.id == proxy.id, Proxy.status == ProxyStatus.PENDING)
        .values(status=status, decided_by_id=staff_id, decided_at=now)
    )
    if decided.rowcount != 1:
        raise conflict("proxy_not_pending", "该委托已处理过或已被撤销")
    db.session.refresh(proxy)


def revoke_proxy(proxy: Proxy, account_id: int) -> Proxy:
    """The owner withdraws the proxy. A ballot the proxy already cast stays until the owner
    casts again (the latest counts)."""
    if proxy.grantor_account_id != account_id:
        raise forbidden("只有委托人可以撤销委托", code="not_grantor")
    revoked = db.session.execute(
        update(Proxy)
        .where(Proxy.id == proxy.id, Proxy.status.in_(ACTIVE))
        .values(status=ProxyStatus.REVOKED)
    )
    if revoked.rowcount != 1:
        raise conflict("proxy_not_active", "该委托已被拒绝或已撤销")
    db.session.refresh(proxy)
    return proxy


# Casting by proxy ---------------------------------------------------------------------------

NOT_USABLE = {
    ProxyStatus.PENDING: "委托尚未经业委会确认，暂不能代为投票",
    ProxyStatus.REJECTED: "委托未获业委会确认，不能代为投票",
    ProxyStatus.REVOKED: "委托人已撤销委托，不能代为投票",
}


def cast_as_proxy(
    proxy: Proxy, account_id: int, choice: Choice, idempotency_key: str | None = None
) -> Cast:
    """The proxy casts for the represented person. The proxy row is share-locked, so a
    revocation committing meanwhile waits for this cast, and one committed before is seen."""
    if proxy.proxy_account_id != account_id:
        raise forbidden("只有受托人本人可以代为投票", code="not_the_proxy")
    status = db.session.execute(
        select(Proxy.status).where(Proxy.id == proxy.id).with_for_update(read=True)
    ).scalar_one()
    if status is not ProxyStatus.CONFIRMED:
        raise forbidden(NOT_USABLE[status], code="proxy_not_confirmed")
    result = record_cast(
        proxy.vote_id,
        proxy.person_id,
        choice,
        Channel.PROXY,
        account_id=proxy.proxy_account_id,
        owner_id=proxy.owner_id,
        proxy_id=proxy.id,
        idempotency_key=idempotency_key,
    )
    person = db.session.get(VotePerson, proxy.person_id)
    return completed_cast(proxy.vote_id, person.id, person.labels, Channel.PROXY, result)


# Lists ------------------------------------------------------------------------------------


def proxies_query(vote: Vote, principal: Principal):
    """Staff: every proxy of the vote. Residents: those they granted or hold."""
    stmt = select(Proxy).where(Proxy.vote_id == vote.id).order_by(Proxy.id)
    if principal.is_staff:
        return stmt
    return stmt.where(_granted_or_held(principal.id))


def my_proxies_query(account_id: int):
    """A resident's proxies in every vote, granted or held, newest first."""
    return select(Proxy).where(_granted_or_held(account_id)).order_by(Proxy.id.desc())


def _granted_or_held(account_id: int):
    return or_(Proxy.grantor_account_id == account_id, Proxy.proxy_account_id == account_id)


def proxy_views(proxies: list[Proxy], principal: Principal, full: bool) -> list[dict]:
    """What a list shows of each proxy: the rooms and the owner it represents, the proxy's
    phone, its status. Names and phones are masked unless ``full`` (the compound's own
    committee)."""
    if not proxies:
        return []
    rows = db.session.execute(
        select(
            Proxy.id,
            Vote.title,
            Vote.closes_at,
            VotePerson.labels,
            Owner.name,
            Account.phone,
        )
        .join(Vote, Vote.id == Proxy.vote_id)
        .join(VotePerson, VotePerson.id == Proxy.person_id)
        .join(Owner, Owner.id == Proxy.owner_id)
        .join(Account, Account.id == Proxy.proxy_account_id)
        .where(Proxy.id.in_([p.id for p in proxies]))
    )
    info = {row.id: row for row in rows}
    views = []
    for proxy in proxies:
        row = info[proxy.id]
        relation = None
        if principal.is_resident:
            relation = "granted" if proxy.grantor_account_id == principal.id else "held"
        views.append(
            {
                "id": proxy.id,
                "vote_id": proxy.vote_id,
                "vote_title": row.title,
                "closes_at": row.closes_at,
                "person_id": proxy.person_id,
                "dwellings": row.labels,
                "owner_name": row.name if full else mask_name(row.name),
                "proxy_phone": row.phone if full else mask_phone(row.phone),
                "status": proxy.status,
                "relation": relation,
                "created_at": proxy.created_at,
                "decided_at": proxy.decided_at,
            }
        )
    return views
