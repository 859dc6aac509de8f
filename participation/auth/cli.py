"""``flask users …``: staff accounts from the command line (the first admin, above all)."""

from __future__ import annotations

import click
import marshmallow as ma
from flask.cli import AppGroup

from participation.auth import services
from participation.auth.models import Role
from participation.auth.schemas import StaffCreateSchema
from participation.common.errors import ApiError
from participation.extensions import db

users_cli = AppGroup("users", help="Staff accounts.")

PASSWORD_OPTION = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; asked for (twice) when left out, which keeps it out of the "
    "shell history.",
)


@users_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--display-name", default="系统管理员", show_default=True)
@PASSWORD_OPTION
def create_admin(username: str, display_name: str, password: str) -> None:
    """Create a staff account with the admin role."""
    _create(username, password, display_name, Role.ADMIN, 0)


@users_cli.command("create")
@click.option("--username", required=True)
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role if r is not Role.ADMIN])
)
@click.option("--scope-id", required=True, type=int, help="Id of the place the role covers.")
@click.option("--display-name", help="Defaults to the username.")
@PASSWORD_OPTION
def create(username: str, role: str, scope_id: int, display_name: str | None, password: str):
    """Create a staff account with one role over a district, street, community or compound."""
    _create(username, password, display_name or username, Role(role), scope_id)


def _create(username: str, password: str, display_name: str, role: Role, scope_id: int) -> None:
    try:
        data = StaffCreateSchema().load(
            {
                "username": username,
                "password": password,
                "display_name": display_name,
                "roles": [{"role": role.value, "scope_id": scope_id}],
            }
        )
        staff = services.create_staff(data, granted_by=None)
    except ma.ValidationError as error:
        raise click.ClickException(_describe(error.messages)) from None
    except ApiError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"created {role.value} {staff.username} (id {staff.id})")


def _describe(messages: dict, prefix: str = "") -> str:
    parts = []
    for field, problem in messages.items():
        if isinstance(problem, dict):
            parts.append(_describe(problem, f"{prefix}{field}."))
        else:
            parts.append(f"{prefix}{field}: {' '.join(map(str, problem))}")
    return "; ".join(parts)
