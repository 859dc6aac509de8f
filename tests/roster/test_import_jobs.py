"""Large imports and the job queue's faults: refused with 503 before anything is written
while Redis is unreachable; a run that fails is retried and its row says so."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from participation.auth.models import Role
from participation.common import jobs
from participation.extensions import db as _db
from participation.roster.models import ImportStatus, RosterImport

SAMPLE = (Path(__file__).parents[1] / "data" / "roster-sample.csv").read_bytes()


def upload(client, compound_id, headers):
    return client.post(
        f"/api/v1/compounds/{compound_id}/roster-imports",
        data={"file": (io.BytesIO(SAMPLE), "roster.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def compound(make_compound):
    return make_compound()


@pytest.fixture
def staff(compound, make_staff, sign_in):
    return sign_in(make_staff(Role.COMPOUND, compound.id))


def imports_of(compound_id) -> int:
    return _db.session.scalar(
        sa.select(sa.func.count()).where(RosterImport.compound_id == compound_id)
    )


def test_a_large_import_is_refused_while_redis_is_unreachable(
    app, client, compound, staff, monkeypatch
):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/13")
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 10)
    monkeypatch.setattr(jobs, "_redis_down_until", 0.0)
    answer = upload(client, compound.id, staff)
    assert answer.status_code == 503, answer.json
    assert answer.json["code"] == "queue_unavailable"
    assert answer.headers["Retry-After"] == "30"
    assert imports_of(compound.id) == 0  # nothing written
    # A small file does not need the queue: imported in the request as ever.
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_ROWS", 1000)
    answer = upload(client, compound.id, staff)
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == ImportStatus.DONE


# A worker killed mid-import (real processes: PostgreSQL, Redis, `flask worker`) -------------

@pytest.fixture
def live(live_worker):
    seconds = {"JOB_HEARTBEAT_SECONDS": "1", "WORKER_SWEEP_SECONDS": "2"}
    return live_worker("import_jobs", {f"PARTICIPATION_{k}": v for k, v in seconds.items()})


BUILDINGS = 160  # 3,840 dwellings: a few seconds of checking, time to kill the worker in it


def test_a_worker_killed_mid_import_is_followed_by_exactly_one_completed_import(live, tmp_path):
    from participation.roster.demo import roster_csv, roster_rows
    from participation.roster.importer import new_import
    from participation.roster.models import Community, Compound, District, Dwelling, Street
    from participation.roster.tasks import enqueue_import

    app, start_worker = live
    with app.app_context():
        compound = Compound(
            community=Community(
                street=Street(district=District(name="区"), name="街道"), name="社区"
            ),
            name="小区",
        )
        _db.session.add(compound)
        _db.session.flush()
        content = roster_csv(roster_rows(BUILDINGS))
        roster_import = new_import(compound.id, "roster.csv", content, False, None, 3840)
        _db.session.commit()
        import_id, compound_id = roster_import.id, compound.id
        assert enqueue_import(roster_import) is not None

        def state():
            _db.session.rollback()
            row = _db.session.get(RosterImport, import_id, populate_existing=True)
            return row.status, row.rows_done, (row.report or {}).get("message", "")

        victim = start_worker(tmp_path / "victim.log")
        deadline = time.monotonic() + 60
        while not ((current := state())[0] is ImportStatus.RUNNING and current[1] > 0):
            assert time.monotonic() < deadline, (current, (tmp_path / "victim.log").read_text())
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)  # mid-import: rows checked, nothing written
        victim.wait()
        killed_at = time.monotonic()
        assert state()[0] is ImportStatus.RUNNING
        dwellings = sa.select(sa.func.count()).where(Dwelling.compound_id == compound_id)
        assert _db.session.scalar(dwellings) == 0

        start_worker(tmp_path / "survivor.log")
        seen = set()
        while (current := state())[0] is not ImportStatus.DONE:
            seen.add(current[0])
            if "中断" in current[2]:
                seen.add("interrupted")
            assert current[0] is not ImportStatus.FAILED, current
            assert time.monotonic() - killed_at < 120, (
                current,
                (tmp_path / "survivor.log").read_text()[-3000:],
            )
            time.sleep(0.1)
        assert "interrupted" in seen  # the row said so while it waited for its retry
        assert _db.session.scalar(dwellings) == 3840  # written exactly once
        report = _db.session.get(RosterImport, import_id).report
        assert report["summary"]["dwellings_created"] == 3840
        assert imports_of(compound_id) == 1


def test_a_failed_run_says_retrying_until_the_last_which_marks_the_import_failed(db, compound):
    from types import SimpleNamespace

    from participation.roster.importer import new_import
    from participation.roster.tasks import import_job_failed

    import_id = new_import(compound.id, "roster.csv", SAMPLE, False, None, 48).id
    _db.session.commit()
    job = SimpleNamespace(args=(import_id,), retries_left=2)

    def row():
        return _db.session.get(RosterImport, import_id, populate_existing=True)

    import_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)
    assert row().status is ImportStatus.QUEUED
    assert row().report["message"] == "导入时出错，正在重试（已失败 1 次）"
    job.retries_left = 0
    import_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)
    assert row().status is ImportStatus.FAILED
    assert "未写入任何数据" in row().report["message"]
    import_job_failed(job, None, RuntimeError, RuntimeError("boom"), None)  # finished: left
    assert row().status is ImportStatus.FAILED
