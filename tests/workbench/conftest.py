"""What the workbench is tried on: an empty compound (幸福里小区, its roster imported through
the page) and a neighbouring compound with its own committee, on a PostgreSQL database of the
test's own, served by werkzeug in a thread; a desktop Chromium page (1280 px) signed in as the
compound's committee. Screenshots go to ``$WORKBENCH_SCREENSHOTS`` when set."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from participation.auth.models import Role, RoleAssignment, StaffUser
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Street

COMPOUND = "幸福里小区"
NEIGHBOUR = "和谐苑小区"
USERNAME = "xingfuli-committee"
PASSWORD = "secret-pass-1"
SAMPLE = Path(__file__).parent.parent / "data" / "roster-sample.csv"


@dataclass
class Bench:
    url: str
    app: object
    compound_id: int
    neighbour_id: int
    shots: Path
    sms: object = field(repr=False)

    def shot(self, page, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def bench(live_worker, serve, tmp_path):
    config = {"REDIS_URL": None, "SMS_SENDER": "test"}
    app, _ = live_worker("workbench", config=config)
    with app.app_context():
        community = Community(
            street=Street(district=District(name="示范区"), name="和平街道"), name="向阳社区"
        )
        compound = Compound(community=community, name=COMPOUND, address="向阳路1号")
        neighbour = Compound(community=community, name=NEIGHBOUR, address="向阳路9号")
        db.session.add_all([compound, neighbour])
        db.session.flush()
        for username, place in ((USERNAME, compound), ("hexieyuan-committee", neighbour)):
            staff = StaffUser(
                username=username,
                password_hash=generate_password_hash(PASSWORD),
                display_name=place.name + "业委会",
            )
            staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=place.id))
            db.session.add(staff)
        db.session.commit()
        ids = compound.id, neighbour.id
    shots = Path(os.environ.get("WORKBENCH_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return Bench(
        url=serve(app, "workbench"),
        app=app,
        compound_id=ids[0],
        neighbour_id=ids[1],
        shots=shots,
        sms=app.extensions["sms_sender"],
    )


@pytest.fixture
def desk(browser):
    """``desk(width=1280)`` → ``(page, errors)``: a fresh browser window (its own storage)."""
    contexts = []

    def open_page(width: int = 1280):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        return page, errors

    yield open_page
    for context in contexts:
        for page in context.pages:
            page.unroute_all(behavior="ignoreErrors")
        context.close()


@pytest.fixture
def signed_in(bench, desk):
    """A committee member's page at 1280 px, signed in on the home page."""
    from playwright.sync_api import expect

    page, errors = desk()
    page.goto(bench.url + "/workbench/")
    page.get_by_label("用户名").fill(USERNAME)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我负责的小区")
    return page, errors


@pytest.fixture(autouse=True)
def fixed_reminder_clock(reminder_clock):
    """Every test here at 10:00 Beijing time (tests/conftest.py ``reminder_clock``)."""
    return reminder_clock
