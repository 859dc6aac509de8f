"""档案管理: the project's archive, built by its job (inline here: no Redis): every file listed
in manifest.json with its SHA-256, the vote's record with its chain verifying, the job
idempotent."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from participation.common.types import utcnow
from participation.demo import seed_project
from participation.extensions import db as _db
from participation.projects import tasks
from participation.projects.models import ArchiveStatus, Project, ProjectArchive
from participation.roster.models import Building
from participation.votes.models import Channel, Choice, Matter, Vote, VotePerson
from participation.votes.services import open_vote, record_cast

from .conftest import api


def elevator_vote(compound, staff) -> Vote:
    """An open elevator vote of 1栋 with its cost plan (200,000.00 元 split by area) and two
    of its three owners' ballots."""
    now = utcnow()
    building = _db.session.scalar(sa.select(Building.id).filter_by(compound_id=compound.id))
    vote = Vote(
        compound_id=compound.id,
        title="1栋加装电梯",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        building_ids=[building],
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=7),
        created_by_id=staff.id,
        total_cost=Decimal("300000.00"),
        subsidy=Decimal("100000.00"),
    )
    _db.session.add(vote)
    _db.session.flush()
    open_vote(vote)
    persons = _db.session.scalars(
        sa.select(VotePerson.id).filter_by(vote_id=vote.id).order_by(VotePerson.id)
    ).all()
    for person_id, choice in zip(persons, (Choice.AGREE, Choice.DISAGREE), strict=False):
        record_cast(vote.id, person_id, choice, Channel.ONLINE)
    _db.session.flush()
    return vote


def test_the_archive_lists_every_file_with_its_hash(
    app, client, compound, committee, committee_staff, consent_survey, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "ARCHIVE_DIR", str(tmp_path / "archives"))
    seed_project(compound, committee_staff)
    project = _db.session.scalar(sa.select(Project).filter_by(compound_id=compound.id))
    vote = elevator_vote(compound, committee_staff)
    survey = consent_survey(agree=2)
    for kind, target in (("vote", vote.id), ("survey", survey.id)):
        linked = api(
            client, "POST", f"/projects/{project.id}/links", committee, kind=kind, target_id=target
        )
        assert linked.status_code == 201, linked.json

    started = api(client, "POST", f"/projects/{project.id}/archives", committee)
    assert started.status_code == 202, started.json
    assert started.json["status"] == "done"  # inline: built before the answer
    archive_id = started.json["id"]
    download = client.get(f"/api/v1/project-archives/{archive_id}/download", headers=committee)
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == started.json["sha256"]

    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        listed = {f["name"]: f for f in manifest["files"]}
        assert names == set(listed) | {"manifest.json"}
        for name, entry in listed.items():
            content = archive.read(name)
            assert hashlib.sha256(content).hexdigest() == entry["sha256"], name
            assert len(content) == entry["size"]
        files = {name: archive.read(name) for name in names}

    v = f"vote-{vote.id}"
    assert {
        f"campaigns/{v}.json",
        f"registers/{v}-register.xlsx",
        f"registers/{v}-tally.xlsx",
        f"records/{v}-record.json",
        f"records/{v}-verification.json",
        f"campaigns/survey-{survey.id}.json",
        "cost-plans/project-plan.json",
        "plan-consultation/summary.json",
        "project.json",
    } <= names
    verification = json.loads(files[f"records/{v}-verification.json"])
    assert verification["ok"] is True and verification["problems"] == []
    assert verification["pending"] == 0  # sealed before the record was written
    chain = json.loads(files[f"records/{v}-record.json"])
    assert [e["seq"] for e in chain["chain"]] == list(range(1, len(chain["events"]) + 1))
    assert chain["chain"][0]["parent_hash"] == chain["genesis"]
    consent = json.loads(files[f"campaigns/survey-{survey.id}.json"])
    assert consent["status"] == "final" and consent["result"]["passed"] is True
    cost_plan = json.loads(files[f"cost-plans/{v}-cost-plan.json"])  # as the API gives it
    assert sum(Decimal(s["share"]) for s in cost_plan["shares"]) == Decimal("200000.00")
    plan = json.loads(files["cost-plans/project-plan.json"])
    shares = sum(Decimal(h["share"]) for h in plan["households"])
    assert shares == Decimal(plan["funding"]["residents_due"]) == Decimal("33600.00")
    notices = [n for n in names if n.startswith("notices/")]
    titles = [json.loads(files[n])["title"] for n in notices]
    assert any(t.startswith("设计方案征求意见") for t in titles)
    assert any(t.startswith("结果公示") for t in titles)  # the consent survey's 公示
    assert "13900000101" not in files["project.json"].decode()

    # idempotent: a second run leaves the finished archive as it is
    before = (tmp_path / "archives" / f"project-archive-{archive_id}.zip").read_bytes()
    tasks.build_archive(archive_id)
    after = (tmp_path / "archives" / f"project-archive-{archive_id}.zip").read_bytes()
    assert after == before
    assert _db.session.get(ProjectArchive, archive_id).status is ArchiveStatus.DONE


def test_a_queued_archive_is_not_downloaded(app, client, committee, committee_staff, project):
    archive = ProjectArchive(project_id=project["id"], created_by_id=committee_staff.id)
    _db.session.add(archive)
    _db.session.flush()
    refused = client.get(f"/api/v1/project-archives/{archive.id}/download", headers=committee)
    assert (refused.status_code, refused.json["code"]) == (409, "archive_not_done")
    again = api(client, "POST", f"/projects/{project['id']}/archives", committee)
    assert (again.status_code, again.json["id"]) == (200, archive.id)  # the one under way


def test_the_command_line_builds_and_checks_an_archive(
    app, runner, compound, committee_staff, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "ARCHIVE_DIR", str(tmp_path / "archives"))
    seed_project(compound, committee_staff)
    project = _db.session.scalar(sa.select(Project).filter_by(compound_id=compound.id))
    built = runner.invoke(
        args=["projects", "archive", str(project.id), "--staff-id", str(committee_staff.id)]
    )
    assert built.exit_code == 0, built.output
    path = built.output.split()[0]
    checked = runner.invoke(args=["projects", "check-archive", path])
    assert checked.exit_code == 0 and checked.output.strip().endswith(": OK"), checked.output

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as out:
        for name in source.namelist():
            content = source.read(name)
            out.writestr(name, content + b" " if name == "project.json" else content)
    refused = runner.invoke(args=["projects", "check-archive", str(tampered)])
    assert refused.exit_code == 1
    assert "project.json: SHA-256 differs" in refused.output
