"""rq jobs for votes: take ids, reload rows, idempotent, enqueued after commit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, func, or_, select

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
from participation.common.notify import notify
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import Owner
from participation.votes import record
from participation.votes.models import (
    Ballot,
    UnsealedEvent,
    Vote,
    VoteEvent,
    VotePersonOwner,
    VoteReminder,
    VoteStatus,
)
from participation.votes.services import accepting_casts, close_if_due, record_event

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


def start_reminder(vote: Vote, staff_id: int) -> VoteReminder:
    """A reminder to the non-voters of a vote in its voting period (409 otherwise). Flushes;
    commit, then :func:`enqueue_reminder`."""
    if not accepting_casts(vote, db_now()):
        raise conflict("vote_not_accepting", "表决不在投票期内，无法提醒未投票的业主")
    reminder = VoteReminder(vote_id=vote.id, created_by_id=staff_id)
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


def _non_voter_accounts(vote_id: int):
    """Accounts linked to an owner of a person of the electorate who has no ballot yet."""
    return (
        select(Owner.account_id)
        .join(VotePersonOwner, VotePersonOwner.owner_id == Owner.id)
        .where(
            VotePersonOwner.vote_id == vote_id,
            Owner.account_id.is_not(None),
            ~exists().where(
                Ballot.vote_id == vote_id, Ballot.person_id == VotePersonOwner.person_id
            ),
        )
        .distinct()
        .order_by(Owner.account_id)
    )


@task(timeout=1800, retries=3)
def remind_non_voters(vote_id: int, reminder_id: int) -> None:
    """Send reminder ``reminder_id`` to the accounts of the owners who have not voted.

    In batches in account-id order: each batch locks the reminder row, takes the next accounts
    after its cursor, notifies them and moves the cursor in the same commit. A rerun (or a
    second worker) resumes after the cursor and a finished reminder is left alone, so nobody
    gets the same reminder twice — unless the notifier sent a batch and the commit after it
    failed (at least once, never silently lost). Stops when the voting period is over.
    Progress in ``job.meta``: ``sent`` and ``total`` (the non-voters with an account when the
    job started; some may vote meanwhile).
    """
    vote = db.session.get(Vote, vote_id)
    reminder = db.session.get(VoteReminder, reminder_id)
    if vote is None or reminder is None or reminder.vote_id != vote_id:
        return
    waiting = _non_voter_accounts(vote_id)
    if reminder.last_account_id is not None:
        waiting = waiting.where(Owner.account_id > reminder.last_account_id)
    total = reminder.sent_count + db.session.scalar(
        select(func.count()).select_from(waiting.subquery())
    )
    closes_at = vote.closes_at.astimezone(SHANGHAI)
    message = f"「{vote.title}」正在表决，{closes_at:%Y-%m-%d %H:%M} 截止，您尚未投票。"
    while True:
        reminder = db.session.scalars(
            select(VoteReminder)
            .where(VoteReminder.id == reminder_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if reminder.finished_at is not None:
            db.session.commit()
            return
        batch = []
        if accepting_casts(vote, db_now()):
            stmt = _non_voter_accounts(vote_id).limit(NOTIFY_BATCH)
            if reminder.last_account_id is not None:
                stmt = stmt.where(Owner.account_id > reminder.last_account_id)
            batch = list(db.session.scalars(stmt))
        if not batch:
            reminder.finished_at = utcnow()
            db.session.commit()
            report_progress(sent=reminder.sent_count, total=total)
            return
        notify(batch, message, "vote_reminder")
        reminder.sent_count += len(batch)
        reminder.last_account_id = batch[-1]
        db.session.commit()
        report_progress(sent=reminder.sent_count, total=total)


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
    the result notification) and reminders not finished, whose jobs were lost."""
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
    for vote_id, reminder_id in db.session.execute(unfinished).all():
        ensure_job(remind_non_voters, vote_id, reminder_id, job_id=job_id("reminder", reminder_id))
