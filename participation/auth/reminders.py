"""Reminder SMS shared by every campaign (votes, surveys): the quiet hours, the clock, the
phone digest, the one-a-phone-a-day claim table and the per-owner send step.

It lives in ``auth`` because ``auth`` owns SMS (``auth/sms.py``) and in-app notifications
(``auth/notifications.py``) and sits below the campaign packages, which may not import one
another: "at most one reminder SMS per phone per day in a compound" must hold across all of
a compound's campaigns, so the claim table and the step that claims, sends and counts are
here, while each campaign keeps its own reminder row (status, counts, cursors) and its own
query of who has not yet taken part.

A campaign's reminder row is any model with the columns ``status`` (:class:`ReminderStatus`),
``sent_count``, ``skipped_count``, ``failed_count``, ``notified_count``, ``last_account_id``,
``last_owner_id``, ``link_url`` and ``finished_at``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import ForeignKey, Select, String, UniqueConstraint, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from participation.auth import sms
from participation.common.errors import conflict
from participation.common.jobs import report_progress
from participation.common.notify import notify
from participation.common.privacy import keyed_hash
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now, upsert
from participation.common.types import UTCDateTime, utcnow
from participation.extensions import db
from participation.roster.models import Owner

log = logging.getLogger(__name__)

# Reminder SMS: never between 21:00 and 08:00 (Asia/Shanghai); at most one a phone a day.
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
NOTIFY_BATCH = 500  # accounts per notifier call; progress and the reminder's cursor per batch
SMS_BATCH = 200  # owners read per query; each SMS is its own transaction


class ReminderStatus(enum.StrEnum):
    QUEUED = "queued"  # written, its job not started yet
    SENDING = "sending"
    PAUSED = "paused_quiet_hours"  # reached 21:00 (Asia/Shanghai): the rest after 08:00
    DONE = "done"
    FAILED = "failed"  # its job failed for good (the counts say how far it got)


FINISHED_REMINDERS = (ReminderStatus.DONE, ReminderStatus.FAILED)


class ReminderSms(db.Model):
    """One reminder SMS to one phone on one day (Asia/Shanghai) in a compound, whatever the
    campaign (a vote's or a survey's reminder): the unique key is claimed (``INSERT … ON
    CONFLICT DO NOTHING``) in the transaction that sends, so two jobs at once, a rerun, or two
    campaigns' reminders never send a phone two reminders a day. ``campaign`` (``vote`` /
    ``survey``) says which reminder table ``reminder_id`` is in. The phone is kept as a keyed
    hash only (``common.privacy.keyed_hash``). ``uncertain``: the provider may or may not have
    taken it (a timeout); the claim stays, so it is not resent."""

    __tablename__ = "reminder_sms"
    __table_args__ = (UniqueConstraint("compound_id", "phone_digest", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    phone_digest: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    campaign: Mapped[str] = mapped_column(String(16))
    reminder_id: Mapped[int] = mapped_column(index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    uncertain: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def reminder_clock() -> datetime:
    """The clock of reminders (quiet hours, the day of the one-a-day rule): the database's.
    Campaigns call it as ``reminders.reminder_clock()``, so tests replace it here, once."""
    return db_now()


def quiet_until(now: datetime) -> datetime | None:
    """When SMS may be sent again if ``now`` lies in the quiet hours (21:00–08:00 Asia/Shanghai),
    as an aware Asia/Shanghai time; None if they may be sent now."""
    local = now.astimezone(SHANGHAI)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() + timedelta(days=1) if local.time() >= QUIET_FROM else local.date()
    return datetime.combine(day, QUIET_UNTIL, SHANGHAI)


def check_quiet_hours(now: datetime) -> None:
    """409 ``quiet_hours`` (with ``errors.send_after``) when ``now`` is in the quiet hours."""
    resume = quiet_until(now)
    if resume is not None:
        raise conflict(
            "quiet_hours",
            "晚上 21:00 至早上 08:00 不发送短信提醒，"
            f"请在 {resume:%m月%d日 %H:%M}（北京时间）以后再发送",
            {"send_after": [resume.isoformat()]},
        )


def phone_digest(phone: str) -> str:
    """The phone as the one-a-day table keeps it: a keyed hash, never the number."""
    return keyed_hash(phone.strip(), "reminder_phone")


def reminded_today(compound_id: int, phones: set[str], now: datetime) -> set[str]:
    """Those of ``phones`` that had a reminder SMS (any campaign) on ``now``'s day
    (Asia/Shanghai) in the compound."""
    if not phones:
        return set()
    digests = {phone_digest(p): p for p in phones}
    day = now.astimezone(SHANGHAI).date()
    found = db.session.scalars(
        select(ReminderSms.phone_digest).where(
            ReminderSms.compound_id == compound_id,
            ReminderSms.day == day,
            ReminderSms.phone_digest.in_(list(digests)),
        )
    )
    return {digests[d] for d in found}


# --- the job's steps -----------------------------------------------------------------------


def locked(model, reminder_id: int):
    """The reminder row, under its lock (``FOR UPDATE``), freshly loaded."""
    return db.session.scalars(
        select(model)
        .where(model.id == reminder_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def progress(reminder) -> None:
    report_progress(
        status=reminder.status.value,
        notified=reminder.notified_count,
        sent=reminder.sent_count,
        skipped=reminder.skipped_count,
        failed=reminder.failed_count,
    )


def finish(reminder, status: ReminderStatus = ReminderStatus.DONE) -> None:
    reminder.status = status
    reminder.finished_at = utcnow()
    db.session.commit()
    progress(reminder)


def retries_left() -> bool:
    """Whether rq will run this job again if it raises (never inline)."""
    from rq import get_current_job

    job = get_current_job()
    return job is not None and bool(job.retries_left)


def record_job_failure(model, job) -> None:
    """For rq's failure callback (the job's last argument is the reminder id): once no retry
    is left, the reminder is marked failed (its counts say how far it got)."""
    reminder_id = job.args[-1]
    try:
        reminder = db.session.get(model, reminder_id)
        if reminder is not None and not job.retries_left:
            if reminder.status not in FINISHED_REMINDERS:
                reminder.status = ReminderStatus.FAILED
                reminder.finished_at = utcnow()
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("reminder %s: recording the failure of its job failed", reminder_id)
    finally:
        db.session.remove()


def notify_accounts(
    model,
    reminder_id: int,
    accounts: Select,
    accepting: Callable[[], bool],
    message: str,
    kind: str,
    batch_size: int = NOTIFY_BATCH,
) -> bool:
    """The in-app part: ``accounts`` selects ``Owner.account_id`` (distinct, ordered by it)
    of those who have not taken part; batches in account-id order under the reminder's lock,
    the cursor moving in the same commit. False if the reminder is finished (or just was)."""
    while True:
        reminder = locked(model, reminder_id)
        if reminder.status in FINISHED_REMINDERS:
            db.session.commit()
            return False
        if not accepting():
            finish(reminder)
            return False
        stmt = accounts.limit(batch_size)
        if reminder.last_account_id is not None:
            stmt = stmt.where(Owner.account_id > reminder.last_account_id)
        batch = list(db.session.scalars(stmt))
        if not batch:
            db.session.commit()
            return True
        reminder.status = ReminderStatus.SENDING
        notify(batch, message, kind)
        reminder.notified_count += len(batch)
        reminder.last_account_id = batch[-1]
        db.session.commit()
        progress(reminder)


def send_sms(
    model,
    reminder_id: int,
    *,
    campaign: str,
    compound_id: int,
    owners: Select,
    accepting: Callable[[], bool],
    template: str,
    params: dict[str, str],
    clock: Callable[[], datetime],
    batch_size: int = SMS_BATCH,
) -> None:
    """The SMS part: ``owners`` selects (``Owner.id``, ``Owner.phone``) of those who have not
    taken part, distinct, in owner-id order. Owner by owner, each in its own transaction under
    the reminder row's lock: the phone's claim for the day (:class:`ReminderSms`, shared by
    every campaign of the compound), the SMS, the counts and the cursor commit together. A
    provider failure that may pass is raised while rq has retries left (claim and cursor
    rolled back), else counted failed with its claim released (kept if it may have been
    sent). Pauses at 21:00; finishes when the campaign stops accepting answers."""
    send = sms.sender().send_notice
    while True:
        reminder = locked(model, reminder_id)
        stmt = owners.limit(batch_size)
        if reminder.last_owner_id is not None:
            stmt = stmt.where(Owner.id > reminder.last_owner_id)
        batch = db.session.execute(stmt).all()
        db.session.commit()
        if not batch:
            reminder = locked(model, reminder_id)
            if reminder.status not in FINISHED_REMINDERS:
                finish(reminder)
            else:
                db.session.commit()
            return
        for owner_id, phone in batch:
            reminder = locked(model, reminder_id)
            if reminder.status in FINISHED_REMINDERS:
                db.session.commit()
                return
            if reminder.last_owner_id is not None and owner_id <= reminder.last_owner_id:
                db.session.commit()  # another run of this reminder got there first
                continue
            now = clock()
            if quiet_until(now) is not None:
                reminder.status = ReminderStatus.PAUSED
                db.session.commit()
                progress(reminder)
                return
            if not accepting():
                finish(reminder)
                return
            reminder.status = ReminderStatus.SENDING
            reminder.last_owner_id = owner_id
            if send_one(
                reminder, campaign, compound_id, owner_id, phone, now, send, template, params
            ):
                progress(reminder)


def send_one(reminder, campaign, compound_id, owner_id, phone, now, send, template, params) -> bool:
    """One owner: claim the phone for the day, send, count; commits. True if sent."""
    phone = (phone or "").strip()
    claim_id = None
    if phone:
        claim_id = db.session.scalar(
            upsert(ReminderSms)
            .values(
                compound_id=compound_id,
                phone_digest=phone_digest(phone),
                day=now.astimezone(SHANGHAI).date(),
                campaign=campaign,
                reminder_id=reminder.id,
                owner_id=owner_id,
                uncertain=False,
                sent_at=now,
            )
            .on_conflict_do_nothing()
            .returning(ReminderSms.id)
        )
    if claim_id is None:  # no phone, or the phone had a reminder today
        reminder.skipped_count += 1
        db.session.commit()
        return False
    try:
        send(phone, template, params)
    except sms.SmsFailed as failure:
        if failure.retryable and not failure.maybe_sent and retries_left():
            db.session.rollback()  # the claim and the cursor: the retry starts here
            raise
        if failure.maybe_sent:  # it may have reached the phone: not resent today
            db.session.execute(
                update(ReminderSms).where(ReminderSms.id == claim_id).values(uncertain=True)
            )
        else:  # released: a later reminder may try again
            db.session.execute(delete(ReminderSms).where(ReminderSms.id == claim_id))
        log.warning(
            "%s reminder %s: SMS to owner %s failed (%s)",
            campaign,
            reminder.id,
            owner_id,
            failure.code,
        )
        reminder.failed_count += 1
        db.session.commit()
        return False
    reminder.sent_count += 1
    db.session.commit()
    return True
