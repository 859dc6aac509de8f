"""``flask users create-admin`` and ``flask users create``."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash

from participation.auth.models import Role, StaffUser

PASSWORD = "a-long-password"


def _staff(db, username: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


def test_create_admin_with_a_password_option(runner, db):
    result = runner.invoke(
        args=["users", "create-admin", "--username", "root", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    staff = _staff(db, "root")
    assert [(r.role, r.scope_id) for r in staff.roles] == [(Role.ADMIN, 0)]
    assert check_password_hash(staff.password_hash, PASSWORD)


def test_create_admin_prompts_for_the_password_twice(runner, db):
    result = runner.invoke(
        args=["users", "create-admin", "--username", "root"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output
    assert _staff(db, "root") is not None


def test_duplicate_username_is_refused(runner, db):
    args = ["users", "create-admin", "--username", "root", "--password", PASSWORD]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert "该用户名已被使用" in again.output


def test_short_password_is_refused(runner, db):
    result = runner.invoke(
        args=["users", "create-admin", "--username", "root", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "password: 密码长度须为 10 到 128 个字符" in result.output
    assert _staff(db, "root") is None


def test_create_committee_account(runner, db, make_compound):
    compound = make_compound()
    args = ["users", "create", "--username", "committee", "--role", "compound"]
    result = runner.invoke(args=[*args, "--scope-id", str(compound.id), "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    staff = _staff(db, "committee")
    assert [(r.role, r.scope_id) for r in staff.roles] == [(Role.COMPOUND, compound.id)]


def test_create_refuses_a_place_that_does_not_exist(runner, db):
    args = [
        "users",
        "create",
        "--username",
        "committee",
        "--role",
        "compound",
        "--scope-id",
        "999999",
    ]
    result = runner.invoke(args=[*args, "--password", PASSWORD])
    assert result.exit_code == 1
    assert "该地区或小区不存在" in result.output
    assert _staff(db, "committee") is None
