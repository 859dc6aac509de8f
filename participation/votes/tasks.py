"""rq jobs for votes: take ids, reload rows, idempotent, enqueued after commit."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import exists, or_, select

from participation.auth import reminders
from participation.common.errors import conflict
from participation.common.jobs import (
    after_commit,
    enqueue,
    ensure_job,
    job_id,
    report_progress,
    sweeper,
    task,
)
from participation.common.links import compound_link
from participation.common.notify import notify
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.models import Compound, Owner
from participation.votes import record
from participation.votes.models import (
    Ballot,
    ReminderStatus,
    UnsealedEvent,
    Vote,
    VoteEvent,
    VotePersonOwner,
    VoteReminder,
    VoteStatus,
)
from participation.votes.services import accepting_casts, close_if_due, record_event

log = logging.getLogger(__name__)

# --- verifiable record (sealing) -----------------------------------------------------------


@task(timeout=600, retries=3, intervals=(1, 5, 30))
def seal_vote(vote_id: int) -> int:
    """Seal the vote's committed events into its chain (``record.seal_pending``); idempotent
    (see ``record.schedule_sealing`` for when it runs). Progress: ``sealed``."""
    sealed = record.seal_pending(vote_id)
    db.session.commit()
    report_progress(sealed=sealed)
    return sealed


# --- closing side effects and reminders ----------------------------------------------------

NOTIFY_BATCH = 500  # accounts per notifier call; progress and the reminder's cursor per batch
CLOSED_NOTIFIED = "closed_notified"  # the vote event that marks the result notification sent


# Reminder SMS (auth/reminders.py, shared with every campaign of the compound): never between
# 21:00 and 08:00 (Asia/Shanghai); at most one a phone a day.
SMS_TEMPLATE = "vote_reminder"


def start_reminder(vote: Vote, staff_id: int) -> VoteReminder:
    """A reminder to the non-voters of a vote in its voting period (409 ``vote_not_accepting``
    otherwise), outside the quiet hours (409 ``quiet_hours``). Flushes; commit, then
    :func:`enqueue_reminder`."""
    if not accepting_casts(vote, db_now()):
        raise conflict("vote_not_accepting", "表决不在投票期内，无法提醒未投票的业主")
    reminders.check_quiet_hours(reminders.reminder_clock())
    reminder = VoteReminder(
        vote_id=vote.id,
        created_by_id=staff_id,
        status=ReminderStatus.QUEUED,
        link_url=compound_link(vote.compound_id),
    )
    db.session.add(reminder)
    db.session.flush()
    return reminder


def enqueue_reminder(reminder: VoteReminder) -> str | None:
    """After the commit of the reminder: its job id, or None (inline, or Redis unreachable:
    the worker's sweep sends it later)."""
    return after_commit(
        f"reminder {reminder.id}",
        remind_non_voters,
        reminder.vote_id,
        reminder.id,
        job_id=job_id("reminder", reminder.id),
    )


def reminders_query(vote: Vote):
    """The reminders of a vote, newest first."""
    return (
        select(VoteReminder).where(VoteReminder.vote_id == vote.id).order_by(VoteReminder.id.desc())
    )


def _not_participating(vote_id: int):
    """The person of ``VotePersonOwner`` has no counting ballot (abstaining, a paper ballot,
    a proxy's ballot all count as taking part)."""
    return ~exists().where(Ballot.vote_id == vote_id, Ballot.person_id == VotePersonOwner.person_id)


def _non_voter_accounts(vote_id: int):
    """Accounts linked to an owner of a person of the electorate who has no ballot yet."""
    return (
        select(Owner.account_id)
        .join(VotePersonOwner, VotePersonOwner.owner_id == Owner.id)
        .where(
            VotePersonOwner.vote_id == vote_id,
            Owner.account_id.is_not(None),
            _not_participating(vote_id),
        )
        .distinct()
        .order_by(Owner.account_id)
    )


def _non_voter_owners(vote_id: int):
    """(id, phone) of every roster owner of a person who has no ballot yet, signed in or not."""
    return (
        select(Owner.id, Owner.phone)
        .join(VotePersonOwner, VotePersonOwner.owner_id == Owner.id)
        .where(VotePersonOwner.vote_id == vote_id, _not_participating(vote_id))
        .distinct()
        .order_by(Owner.id)
    )


def reminder_job_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback: once no retry is left, the reminder is marked failed (its counts
    say how far it got); a later reminder reaches whoever it did not."""
    reminders.record_job_failure(VoteReminder, job)


@task(timeout=3600, retries=3, intervals=(30, 120, 600), on_failure=reminder_job_failed)
def remind_non_voters(vote_id: int, reminder_id: int) -> None:
    """Send reminder ``reminder_id``: an in-app notification to the accounts of the owners
    who have not voted, then an SMS to every such owner's phone, signed in or not.

    The steps are ``auth.reminders.notify_accounts`` and ``send_sms``: notifications in
    batches in account-id order under the reminder row's lock, the cursor in the same commit;
    SMS owner by owner, each in its own transaction under the reminder row's lock with the
    phone's claim for the day (``ReminderSms``, shared with the compound's other campaigns),
    so a second job, a rerun or a survey's reminder never sends a phone two reminders a day —
    but an SMS sent whose commit then failed is sent again by the rerun (at least once, never
    lost silently). Provider failures: retried while rq has retries left, else counted
    failed. At 21:00 (Asia/Shanghai) the reminder pauses (``paused_quiet_hours``) and the
    worker's sweep resumes it after 08:00. Stops when the voting period is over.
    Progress in ``job.meta``: status and the counts.
    """
    vote = db.session.get(Vote, vote_id)
    reminder = db.session.get(VoteReminder, reminder_id)
    if vote is None or reminder is None or reminder.vote_id != vote_id:
        return
    closes_at = vote.closes_at.astimezone(SHANGHAI)
    message = f"「{vote.title}」正在表决，{closes_at:%Y-%m-%d %H:%M} 截止，您尚未投票。"

    def accepting() -> bool:
        return accepting_casts(vote, db_now())

    if not reminders.notify_accounts(
        VoteReminder,
        reminder_id,
        _non_voter_accounts(vote.id),
        accepting,
        message,
        "vote_reminder",
        batch_size=NOTIFY_BATCH,
    ):
        return
    reminder = db.session.get(VoteReminder, reminder_id)
    reminders.send_sms(
        VoteReminder,
        reminder_id,
        campaign="vote",
        compound_id=vote.compound_id,
        owners=_non_voter_owners(vote.id),
        accepting=accepting,
        template=SMS_TEMPLATE,
        params=_sms_params(vote, reminder.link_url),
        clock=lambda: reminders.reminder_clock(),
        batch_size=reminders.SMS_BATCH,
    )


def _sms_params(vote: Vote, link_url: str | None) -> dict[str, str]:
    compound = db.session.get(Compound, vote.compound_id)
    return {
        "compound": compound.name,
        "title": vote.title,
        "deadline": f"{vote.closes_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
        "link": link_url or "",
    }


def _electorate_accounts(vote_id: int) -> list[int]:
    """Accounts of the electorate's owners and every account that cast (proxies included)."""
    owners = (
        select(Owner.account_id)
        .join(VotePersonOwner, VotePersonOwner.owner_id == Owner.id)
        .where(VotePersonOwner.vote_id == vote_id, Owner.account_id.is_not(None))
    )
    casters = select(VoteEvent.account_id).where(
        VoteEvent.vote_id == vote_id, VoteEvent.kind == "cast", VoteEvent.account_id.is_not(None)
    )
    return sorted(set(db.session.scalars(owners.union(casters))))


@task(timeout=600, retries=3)
def after_close(vote_id: int) -> None:
    """Closing side effects: close the vote if it is due (which stores the final tally), then
    tell the electorate's owners and every participant that the result is available.

    Runs under the vote row's lock and records a ``closed_notified`` event in the same
    commit, so a second run (or a second worker) sends nothing. Also safe as a job scheduled
    at the closing time: an open vote not yet due is left alone.
    """
    vote = db.session.scalars(
        select(Vote)
        .where(Vote.id == vote_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if vote is None:
        return
    close_if_due(vote)
    notified = db.session.scalar(
        select(VoteEvent.id).where(VoteEvent.vote_id == vote_id, VoteEvent.kind == CLOSED_NOTIFIED)
    )
    finished = {VoteStatus.CLOSED, VoteStatus.PUBLISHED, VoteStatus.FINAL}
    if vote.status not in finished or notified is not None:
        db.session.commit()
        return
    accounts = _electorate_accounts(vote_id)
    message = f"「{vote.title}」表决已截止，结果已出，请登录查看。"
    for start in range(0, len(accounts), NOTIFY_BATCH):
        batch = accounts[start : start + NOTIFY_BATCH]
        notify(batch, message, "vote_result")
        report_progress(sent=start + len(batch), total=len(accounts))
    record_event(vote, CLOSED_NOTIFIED, db_now())
    db.session.commit()


def enqueue_after_close(vote_id: int) -> str | None:
    """For the closing path, after the commit that closed the vote (never raises: a lost job
    is made up by the worker's sweep)."""
    return after_commit(
        f"closing side effects of vote {vote_id}",
        after_close,
        vote_id,
        job_id=job_id("after-close", vote_id),
    )


# --- making up lost work (jobs.sweep, run by `flask worker`) --------------------------------

# Work younger than this is left alone: its own request is about to enqueue it.
SWEEP_GRACE = timedelta(seconds=60)
# Closed votes older than this are not looked at again for their closing side effects.
SWEEP_CLOSED_WITHIN = timedelta(days=7)


@sweeper
def sweep_unsealed() -> None:
    """A seal job for every vote with events still unsealed (their casts could not schedule
    one: Redis was unreachable, or the job was lost)."""
    pending = exists().where(UnsealedEvent.vote_id == Vote.id)
    for vote_id in db.session.scalars(select(Vote.id).where(pending)).all():
        enqueue(seal_vote, vote_id)


@sweeper
def sweep_votes() -> None:
    """Closing side effects of votes past their closing time (still open, or closed without
    the result notification) and reminders not finished, whose jobs were lost or which paused
    for the quiet hours (from 08:00)."""
    now = db_now()
    notified = exists().where(VoteEvent.vote_id == Vote.id, VoteEvent.kind == CLOSED_NOTIFIED)
    due = select(Vote.id).where(
        or_(
            (Vote.status == VoteStatus.OPEN) & (Vote.closes_at <= now - SWEEP_GRACE),
            Vote.status.in_(record.SEALED_WHEN)
            & (Vote.closed_at > now - SWEEP_CLOSED_WITHIN)
            & (Vote.closed_at <= now - SWEEP_GRACE)
            & ~notified,
        )
    )
    for vote_id in db.session.scalars(due).all():
        ensure_job(after_close, vote_id, job_id=job_id("after-close", vote_id))
    unfinished = select(VoteReminder.vote_id, VoteReminder.id).where(
        VoteReminder.finished_at.is_(None), VoteReminder.created_at <= now - SWEEP_GRACE
    )
    if reminders.quiet_until(reminders.reminder_clock()) is not None:  # paused ones wait for 08:00
        unfinished = unfinished.where(VoteReminder.status != ReminderStatus.PAUSED)
    for vote_id, reminder_id in db.session.execute(unfinished).all():
        ensure_job(remind_non_voters, vote_id, reminder_id, job_id=job_id("reminder", reminder_id))


def reminded_today(compound_id: int, phones: set[str]) -> set[str]:
    """Those of ``phones`` that had a reminder SMS today (Asia/Shanghai) in the compound,
    from any of its campaigns."""
    return reminders.reminded_today(compound_id, phones, reminders.reminder_clock())
