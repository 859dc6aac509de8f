"""Large imports and the job queue's faults: refused with 503 before anything is written
while Redis is unreachable; a run that fails is retried and its row says so."""

from __future__ import annotations

import io
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
