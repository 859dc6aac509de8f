"""``flask surveys …``"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from participation.extensions import db
from participation.surveys import tallies
from participation.surveys.menu import seed_catalogue
from participation.surveys.models import Survey

surveys_cli = AppGroup("surveys", help="Surveys.")


@surveys_cli.command("seed-catalogue")
def seed_catalogue_command() -> None:
    """Add the policy list of renovation items (基础类, 完善类, 提升类) to the menu catalogue.
    Items already there are left as they are, so running it again changes nothing."""
    inserted = seed_catalogue()
    db.session.commit()
    click.echo(f"菜单目录：新增 {inserted} 项政策清单改造项目")


@surveys_cli.command("check-tallies")
@click.argument("survey_ids", nargs=-1, type=int)
@click.option("--repair", is_flag=True, help="Recount a survey whose tallies differ.")
def check_tallies_command(survey_ids: tuple[int, ...], repair: bool) -> None:
    """Compare the running tallies of opened surveys (or of SURVEY_IDS) with a recount of
    their answers; exit 1 if any differ (with --repair: recount those, exit 0)."""
    stmt = select(Survey).where(Survey.opened_at.is_not(None)).order_by(Survey.id)
    if survey_ids:
        stmt = stmt.where(Survey.id.in_(survey_ids))
    drifted = 0
    for survey in db.session.scalars(stmt):
        cells = tallies.mismatches(survey)
        if not cells:
            click.echo(f"问卷 {survey.id}：计数与作答一致")
            continue
        click.echo(f"问卷 {survey.id}：计数与作答不一致，{len(cells)} 处")
        for cell in cells[:20]:
            click.echo(
                f"  楼栋 {cell['building_id']} 问题 {cell['question_id']} "
                f"选项 {cell['option_id']}：计数 {cell['tallied'].cnt}，作答 {cell['counted'].cnt}"
            )
        if repair:
            tallies.rebuild(survey)
            click.echo(f"问卷 {survey.id}：已按作答重新计数")
        else:
            drifted += 1
    db.session.commit()
    if drifted:
        raise SystemExit(1)
