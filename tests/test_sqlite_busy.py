"""The embedded default under concurrency: on SQLite, a 10,000-row roster import running
inline holds the write lock for seconds; sign-ins at the same moment must not fail with a
server error ("database is locked"). They wait for the lock (WAL, busy timeout) and, if it
still cannot be had, answer 503 with Retry-After."""

from __future__ import annotations

import io
import threading

import pytest

from participation import create_app
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.models import Community, Compound, District, Street

ROWS = 10_000


@pytest.fixture
def sqlite_app(tmp_path):
    """An app of its own on a SQLite file, as `make run` has it (no Redis: jobs inline)."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
            "REDIS_URL": None,
            "SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "JWT_SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "ID_HASH_KEY": "test-id-hash-key",
            "SMS_SENDER": "test",
            "SMS_PER_ADDRESS_PER_HOUR": 1000,
        }
    )
    with app.app_context():
        db.create_all()
        district = District(name="示范区")
        community = Community(street=Street(district=district, name="街道"), name="社区")
        compound = Compound(community=community, name="大小区")
        db.session.add(compound)
        db.session.commit()
        compound_id = compound.id
    yield app, compound_id
    with app.app_context():
        db.engine.dispose()


def test_sign_ins_answer_while_a_large_import_runs_inline(sqlite_app, make_staff_token):
    app, compound_id = sqlite_app
    # 25 buildings × 4 entrances × 25 floors × 4 rooms = 10,000 dwellings
    content = roster_csv(roster_rows(25, 4, 25, 4, seed=7))
    assert content.count(b"\n") == ROWS + 1
    token = make_staff_token(app, compound_id)
    importing = threading.Event()
    results: dict[str, object] = {}

    def run_import():
        with app.test_client() as client:
            importing.set()
            results["import"] = client.post(
                f"/api/v1/compounds/{compound_id}/roster-imports",
                data={"file": (io.BytesIO(content), "big.csv")},
                headers={"Authorization": f"Bearer {token}"},
            )

    importer = threading.Thread(target=run_import)
    importer.start()
    importing.wait()
    answers = []
    with app.test_client() as client:
        while importer.is_alive() and len(answers) < 200:
            phone = f"139{len(answers):08d}"
            answers.append(client.post("/api/v1/auth/codes", json={"phone": phone}))
    importer.join()

    imported = results["import"].get_json()
    # a file this large is a job: inline without Redis, so it is done when the answer comes
    assert results["import"].status_code == 202, imported
    assert imported["status"] == "done", imported
    assert imported["report"]["summary"]["dwellings_created"] == ROWS
    statuses = [answer.status_code for answer in answers]
    assert statuses, "the import ended before a sign-in was tried"
    assert set(statuses) <= {202, 503}, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.get_json()["code"] == "database_busy"
            assert int(answer.headers["Retry-After"]) > 0
    print(f"sign-in codes during the import: {statuses.count(202)} × 202, "
          f"{statuses.count(503)} × 503")


@pytest.fixture
def make_staff_token():
    """A staff token of the compound's committee in ``app``'s own database."""
    from werkzeug.security import generate_password_hash

    from participation.auth.models import Role, RoleAssignment, StaffUser, SubjectKind
    from participation.auth.tokens import issue_tokens

    def make(app, compound_id: int) -> str:
        with app.app_context():
            staff = StaffUser(
                username="committee",
                password_hash=generate_password_hash("secret-pass-1"),
                display_name="业委会",
            )
            staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound_id))
            db.session.add(staff)
            db.session.flush()
            with app.test_request_context():
                tokens = issue_tokens(SubjectKind.STAFF, staff.id)
            db.session.commit()
            return tokens["access_token"]

    return make
