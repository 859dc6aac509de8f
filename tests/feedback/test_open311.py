"""Open311 GeoReport v2: the spec's example round trip, its fields and filters, its errors,
idempotent external ids, no personal data out, and the district's API keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from participation.auth.models import Notification, Role, SubjectKind
from participation.extensions import db as _db
from participation.feedback.models import (
    ActorKind,
    Open311Key,
    Source,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from participation.roster.models import Building

V2 = "/open311/v2"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
REQUEST_ORDER = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
# What the spec's example request carries about the person: none of it may be kept or shown.
PERSONAL = ("smit333", "sfgov.edu", "tt222111", "john", "smith", "111111111", "flickr")


@dataclass
class City:
    district_id: int
    compound: object
    neighbour: object  # same community, same district
    far: object  # another district
    key: str
    key_id: int
    far_key: str
    district_staff: dict
    far_staff: dict
    committee: dict
    committee_id: int
    handler_id: int


@pytest.fixture
def city(client, make_compound, make_dwelling, make_staff, sign_in):
    compound = make_compound("望江花园")
    neighbour = make_compound("锦江苑", community=compound.community)
    far = make_compound("远山小区")
    make_dwelling(compound, "3", "1", "301", owners=[make_dwelling.owner(compound, "李四海")])
    district_id = compound.community.street.district_id
    far_district_id = far.community.street.district_id
    district_staff = sign_in(make_staff(Role.DISTRICT, district_id))
    far_staff = sign_in(make_staff(Role.DISTRICT, far_district_id))
    committee = make_staff(Role.COMPOUND, compound.id)
    handler = make_staff(Role.COMMUNITY, compound.community_id)
    made = client.post(
        f"/api/v1/districts/{district_id}/open311-keys",
        json={"name": "12345 市民热线"},
        headers=district_staff,
    )
    assert made.status_code == 201, made.json
    far_made = client.post(
        f"/api/v1/districts/{far_district_id}/open311-keys",
        json={"name": "远区热线"},
        headers=far_staff,
    )
    assert far_made.status_code == 201, far_made.json
    return City(
        district_id=district_id,
        compound=compound,
        neighbour=neighbour,
        far=far,
        key=made.json["api_key"],
        key_id=made.json["id"],
        far_key=far_made.json["api_key"],
        district_staff=district_staff,
        far_staff=far_staff,
        committee=sign_in(committee),
        committee_id=committee.id,
        handler_id=handler.id,
    )


def spec_example(city: City, **changes) -> dict:
    """The spec's example POST, for our jurisdiction, service and attributes."""
    fields = {
        "api_key": city.key,
        "jurisdiction_id": str(city.district_id),
        "service_code": "safety",
        "lat": "37.76524078",
        "long": "-122.4212043",
        "address_string": "3栋北侧消防通道",
        "email": "smit333@sfgov.edu",
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "john",
        "last_name": "smith",
        "phone": "111111111",
        "description": "脚手架没有防护网，有砖块掉落",
        "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        "attribute[compound]": str(city.compound.id),
        "attribute[building]": "3栋",
        "attribute[WHISDORN]": "COISL001",
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def post(client, fields: dict, fmt: str = "json"):
    return client.post(f"{V2}/requests.{fmt}", data=urlencode(fields), content_type=FORM)


def file(client, city: City, **changes) -> int:
    response = post(client, spec_example(city, **changes))
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.json[0]["service_request_id"])


def get(client, path: str, **args):
    return client.get(f"{V2}/{path}", query_string=args)


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json
    assert isinstance(body, list) and len(body) == 1
    assert set(body[0]) == {"code", "description"} and body[0]["code"] == status
    return body[0]["description"]


# Discovery and services -----------------------------------------------------------------------


def test_discovery(client, db):
    response = client.get(f"{V2}/discovery.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["type"] == "production"
    assert endpoint["url"].endswith("/open311/v2")
    assert "application/json" in endpoint["formats"]
    xml = ElementTree.fromstring(client.get(f"{V2}/discovery.xml").data)
    assert xml.tag == "discovery"
    assert xml.find("endpoints/endpoint/specification").text == endpoint["specification"]


def test_services_of_the_district(client, city):
    response = get(client, "services.json", jurisdiction_id=str(city.district_id))
    assert response.status_code == 200
    services = response.json
    assert isinstance(services, list) and len(services) >= 8
    keys = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    for service in services:
        assert set(service) == keys
        assert isinstance(service["service_code"], str)
        assert service["metadata"] is True and service["type"] == "realtime"
    assert {"code": "safety", "name": "施工安全"} in [
        {"code": s["service_code"], "name": s["service_name"]} for s in services
    ]
    xml = ElementTree.fromstring(get(client, "services.xml", jurisdiction_id=city.district_id).data)
    assert xml.tag == "services" and xml.find("service/metadata").text == "true"


def test_jurisdiction_is_required_and_must_exist(client, city):
    assert "jurisdiction_id" in assert_error(get(client, "services.json"), 400)
    assert_error(get(client, "services.json", jurisdiction_id="999999"), 404)
    assert_error(get(client, "services.json", jurisdiction_id="sfgov.org"), 404)
    assert_error(get(client, "services.json", jurisdiction_id="99999999999999"), 404)
    assert_error(get(client, "requests.json"), 400)
    assert_error(get(client, "requests.json", jurisdiction_id="999999"), 404)
    assert_error(get(client, "services/safety.json"), 400)


def test_service_definition(client, city):
    response = get(client, "services/safety.json", jurisdiction_id=str(city.district_id))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["service_code"] == "safety"
    attributes = {a["code"]: a for a in body["attributes"]}
    assert list(attributes) == ["compound", "building", "kind", "external_ref"]
    compound = attributes["compound"]
    assert compound["datatype"] == "singlevaluelist" and compound["required"] is True
    keys = {value["key"] for value in compound["values"]}
    assert keys == {str(city.compound.id), str(city.neighbour.id)}  # not the far district's
    assert attributes["building"]["datatype"] == "string"
    assert attributes["building"]["required"] is False
    assert {v["key"] for v in attributes["kind"]["values"]} == {
        "complaint",
        "suggestion",
        "praise",
    }
    assert [a["order"] for a in body["attributes"]] == [1, 2, 3, 4]
    for attribute in body["attributes"]:
        assert attribute["variable"] is True and "datatype_description" in attribute
    xml = ElementTree.fromstring(
        get(client, "services/safety.xml", jurisdiction_id=city.district_id).data
    )
    assert xml.tag == "service_definition"
    assert xml.find("attributes/attribute/values/value/key").text in keys
    assert_error(get(client, "services/nope.json", jurisdiction_id=city.district_id), 404)
    assert_error(get(client, "services/safety.txt", jurisdiction_id=city.district_id), 404)


# Posting and reading back ---------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["3号楼", "3栋", "3", "03号楼", "３栋"])
def test_the_building_attribute_matches_by_key_whatever_the_stored_name(client, city, typed):
    """The roster named the building "3号楼": "3栋", "3" and the rest still find it."""
    building = _db.session.scalar(
        sa.select(Building).filter_by(compound_id=city.compound.id, number="3")
    )
    building.name = "3号楼"
    _db.session.flush()
    ticket = _db.session.get(Ticket, file(client, city, **{"attribute[building]": typed}))
    assert ticket.building_id == building.id


def test_the_spec_example_round_trip(client, city):
    raw = urlencode(spec_example(city))
    assert "attribute%5Bcompound%5D=" in raw  # attribute[…] as the spec writes it
    response = client.post(f"{V2}/requests.json", data=raw, content_type=FORM)
    assert response.status_code == 201, response.json
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    (created,) = response.json
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["account_id"] is None
    ticket_id = created["service_request_id"]
    assert isinstance(ticket_id, str)

    ticket = _db.session.get(Ticket, int(ticket_id))
    assert ticket.source is Source.OPEN311 and ticket.reporter_id is None
    assert ticket.compound_id == city.compound.id
    assert ticket.location_text == "3栋北侧消防通道"
    assert ticket.lat == Decimal("37.765241") and ticket.lng == Decimal("-122.421204")
    assert ticket.building_id is not None and ticket.status is TicketStatus.SUBMITTED
    assert ticket.ack_due_at > ticket.created_at and ticket.resolve_due_at > ticket.ack_due_at
    stored = " ".join(str(value) for value in ticket.__dict__.values())
    assert not any(word in stored for word in PERSONAL)
    (event,) = _db.session.scalars(sa.select(TicketEvent).filter_by(ticket_id=ticket.id))
    assert (event.action, event.actor_kind, event.actor_id) == (
        "file",
        ActorKind.OPEN311,
        city.key_id,
    )
    told = _db.session.scalars(
        sa.select(Notification.recipient_id).filter_by(
            recipient_kind=SubjectKind.STAFF, kind="ticket_filed"
        )
    ).all()
    assert city.committee_id in told

    listed = get(client, "requests.json", jurisdiction_id=str(city.district_id))
    assert listed.status_code == 200
    (view,) = listed.json
    assert list(view) == REQUEST_ORDER  # the spec's order
    assert view["service_request_id"] == ticket_id
    assert view["status"] == "open" and view["status_notes"] == "已提交"
    assert (view["service_code"], view["service_name"]) == ("safety", "施工安全")
    assert view["description"] == "脚手架没有防护网，有砖块掉落"
    assert view["address"] == "望江花园 3栋 3栋北侧消防通道"
    assert (view["lat"], view["long"]) == (37.765241, -122.421204)
    for key in ("agency_responsible", "service_notice", "address_id", "zipcode", "media_url"):
        assert view[key] is None
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert view[key].endswith("+08:00") and datetime.fromisoformat(view[key]).tzinfo
    one = get(client, f"requests/{ticket_id}.json", jurisdiction_id=str(city.district_id))
    assert one.status_code == 200 and one.json == [view]
    xml = ElementTree.fromstring(
        get(client, f"requests/{ticket_id}.xml", jurisdiction_id=city.district_id).data
    )
    assert xml.tag == "service_requests"
    assert xml.find("request/service_request_id").text == ticket_id
    assert xml.find("request/zipcode").text is None

    everything = "".join(
        client.get(url).get_data(as_text=True)
        for url in (
            f"{V2}/requests.json?jurisdiction_id={city.district_id}",
            f"{V2}/requests.xml?jurisdiction_id={city.district_id}",
            f"{V2}/requests/{ticket_id}.json?jurisdiction_id={city.district_id}",
        )
    )
    assert not any(word in everything for word in PERSONAL)
    assert "123456" not in everything


def test_moves_show_as_open_then_closed_with_their_notes(client, city):
    ticket_id = file(client, city)
    url = f"/api/v1/tickets/{ticket_id}"
    moved = client.post(
        f"{url}/assignment",
        json={"handler_id": city.handler_id, "note": ""},
        headers=city.committee,
    )
    assert moved.status_code == 200, moved.json
    for action, note in (
        ("acknowledge", ""),
        ("resolve", "已加装防护网，联系人李四海 13812345678"),
    ):
        moved = client.post(
            f"{url}/actions", json={"action": action, "note": note}, headers=city.committee
        )
        assert moved.status_code == 200, moved.json
    (view,) = get(client, f"requests/{ticket_id}.json", jurisdiction_id=city.district_id).json
    assert view["status"] == "closed"
    assert view["status_notes"].startswith("已办结，待居民确认：已加装防护网")
    assert "李四海" not in view["status_notes"] and "13812345678" not in view["status_notes"]
    assert view["agency_responsible"]  # the handler's display name
    ticket = _db.session.get(Ticket, ticket_id)
    assert view["updated_datetime"] == ticket.updated_at.astimezone(
        datetime.fromisoformat(view["updated_datetime"]).tzinfo
    ).isoformat(timespec="seconds")
    # past the confirmation period the ticket is closed when read, sweep or not
    ticket.confirm_due_at = datetime.now(UTC) - timedelta(minutes=1)
    _db.session.flush()
    (view,) = get(client, f"requests/{ticket_id}.json", jurisdiction_id=city.district_id).json
    assert view["status"] == "closed" and view["status_notes"].startswith("已关闭")


def test_personal_data_in_free_text_is_masked(client, city):
    ticket_id = file(client, city, description="李四海家门口堆料，电话13812345678\x07")
    (view,) = get(client, f"requests/{ticket_id}.json", jurisdiction_id=city.district_id).json
    assert "13812345678" not in view["description"] and "李四海" not in view["description"]
    xml = get(client, f"requests/{ticket_id}.xml", jurisdiction_id=city.district_id)
    description = ElementTree.fromstring(xml.data).find("request/description").text
    assert description.startswith("李**家门口堆料") and "\x07" not in description


def test_media_url_is_the_first_public_photo(client, city):
    from participation.feedback.models import TicketPhoto
    from participation.feedback.storage import photo_storage

    ticket_id = file(client, city)
    (view,) = get(client, f"requests/{ticket_id}.json", jurisdiction_id=city.district_id).json
    assert view["media_url"] is None
    photos = []
    for position, public in ((1, False), (2, True), (3, True)):
        key = f"tickets/open311/{ticket_id}-{position}"
        photo_storage().put(f"{key}.jpg", b"\xff\xd8\xff")
        photo_storage().put(f"{key}-t.jpg", b"\xff\xd8\xff")
        photos.append(
            TicketPhoto(
                ticket_id=ticket_id,
                position=position,
                key=f"{key}.jpg",
                thumbnail_key=f"{key}-t.jpg",
                width=1,
                height=1,
                size=3,
                sha256="0" * 64,
                public=public,
            )
        )
    _db.session.add_all(photos)
    _db.session.flush()
    (view,) = get(client, f"requests/{ticket_id}.json", jurisdiction_id=city.district_id).json
    assert view["media_url"] == f"http://localhost/api/v1/public/ticket-photos/{photos[1].id}"
    fetched = client.get(view["media_url"].removeprefix("http://localhost"))
    assert fetched.status_code == 200 and fetched.data == b"\xff\xd8\xff"


def test_external_ids_are_idempotent(client, city):
    first = post(client, spec_example(city, external_id="12345-2026-000001"))
    again = post(client, spec_example(city, external_id="12345-2026-000001", description="再报"))
    assert first.status_code == 201 and again.status_code == 200, again.json
    assert first.json[0]["service_request_id"] == again.json[0]["service_request_id"]
    as_attribute = post(
        client, spec_example(city, **{"attribute[external_ref]": "12345-2026-000001"})
    )
    assert as_attribute.json[0]["service_request_id"] == first.json[0]["service_request_id"]
    count = _db.session.scalar(
        sa.select(sa.func.count(Ticket.id)).where(Ticket.external_ref == "12345-2026-000001")
    )
    assert count == 1
    other = post(client, spec_example(city, external_id="12345-2026-000002"))
    assert other.status_code == 201
    assert other.json[0]["service_request_id"] != first.json[0]["service_request_id"]
    assert_error(post(client, spec_example(city, external_id="x" * 65)), 400)
    # the same reference from another district's system does not reach this district's ticket
    far = spec_example(
        city,
        api_key=city.far_key,
        jurisdiction_id=str(city.far.community.street.district_id),
        **{"attribute[compound]": str(city.far.id), "attribute[building]": None},
        external_id="12345-2026-000001",
    )
    assert_error(post(client, far), 400)


def test_posting_errors(client, city):
    example = spec_example(city)
    assert "api_key" in assert_error(post(client, spec_example(city, api_key=None)), 403)
    assert_error(post(client, spec_example(city, api_key="xyz")), 403)
    assert_error(post(client, spec_example(city, api_key=city.far_key)), 403)
    assert_error(post(client, spec_example(city, jurisdiction_id=None)), 400)
    assert_error(post(client, spec_example(city, jurisdiction_id="999999")), 404)
    assert_error(post(client, spec_example(city, service_code=None)), 400)
    assert_error(post(client, spec_example(city, service_code="001")), 404)
    bad = [
        {"attribute[compound]": None},
        {"attribute[compound]": str(city.far.id)},
        {"attribute[compound]": "abc"},
        {"attribute[compound]": "1e3"},
        {"attribute[building]": "99栋"},
        {"attribute[kind]": "threat"},
        {"lat": None, "long": None, "address_string": None},
        {"long": None},
        {"lat": "91", "long": "0"},
        {"lat": "nan", "long": "1"},
        {"lat": "Infinity", "long": "1"},
        {"lat": "north", "long": "1"},
        {"lat": "1" * 400, "long": "1"},
        {"description": None},
        {"description": "   "},
        {"description": "坑" * 2001},
        {"address_string": "路" * 201},
        {"description": "nul\x00byte"},
    ]
    for changes in bad:
        assert_error(post(client, spec_example(city, **changes)), 400), changes
    assert _db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0
    # a location by address only, and by point only, are both enough
    assert post(client, spec_example(city, lat=None, long=None)).status_code == 201
    assert post(client, spec_example(city, address_string=None)).status_code == 201
    # a revoked key stops working
    revoked = client.delete(f"/api/v1/open311-keys/{city.key_id}", headers=city.district_staff)
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert_error(post(client, example), 403)


def test_errors_in_xml_when_asked(client, city):
    response = post(client, spec_example(city, api_key="xyz"), fmt="xml")
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    xml = ElementTree.fromstring(response.data)
    assert xml.tag == "errors" and xml.find("error/code").text == "403"


# Filters ---------------------------------------------------------------------------------------


def _backdate(ticket_id: int, days: int) -> None:
    ticket = _db.session.get(Ticket, ticket_id)
    ticket.created_at = ticket.created_at - timedelta(days=days)
    _db.session.flush()


def ids(response) -> set[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {int(view["service_request_id"]) for view in response.json}


def test_filters(client, city):
    jid = str(city.district_id)
    recent = file(client, city)
    quality = file(client, city, service_code="quality")
    old = file(client, city)
    _backdate(old, 100)
    closed = file(client, city)
    ticket = _db.session.get(Ticket, closed)
    ticket.status = TicketStatus.REJECTED
    _db.session.flush()
    far = post(
        client,
        spec_example(
            city,
            api_key=city.far_key,
            jurisdiction_id=str(city.far.community.street.district_id),
            **{"attribute[compound]": str(city.far.id), "attribute[building]": None},
        ),
    )
    assert far.status_code == 201

    assert ids(get(client, "requests.json", jurisdiction_id=jid)) == {recent, quality, closed}
    assert ids(get(client, "requests.json", jurisdiction_id=jid, status="open")) == {
        recent,
        quality,
    }
    assert ids(get(client, "requests.json", jurisdiction_id=jid, status="closed")) == {closed}
    assert ids(get(client, "requests.json", jurisdiction_id=jid, status="open,closed")) == {
        recent,
        quality,
        closed,
    }
    assert ids(get(client, "requests.json", jurisdiction_id=jid, service_code="quality")) == {
        quality
    }
    assert ids(
        get(client, "requests.json", jurisdiction_id=jid, service_code="quality,safety")
    ) == {recent, quality, closed}
    now = datetime.now(UTC)
    window = {
        "start_date": (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (now - timedelta(days=50)).isoformat(timespec="seconds"),
    }
    assert ids(get(client, "requests.json", jurisdiction_id=jid, **window)) == {old}
    start_only = (now - timedelta(days=101)).isoformat(timespec="seconds")
    assert ids(get(client, "requests.json", jurisdiction_id=jid, start_date=start_only)) == {old}
    # the id list overrides every other filter, and stays in the jurisdiction
    by_ids = f"{old},{closed},{int(far.json[0]['service_request_id'])}"
    assert ids(
        get(client, "requests.json", jurisdiction_id=jid, service_request_id=by_ids, status="open")
    ) == {old, closed}
    # empty arguments are as if not passed
    assert ids(
        get(client, "requests.json", jurisdiction_id=jid, status="", service_code="", start_date="")
    ) == {recent, quality, closed}

    too_long = {
        "start_date": "2026-01-01T00:00:00+08:00",
        "end_date": "2026-04-02T00:00:00+08:00",  # 91 days
    }
    assert "90 days" in assert_error(
        get(client, "requests.json", jurisdiction_id=jid, **too_long), 400
    )
    just_90 = {**too_long, "end_date": "2026-04-01T00:00:00+08:00"}
    assert get(client, "requests.json", jurisdiction_id=jid, **just_90).status_code == 200
    for bad in (
        {"start_date": "2026-01-01"},
        {"start_date": "2026-01-01T00:00:00"},  # no offset
        {"start_date": "yesterday"},
        {"start_date": "0001-01-01T00:00:00Z"},
        {"end_date": "9999-12-31T23:59:59+14:00"},
        {"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"},
        {"status": "pending"},
        {"service_request_id": "abc"},
        {"service_request_id": "1,-2"},
        {"service_request_id": "99999999999999"},
        {"service_request_id": ",".join(["1"] * 1001)},
    ):
        assert_error(get(client, "requests.json", jurisdiction_id=jid, **bad), 400)


def test_one_request_stays_in_its_jurisdiction(client, city):
    ticket_id = file(client, city)
    far_jid = str(city.far.community.street.district_id)
    assert_error(get(client, f"requests/{ticket_id}.json", jurisdiction_id=far_jid), 404)
    assert_error(get(client, "requests/999999.json", jurisdiction_id=city.district_id), 404)
    assert_error(get(client, "requests/abc.json", jurisdiction_id=city.district_id), 404)
    assert_error(get(client, f"requests/{ticket_id}.json"), 400)


def test_tokens_are_not_issued(client, city):
    description = assert_error(
        get(client, "tokens/12345.json", jurisdiction_id=city.district_id), 404
    )
    assert "token" in description


# The keys --------------------------------------------------------------------------------------


def test_keys_are_kept_hashed_and_listed_without_them(client, city):
    key = _db.session.get(Open311Key, city.key_id)
    assert key.key_hash != city.key and city.key not in key.key_hash
    assert len(city.key) >= 32
    listed = client.get(
        f"/api/v1/districts/{city.district_id}/open311-keys", headers=city.district_staff
    )
    assert listed.status_code == 200
    (one,) = listed.json
    assert set(one) == {"id", "district_id", "name", "created_at", "revoked_at"}
    assert city.key not in listed.get_data(as_text=True)


def test_keys_are_the_district_staff_s(client, city, make_staff, sign_in):
    url = f"/api/v1/districts/{city.district_id}/open311-keys"
    street = sign_in(make_staff(Role.STREET, city.compound.community.street_id))
    for headers in (city.far_staff, city.committee, street):
        assert client.get(url, headers=headers).status_code == 404
        assert client.post(url, json={"name": "x"}, headers=headers).status_code == 404
        refused = client.delete(f"/api/v1/open311-keys/{city.key_id}", headers=headers)
        assert refused.status_code == 404 and refused.json["code"] == "not_found"
    assert client.get(url).status_code == 401
    admin = sign_in(make_staff(Role.ADMIN))
    assert client.get(url, headers=admin).status_code == 200
    assert _db.session.get(Open311Key, city.key_id).revoked_at is None
    assert post(client, spec_example(city)).status_code == 201


# Concurrency (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.postgres
def test_the_same_external_id_posted_at_once_makes_one_ticket(race_app):
    """Threads posting the same reference together: one ticket, every answer names it."""
    import threading

    from participation.feedback.open311 import key_hash
    from participation.roster.models import Community, Compound, District, Street

    with race_app.app_context():
        district = District(name="竞态区")
        community = Community(street=Street(district=district, name="街道"), name="社区")
        compound = Compound(community=community, name="望江花园")
        _db.session.add_all([district, community, compound])
        _db.session.flush()
        _db.session.add(
            Open311Key(district_id=district.id, name="12345", key_hash=key_hash("race-key"))
        )
        _db.session.commit()
        fields = {
            "api_key": "race-key",
            "jurisdiction_id": str(district.id),
            "service_code": "safety",
            "address_string": "3栋北侧",
            "description": "脚手架没有防护网",
            "attribute[compound]": str(compound.id),
            "external_id": "12345-RACE-1",
        }
        _db.session.remove()
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    answers: list[tuple[int, str]] = []

    def run():
        client = race_app.test_client()
        barrier.wait()
        response = post(client, fields)
        answers.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=run) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == threads_n
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (threads_n - 1) + [201], answers
    ids = {json.loads(body)[0]["service_request_id"] for _, body in answers}
    assert len(ids) == 1
    with race_app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 1
        assert _db.session.scalar(sa.select(sa.func.count(TicketEvent.id))) == 1
        _db.session.remove()
