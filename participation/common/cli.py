"""``flask worker``: an rq worker inside the app context."""

from __future__ import annotations

import logging
import time

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option(
    "--fork",
    is_flag=True,
    help="Run each job in a forked work horse (rq's Worker) instead of in this process.",
)
@with_appcontext
def worker_command(burst: bool, fork: bool) -> None:
    """Run background jobs (roster imports, sealing, …) from Redis, with rq's scheduler for
    the jobs enqueued to run later.

    Jobs run in this process by default (rq's SimpleWorker): most are small and frequent —
    a seal job about every second per vote being cast in — and forking a work horse for
    each costs more than the job (about 0.15 ms of CPU per cast, a quarter of the sealing
    worker's whole cost, in ``bench/cast_ballots.py``). Each job's database session is closed
    when it ends (``jobs.task``) and rq's job timeouts still apply. ``--fork`` isolates each
    job in a process of its own instead.

    A running job's heartbeat is kept every JOB_HEARTBEAT_SECONDS and every
    WORKER_SWEEP_SECONDS one worker sweeps: the jobs of a worker that died are run again,
    and work never enqueued is made up (``common/worker.py``). If Redis goes away, the
    worker waits for it and carries on.
    """
    from rq import Worker

    from participation.common.jobs import queue
    from participation.common.worker import ParticipationWorker

    q = queue()
    if q is None:
        raise click.ClickException(
            "PARTICIPATION_REDIS_URL is not set: jobs run inline, no worker is needed."
        )
    click.echo(f"worker on queue {q.name} ({'a work horse per job' if fork else 'no fork'})")
    config = current_app.config
    while True:
        if fork:
            worker = Worker([q], connection=q.connection)
        else:
            worker = ParticipationWorker(
                [q],
                connection=q.connection,
                heartbeat_seconds=config["JOB_HEARTBEAT_SECONDS"],
                sweep_seconds=config["WORKER_SWEEP_SECONDS"],
            )
        try:
            worker.work(burst=burst, with_scheduler=True)
        except Exception:  # Redis gone while the worker registered or tore down
            log.warning("worker stopped on an error", exc_info=True)
        if burst or worker._stop_requested:
            return
        log.warning("worker loop ended (Redis unreachable?); starting again in 1 s")
        time.sleep(1)
