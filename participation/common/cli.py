"""``flask worker``: an rq worker inside the app context."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs (roster imports, sealing, …) from Redis, with rq's scheduler for
    the jobs enqueued to run later."""
    from rq import Worker

    from participation.common.jobs import queue

    q = queue()
    if q is None:
        raise click.ClickException(
            "PARTICIPATION_REDIS_URL is not set: jobs run inline, no worker is needed."
        )
    click.echo(f"worker on queue {q.name}")
    Worker([q], connection=q.connection).work(burst=burst, with_scheduler=True)
