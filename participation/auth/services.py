"""Sign-in (phone code, staff password), dwelling claims, staff accounts and the profile.

Functions take explicit arguments, flush, never commit: the routes commit.
"""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
import unicodedata
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select, delete, exists, false, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from participation.auth import ratelimit, sms, wechat
from participation.auth.models import (
    Account,
    ClaimKind,
    ClaimStatus,
    DwellingClaim,
    PhoneCode,
    Role,
    RoleAssignment,
    StaffUser,
    SubjectKind,
    Tenancy,
)
from participation.auth.scoping import (
    covered_place_ids,
    get_scoped,
    path_resolver,
    require_cover,
)
from participation.auth.tokens import Principal, revoke_sessions_of
from participation.common.errors import ApiError, conflict, invalid, not_found
from participation.common.privacy import keyed_hash, mask_name, mask_phone
from participation.common.types import utcnow
from participation.extensions import db
from participation.roster.models import (
    Building,
    Community,
    Compound,
    District,
    Dwelling,
    Entrance,
    Owner,
    Ownership,
    Street,
    building_key,
    entrance_key,
)

log = logging.getLogger(__name__)

# --- phone sign-in ------------------------------------------------------------------------


class CodeRejected(ApiError):
    """A wrong, expired, used or worn-out sign-in code. The route commits before answering,
    so that the failed attempt counts."""

    def __init__(self, code: str, message: str):
        super().__init__(401, code, message)


def phone_hash(phone: str) -> str:
    return keyed_hash(phone, "phone")


def _code_hash(phone_digest: str, code: str) -> str:
    return keyed_hash(f"{phone_digest}:{code}", "sms-code")


def issue_code(phone: str, address: str) -> str:
    """A new sign-in code for ``phone``, replacing any earlier one; returned to be sent after
    commit. Every mobile number gets one, in the roster or not, so answers reveal nothing."""
    config = current_app.config
    ratelimit.hit(
        [
            ratelimit.Limit("code-phone-minute", phone, config["SMS_PER_PHONE_PER_MINUTE"], 60),
            ratelimit.Limit("code-phone-hour", phone, config["SMS_PER_PHONE_PER_HOUR"], 3600),
            ratelimit.Limit("code-address-hour", address, config["SMS_PER_ADDRESS_PER_HOUR"], 3600),
        ]
    )
    digest = phone_hash(phone)
    db.session.execute(delete(PhoneCode).where(PhoneCode.phone_hash == digest))
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(
        PhoneCode(
            phone_hash=digest,
            code_hash=_code_hash(digest, code),
            expires_at=utcnow() + timedelta(seconds=config["SMS_CODE_TTL_SECONDS"]),
        )
    )
    db.session.flush()
    return code


class CodeNotSent(ApiError):
    """The SMS provider did not take the sign-in code. The route commits before answering, so
    that the withdrawal of the unsent code (:func:`send_code`) holds."""


# The provider refused because of the number itself: the resident's to correct, not ours.
_NUMBER_CODES = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.BUSINESS_LIMIT_CONTROL"}


def send_code(phone: str, code: str) -> None:
    """Send the code :func:`issue_code` stored (and the route committed). When the provider does
    not take it, what the request left behind is put right, then :class:`CodeNotSent`:

    - the code is deleted unless the provider may have taken it all the same (a timeout): a
      code nobody received cannot sign anyone in; one that may still arrive keeps working;
    - unless the refusal is about the number (illegal, or the provider's per-number flow
      control), the per-minute hit is given back, so the resident may ask again at once; the
      hourly limits keep counting, which bounds the retries (and what they cost) per phone and
      address.

    Answers: 422 ``phone_invalid`` (a number the provider cannot deliver to), 429
    ``sms_limited`` (the provider's flow control for this number), else 503 ``sms_unavailable``.
    """
    try:
        sms.sender().send_code(phone, code)
    except sms.SmsFailed as failed:
        if not failed.maybe_sent:
            digest = phone_hash(phone)
            db.session.execute(
                delete(PhoneCode).where(
                    PhoneCode.phone_hash == digest,
                    PhoneCode.code_hash == _code_hash(digest, code),
                    PhoneCode.used_at.is_(None),
                )
            )
        if failed.code not in _NUMBER_CODES:
            ratelimit.give_back(
                ratelimit.Limit(
                    "code-phone-minute",
                    phone,
                    current_app.config["SMS_PER_PHONE_PER_MINUTE"],
                    60,
                )
            )
        log.warning(
            "sign-in code for %s not sent: %s%s",
            mask_phone(phone),
            failed.code,
            " (code kept: it may arrive)" if failed.maybe_sent else "",
        )
        raise _not_sent(failed) from None


def _not_sent(failed: sms.SmsFailed) -> CodeNotSent:
    if failed.code == "isv.MOBILE_NUMBER_ILLEGAL":
        return CodeNotSent(
            422,
            "phone_invalid",
            "该手机号无法接收短信，请检查号码后重新输入",
            {"phone": ["无法接收短信"]},
        )
    if failed.code == "isv.BUSINESS_LIMIT_CONTROL":
        return CodeNotSent(429, "sms_limited", "该手机号获取验证码过于频繁，请稍后再试")
    return CodeNotSent(503, "sms_unavailable", "短信发送失败，请稍后再试")


def sign_in_with_code(phone: str, code: str, wechat_ticket: str | None = None) -> Account:
    """Use up the code and return the phone's account, created on first sign-in. Roster owners
    with this phone and no account yet are linked to it, in every compound — those who still
    own a dwelling: an owner a roster import removed (and unlinked) stays unlinked.

    With a WeChat binding ticket (and WeChat sign-in configured) the ticket's openid is bound
    to the account; a stale ticket is refused before the code is used up."""
    now = utcnow()
    wechat_ticket = wechat_ticket if wechat.configured() else None
    if wechat_ticket:
        wechat.check_ticket(wechat_ticket)
    _use_code(phone_hash(phone), code, now)
    # The code is single use, so two sign-ins of one phone cannot both get this far.
    account = db.session.scalar(select(Account).where(Account.phone == phone))
    if account is None:
        account = Account(phone=phone)
        db.session.add(account)
    _signed_in(account, now)
    if wechat_ticket:
        wechat.bind(account, wechat_ticket)
    return account


def sign_in_with_wechat(login_code: str) -> Account:
    """The account a WeChat one-time sign-in code names, signed in as by phone."""
    account = wechat.use_login_code(login_code)
    _signed_in(account, utcnow())
    return account


def _signed_in(account: Account, now) -> None:
    account.last_sign_in_at = now
    db.session.flush()
    db.session.execute(
        update(Owner)
        .where(Owner.phone == account.phone, Owner.account_id.is_(None), Owner.ownerships.any())
        .values(account_id=account.id)
    )


def _use_code(digest: str, code: str, now) -> None:
    """Count an attempt on the phone's latest code and use it up if ``code`` matches.

    The attempt counter and the ``used_at`` mark are conditional UPDATEs, so concurrent
    attempts can neither exceed the limit nor use one code twice.
    """
    max_attempts = current_app.config["SMS_CODE_MAX_ATTEMPTS"]
    row = db.session.scalar(
        select(PhoneCode)
        .where(PhoneCode.phone_hash == digest)
        .order_by(PhoneCode.id.desc())
        .limit(1)
    )
    if row is None:
        raise CodeRejected("code_invalid", "验证码错误，请重新获取")
    if row.used_at is not None:
        raise CodeRejected("code_used", "验证码已使用，请重新获取")
    if row.expires_at <= now:
        raise CodeRejected("code_expired", "验证码已过期，请重新获取")
    attempts = db.session.scalar(
        update(PhoneCode)
        .where(PhoneCode.id == row.id, PhoneCode.attempts < max_attempts)
        .values(attempts=PhoneCode.attempts + 1)
        .returning(PhoneCode.attempts)
    )
    if attempts is None:
        raise CodeRejected("code_attempts_exceeded", "验证码错误次数过多，请重新获取")
    if not hmac.compare_digest(row.code_hash, _code_hash(digest, code)):
        left = max_attempts - attempts
        if left <= 0:
            raise CodeRejected("code_attempts_exceeded", "验证码错误次数过多，请重新获取")
        raise CodeRejected("code_invalid", f"验证码错误，还可尝试 {left} 次")
    used = db.session.execute(
        update(PhoneCode)
        .where(PhoneCode.id == row.id, PhoneCode.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise CodeRejected("code_used", "验证码已使用，请重新获取")


# --- staff sign-in ------------------------------------------------------------------------


def normalize_username(username: str) -> str:
    return username.strip().lower()


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def password_limits(username: str, address: str) -> list[ratelimit.Limit]:
    """Failed staff sign-ins allowed per username and per address (the right password is
    refused too while a limit is full)."""
    config = current_app.config
    return [
        ratelimit.Limit(
            "password-user", normalize_username(username), config["PASSWORD_FAILURES_PER_USER"], 900
        ),
        ratelimit.Limit("password-address", address, config["PASSWORD_FAILURES_PER_ADDRESS"], 3600),
    ]


def sign_in_staff(username: str, password: str, address: str) -> StaffUser | None:
    """The staff user with these credentials, or None after counting the failure (the caller
    commits it and answers 401). 429 while the username or the address has failed too often.
    Unknown usernames cost a password check too, so timing does not tell which usernames
    exist; inactive accounts get the same answer as a wrong password."""
    limits = password_limits(username, address)
    ratelimit.refuse_if_full(limits)
    staff = db.session.scalar(
        select(StaffUser).where(StaffUser.username == normalize_username(username))
    )
    matches = check_password_hash(staff.password_hash if staff else _decoy_hash(), password)
    if staff is None or not matches or not staff.active:
        ratelimit.hit(limits)
        return None
    return staff


# --- dwelling claims ------------------------------------------------------------------------


def _room_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace(" ", "")
    return text.removesuffix("室") or text


def find_dwelling(compound_id: int, building: str, entrance: str, room: str) -> Dwelling | None:
    """A dwelling by the words a resident types: "5栋"/"5号楼"/"5", "1单元"/"1"/"", "501",
    matched by the roster's keys whatever the stored names ("5号楼" is found as "5栋")."""
    return db.session.scalar(
        select(Dwelling)
        .join(Building, Dwelling.building_id == Building.id)
        .join(Entrance, Dwelling.entrance_id == Entrance.id)
        .where(
            Dwelling.compound_id == compound_id,
            Building.number == building_key(building),
            Entrance.number == entrance_key(entrance),
            Dwelling.room == _room_key(room),
        )
    )


def _owns(account_id: int, dwelling_id: int) -> bool:
    return db.session.scalar(
        select(
            exists().where(
                Ownership.dwelling_id == dwelling_id,
                Ownership.owner_id == Owner.id,
                Owner.account_id == account_id,
            )
        )
    )


def _rents(account_id: int, dwelling_id: int) -> bool:
    return db.session.scalar(
        select(exists().where(Tenancy.account_id == account_id, Tenancy.dwelling_id == dwelling_id))
    )


def file_claim(account_id: int, data: dict) -> DwellingClaim:
    """A resident asks to be linked to a dwelling. Whether the compound exists is not told
    apart from whether the dwelling does."""
    dwelling = find_dwelling(data["compound_id"], data["building"], data["entrance"], data["room"])
    if dwelling is None:
        raise invalid(
            "dwelling_not_found",
            "未找到该房屋，请核对小区、楼栋、单元和房号",
            {"room": ["未找到该房屋"]},
        )
    kind = data["kind"]
    if _owns(account_id, dwelling.id) or (
        kind is ClaimKind.TENANT and _rents(account_id, dwelling.id)
    ):
        raise conflict("already_linked", "您已关联该房屋，无需再次申请")
    claim = DwellingClaim(
        account_id=account_id,
        compound_id=dwelling.compound_id,
        dwelling_id=dwelling.id,
        kind=kind,
        name=data["name"],
        id_last4=data["id_last4"],
    )
    try:
        with db.session.begin_nested():
            db.session.add(claim)
    except IntegrityError:
        raise conflict(
            "claim_pending", "您已提交过该房屋的申请，请等待居委会或业委会审核"
        ) from None
    return claim


def own_claims(account_id: int) -> Select:
    return (
        select(DwellingClaim)
        .where(DwellingClaim.account_id == account_id)
        .order_by(DwellingClaim.id.desc())
    )


def compound_claims(compound: Compound, status: ClaimStatus | None) -> Select:
    stmt = select(DwellingClaim).where(DwellingClaim.compound_id == compound.id)
    if status is not None:
        stmt = stmt.where(DwellingClaim.status == status)
    return stmt.options(selectinload(DwellingClaim.account)).order_by(DwellingClaim.id)


@path_resolver("claim_id")
def _claim(claim_id: int, principal: Principal) -> DwellingClaim:
    return get_scoped(DwellingClaim, claim_id, principal)


def approve_claim(claim: DwellingClaim, staff_id: int, note: str) -> DwellingClaim:
    """Link the account: as owner to the dwelling's registered owners with the same name and
    ID digits (409 ``claim_mismatch`` when there is none), or as tenant."""
    if claim.status is not ClaimStatus.PENDING:
        raise conflict("claim_decided", "该申请已处理")
    if claim.kind is ClaimKind.OWNER:
        _link_owner(claim)
    else:
        try:
            with db.session.begin_nested():
                db.session.add(Tenancy(account_id=claim.account_id, dwelling_id=claim.dwelling_id))
        except IntegrityError:
            pass  # already a tenant there: nothing to add
    _decide(claim, ClaimStatus.APPROVED, staff_id, note)
    return claim


def _link_owner(claim: DwellingClaim) -> None:
    """A conditional UPDATE: an owner another account got meanwhile is left alone."""
    matching = (
        select(Owner.id)
        .join(Ownership, Ownership.owner_id == Owner.id)
        .where(
            Ownership.dwelling_id == claim.dwelling_id,
            Owner.name == claim.name,
            func.upper(Owner.id_last4) == claim.id_last4,
        )
    )
    owner_ids = db.session.scalars(matching).all()
    if not owner_ids:
        raise conflict(
            "claim_mismatch",
            "名册中该房屋没有姓名和证件号码后四位都相符的业主，不能通过；请核实后驳回，或先更正名册",
        )
    linked = db.session.execute(
        update(Owner)
        .where(
            Owner.id.in_(owner_ids),
            or_(Owner.account_id.is_(None), Owner.account_id == claim.account_id),
        )
        .values(account_id=claim.account_id)
    )
    if linked.rowcount == 0:
        raise conflict("owner_linked", "该业主已关联其他手机号，请核实后驳回或联系业主处理")


def reject_claim(claim: DwellingClaim, staff_id: int, note: str) -> DwellingClaim:
    _decide(claim, ClaimStatus.REJECTED, staff_id, note)
    return claim


def _decide(claim: DwellingClaim, status: ClaimStatus, staff_id: int, note: str) -> None:
    """Pending → decided, once: a conditional UPDATE, so of two deciders only one wins."""
    decided = db.session.execute(
        update(DwellingClaim)
        .where(DwellingClaim.id == claim.id, DwellingClaim.status == ClaimStatus.PENDING)
        .values(status=status, decided_by_id=staff_id, decided_at=utcnow(), decision_note=note)
    )
    if decided.rowcount != 1:
        raise conflict("claim_decided", "该申请已处理")


def claim_views(claims: list[DwellingClaim], contact_for: set[int] | None = None) -> list[dict]:
    """Claims as shown: with compound name and room label. ``contact_for``: compound ids whose
    claims show name, phone and ID digits in full (masked for the others); None for the
    resident's own view, which leaves them out."""
    dwellings = _dwellings({c.dwelling_id for c in claims})
    names = _compound_names({c.compound_id for c in claims})
    views = []
    for claim in claims:
        view = {
            "id": claim.id,
            "compound_id": claim.compound_id,
            "compound_name": names[claim.compound_id],
            "dwelling_id": claim.dwelling_id,
            "dwelling_label": dwellings[claim.dwelling_id].label,
            "kind": claim.kind,
            "status": claim.status,
            "created_at": claim.created_at,
            "decided_at": claim.decided_at,
            "decision_note": claim.decision_note,
        }
        if contact_for is not None:
            full = claim.compound_id in contact_for
            view["name"] = claim.name if full else mask_name(claim.name)
            view["phone"] = claim.account.phone if full else mask_phone(claim.account.phone)
            view["id_last4"] = claim.id_last4 if full else None
            view["flags"] = claim_flags(claim, full)
        views.append(view)
    return views


def claim_flags(claim: DwellingClaim, full: bool) -> list[dict]:
    """What in a claim differs from the roster, for the committee to look at before deciding:
    an owner claim whose name or ID ending matches none of the dwelling's owners, and a
    dwelling whose owners are linked to another phone already. The roster's values are shown
    to the compound's committee only (``full``)."""
    owners = db.session.scalars(
        select(Owner)
        .join(Ownership, Ownership.owner_id == Owner.id)
        .where(Ownership.dwelling_id == claim.dwelling_id)
        .order_by(Owner.id)
    ).all()
    flags = []

    def roster(values) -> str:
        return f"（花名册：{'、'.join(values)}）"

    if claim.kind is ClaimKind.OWNER and owners:
        if not any(o.name == claim.name for o in owners):
            names = [o.name if full else mask_name(o.name) for o in owners]
            flags.append({"code": "name_differs", "message": "姓名与花名册不一致" + roster(names)})
        if claim.id_last4 and not any(o.id_last4 == claim.id_last4.upper() for o in owners):
            flags.append(
                {
                    "code": "id_differs",
                    "message": "证件号码后四位与花名册不一致"
                    + roster([o.id_last4 for o in owners] if full else ["已脱敏"]),
                }
            )
    linked = {o.account_id for o in owners if o.account_id not in (None, claim.account_id)}
    if linked:
        phones = db.session.scalars(select(Account.phone).where(Account.id.in_(linked))).all()
        shown = "、".join(p if full else mask_phone(p) for p in sorted(phones))
        flags.append(
            {"code": "dwelling_linked", "message": f"该房屋的业主已关联其他手机号：{shown}"}
        )
    return flags


def _dwellings(ids: set[int]) -> dict[int, Dwelling]:
    rows = db.session.scalars(
        select(Dwelling)
        .where(Dwelling.id.in_(ids))
        .options(selectinload(Dwelling.building), selectinload(Dwelling.entrance))
    )
    return {d.id: d for d in rows}


def _compound_names(ids: set[int]) -> dict[int, str]:
    return dict(
        db.session.execute(select(Compound.id, Compound.name).where(Compound.id.in_(ids))).all()
    )


# --- staff accounts and roles -------------------------------------------------------------

PLACES = {
    Role.DISTRICT: District,
    Role.STREET: Street,
    Role.COMMUNITY: Community,
    Role.COMPOUND: Compound,
}


def manageable_staff(principal: Principal) -> Select:
    """Staff the caller may manage: admin, everyone; other staff, those with at least one role
    and every role within places the caller covers."""
    stmt = select(StaffUser).options(selectinload(StaffUser.roles)).order_by(StaffUser.id)
    if not principal.is_staff:
        return stmt.where(false())
    if principal.is_admin:
        return stmt
    covered = or_(
        *(
            (RoleAssignment.role == level)
            & RoleAssignment.scope_id.in_(covered_place_ids(principal, level))
            for level in PLACES
        )
    )
    has_roles = exists().where(RoleAssignment.staff_id == StaffUser.id)
    uncovered = exists().where(RoleAssignment.staff_id == StaffUser.id, not_(covered))
    return stmt.where(has_roles, ~uncovered)


@path_resolver("staff_id")
def _staff(staff_id: int, principal: Principal) -> StaffUser:
    staff = db.session.scalar(manageable_staff(principal).where(StaffUser.id == staff_id))
    if staff is None:
        raise not_found()
    return staff


@path_resolver("role_id")
def _role(role_id: int, principal: Principal) -> RoleAssignment:
    managed = manageable_staff(principal).with_only_columns(StaffUser.id)
    role = db.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.id == role_id, RoleAssignment.staff_id.in_(managed)
        )
    )
    if role is None:
        raise not_found()
    return role


def check_grant(granted_by: Principal | None, role: Role, scope_id: int) -> None:
    """403 unless the granter covers the place (only admin grants admin); 422 when the place
    does not exist. ``granted_by`` None is the command line, which may grant anything."""
    if granted_by is not None:
        require_cover(granted_by, role, scope_id)
    if role is not Role.ADMIN and db.session.get(PLACES[role], scope_id) is None:
        raise invalid("place_not_found", "该地区或小区不存在", {"scope_id": ["不存在"]})


def create_staff(data: dict, granted_by: Principal | None) -> StaffUser:
    grants = list(dict.fromkeys((g["role"], g["scope_id"]) for g in data["roles"]))
    for role, scope_id in grants:
        check_grant(granted_by, role, scope_id)
    staff = StaffUser(
        username=normalize_username(data["username"]),
        password_hash=generate_password_hash(data["password"]),
        display_name=data["display_name"],
        phone=data.get("phone"),
        roles=[RoleAssignment(role=role, scope_id=scope_id) for role, scope_id in grants],
    )
    try:
        with db.session.begin_nested():
            db.session.add(staff)
    except IntegrityError:
        raise conflict("username_taken", "该用户名已被使用", {"username": ["已被使用"]}) from None
    return staff


def update_staff(staff: StaffUser, changes: dict, by: Principal) -> StaffUser:
    """Deactivating or a new password signs the account out everywhere."""
    if changes.get("active") is False and staff.id == by.id:
        raise invalid("self_deactivation", "不能停用自己的账号")
    if "display_name" in changes:
        staff.display_name = changes["display_name"]
    if "password" in changes:
        staff.password_hash = generate_password_hash(changes["password"])
    if "active" in changes:
        staff.active = changes["active"]
    if "password" in changes or changes.get("active") is False:
        revoke_sessions_of(SubjectKind.STAFF, staff.id)
    db.session.flush()
    return staff


def add_role(staff: StaffUser, role: Role, scope_id: int, by: Principal) -> RoleAssignment:
    check_grant(by, role, scope_id)
    assignment = RoleAssignment(role=role, scope_id=scope_id)
    try:
        with db.session.begin_nested():
            staff.roles.append(assignment)
    except IntegrityError:
        raise conflict("role_exists", "该账号已有这个角色") from None
    return assignment


def remove_role(staff: StaffUser, assignment: RoleAssignment, by: Principal) -> None:
    """Takes effect on the staff member's next request. Only admin removes the last role
    (others deactivate the account instead), so no account is left that nobody manages."""
    if assignment.staff_id != staff.id:
        raise not_found()
    if len(staff.roles) == 1 and not by.is_admin:
        raise conflict("last_role", "不能删除唯一的角色；如需停用该账号，请将其设为停用")
    staff.roles.remove(assignment)
    db.session.flush()


def staff_views(staff_users: list[StaffUser]) -> list[dict]:
    names = place_names([r for s in staff_users for r in s.roles])
    return [
        {
            "id": s.id,
            "username": s.username,
            "display_name": s.display_name,
            "phone": s.phone,
            "active": s.active,
            "created_at": s.created_at,
            "roles": [role_view(r, names) for r in s.roles],
        }
        for s in staff_users
    ]


def role_view(assignment: RoleAssignment, names: dict) -> dict:
    return {
        "id": assignment.id,
        "role": assignment.role,
        "scope_id": assignment.scope_id,
        "place_name": names.get((assignment.role, assignment.scope_id)),
    }


def place_names(assignments: list[RoleAssignment]) -> dict[tuple[Role, int], str]:
    """Names of the places the roles name, one query per level."""
    wanted: dict[Role, set[int]] = defaultdict(set)
    for a in assignments:
        if a.role in PLACES:
            wanted[a.role].add(a.scope_id)
    names = {}
    for level, ids in wanted.items():
        model = PLACES[level]
        for place_id, name in db.session.execute(
            select(model.id, model.name).where(model.id.in_(ids))
        ):
            names[(level, place_id)] = name
    return names


# --- profile ------------------------------------------------------------------------------


def resident_profile(account: Account) -> dict:
    """What residents see of themselves: masked phone and names, the dwellings they own or
    rent, and their claims waiting for a decision."""
    owner_names: dict[int, str] = {}  # dwelling id → the name this account owns it under
    for name, dwelling_id in db.session.execute(
        select(Owner.name, Ownership.dwelling_id)
        .join(Ownership, Ownership.owner_id == Owner.id)
        .where(Owner.account_id == account.id)
        .order_by(Ownership.dwelling_id, Owner.id)
    ):
        owner_names.setdefault(dwelling_id, name)
    owned_ids = set(owner_names)
    rented_ids = set(
        db.session.scalars(select(Tenancy.dwelling_id).where(Tenancy.account_id == account.id))
    )
    dwellings = _dwellings(owned_ids | rented_ids)
    compound_names = _compound_names({d.compound_id for d in dwellings.values()})
    holders = dict(
        db.session.execute(
            select(Ownership.dwelling_id, func.count())
            .where(Ownership.dwelling_id.in_(owned_ids))
            .group_by(Ownership.dwelling_id)
        ).all()
    )
    pending = db.session.scalars(
        own_claims(account.id).where(DwellingClaim.status == ClaimStatus.PENDING)
    ).all()

    def ref(dwelling_id: int) -> dict:
        dwelling = dwellings[dwelling_id]
        return {
            "dwelling_id": dwelling.id,
            "compound_id": dwelling.compound_id,
            "compound_name": compound_names[dwelling.compound_id],
            "label": dwelling.label,
        }

    return {
        "phone": mask_phone(account.phone),
        "owned": [
            {
                **ref(dwelling_id),
                "area": dwellings[dwelling_id].area,
                "owner_name": mask_name(name),
                "co_owners": holders[dwelling_id] - 1,
            }
            for dwelling_id, name in owner_names.items()
        ],
        "rented": [ref(dwelling_id) for dwelling_id in sorted(rented_ids)],
        "pending_claims": claim_views(pending),
        "wechat_bound": account.wechat_openid is not None,
    }


def staff_profile(staff: StaffUser) -> dict:
    names = place_names(staff.roles)
    return {
        "id": staff.id,
        "username": staff.username,
        "display_name": staff.display_name,
        "roles": [role_view(r, names) for r in staff.roles],
    }
