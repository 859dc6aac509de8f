"""``flask surveys …``"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from participation.extensions import db
from participation.surveys.menu import seed_catalogue

surveys_cli = AppGroup("surveys", help="Surveys.")


@surveys_cli.command("seed-catalogue")
def seed_catalogue_command() -> None:
    """Add the policy list of renovation items (基础类, 完善类, 提升类) to the menu catalogue.
    Items already there are left as they are, so running it again changes nothing."""
    inserted = seed_catalogue()
    db.session.commit()
    click.echo(f"菜单目录：新增 {inserted} 项政策清单改造项目")
