"""Short links and QR codes: each compound has a stable, random code that opens its H5 page;
a rotated code says where things moved; every QR image decodes to exactly the current link."""

from __future__ import annotations

import json
import re
import threading

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw

from participation.notices.links import ALPHABET, CODE_LENGTH
from participation.notices.models import ShortLink

BASE = "http://localhost/"


def compound_link(client, board, compound=None, headers=None) -> dict:
    compound = compound or board.compound
    response = client.get(f"/api/v1/compounds/{compound.id}/links", headers=headers or board.staff)
    assert response.status_code == 200, response.json
    return response.json[0]


def test_a_compound_has_one_stable_random_link(client, board):
    first = compound_link(client, board)
    assert re.fullmatch(f"[{ALPHABET}]{{{CODE_LENGTH}}}", first["code"])
    assert first["url"] == f"{BASE}c/{first['code']}"
    assert first["target"] == "compound" and first["current"] is True
    assert compound_link(client, board)["code"] == first["code"]
    again = client.post(
        f"/api/v1/compounds/{board.compound.id}/links", json={}, headers=board.staff
    )
    assert again.status_code == 200 and again.json["id"] == first["id"]
    # the neighbour's code is drawn independently: nothing to guess from ours
    neighbour = compound_link(client, board, board.other, board.neighbour_staff)
    assert neighbour["code"] != first["code"]


def _embedded(response) -> dict:
    """The JSON the page carries for its script (``<script type="application/json">``)."""
    html = response.get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="h5-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_link_opens_the_landing_page(client, board):
    """No redirect (one round trip less on a slow network): the page itself, carrying the
    compound's public data and board, and its canonical address to show."""
    link = compound_link(client, board)
    response = client.get(f"/c/{link['code']}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    data = _embedded(response)
    assert data["canonical"] == f"/h5/?compound={board.compound.id}"
    assert data["compound"]["id"] == board.compound.id
    assert data["compound"]["name"] == board.compound.name
    assert isinstance(data["notices"], list)
    assert link["lands_on"] == f"/h5/?compound={board.compound.id}"
    # exactly what the public API answers, so the page can use either
    api = client.get(f"/api/v1/public/compounds/{board.compound.id}").json
    assert data["compound"] == api


def test_a_rotated_code_points_to_the_new_one(client, board):
    old = compound_link(client, board)
    rotated = client.post(f"/api/v1/links/{old['id']}/rotate", headers=board.staff)
    assert rotated.status_code == 201
    new = rotated.json
    assert new["code"] != old["code"] and new["current"]

    moved = client.get(f"/c/{old['code']}")
    assert moved.status_code == 410
    page = moved.get_data(as_text=True)
    assert "二维码已更换" in page and f'href="/c/{new["code"]}"' in page
    assert client.get(f"/c/{new['code']}").status_code == 200

    # the old link's record says so; it cannot be printed or rotated again
    assert (
        client.get(f"/api/v1/links/{old['id']}", headers=board.staff).json["replaced_by_id"]
        == new["id"]
    )
    for suffix in ("qr.png", "qr.svg", "poster.png", "poster.pdf"):
        refused = client.get(f"/api/v1/links/{old['id']}/{suffix}", headers=board.staff)
        assert refused.status_code == 409 and refused.json["code"] == "link_rotated"
    again = client.post(f"/api/v1/links/{old['id']}/rotate", headers=board.staff)
    assert again.status_code == 409
    assert compound_link(client, board)["code"] == new["code"]

    # rotated twice: the first code leads to the newest one
    newest = client.post(f"/api/v1/links/{new['id']}/rotate", headers=board.staff).json
    assert f'href="/c/{newest["code"]}"' in client.get(f"/c/{old['code']}").get_data(as_text=True)


@pytest.mark.parametrize(
    "code", ["zzzzzzzz", "ABCDEFGH", "a", "abc/../x", "0000000o", "%00", "a" * 300]
)
def test_unknown_codes_get_a_clear_page(client, board, code):
    response = client.get(f"/c/{code}")
    assert response.status_code == 404
    assert "二维码无效" in response.get_data(as_text=True)


def test_a_campaign_or_notice_has_its_own_link(client, board):
    notice = client.post(
        f"/api/v1/compounds/{board.compound.id}/notices",
        json={"title": "改造方案公示", "public": True},
        headers=board.staff,
    ).json
    made = client.post(
        f"/api/v1/compounds/{board.compound.id}/links",
        json={"target": "notice", "target_id": notice["id"]},
        headers=board.staff,
    )
    assert made.status_code == 201
    landing = client.get(f"/c/{made.json['code']}")
    assert landing.status_code == 302
    assert landing.headers["Location"] == f"/notices/{notice['id']}"
    listed = client.get(f"/api/v1/compounds/{board.compound.id}/links", headers=board.staff).json
    assert [link["target"] for link in listed] == ["compound", "notice"]


def test_bad_link_requests(client, board):
    url = f"/api/v1/compounds/{board.compound.id}/links"
    for body in ({"target": "vote"}, {"target": "compound", "target_id": 1}, {"target": "x"}):
        response = client.post(url, json=body, headers=board.staff)
        assert response.status_code == 422, (body, response.json)
    # a notice of the neighbouring compound is not this compound's
    theirs = client.post(
        f"/api/v1/compounds/{board.other.id}/notices",
        json={"title": "锦江苑通知"},
        headers=board.neighbour_staff,
    ).json
    response = client.post(
        url, json={"target": "notice", "target_id": theirs["id"]}, headers=board.staff
    )
    assert response.status_code == 404
    link = compound_link(client, board)
    for suffix in ("", "/qr.png", "/qr.svg", "/poster.png", "/rotate"):
        method = "POST" if suffix == "/rotate" else "GET"
        response = client.open(
            f"/api/v1/links/{link['id']}{suffix}", method=method, headers=board.neighbour_staff
        )
        assert response.status_code == 404, suffix
        response = client.open(
            f"/api/v1/links/{link['id']}{suffix}", method=method, headers=board.resident_1
        )
        assert response.status_code in (403, 404), suffix
    assert (
        client.get(f"/api/v1/links/{link['id']}/qr.png?size=50", headers=board.staff).status_code
        == 422
    )
    assert (
        client.get(f"/api/v1/links/{link['id']}/qr.png?size=90000", headers=board.staff).status_code
        == 422
    )


def test_qr_png_decodes_to_exactly_the_link(client, board, tmp_path, decode_qr):
    link = compound_link(client, board)
    for size in (150, 600, 2000):
        response = client.get(f"/api/v1/links/{link['id']}/qr.png?size={size}", headers=board.staff)
        assert response.status_code == 200 and response.mimetype == "image/png"
        path = tmp_path / f"qr-{size}.png"
        path.write_bytes(response.data)
        with Image.open(path) as image:
            assert image.width == image.height <= size
            # the quiet zone: a white border of at least four modules all round
            pixels = image.convert("L")
            border = image.width // 12
            for x in range(image.width):
                for y in (*range(border), *range(image.height - border, image.height)):
                    assert pixels.getpixel((x, y)) == 255 and pixels.getpixel((y, x)) == 255
        assert decode_qr(path) == [link["url"]]


def svg_to_png(svg: bytes, path, scale: int = 4) -> None:
    """Rasterise the QR SVG (a white rect and a path of unit squares: M x,y H x2 V y2 H x z)."""
    text = svg.decode()
    view = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', text)
    width = round(float(view.group(1)) * scale)
    image = Image.new("L", (width, width), 255)
    draw = ImageDraw.Draw(image)
    path_data = re.search(r' d="([^"]+)"', text).group(1)
    for x, y, x2, y2 in re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", path_data):
        box = [round(float(v) * scale) for v in (x, y, x2, y2)]
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=0)
    image.save(path)


def test_qr_svg_decodes_to_exactly_the_link(client, board, tmp_path, decode_qr):
    link = compound_link(client, board)
    response = client.get(f"/api/v1/links/{link['id']}/qr.svg", headers=board.staff)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b'fill="white"' in response.data  # the quiet zone is white, not transparent
    svg_to_png(response.data, tmp_path / "qr.png")
    assert decode_qr(tmp_path / "qr.png") == [link["url"]]


def test_printed_links_use_the_configured_address(app, client, board, tmp_path, decode_qr):
    app.config["PUBLIC_BASE_URL"] = "https://canyu.example.gov.cn/"
    try:
        link = compound_link(client, board)
        assert link["url"] == f"https://canyu.example.gov.cn/c/{link['code']}"
        png = client.get(f"/api/v1/links/{link['id']}/qr.png", headers=board.staff).data
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    (tmp_path / "qr.png").write_bytes(png)
    assert decode_qr(tmp_path / "qr.png") == [link["url"]]


@pytest.mark.postgres
def test_two_committee_members_at_once_make_one_link(app, own_postgres_database):
    """Real threads on PostgreSQL, each with its own session, both asking for the first link."""
    from participation import create_app
    from participation.extensions import db
    from participation.notices import links
    from participation.notices.models import LinkTarget
    from participation.roster.models import Community, Compound, District, Street

    url = own_postgres_database("links")
    second = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with second.app_context():
        db.create_all()
        district = District(name="区")
        street = Street(district=district, name="街道")
        community = Community(street=street, name="社区")
        compound = Compound(community=community, name="望江花园")
        db.session.add(compound)
        db.session.commit()
        compound_id = compound.id
        db.session.remove()

    barrier = threading.Barrier(8)
    codes, errors = [], []

    def ask():
        try:
            with second.app_context():
                compound = db.session.get(Compound, compound_id)
                barrier.wait(timeout=10)
                link, _ = links.ensure_link(compound, LinkTarget.COMPOUND, None, None)
                db.session.commit()
                codes.append(link.code)
                db.session.remove()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(codes) == 8 and len(set(codes)) == 1
    with second.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ShortLink.id))) == 1
        db.session.remove()
        db.engine.dispose()


def test_codes_are_unguessable():
    from participation.notices.links import new_code

    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    # every character of the alphabet turns up in every position (no counter, no pattern)
    for position in range(CODE_LENGTH):
        assert {code[position] for code in codes} == set(ALPHABET)


def test_the_embedded_data_cannot_break_out_of_its_script_block(client, board):
    """A compound name is text typed by staff: inside the page it stays JSON data."""
    from participation.extensions import db

    name = '</script><script>alert("x")</script>'
    board.compound.name = name
    db.session.flush()
    link = compound_link(client, board)
    response = client.get(f"/c/{link['code']}")
    html = response.get_data(as_text=True)
    assert '<script>alert("x")' not in html
    scripts = html.count("<script src=")  # the page's own scripts (app.js, plan.js)
    assert scripts >= 1
    assert html.count("</script>") == 1 + scripts  # and the data block, nothing else
    assert _embedded(response)["compound"]["name"] == name
