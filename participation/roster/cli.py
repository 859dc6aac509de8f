"""``flask demo seed`` and ``flask demo info``: a demo district for trying the product."""

from __future__ import annotations

import os
import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.models import Community, Compound, District, Street

demo_cli = AppGroup("demo", help="Demo data for trying the product locally.")

DEMO_STAFF = "demo-committee"
DEMO_RESIDENT_PHONE = "13800000001"
# (compound name, buildings, entrances, floors, rooms per floor)
DEMO_COMPOUNDS = [
    ("幸福里小区", 2, 2, 6, 2),
    ("光明小区", 4, 2, 6, 2),
    ("建设新村", 6, 3, 7, 2),
]


def _credentials_file() -> str:
    """Where the demo committee's password is kept; instance/ may not exist yet when the
    secrets come from the environment."""
    os.makedirs(current_app.instance_path, exist_ok=True)
    return os.path.join(current_app.instance_path, "demo-credentials.txt")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has compounds.")
def seed(if_empty: bool) -> None:
    """Create 示范区 with three compounds from generated rosters, a committee account for the
    first compound and a resident who can sign in with a phone code."""
    from participation.roster.importer import import_roster_file

    if if_empty and db.session.scalar(select(func.count(Compound.id))):
        click.echo("demo: database already has compounds, nothing seeded")
        return
    district = District(name="示范区")
    street = Street(district=district, name="和平街道")
    community = Community(street=street, name="向阳社区")
    db.session.add_all([district, street, community])
    compounds = []
    for index, (name, buildings, entrances, floors, rooms) in enumerate(DEMO_COMPOUNDS):
        compound = Compound(community=community, name=name, address=f"向阳路{index + 1}号")
        db.session.add(compound)
        db.session.flush()
        rows = roster_rows(
            buildings,
            entrances,
            floors,
            rooms,
            seed=index + 1,
            first_phone=DEMO_RESIDENT_PHONE if index == 0 else None,
        )
        result = import_roster_file(compound.id, f"{name}.csv", roster_csv(rows))
        if result.status.value != "done":
            raise click.ClickException(f"demo roster for {name} was refused: {result.report}")
        compounds.append(compound)
    from participation.surveys.menu import seed_catalogue

    seed_catalogue()
    password = secrets.token_urlsafe(12)
    staff = StaffUser(
        username=DEMO_STAFF,
        password_hash=generate_password_hash(password),
        display_name="幸福里业委会",
    )
    staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compounds[0].id))
    db.session.add(staff)
    db.session.commit()
    with open(_credentials_file(), "w", encoding="utf-8") as out:
        out.write(f"{DEMO_STAFF} {password}\n")
    click.echo(f"demo: seeded {len(compounds)} compounds; committee login {DEMO_STAFF}")


@demo_cli.command("info")
@click.option("--base-url", default="http://127.0.0.1:5000")
def info(base_url: str) -> None:
    """Print where to look and how to sign in."""
    try:
        with open(_credentials_file(), encoding="utf-8") as source:
            username, password = source.read().split()
    except FileNotFoundError:
        username, password = DEMO_STAFF, "(run `flask demo seed` first)"
    compound = db.session.scalar(select(Compound).order_by(Compound.id))
    compound_id = compound.id if compound else 1
    compound_name = compound.name if compound else ""
    click.echo(
        f"""
participation is starting on {base_url}

  API documentation   {base_url}/api/docs
  OpenAPI document    {base_url}/api/v1/openapi.json
  Resident H5 page    {base_url}/h5/?compound={compound_id}

  Committee sign-in   username {username}  password {password}
    curl -s -X POST {base_url}/api/v1/auth/staff-sessions \\
         -H 'Content-Type: application/json' \\
         -d '{{"username": "{username}", "password": "{password}"}}'

  Resident sign-in    phone {DEMO_RESIDENT_PHONE} (owner of 1栋1单元101, {compound_name})
    1. curl -s -X POST {base_url}/api/v1/auth/codes -H 'Content-Type: application/json' \\
            -d '{{"phone": "{DEMO_RESIDENT_PHONE}"}}'
    2. the code appears in this server's log ("sign-in code for 138****0001: ……")
    3. curl -s -X POST {base_url}/api/v1/auth/sessions -H 'Content-Type: application/json' \\
            -d '{{"phone": "{DEMO_RESIDENT_PHONE}", "code": "<code>"}}'
"""
    )
