"""``flask votes …``"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from participation.votes import record

votes_cli = AppGroup("votes", help="Owner votes.")

# --- verifiable record ---------------------------------------------------------------------


@votes_cli.command("verify")
@click.argument("vote_id", type=int)
def verify_command(vote_id: int) -> None:
    """Recompute the record of VOTE_ID: every event's digest, the chain, the sealing and the
    tally replayed from the events. Prints each mismatch on its own line and a summary;
    exit status 1 on any mismatch."""
    report = record.verify(vote_id)
    for problem in report.problems:
        click.echo(problem)
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)
