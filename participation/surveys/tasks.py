"""rq jobs for surveys: take ids, reload rows, idempotent, enqueued after commit.

Reminders to those who have not answered (入户发动), on the machinery every campaign shares
(``auth/reminders.py``): the quiet hours, the one-SMS-a-phone-a-day claims of the compound
(a vote's reminder and a survey's the same day never both text a phone), the send step."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, or_, select

from participation.auth import reminders
from participation.auth.models import Tenancy
from participation.auth.reminders import ReminderStatus
from participation.common.errors import conflict
from participation.common.jobs import after_commit, ensure_job, job_id, sweeper, task
from participation.common.links import compound_link
from participation.common.schemas import SHANGHAI
from participation.common.sql import db_now
from participation.extensions import db
from participation.roster.models import Compound, Dwelling, Owner, Ownership
from participation.surveys.models import (
    RespondentBasis,
    Response,
    Survey,
    SurveyPersonOwner,
    SurveyReminder,
    SurveyStatus,
)
from participation.surveys.services import accepting_responses, scope_of

SMS_TEMPLATE = "survey_reminder"
NOTIFY_BATCH = reminders.NOTIFY_BATCH
# Work younger than this is left alone by the sweep: its own request is about to enqueue it.
SWEEP_GRACE = timedelta(seconds=60)


def start_reminder(survey: Survey, staff_id: int) -> SurveyReminder:
    """A reminder to those who have not answered a survey accepting answers (409
    ``survey_not_accepting`` otherwise; 409 ``survey_anonymous`` for an anonymous survey,
    which does not know who answered), outside the quiet hours (409 ``quiet_hours``).
    Flushes; commit, then :func:`enqueue_reminder`."""
    if not accepting_responses(survey, db_now()):
        raise conflict("survey_not_accepting", "问卷不在作答期内，无法提醒未作答的业主")
    if survey.anonymous:
        raise conflict("survey_anonymous", "匿名问卷不记录谁已作答，无法提醒未作答的业主")
    reminders.check_quiet_hours(reminders.reminder_clock())
    reminder = SurveyReminder(
        survey_id=survey.id,
        created_by_id=staff_id,
        status=ReminderStatus.QUEUED,
        link_url=compound_link(survey.compound_id),
    )
    db.session.add(reminder)
    db.session.flush()
    return reminder


def enqueue_reminder(reminder: SurveyReminder) -> str | None:
    """After the commit of the reminder: its job id, or None (inline, or Redis unreachable:
    the worker's sweep sends it later)."""
    return after_commit(
        f"survey reminder {reminder.id}",
        remind_non_respondents,
        reminder.survey_id,
        reminder.id,
        job_id=job_id("survey-reminder", reminder.id),
    )


def reminders_query(survey: Survey):
    """The reminders of a survey, newest first."""
    return (
        select(SurveyReminder)
        .where(SurveyReminder.survey_id == survey.id)
        .order_by(SurveyReminder.id.desc())
    )


# --- who has not answered ------------------------------------------------------------------


def _person_not_answered(survey_id: int):
    """Owner basis: the person of ``SurveyPersonOwner`` has no response."""
    return ~exists().where(
        Response.survey_id == survey_id, Response.person_id == SurveyPersonOwner.person_id
    )


def _dwelling_answered(survey_id: int):
    """Resident basis: an account linked to ``Dwelling`` (an owner's or a tenant's) has
    answered (the response is the resident's, for one of their dwellings)."""
    by_owner = (
        select(Response.id)
        .join(Owner, Owner.account_id == Response.account_id)
        .join(Ownership, Ownership.owner_id == Owner.id)
        .where(Response.survey_id == survey_id, Ownership.dwelling_id == Dwelling.id)
        .correlate(Dwelling)
        .exists()
    )
    by_tenant = (
        select(Response.id)
        .join(Tenancy, Tenancy.account_id == Response.account_id)
        .where(Response.survey_id == survey_id, Tenancy.dwelling_id == Dwelling.id)
        .correlate(Dwelling)
        .exists()
    )
    return or_(by_owner, by_tenant)


def dwellings_in_scope(survey: Survey):
    """Resident basis: the condition on ``Dwelling`` of the survey's scope."""
    scope = scope_of(survey)
    condition = Dwelling.compound_id == scope.compound_id
    if scope.whole_compound:
        return condition
    return and_(
        condition,
        or_(
            Dwelling.building_id.in_(list(scope.building_ids)),
            Dwelling.entrance_id.in_(list(scope.entrance_ids)),
        ),
    )


def _waiting_owners(survey: Survey, *columns):
    """``columns`` of roster owners of those who have not answered: owners of a person of
    the frozen electorate without a response (owner basis), or owners of a dwelling of the
    scope none of whose residents answered (resident basis)."""
    if survey.basis is RespondentBasis.OWNER:
        return (
            select(*columns)
            .join(SurveyPersonOwner, SurveyPersonOwner.owner_id == Owner.id)
            .where(SurveyPersonOwner.survey_id == survey.id, _person_not_answered(survey.id))
        )
    return (
        select(*columns)
        .join(Ownership, Ownership.owner_id == Owner.id)
        .join(Dwelling, Dwelling.id == Ownership.dwelling_id)
        .where(dwellings_in_scope(survey), ~_dwelling_answered(survey.id))
    )


def non_respondent_owners(survey: Survey):
    """(id, phone) of every roster owner of those who have not answered, signed in or not,
    in owner-id order."""
    return _waiting_owners(survey, Owner.id, Owner.phone).distinct().order_by(Owner.id)


def non_respondent_accounts(survey: Survey):
    """Accounts linked to those owners, in account-id order."""
    return (
        _waiting_owners(survey, Owner.account_id)
        .where(Owner.account_id.is_not(None))
        .distinct()
        .order_by(Owner.account_id)
    )


# --- the job -------------------------------------------------------------------------------


def reminder_job_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback: once no retry is left, the reminder is marked failed."""
    reminders.record_job_failure(SurveyReminder, job)


def _sms_params(survey: Survey, link_url: str | None) -> dict[str, str]:
    compound = db.session.get(Compound, survey.compound_id)
    return {
        "compound": compound.name,
        "title": survey.title,
        "deadline": f"{survey.closes_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
        "link": link_url or "",
    }


@task(timeout=3600, retries=3, intervals=(30, 120, 600), on_failure=reminder_job_failed)
def remind_non_respondents(survey_id: int, reminder_id: int) -> None:
    """Send survey reminder ``reminder_id``: an in-app notification to the accounts of the
    owners who have not answered, then an SMS (template ``survey_reminder``) to every such
    owner's roster phone, signed in or not — with the steps of ``auth.reminders`` (one SMS a
    phone a day across the compound's campaigns, each SMS its own transaction under the
    reminder row's lock, retries, pause at 21:00 resumed by the sweep after 08:00). Stops
    when the survey no longer accepts answers. Progress in ``job.meta``."""
    survey = db.session.get(Survey, survey_id)
    reminder = db.session.get(SurveyReminder, reminder_id)
    if survey is None or reminder is None or reminder.survey_id != survey_id:
        return
    closes_at = survey.closes_at.astimezone(SHANGHAI)
    message = f"「{survey.title}」正在征询意见，{closes_at:%Y-%m-%d %H:%M} 截止，您尚未作答。"

    def accepting() -> bool:
        return accepting_responses(survey, db_now())

    if not reminders.notify_accounts(
        SurveyReminder,
        reminder_id,
        non_respondent_accounts(survey),
        accepting,
        message,
        "survey_reminder",
        batch_size=NOTIFY_BATCH,
    ):
        return
    reminder = db.session.get(SurveyReminder, reminder_id)
    reminders.send_sms(
        SurveyReminder,
        reminder_id,
        campaign="survey",
        compound_id=survey.compound_id,
        owners=non_respondent_owners(survey),
        accepting=accepting,
        template=SMS_TEMPLATE,
        params=_sms_params(survey, reminder.link_url),
        clock=lambda: reminders.reminder_clock(),
        batch_size=reminders.SMS_BATCH,
    )


@sweeper
def sweep_survey_reminders() -> None:
    """Reminders not finished, whose jobs were lost or which paused for the quiet hours
    (from 08:00)."""
    now = db_now()
    unfinished = (
        select(SurveyReminder.survey_id, SurveyReminder.id)
        .join(Survey, Survey.id == SurveyReminder.survey_id)
        .where(
            SurveyReminder.finished_at.is_(None),
            SurveyReminder.created_at <= now - SWEEP_GRACE,
            Survey.status != SurveyStatus.CANCELLED,
        )
    )
    if reminders.quiet_until(reminders.reminder_clock()) is not None:  # paused ones wait for 08:00
        unfinished = unfinished.where(SurveyReminder.status != ReminderStatus.PAUSED)
    for survey_id, reminder_id in db.session.execute(unfinished).all():
        ensure_job(
            remind_non_respondents,
            survey_id,
            reminder_id,
            job_id=job_id("survey-reminder", reminder_id),
        )


def reminded_today(compound_id: int, phones: set[str]) -> set[str]:
    """Those of ``phones`` that had a reminder SMS today (Asia/Shanghai) in the compound,
    from any of its campaigns."""
    return reminders.reminded_today(compound_id, phones, reminders.reminder_clock())
