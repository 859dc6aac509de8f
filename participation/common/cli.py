"""``flask worker``: an rq worker inside the app context."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


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
    """
    from rq import SimpleWorker, Worker

    from participation.common.jobs import queue

    q = queue()
    if q is None:
        raise click.ClickException(
            "PARTICIPATION_REDIS_URL is not set: jobs run inline, no worker is needed."
        )
    worker_class = Worker if fork else SimpleWorker
    click.echo(f"worker on queue {q.name} ({'a work horse per job' if fork else 'no fork'})")
    worker_class([q], connection=q.connection).work(burst=burst, with_scheduler=True)
