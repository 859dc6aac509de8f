"""Posters: A4 at 300 dpi, PNG and PDF, whose QR code (at least 5 cm wide) decodes to exactly
the compound's current link, laid out so that long names wrap inside the page; and batches of
them for a whole community, street or district, built by a job with its progress in the API."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from PIL import Image

from participation.auth.models import Role
from participation.common.schemas import SHANGHAI
from participation.extensions import db as _db
from participation.notices import posters, tasks
from participation.notices.models import PosterBatch, ShortLink

LONG_NAME = "成都市锦江区水井坊街道办事处望江路社区第二居民小组望江花园东区与西区联合小区业主大会"
LONG_TITLE = (
    "关于望江花园小区老旧小区综合改造（含外墙保温、雨污分流、屋面防水、加装电梯、停车位规划及"
    "充电桩建设等）的业主意愿征集问卷，请全体业主于截止日前填写完毕，逾期视为未表态"
)


def compound_link(client, board) -> dict:
    return client.get(f"/api/v1/compounds/{board.compound.id}/links", headers=board.staff).json[0]


def test_the_poster_png_is_a4_at_300_dpi_and_its_qr_code_is_the_link(
    client, board, tmp_path, decode_qr
):
    link = compound_link(client, board)
    response = client.get(f"/api/v1/links/{link['id']}/poster.png", headers=board.staff)
    assert response.status_code == 200 and response.mimetype == "image/png"
    path = tmp_path / "poster.png"
    path.write_bytes(response.data)
    with Image.open(path) as image:
        assert image.size == (2480, 3508)
        assert tuple(round(v) for v in image.info["dpi"]) == (300, 300)
    assert decode_qr(path) == [link["url"]]


def test_the_poster_pdf_is_one_a4_page_whose_qr_code_is_the_link(
    client, board, tmp_path, decode_qr, pdf_pages
):
    link = compound_link(client, board)
    response = client.get(f"/api/v1/links/{link['id']}/poster.pdf", headers=board.staff)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    media_box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", response.data)
    width_mm, height_mm = (float(v) / 72 * 25.4 for v in media_box.groups())
    assert abs(width_mm - 210) < 1 and abs(height_mm - 297) < 1
    path = tmp_path / "poster.pdf"
    path.write_bytes(response.data)
    pages = pdf_pages(path)
    assert len(pages) == 1
    assert decode_qr(pages[0]) == [link["url"]]


def test_the_qr_code_is_at_least_5_cm_wide_with_its_quiet_zone(board, tmp_path, decode_qr):
    poster = posters.Poster(
        "望江花园",
        "表决",
        "3栋加装电梯",
        "2026年12月20日 18:00",
        "投票",
        "https://canyu.example.gov.cn/c/ab3k9mxq",
        "水井坊社区居民委员会",
        "12345",
    )
    image = posters.render(poster)
    left, top, right, bottom = image.info["qr_box"]
    assert (right - left) / posters.DPI * 2.54 >= 5.0
    # the QR code alone, cut out with its quiet zone, decodes
    image.crop((left, top, right, bottom)).save(tmp_path / "qr.png")
    assert decode_qr(tmp_path / "qr.png") == [poster.url]
    # and it still decodes from a phone-sized photo of the whole page (a third of the pixels)
    image.convert("L").resize((827, 1169)).save(tmp_path / "small.png")
    assert decode_qr(tmp_path / "small.png") == [poster.url]


@pytest.mark.parametrize(
    "compound, title, organiser",
    [
        (
            LONG_NAME,
            LONG_TITLE,
            "成都市锦江区水井坊街道望江路社区居民委员会与望江花园小区业主委员会",
        ),
        ("WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW", "W" * 200, "M" * 60),
        (
            "望江花园",
            "，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，，",
            "居委会",
        ),
    ],
)
def test_long_names_wrap_inside_the_page(compound, title, organiser, tmp_path, decode_qr):
    poster = posters.Poster(
        compound,
        "改造意愿征集",
        title,
        "2026年12月20日 18:00",
        "填写",
        "https://canyu.example.gov.cn/c/ab3k9mxq",
        organiser,
        "028-12345678",
    )
    image = posters.render(poster)
    band = image.info["band"]
    inner = posters.MARGIN - 40
    below = image.crop((0, band + 1, posters.WIDTH, posters.HEIGHT))
    for strip in (
        below.crop((0, 0, inner, below.height)),
        below.crop((posters.WIDTH - inner, 0, posters.WIDTH, below.height)),
    ):
        assert strip.getextrema() == (posters.WHITE, posters.WHITE), "ink in the margin"
    header = image.crop((0, 0, posters.WIDTH, band))
    assert header.crop((0, 0, inner, band)).getextrema() == (posters.RED, posters.RED)
    image.save(tmp_path / "poster.png")
    assert decode_qr(tmp_path / "poster.png") == [poster.url]


def test_a_vote_poster_names_its_deadline(client, board, tmp_path):
    from datetime import timedelta

    from participation.common.types import utcnow
    from participation.votes.models import Matter, Vote

    vote = Vote(
        compound_id=board.compound.id,
        title="3栋加装电梯",
        matter=Matter.ELEVATOR,
        rule=Matter.ELEVATOR.rule,
        building_ids=[board.building_3],
        opens_at=utcnow(),
        closes_at=utcnow() + timedelta(days=7),
        created_by_id=board.staff_id,
    )
    _db.session.add(vote)
    _db.session.flush()
    link = client.post(
        f"/api/v1/compounds/{board.compound.id}/links",
        json={"target": "vote", "target_id": vote.id},
        headers=board.staff,
    ).json
    made = posters.poster_for(_db.session.get(ShortLink, link["id"]), link["url"], None, "12345")
    assert made.heading == "表决" and made.title == "3栋加装电梯" and made.action == "投票"
    assert made.deadline.startswith(str(vote.closes_at.astimezone(SHANGHAI).year))
    assert made.organiser == f"{board.compound.community.name}居民委员会"


def test_bad_poster_requests(client, board):
    link = compound_link(client, board)
    url = f"/api/v1/links/{link['id']}/poster.png"
    assert client.get(f"{url}?phone=call-me", headers=board.staff).status_code == 422
    assert client.get(f"{url}?organiser=", headers=board.staff).status_code == 422
    assert client.get(url, headers=board.neighbour_staff).status_code == 404
    assert client.get(url, headers=board.resident_1).status_code in (403, 404)


# Batches ----------------------------------------------------------------------------------------


@pytest.fixture
def community(board, make_compound, make_staff, sign_in):
    """The board's community with a third compound; its committee (community staff)."""
    make_compound("东湖小区", community=board.compound.community)
    staff = make_staff(Role.COMMUNITY, board.compound.community_id)
    return board.compound.community, sign_in(staff)


def test_a_batch_builds_a_poster_per_compound(
    client, board, community, tmp_path, decode_qr, pdf_pages, app
):
    place, staff = community
    app.config["POSTER_DIR"] = str(tmp_path / "posters")
    started = client.post(
        "/api/v1/poster-batches", json={"level": "community", "place_id": place.id}, headers=staff
    )
    assert started.status_code == 202, started.json
    batch_url = started.headers["Location"]
    batch = client.get(batch_url, headers=staff).json
    assert (batch["status"], batch["done"], batch["total"]) == ("done", 3, 3)  # inline

    download = client.get(batch["download"], headers=staff)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    listed = list(csv.reader(io.StringIO(archive.read("清单.csv").decode("utf-8-sig"))))
    assert listed[0] == ["街道", "社区", "小区", "二维码地址", "海报文件"]
    assert sorted(row[2] for row in listed[1:]) == ["东湖小区", "望江花园", "锦江苑"]
    for _, _, name, url, filename in listed[1:]:
        link = _db.session.scalar(
            sa.select(ShortLink).where(ShortLink.code == url.rsplit("/", 1)[1])
        )
        assert link.rotated_at is None and link.target.value == "compound"
        pdf = tmp_path / f"{link.compound_id}.pdf"
        pdf.write_bytes(archive.read(filename))
        assert decode_qr(pdf_pages(pdf)[0]) == [url], name

    # running the job again changes nothing: same file, same links
    before = (
        tasks.batch_path(_db.session.get(PosterBatch, batch["id"])).stat().st_mtime_ns,
        _db.session.scalar(sa.select(sa.func.count(ShortLink.id))),
    )
    tasks.build_batch(batch["id"])
    after = (
        tasks.batch_path(_db.session.get(PosterBatch, batch["id"])).stat().st_mtime_ns,
        _db.session.scalar(sa.select(sa.func.count(ShortLink.id))),
    )
    assert before == after


def test_an_interrupted_batch_runs_again_with_the_same_links(
    client, board, community, tmp_path, app
):
    place, staff = community
    app.config["POSTER_DIR"] = str(tmp_path / "posters")
    batch_id = client.post(
        "/api/v1/poster-batches", json={"level": "community", "place_id": place.id}, headers=staff
    ).json["id"]
    batch = _db.session.get(PosterBatch, batch_id)
    first = tasks.batch_path(batch).read_bytes()
    urls = set(
        re.findall(
            rb"http://localhost/c/[a-z0-9]{8}", zipfile.ZipFile(io.BytesIO(first)).read("清单.csv")
        )
    )
    # as if its worker died: the row says running and the file is gone
    batch.status = tasks.BatchStatus.RUNNING
    tasks.batch_path(batch).unlink()
    tasks.build_batch(batch_id)
    again = tasks.batch_path(batch).read_bytes()
    assert (
        set(
            re.findall(
                rb"http://localhost/c/[a-z0-9]{8}",
                zipfile.ZipFile(io.BytesIO(again)).read("清单.csv"),
            )
        )
        == urls
    )
    assert len(urls) == 3


def test_batches_stay_within_the_callers_places(client, board, community):
    place, staff = community
    body = {"level": "community", "place_id": place.id}
    # a compound committee does not cover its community; nor does another community's staff
    assert client.post("/api/v1/poster-batches", json=body, headers=board.staff).status_code == 404
    assert (
        client.post(
            "/api/v1/poster-batches", json={**body, "place_id": 99999}, headers=staff
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/poster-batches", json={**body, "level": "planet"}, headers=staff
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/poster-batches", json=body, headers=board.resident_1).status_code
        == 403
    )
    assert _db.session.scalar(sa.select(sa.func.count(PosterBatch.id))) == 0


@pytest.mark.redis
@pytest.mark.postgres
def test_on_a_worker_the_batch_reports_its_progress_through_the_api(live_worker, tmp_path):
    """Real processes: the API queues the batch on Redis, a `flask worker` builds it, and the
    batch's address shows ``done`` rising to ``total`` on the way."""
    import time

    from participation.auth.models import RoleAssignment, StaffUser, SubjectKind
    from participation.auth.tokens import issue_tokens
    from participation.roster.models import Community, Compound, District, Street

    folder = str(tmp_path / "posters")
    app, start_worker = live_worker(
        "poster_batches", {"PARTICIPATION_POSTER_DIR": folder}, {"POSTER_DIR": folder}
    )
    with app.app_context():
        community = Community(street=Street(district=District(name="区"), name="街道"), name="社区")
        _db.session.add_all(Compound(community=community, name=f"小区{n}") for n in range(25))
        staff = StaffUser(username="community", password_hash="x", display_name="社区")
        staff.roles.append(RoleAssignment(role=Role.COMMUNITY, scope_id=0))
        _db.session.add(staff)
        _db.session.flush()
        staff.roles[0].scope_id = community.id
        _db.session.commit()
        with app.test_request_context():
            token = issue_tokens(SubjectKind.STAFF, staff.id)["access_token"]
        _db.session.commit()
        community_id = community.id
    # Requests from here on, outside the set-up's app context: each has its own session.
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    body = {"level": "community", "place_id": community_id}
    started = client.post("/api/v1/poster-batches", json=body, headers=headers)
    assert started.status_code == 202, started.json
    assert (started.json["status"], started.json["done"], started.json["total"]) == (
        "queued",
        0,
        25,
    )
    again = client.post("/api/v1/poster-batches", json=body, headers=headers)
    assert again.status_code == 200 and again.json["id"] == started.json["id"]
    url = started.headers["Location"]
    assert client.get(f"{url}/download", headers=headers).json["code"] == "batch_not_done"

    start_worker(tmp_path / "worker.log")
    seen, deadline = [], time.monotonic() + 120
    while (batch := client.get(url, headers=headers).json)["status"] != "done":
        assert batch["status"] != "failed", batch
        assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
        seen.append(batch["done"])
        time.sleep(0.05)
    assert seen == sorted(seen)  # progress only rises
    assert any(0 < done < 25 for done in seen), seen  # and is seen on the way
    assert batch["done"] == batch["total"] == 25
    archive = zipfile.ZipFile(io.BytesIO(client.get(batch["download"], headers=headers).data))
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == 25
