"""``flask feedback …``"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from participation.feedback import tasks

feedback_cli = AppGroup("feedback", help="Complaints and suggestions.")


@feedback_cli.command("sweep")
def sweep_command() -> None:
    """Mark overdue tickets (notifying their handlers and the committee) and close
    resolutions left unconfirmed past their period."""
    done = tasks.sweep_tickets()
    click.echo(f"{done['overdue']} tickets marked overdue, {done['closed']} closed unconfirmed")
