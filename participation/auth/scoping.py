"""Authorisation in one place: which places and compounds a caller may reach.

Every query for a scoped object goes through these functions. An object outside the caller's
scope is answered with 404, exactly like one that does not exist, so ids leak nothing.
Staff see the compounds under their roles (admin: all; district / street / community staff:
their area; compound committee: their compound). Residents have no staff scope at all, so
staff endpoints that take an id answer them 404 too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request
from flask_jwt_extended import jwt_required, verify_jwt_in_request
from sqlalchemy import Select, false, or_, select
from werkzeug.exceptions import HTTPException

from participation.auth.models import Role, Tenancy
from participation.auth.tokens import Principal, check_session, current_principal
from participation.common.errors import ApiError, forbidden, not_found
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Dwelling, Owner, Street

T = TypeVar("T")


def require_staff(principal: Principal) -> Principal:
    if not principal.is_staff:
        raise forbidden("仅限工作人员使用", code="staff_only")
    return principal


def require_resident(principal: Principal) -> Principal:
    if not principal.is_resident:
        raise forbidden("仅限居民使用", code="resident_only")
    return principal


def staff_only(view):
    """Method decorator, put above the argument decorators (the class being
    ``jwt_required``): a resident is refused (403) before the request's arguments are read,
    not told what is wrong with a body they may not send."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        require_staff(current_principal())
        return view(*args, **kwargs)

    return wrapper


def resident_only(view):
    """As :func:`staff_only`, for residents."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        require_resident(current_principal())
        return view(*args, **kwargs)

    return wrapper


def is_committee(principal: Principal, compound_id: int) -> bool:
    """Committee staff of that compound: they act on its campaigns (publish results, decide
    on proxies, enter paper ballots) and see full names and phones. Staff of areas above
    may only look (masked)."""
    return principal.is_staff and compound_id in principal.ids_for(Role.COMPOUND)


def require_committee(principal: Principal, compound_id: int) -> None:
    if not is_committee(principal, compound_id):
        raise forbidden("仅限本小区业委会工作人员操作", code="committee_only")


def resident_compound_ids(account_id):
    """Compounds where the resident owns (linked owner) or rents a dwelling (``account_id``:
    an id or a bind parameter)."""
    owned = select(Owner.compound_id).where(Owner.account_id == account_id)
    rented = (
        select(Dwelling.compound_id)
        .join(Tenancy, Tenancy.dwelling_id == Dwelling.id)
        .where(Tenancy.account_id == account_id)
    )
    return owned.union(rented)


def compound_ids_in_scope(principal: Principal) -> Select:
    """``SELECT compounds.id`` for every compound the caller's staff roles cover."""
    stmt = select(Compound.id)
    if not principal.is_staff:
        return stmt.where(false())
    if principal.is_admin:
        return stmt
    return (
        stmt.join(Community, Compound.community_id == Community.id)
        .join(Street, Community.street_id == Street.id)
        .where(
            or_(
                Street.district_id.in_(principal.ids_for(Role.DISTRICT)),
                Community.street_id.in_(principal.ids_for(Role.STREET)),
                Compound.community_id.in_(principal.ids_for(Role.COMMUNITY)),
                Compound.id.in_(principal.ids_for(Role.COMPOUND)),
            )
        )
    )


def in_scope(stmt: Select, compound_id_column, principal: Principal) -> Select:
    """Restrict ``stmt`` to rows whose ``compound_id_column`` the caller may reach."""
    if principal.is_staff and principal.is_admin:
        return stmt
    return stmt.where(compound_id_column.in_(compound_ids_in_scope(principal)))


def get_compound(compound_id: int, principal: Principal) -> Compound:
    return get_scoped(Compound, compound_id, principal, column=Compound.id)


def get_scoped(model: type[T], object_id: int, principal: Principal, column=None) -> T:
    """Load ``model`` by id if its compound is in the caller's scope, else 404."""
    column = column if column is not None else model.compound_id
    stmt = in_scope(select(model).where(model.id == object_id), column, principal)
    obj = db.session.scalar(stmt)
    if obj is None:
        raise not_found()
    return obj


# Places above compounds -------------------------------------------------------------------


def place_covered(principal: Principal, level: Role, place_id: int) -> bool:
    """Whether the caller's roles cover the place ``place_id`` of ``level`` (a role over the
    place itself or over a place containing it)."""
    if not principal.is_staff:
        return False
    if principal.is_admin:
        return True
    if level is Role.COMPOUND:
        stmt = compound_ids_in_scope(principal).where(Compound.id == place_id)
        return db.session.scalar(stmt) is not None
    model, conditions = _place_conditions(principal, level)
    stmt = select(model.id).where(model.id == place_id, or_(*conditions))
    if level is Role.COMMUNITY:
        stmt = stmt.join(Street, Community.street_id == Street.id)
    return db.session.scalar(stmt) is not None


def covered_place_ids(principal: Principal, level: Role) -> Select:
    """``SELECT id`` of every place of ``level`` (district … compound) the caller's roles
    cover; for staff other than admin (admin covers everything)."""
    if level is Role.COMPOUND:
        return compound_ids_in_scope(principal)
    model, conditions = _place_conditions(principal, level)
    stmt = select(model.id).where(or_(*conditions))
    if level is Role.COMMUNITY:
        stmt = stmt.join(Street, Community.street_id == Street.id)
    return stmt


def _place_conditions(principal: Principal, level: Role):
    if level is Role.DISTRICT:
        return District, [District.id.in_(principal.ids_for(Role.DISTRICT))]
    if level is Role.STREET:
        return Street, [
            Street.district_id.in_(principal.ids_for(Role.DISTRICT)),
            Street.id.in_(principal.ids_for(Role.STREET)),
        ]
    return Community, [
        Street.district_id.in_(principal.ids_for(Role.DISTRICT)),
        Community.street_id.in_(principal.ids_for(Role.STREET)),
        Community.id.in_(principal.ids_for(Role.COMMUNITY)),
    ]


def get_place(model: type[T], level: Role, place_id: int, principal: Principal) -> T:
    """A district, street or community the caller covers, else 404."""
    obj = db.session.get(model, place_id)
    if obj is None or not place_covered(principal, level, place_id):
        raise not_found()
    return obj


def require_cover(principal: Principal, level: Role, place_id: int) -> None:
    """403 unless the caller's roles cover the place (for granting roles, creating places)."""
    if level is Role.ADMIN:
        if not principal.is_admin:
            raise forbidden("只有系统管理员可以授予管理员角色")
        return
    if not place_covered(principal, level, place_id):
        raise ApiError(403, "outside_scope", "该地区或小区不在您的管辖范围内")


# Path ids, resolved before anything else ---------------------------------------------------
#
# Every ``<int:…_id>`` in an API URL names a resolver here. Before the view runs (and before
# its body is validated) the caller is authenticated and each id is loaded through the
# caller's scope; what is out of scope is 404. Views take the loaded objects from
# ``path_object(name)``. A test checks that every URL argument has a resolver, so a new
# endpoint cannot forget its scope check. The one exception, ``resolved_in_view``, is the
# cast: its first statement finds the caller's persons in the vote, which is all it needs.

Resolver = Callable[[int, Principal], object]
_RESOLVERS: dict[str, Resolver] = {}
PUBLIC_BLUEPRINTS: set[str] = set()


def path_resolver(name: str) -> Callable[[Resolver], Resolver]:
    def register(func: Resolver) -> Resolver:
        if name in _RESOLVERS:
            raise RuntimeError(f"two resolvers for path argument {name!r}")
        _RESOLVERS[name] = func
        return func

    return register


def has_resolver(name: str) -> bool:
    return name in _RESOLVERS


def resolve_path_objects() -> None:
    """``before_request`` hook for the API: authenticate and load every scoped path id."""
    if request.method == "OPTIONS":  # answered by Flask (CORS preflight): no token, no body
        return
    if not request.view_args or request.blueprint in PUBLIC_BLUEPRINTS:
        return
    view = current_app.view_functions[request.endpoint]
    own = getattr(getattr(view, "view_class", None), "resolved_in_view", ())
    names = [name for name in request.view_args if name in _RESOLVERS and name not in own]
    if not names:
        return
    verify_jwt_in_request()
    principal = current_principal()
    loaded = g.setdefault("path_objects", {})
    for name in names:
        loaded[name] = _RESOLVERS[name](request.view_args[name], principal)


# A view's refusals after which its lookups answer 404 first: not a refused session (401).
REFUSALS_LOOKED_UP = frozenset(range(400, 500)) - {401}


def resolved_in_view(**lookups: Resolver):
    """Class decorator for an API view that finds the objects of some path ids through the
    caller's scope itself, in a statement it needs anyway (a round trip saved on the hot
    path): ``lookups`` maps each such id to a function that answers 404 as its resolver
    would, without its side effects. The hook leaves those ids alone; the view is
    authenticated (``jwt_required``); and when it refuses a request (4xx), the lookups run,
    so an id out of the caller's scope is still 404 before anything else, a bad body
    included. A view that checks the session itself (``tokens.session_checked_in_view``)
    is 401 first for a refused session, whatever else it refuses. (No resolver runs there:
    the view's locks are still held.)"""

    def look_up_on_refusal(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except HTTPException as refusal:
                if refusal.code in REFUSALS_LOOKED_UP:
                    principal = current_principal()
                    if not principal.session_checked:  # refused before its statement ran
                        check_session(principal)
                    for name, lookup in lookups.items():
                        lookup(request.view_args[name], principal)
                raise

        return wrapper

    def decorate(cls):
        cls.resolved_in_view = tuple(lookups)
        cls.decorators = [*cls.decorators, look_up_on_refusal, jwt_required()]
        return cls

    return decorate


def path_object(name: str):
    """The object loaded for path argument ``name`` by :func:`resolve_path_objects`."""
    return g.path_objects[name]


@path_resolver("compound_id")
def _compound(compound_id: int, principal: Principal) -> Compound:
    return get_compound(compound_id, principal)


@path_resolver("district_id")
def _district(district_id: int, principal: Principal) -> District:
    return get_place(District, Role.DISTRICT, district_id, principal)


@path_resolver("street_id")
def _street(street_id: int, principal: Principal) -> Street:
    return get_place(Street, Role.STREET, street_id, principal)


@path_resolver("community_id")
def _community(community_id: int, principal: Principal) -> Community:
    return get_place(Community, Role.COMMUNITY, community_id, principal)
