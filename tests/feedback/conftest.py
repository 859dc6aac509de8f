"""A compound under renovation and the people around its tickets: an owner and a tenant,
the committee, the community's staff, a contractor, and a neighbouring compound with its own
resident and committee."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image

from participation.auth.models import Role


@dataclass
class Works:
    compound: object
    other: object
    building_1: int
    entrance_1: int
    owner: dict  # owns 1栋1单元101
    owner_id: int
    tenant: dict  # rents 3栋1单元301
    committee: dict
    committee_id: int
    community: dict  # staff of the community (covers both compounds)
    contractor: dict
    contractor_id: int
    other_contractor: dict
    neighbour: dict  # owns in the other compound
    neighbour_committee: dict


@pytest.fixture
def works(db, make_compound, make_dwelling, make_staff, make_account, sign_in):
    from participation.auth.models import Tenancy
    from participation.extensions import db as _db

    compound = make_compound("望江花园")
    other = make_compound("锦江苑", community=compound.community)
    owner_account, tenant_account, neighbour_account = (make_account() for _ in range(3))
    owner = make_dwelling.owner(compound, "张三")
    owner.account_id = owner_account.id
    d1 = make_dwelling(compound, "1", "1", "101", owners=[owner])
    d3 = make_dwelling(compound, "3", "1", "301", owners=[make_dwelling.owner(compound, "李四")])
    _db.session.add(Tenancy(account_id=tenant_account.id, dwelling_id=d3.id))
    neighbour = make_dwelling.owner(other, "王五")
    neighbour.account_id = neighbour_account.id
    make_dwelling(other, "1", "1", "101", owners=[neighbour])
    _db.session.flush()
    committee = make_staff(Role.COMPOUND, compound.id)
    contractor = make_staff(Role.CONTRACTOR, compound.id)
    return Works(
        compound=compound,
        other=other,
        building_1=d1.building_id,
        entrance_1=d1.entrance_id,
        owner=sign_in(owner_account),
        owner_id=owner_account.id,
        tenant=sign_in(tenant_account),
        committee=sign_in(committee),
        committee_id=committee.id,
        community=sign_in(make_staff(Role.COMMUNITY, compound.community_id)),
        contractor=sign_in(contractor),
        contractor_id=contractor.id,
        other_contractor=sign_in(make_staff(Role.CONTRACTOR, other.id)),
        neighbour=sign_in(neighbour_account),
        neighbour_committee=sign_in(make_staff(Role.COMPOUND, other.id)),
    )


def jpeg(width: int = 64, height: int = 48, color=(200, 40, 40), exif=None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", exif=exif or b"")
    return out.getvalue()


@pytest.fixture
def categories(client, works):
    """The compound's categories (the district's defaults) by name."""
    listed = client.get(f"/api/v1/public/compounds/{works.compound.id}/ticket-categories")
    assert listed.status_code == 200, listed.json
    return {category["name"]: category["id"] for category in listed.json}


@pytest.fixture
def file_ticket(client, works, categories):
    """``file_ticket(headers=works.owner, photos=[bytes…], **fields)`` → the response."""

    def file(headers=None, photos=(), **fields):
        form = {
            "compound_id": str(works.compound.id),
            "category_id": str(categories["施工安全"]),
            "description": "3栋北侧脚手架没有防护网，有砖块掉落。",
            **{key: str(value) for key, value in fields.items()},
        }
        data = {**form, "photos": [(io.BytesIO(p), f"photo{i}.jpg") for i, p in enumerate(photos)]}
        return client.post(
            "/api/v1/me/tickets",
            data=data,
            headers=headers or works.owner,
            content_type="multipart/form-data",
        )

    file.categories = categories
    return file
