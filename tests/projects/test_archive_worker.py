"""The project's archive on a real worker: the API queues it on Redis, a ``flask worker``
process builds it, its address shows it done, and the .zip's manifest matches its files."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile

from sqlalchemy import select

from participation.auth.models import Role, RoleAssignment, StaffUser, SubjectKind
from participation.auth.tokens import issue_tokens
from participation.demo import seed_project
from participation.extensions import db as _db
from participation.projects.models import Project
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Street


def test_on_a_worker_the_archive_is_built_and_downloaded(live_worker, tmp_path):
    folder = str(tmp_path / "archives")
    app, start_worker = live_worker(
        "project_archives", {"PARTICIPATION_ARCHIVE_DIR": folder}, {"ARCHIVE_DIR": folder}
    )
    with app.app_context():
        community = Community(street=Street(district=District(name="区"), name="街道"), name="社区")
        compound = Compound(community=community, name="幸福里小区", address="")
        _db.session.add(compound)
        _db.session.flush()
        result = import_roster_file(compound.id, "r.csv", roster_csv(roster_rows(1, 1, 3, 2)))
        assert result.status.value == "done", result.report
        staff = StaffUser(username="committee", password_hash="x", display_name="业委会")
        staff.roles.append(RoleAssignment(role=Role.COMPOUND, scope_id=compound.id))
        _db.session.add(staff)
        _db.session.flush()
        seed_project(compound, staff)
        _db.session.commit()
        with app.test_request_context():
            token = issue_tokens(SubjectKind.STAFF, staff.id)["access_token"]
        _db.session.commit()
        project_id = _db.session.execute(select(Project.id)).scalar_one()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    started = client.post(f"/api/v1/projects/{project_id}/archives", headers=headers)
    assert started.status_code == 202, started.json
    assert started.json["status"] == "queued"
    url = started.headers["Location"]
    assert client.get(f"{url}/download", headers=headers).json["code"] == "archive_not_done"

    start_worker(tmp_path / "worker.log")
    deadline = time.monotonic() + 120
    while (archive := client.get(url, headers=headers).json)["status"] != "done":
        assert archive["status"] != "failed", archive
        assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
        time.sleep(0.1)
    assert archive["done"] == archive["total"] > 1
    content = client.get(f"{url}/download", headers=headers).data
    assert hashlib.sha256(content).hexdigest() == archive["sha256"]
    with zipfile.ZipFile(io.BytesIO(content)) as built:
        listed = json.loads(built.read("manifest.json"))["files"]
        assert len(listed) + 1 == archive["total"]
        for entry in listed:
            assert hashlib.sha256(built.read(entry["name"])).hexdigest() == entry["sha256"]
