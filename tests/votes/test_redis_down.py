"""Redis unreachable after a commit: the cast (or reminder, or closing) is committed and
answered as such, and what it could not enqueue is made up once Redis is back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from participation.auth.models import Role
from participation.common import jobs
from participation.extensions import db as _db
from participation.votes import record, tasks
from participation.votes.models import Vote, VoteReminder

UNREACHABLE = "redis://127.0.0.1:1/13"  # nothing listens on port 1


@pytest.fixture
def redis_down(app, monkeypatch):
    """The app's Redis is unreachable; returns a function that brings it back (the real
    Redis, on a queue of this test's own) and returns that queue."""
    monkeypatch.setitem(app.config, "REDIS_URL", UNREACHABLE)
    monkeypatch.setitem(app.config, "RQ_QUEUE", f"test-down-{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(jobs, "_redis_down_until", 0.0)
    monkeypatch.setattr(record, "_slots", {})
    queues = []

    def back(redis_url):
        from redis import Redis
        from rq import Queue

        monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
        monkeypatch.setattr(jobs, "_redis_down_until", 0.0)  # as once REDIS_RETRY_SECONDS passed
        queues.append(Queue(app.config["RQ_QUEUE"], connection=Redis.from_url(redis_url)))
        return queues[-1]

    yield back
    for queue in queues:
        queue.delete(delete_jobs=True)
        for key in queue.connection.scan_iter(f"*{queue.name}*"):
            queue.connection.delete(key)


@pytest.fixture
def vote(sample_compound, make_vote):
    return make_vote(sample_compound, buildings=("2",), open=True)


@pytest.fixture
def owner(sample_compound, owner_account, sign_in):
    return sign_in(owner_account(sample_compound, "2栋1单元101"))


def cast(client, vote_id, headers, key):
    return client.post(
        f"/api/v1/votes/{vote_id}/ballots",
        json={"choice": "agree"},
        headers={**headers, "Idempotency-Key": key},
    )


def receipt(client, vote_id, code):
    return client.get(f"/api/v1/public/votes/{vote_id}/receipts/{code}").json


def run_worker(queue):
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)


def test_a_cast_with_redis_unreachable_is_answered_as_committed(
    client, vote, owner, redis_down, caplog
):
    answer = cast(client, vote.id, owner, "k-1")
    assert answer.status_code == 201, answer.json
    assert jobs.redis_resting()  # the next casts of this process do not wait for Redis
    assert "Redis unreachable" in caplog.text
    again = cast(client, vote.id, owner, "k-1")  # the retry gets the receipt too
    assert (again.status_code, again.json["receipt"]) == (200, answer.json["receipt"])
    status = receipt(client, vote.id, answer.json["receipt"])
    assert (status["included"], status["counted"], status["sealing"]) == (True, True, "pending")


@pytest.mark.redis
def test_a_cast_while_redis_was_down_is_sealed_after_it_returns(
    client, vote, owner, redis_down, redis_url, monkeypatch
):
    vote_id = vote.id
    code = cast(client, vote_id, owner, "k-2").json["receipt"]
    assert record.verify(vote_id).pending == 1
    queue = redis_down(redis_url)
    jobs.sweep()  # the worker's periodic sweep: a seal job for the vote left pending
    run_worker(queue)
    assert receipt(client, vote_id, code)["sealing"] == "sealed"
    assert record.verify(vote_id).ok


@pytest.mark.redis
def test_a_reminder_not_enqueued_is_made_up_by_the_sweep(
    client, vote, sample_compound, make_staff, sign_in, redis_down, redis_url, monkeypatch
):
    staff = sign_in(make_staff(Role.COMPOUND, sample_compound.id))
    answer = client.post(f"/api/v1/votes/{vote.id}/reminders", headers=staff)
    assert answer.status_code == 202, answer.json
    assert answer.json["job_id"] is None
    reminder_id = answer.json["reminder"]["id"]
    vote_id = vote.id

    queue = redis_down(redis_url)
    monkeypatch.setattr(tasks, "SWEEP_GRACE", timedelta(0))
    jobs.sweep()
    assert queue.job_ids == [jobs.job_id("reminder", reminder_id)]
    jobs.sweep()  # a job queued already is not queued twice
    assert len(queue.job_ids) == 1
    run_worker(queue)
    assert _db.session.get(VoteReminder, reminder_id).finished_at is not None
    assert _db.session.get(Vote, vote_id).status.value == "open"
