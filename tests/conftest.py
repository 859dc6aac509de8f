"""Fixtures in the Flask-tutorial shape: ``app`` (session), ``db`` (each test in a transaction
rolled back at the end), ``client``, and factories.

Set ``TEST_DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` to run against the real services;
without them the suite runs on SQLite with inline jobs and skips what needs the services.
With ``CI=true`` a missing or unreachable service fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy.engine import make_url
from werkzeug.serving import WSGIRequestHandler, make_server

from participation import create_app
from participation.common import fonts
from participation.extensions import db as _db

IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
ROOT = Path(__file__).resolve().parents[1]


def _need(service: str, problem: str):
    if IN_CI:
        pytest.exit(f"CI=true but {service} is not usable: {problem}", returncode=3)
    pytest.skip(f"{service} not configured: {problem}")


def _fresh_postgres_database(url: str) -> str:
    """Drop and create the test database named in ``url``; never touches another one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise pytest.UsageError("TEST_DATABASE_URL must be a PostgreSQL URL")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    name = parsed.database
    if not name or "test" not in name:
        raise pytest.UsageError("the test database's name must contain 'test'")
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


def pytest_configure(config):
    if IN_CI and not TEST_DATABASE_URL:
        raise pytest.UsageError("CI=true needs TEST_DATABASE_URL (PostgreSQL)")
    if IN_CI and not REDIS_URL:
        raise pytest.UsageError("CI=true needs REDIS_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return _fresh_postgres_database(TEST_DATABASE_URL)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "FEEDBACK_DIR": str(tmp_path_factory.mktemp("feedback")),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800, "pool_size": 20}
            if database_url.startswith("postgresql")
            else {},
            "REDIS_URL": None,
            "SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "JWT_SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "ID_HASH_KEY": "test-id-hash-key",
            "SMS_SENDER": "test",
        }
    )
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.engine.dispose()


class _JoinedSession(Session):
    """Flask-SQLAlchemy 3 picks the engine by bind key and ignores ``bind=``, so without this
    the code under test would commit for real (pallets-eco/flask-sqlalchemy#1167)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def db(app):
    """The test runs inside one transaction, rolled back at the end; the code under test may
    commit (its commits release savepoints)."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        session = _db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": _JoinedSession,
            }
        )
        original = _db.session
        _db.session = session
        try:
            yield _db
        finally:
            session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _forget_survey_forms():
    """Each test's surveys are rolled back, so the next test's may reuse their ids: the
    questionnaires the answer path keeps per process (``surveys.forms``) start empty."""
    from participation.surveys.forms import forget

    forget()
    yield
    forget()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def postgres_url(database_url) -> str:
    """For tests that need real PostgreSQL (concurrency): their own engine, no rollback."""
    if not database_url.startswith("postgresql"):
        _need("PostgreSQL", "TEST_DATABASE_URL is not set")
    return database_url


@pytest.fixture
def own_postgres_database(postgres_url):
    """``own_postgres_database("casting")`` → the URL of a fresh PostgreSQL database of the
    test's own (its rows are committed for real, not rolled back), dropped when the test's
    other fixtures are done with it."""
    base = make_url(postgres_url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def recreate(name: str, create: bool) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def make(suffix: str):
        url = base.set(database=f"{base.database}_{suffix}")
        recreate(url.database, create=True)
        made.append(url.database)
        return url

    yield make
    for name in made:
        recreate(name, create=False)
    admin.dispose()


class RequestScopedClient(FlaskClient):
    """Requests end as on a real server: each sees the test's setup committed, and whatever a
    failed request left flushed is rolled back — so a test sees exactly what it left behind."""

    def open(self, *args, **kwargs):
        _db.session.commit()
        try:
            return super().open(*args, **kwargs)
        finally:
            _db.session.rollback()


@pytest.fixture
def scoped_client(app, db):
    """A test client whose requests commit and roll back as a server's would (above); a
    module that needs it names it as its ``client``."""
    return RequestScopedClient(app, app.response_class)


@pytest.fixture
def race_app(app, own_postgres_database):
    """A second app on a fresh PostgreSQL database of its own, committing for real, with a
    pool for threads racing each other; its data is the test's to make."""
    from participation import create_app

    url = own_postgres_database("race")
    race = create_app(
        {
            **app.config,
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10},
        }
    )
    with race.app_context():
        _db.create_all()
    try:
        yield race
    finally:
        with race.app_context():
            _db.engine.dispose()


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        _need("Redis", "REDIS_URL is not set")
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL).ping()
    except Exception as exc:
        _need("Redis", str(exc))
    return REDIS_URL


# Factories ---------------------------------------------------------------------------------


@pytest.fixture
def make_compound(db):
    """``make_compound("阳光小区")`` creates district → street → community → compound.
    Pass ``community=`` to put a compound next to another one."""
    from participation.roster.models import Community, Compound, District, Street

    def make(name: str | None = None, community: Community | None = None) -> Compound:
        suffix = uuid.uuid4().hex[:6]
        if community is None:
            district = District(name=f"区{suffix}")
            street = Street(district=district, name=f"街道{suffix}")
            community = Community(street=street, name=f"社区{suffix}")
            _db.session.add_all([district, street, community])
        compound = Compound(community=community, name=name or f"小区{suffix}")
        _db.session.add(compound)
        _db.session.flush()
        return compound

    return make


@pytest.fixture
def make_dwelling(db):
    """``make_dwelling(compound, "1", "1", "101", area="68.45", owners=[("张三", "1380…")])``."""
    from participation.common.privacy import id_number_hash
    from participation.roster.models import (
        Building,
        Dwelling,
        DwellingStatus,
        Entrance,
        Owner,
        Ownership,
    )

    def make(
        compound,
        building: str = "1",
        entrance: str = "1",
        room: str = "101",
        area: str = "80.00",
        floor: int = 1,
        status: DwellingStatus = DwellingStatus.SOLD,
        owners: list[Owner] | None = None,
    ) -> Dwelling:
        b = _db.session.scalar(
            sa.select(Building).filter_by(compound_id=compound.id, number=building)
        ) or Building(compound_id=compound.id, number=building)
        _db.session.add(b)
        _db.session.flush()
        e = _db.session.scalar(
            sa.select(Entrance).filter_by(building_id=b.id, number=entrance)
        ) or Entrance(building_id=b.id, number=entrance)
        _db.session.add(e)
        _db.session.flush()
        d = Dwelling(
            compound_id=compound.id,
            building_id=b.id,
            entrance_id=e.id,
            floor=floor,
            room=room,
            area=Decimal(area),
            status=status,
        )
        _db.session.add(d)
        for owner in owners or []:
            _db.session.add(Ownership(owner=owner, dwelling=d))
        _db.session.flush()
        return d

    make.owner = lambda compound, name="张三", phone=None, id_number=None: _add(
        Owner(
            compound_id=compound.id,
            name=name,
            phone=phone,
            id_hash=id_number_hash(id_number or uuid.uuid4().hex, "test-id-hash-key"),
            id_last4=(id_number or "0000")[-4:],
        )
    )
    return make


def _add(obj):
    _db.session.add(obj)
    _db.session.flush()
    return obj


@pytest.fixture
def make_staff(db):
    """``make_staff(Role.COMPOUND, compound.id)`` → a staff user with that one role."""
    from werkzeug.security import generate_password_hash

    from participation.auth.models import Role, RoleAssignment, StaffUser

    def make(role: Role = Role.ADMIN, scope_id: int = 0, password: str = "secret-pass-1"):
        suffix = uuid.uuid4().hex[:8]
        staff = StaffUser(
            username=f"staff-{suffix}",
            password_hash=generate_password_hash(password),
            display_name=f"工作人员{suffix[:2]}",
        )
        staff.roles.append(RoleAssignment(role=role, scope_id=scope_id))
        return _add(staff)

    return make


@pytest.fixture
def make_account(db):
    from participation.auth.models import Account

    def make(phone: str | None = None):
        phone = phone or "139" + str(uuid.uuid4().int)[:8]
        return _add(Account(phone=phone))

    return make


@pytest.fixture
def sign_in(app, db):
    """``sign_in(staff_or_account)`` → request headers with a fresh access token."""
    from participation.auth.models import Account, SubjectKind
    from participation.auth.tokens import issue_tokens

    def sign(subject) -> dict:
        kind = SubjectKind.RESIDENT if isinstance(subject, Account) else SubjectKind.STAFF
        with app.test_request_context():
            tokens = issue_tokens(kind, subject.id)
        _db.session.flush()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    return sign


SAMPLE_ROSTER = os.path.join(os.path.dirname(__file__), "data", "roster-sample.csv")


@pytest.fixture
def sample_compound(db, make_compound):
    """A compound with ../shared/examples/roster-sample.csv imported (45 persons, 3622.29 m²)."""
    from participation.roster.importer import import_roster_file

    compound = make_compound("样例小区")
    with open(SAMPLE_ROSTER, "rb") as source:
        result = import_roster_file(compound.id, "roster-sample.csv", source.read())
    assert result.status.value == "done", result.report
    return compound


@pytest.fixture
def owner_account(db, make_account):
    """``owner_account(compound, "1栋1单元101")`` → a resident account linked to the owners of
    that dwelling (as a sign-in with their phone would do)."""
    from participation.roster.models import Dwelling, Owner, Ownership

    def link(compound, label: str):
        dwelling = next(
            d
            for d in _db.session.scalars(sa.select(Dwelling).filter_by(compound_id=compound.id))
            if d.label == label
        )
        owner = _db.session.scalar(
            sa.select(Owner)
            .join(Ownership, Ownership.owner_id == Owner.id)
            .where(Ownership.dwelling_id == dwelling.id)
            .order_by(Owner.id)
        )
        if owner.account_id is not None:
            from participation.auth.models import Account

            return _db.session.get(Account, owner.account_id)
        account = make_account()
        owner.account_id = account.id
        _db.session.flush()
        return account

    return link


@pytest.fixture
def live_worker(redis_url, own_postgres_database, tmp_path_factory):
    """``live_worker(name, env, config)`` → ``(app, start_worker)``: a database and a queue of
    the test's own, an app on them (with ``config``), and ``start_worker(log)`` starting a
    real ``flask worker`` process on the same (with the variables ``env`` besides) — killed
    at the end."""
    from redis import Redis

    workers: list[subprocess.Popen] = []
    made: list[tuple[Flask, str]] = []

    def make(name: str, env: dict | None = None, config: dict | None = None):
        url = own_postgres_database(name)
        queue = f"test-{name}-{uuid.uuid4().hex[:8]}"
        settings = {
            "PARTICIPATION_DATABASE_URL": url.render_as_string(hide_password=False),
            "PARTICIPATION_REDIS_URL": redis_url,
            "PARTICIPATION_RQ_QUEUE": queue,
            "PARTICIPATION_SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "PARTICIPATION_ID_HASH_KEY": "test-id-hash-key",
            "PARTICIPATION_FEEDBACK_DIR": str(tmp_path_factory.mktemp("feedback")),
            **(env or {}),
        }
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": settings["PARTICIPATION_DATABASE_URL"],
                "REDIS_URL": redis_url,
                "RQ_QUEUE": queue,
                "SECRET_KEY": settings["PARTICIPATION_SECRET_KEY"],
                "JWT_SECRET_KEY": settings["PARTICIPATION_SECRET_KEY"],
                "ID_HASH_KEY": "test-id-hash-key",
                "FEEDBACK_DIR": settings["PARTICIPATION_FEEDBACK_DIR"],
                **(config or {}),
            }
        )
        with app.app_context():
            _db.create_all()
        made.append((app, queue))

        def start_worker(log) -> subprocess.Popen:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PARTICIPATION_")}
            with open(log, "w") as out:
                workers.append(
                    subprocess.Popen(
                        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi:app", "worker"],
                        cwd=ROOT,
                        env=env | settings,
                        start_new_session=True,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            return workers[-1]

        return app, start_worker

    yield make
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    connection = Redis.from_url(redis_url)
    for app, queue in made:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        for key in connection.scan_iter(f"*{queue}*"):
            connection.delete(key)


@pytest.fixture
def keep_png():
    """``keep_png("consent", png)``: with ``CHARTS_OUT`` set (a folder), the chart is also
    written there as consent.png, to look at it (``CHARTS_OUT=/tmp/charts pytest -k chart``)."""
    folder = os.environ.get("CHARTS_OUT")

    def keep(name: str, png: bytes) -> bytes:
        if folder:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{name}.png"), "wb") as out:
                out.write(png)
        return png

    return keep


@pytest.fixture
def statements_run(monkeypatch):
    """``with statements_run() as words:`` → the first word of every statement run inside,
    in order: through SQLAlchemy or straight on the driver (``sql.DriverStatement``)."""
    from participation.common.sql import DriverStatement

    @contextlib.contextmanager
    def record():
        words: list[str] = []

        def on_cursor(conn, cursor, statement, *args):
            words.append(statement.split()[0])

        run_on_driver = DriverStatement.rows

        def on_driver(self, connection, params):
            words.append(self.sql.split()[0])
            return run_on_driver(self, connection, params)

        with monkeypatch.context() as patch:
            patch.setattr(DriverStatement, "rows", on_driver)
            sa.event.listen(_db.engine, "before_cursor_execute", on_cursor)
            try:
                yield words
            finally:
                sa.event.remove(_db.engine, "before_cursor_execute", on_cursor)

    return record


# A real browser for the pages (tests/h5, tests/notices) ----------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_browser(what: str, problem: str):
    if IN_CI:
        pytest.fail(f"CI=true but {what} is not usable: {problem}", pytrace=False)
    pytest.skip(f"{what} not available: {problem}")


def _browser_env(folder: Path) -> dict[str, str]:
    """The environment Chromium runs in. On a machine without a CJK system font (fc-list
    :lang=zh finds none), fontconfig is also pointed at the font shipped with the project
    (participation/common/fontdata), so the pages' Chinese is drawn, not blank or boxes."""
    env = dict(os.environ)
    if shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
        if listed.strip():
            return env
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{fonts.FONTDATA}</dir>\n  <cachedir>{folder / 'cache'}</cachedir>\n"
        "</fontconfig>\n"
    )
    env["FONTCONFIG_FILE"] = str(config)
    return env


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's Chromium driven by Playwright (never `playwright install`); skipped locally
    without them, a failure under CI=true."""
    if not CHROMIUM.exists():
        _need_browser("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _need_browser("Playwright", f"{exc} (pip install -e '.[dev]')")
    env = _browser_env(tmp_path_factory.mktemp("fontconfig"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, env=env
        )
        try:
            yield browser
        finally:
            browser.close()


# Shared by the browser tests of the pages (tests/h5, tests/workbench) -------------------------

AXE = Path(__file__).parent / "h5" / "vendor" / "axe.min.js"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def serve():
    """``serve(app, name)`` → the base URL of ``app`` served by werkzeug in a thread (quiet),
    shut down when the test ends."""
    servers: list = []

    def start(app: Flask, name: str = "live-server") -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)


def _axe_audit(page, where: str) -> None:
    """axe-core's audit: no serious or critical violation. The pages' CSP (script-src 'self')
    refuses an inline script, so axe.min.js is served at a same-origin address by the test
    (Playwright answers it from tests/h5/vendor) and the CSP stays on."""
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    address = f"{origin}/__test__/axe.min.js"
    page.route(address, lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url=address)
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on the {where}: {bad}"


@pytest.fixture(scope="session")
def axe():
    """``axe(page, where)``: the axe-core audit of the page as it stands."""
    return _axe_audit


class ReminderClock:
    """The reminders' clock (``auth.reminders.reminder_clock``, shared by votes and surveys):
    today at 10:00 Beijing time unless a test moves it (``clock.at(21, 30)``,
    ``clock.at(8, 0, days=1)``), so that no test depends on when the suite runs (21:00–08:00
    is quiet)."""

    def __init__(self) -> None:
        from participation.common.schemas import SHANGHAI
        from participation.common.types import utcnow

        self.today = utcnow().astimezone(SHANGHAI).date()
        self.zone = SHANGHAI
        self.at(10, 0)

    def at(self, hour: int, minute: int = 0, days: int = 0):
        from datetime import datetime, time, timedelta

        self.now = datetime.combine(
            self.today + timedelta(days=days), time(hour, minute), self.zone
        )
        return self.now

    def __call__(self):
        return self.now


@pytest.fixture
def reminder_clock(monkeypatch):
    """Fix the reminders' clock (:class:`ReminderClock`) for the test."""
    from participation.auth import reminders

    clock = ReminderClock()
    monkeypatch.setattr(reminders, "reminder_clock", clock)
    return clock

