"""In-app notifications (``/me/notifications``) for residents and staff, from any package.

``notify`` adds one row per recipient to their list and hands residents' copies to the
configured notifier (``common.notify``: the console, SMS or WeChat later). Functions flush,
never commit.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select, update

from participation.auth.models import Notification, SubjectKind
from participation.auth.scoping import path_resolver
from participation.auth.tokens import Principal
from participation.common import notify as channel
from participation.common.errors import not_found
from participation.common.types import utcnow
from participation.extensions import db

Recipient = tuple[SubjectKind, int]


def notify(recipients: list[Recipient], kind: str, title: str, body: str = "", link=None) -> int:
    """Notify each recipient once (duplicates in ``recipients`` are dropped); the count."""
    unique = list(dict.fromkeys(recipients))
    db.session.add_all(
        Notification(
            recipient_kind=recipient_kind,
            recipient_id=recipient_id,
            kind=kind,
            title=title,
            body=body,
            link=link,
        )
        for recipient_kind, recipient_id in unique
    )
    db.session.flush()
    residents = [rid for rkind, rid in unique if rkind is SubjectKind.RESIDENT]
    channel.notify(residents, title, kind)
    return len(unique)


@path_resolver("notification_id")
def _notification(notification_id: int, principal: Principal) -> Notification:
    notification = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, _mine(principal))
    )
    if notification is None:
        raise not_found()
    return notification


def _mine(principal: Principal):
    return (Notification.recipient_kind == principal.kind) & (
        Notification.recipient_id == principal.id
    )


def my_notifications(principal: Principal, unread: bool | None = None) -> Select:
    """The caller's notifications, newest first; ``unread`` True: only those not read yet."""
    stmt = select(Notification).where(_mine(principal)).order_by(Notification.id.desc())
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


def unread_count(principal: Principal) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(_mine(principal), Notification.read_at.is_(None))
    )


def mark_read(principal: Principal, notification_id: int | None = None) -> int:
    """Mark one of the caller's notifications read (or all of them); how many changed. Someone
    else's notification is left alone (the count says 0)."""
    stmt = update(Notification).where(_mine(principal), Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount
