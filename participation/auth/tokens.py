"""Tokens and the caller (``Principal``).

Tokens carry only ``sub`` (``staff:12`` / ``resident:34``) and ``sid``, the sign-in session;
no personal data. Every request reloads the session, the account and the roles, so logout and
a removed role take effect on the next request, not at token expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import current_app, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    current_user,
    get_jwt,
)
from sqlalchemy import and_, bindparam, select

from participation.auth.models import (
    Account,
    AuthSession,
    Role,
    RoleAssignment,
    StaffUser,
    SubjectKind,
)
from participation.common.errors import ApiError, error_payload
from participation.common.sql import hot_rows
from participation.common.types import utcnow
from participation.extensions import db


@dataclass(frozen=True)
class Principal:
    kind: SubjectKind
    id: int
    session_id: str
    roles: tuple[tuple[Role, int], ...] = field(default=())
    # False: the view checks the session itself (``session_checked_in_view``)
    session_checked: bool = True

    @property
    def is_staff(self) -> bool:
        return self.kind is SubjectKind.STAFF

    @property
    def is_resident(self) -> bool:
        return self.kind is SubjectKind.RESIDENT

    @property
    def is_admin(self) -> bool:
        return any(role is Role.ADMIN for role, _ in self.roles)

    def ids_for(self, role: Role) -> list[int]:
        return [scope_id for r, scope_id in self.roles if r is role]


def current_principal() -> Principal:
    """The caller of the current request (inside ``@jwt_required()``)."""
    return current_user


def issue_tokens(kind: SubjectKind, subject_id: int) -> dict:
    """Open a sign-in session and return its token pair. The caller commits."""
    lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    session = AuthSession(
        id=str(uuid.uuid4()),
        subject_kind=kind,
        subject_id=subject_id,
        expires_at=utcnow() + lifetime,
    )
    db.session.add(session)
    identity = f"{kind.value}:{subject_id}"
    claims = {"sid": session.id}
    access_lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": create_access_token(identity, additional_claims=claims),
        "refresh_token": create_refresh_token(identity, additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
    }


def refresh_access_token(principal: Principal) -> dict:
    identity = f"{principal.kind.value}:{principal.id}"
    access_lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": create_access_token(
            identity, additional_claims={"sid": principal.session_id}
        ),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
    }


def revoke_current_session() -> None:
    """Log out: the session named by the token is revoked, and with it both tokens."""
    session = db.session.get(AuthSession, get_jwt()["sid"])
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()


def revoke_sessions_of(kind: SubjectKind, subject_id: int) -> None:
    """Revoke every open session of an account (e.g. when staff is deactivated)."""
    sessions = db.session.scalars(
        select(AuthSession).where(
            AuthSession.subject_kind == kind,
            AuthSession.subject_id == subject_id,
            AuthSession.revoked_at.is_(None),
        )
    )
    now = utcnow()
    for session in sessions:
        session.revoked_at = now


# The session named by a token with the subject behind it: one query per request (the
# blocklist check and the user lookup of flask-jwt-extended share it). Built once.
SESSION_AND_SUBJECT = (
    select(
        AuthSession.subject_kind,
        AuthSession.subject_id,
        AuthSession.expires_at,
        AuthSession.revoked_at,
        Account.id.label("account_id"),
        StaffUser.active.label("staff_active"),
    )
    .outerjoin(
        Account,
        and_(
            AuthSession.subject_kind == SubjectKind.RESIDENT,
            Account.id == AuthSession.subject_id,
        ),
    )
    .outerjoin(
        StaffUser,
        and_(
            AuthSession.subject_kind == SubjectKind.STAFF,
            StaffUser.id == AuthSession.subject_id,
        ),
    )
    .where(AuthSession.id == bindparam("sid"))
)
ROLES_OF_STAFF = (
    select(RoleAssignment.role, RoleAssignment.scope_id)
    .where(RoleAssignment.staff_id == bindparam("staff_id"))
    .order_by(RoleAssignment.id)
)


def _session_row(payload: dict) -> tuple | None:
    """The token's session and subject, read once per request (kept in the request's
    environ, which no other request shares, unlike ``g`` under a test's app context)."""
    sid = payload.get("sid")
    cached = request.environ.get("participation.auth_session")
    if cached is None or cached[0] != sid:
        rows = hot_rows(SESSION_AND_SUBJECT, {"sid": sid}) if sid else []
        row = rows[0] if rows else None
        cached = request.environ["participation.auth_session"] = (sid, row)
    return cached[1]


def _revoked(session, payload: dict) -> bool:
    return (
        session is None
        or session.revoked_at is not None
        or session.expires_at <= utcnow()
        or f"{session.subject_kind.value}:{session.subject_id}" != payload.get("sub")
    )


# The session checked in the view's own statement -----------------------------------------
#
# On the hot paths (a cast, a survey answer) the session's query is a round trip of its own
# before the view's first statement, a fifth of a cast's CPU. A view class marked
# ``session_checked_in_view`` reads the session in that statement instead (its columns:
# ``SESSION_COLUMNS``, for the token's ``sid`` bound as ``:sid``) and hands the row to
# ``check_session`` before it writes anything. For a resident's token the blocklist check and
# the user lookup are deferred to that call; a staff token is checked as everywhere else.


def session_checked_in_view(cls):
    """Class decorator of a resident's API view that checks the session itself."""
    cls.session_checked_in_view = True
    return cls


def _deferred(payload: dict) -> bool:
    if not str(payload.get("sub", "")).startswith("resident:"):
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(getattr(view, "view_class", None), "session_checked_in_view", False)


SESSION_COLUMNS = SESSION_AND_SUBJECT.subquery("caller_session")


def check_session(caller: Principal, session=None) -> None:
    """Refuse the request as ``jwt_required`` would (401, nothing written) unless the
    ``caller``'s session is valid and its resident account exists: ``session``, a row with
    the columns of ``SESSION_COLUMNS`` (all None when there is no such session); None: read
    it now."""
    if session is None:
        rows = hot_rows(SESSION_AND_SUBJECT, {"sid": caller.session_id})
        session = rows[0] if rows else None
    elif session.subject_kind is None:
        session = None
    if _revoked(session, {"sub": f"{caller.kind.value}:{caller.id}"}):
        raise ApiError(401, "token_revoked", REVOKED_MESSAGE)
    if session.account_id is None:
        raise ApiError(401, "account_unavailable", UNAVAILABLE_MESSAGE)


def _session_revoked(payload: dict) -> bool:
    return False if _deferred(payload) else _revoked(_session_row(payload), payload)


def _load_principal(payload: dict) -> Principal | None:
    """The caller, if the session's subject still exists (and, for staff, is active); staff
    roles are read afresh, so a removed role stops working on the next request. A view that
    checks the session itself gets the resident named by the token (``check_session``)."""
    if _deferred(payload):
        _, _, subject_id = payload["sub"].partition(":")
        return Principal(
            SubjectKind.RESIDENT, int(subject_id), payload["sid"], session_checked=False
        )
    session = _session_row(payload)
    if session is None:
        return None
    kind, subject_id = session.subject_kind, session.subject_id
    if kind is SubjectKind.STAFF:
        if not session.staff_active:
            return None
        rows = db.session.execute(ROLES_OF_STAFF, {"staff_id": subject_id})
        roles = tuple((role, scope_id) for role, scope_id in rows)
        return Principal(kind, subject_id, payload["sid"], roles)
    if session.account_id is None:
        return None
    return Principal(kind, subject_id, payload["sid"])


REVOKED_MESSAGE = "已退出登录，请重新登录"
UNAVAILABLE_MESSAGE = "账号不可用，请重新登录"


def _error(status: int, code: str, message: str):
    body, _ = error_payload(ApiError(status, code, message))
    return body, status


# Claims every token of ours has; a token without them (no ``exp``: it would never expire)
# is refused even when its signature is right.
REQUIRED_CLAIMS = ("exp", "iat", "sub", "sid", "type", "jti")


def _has_required_claims(header: dict, payload: dict) -> bool:
    return all(payload.get(claim) is not None for claim in REQUIRED_CLAIMS)


def register(jwt: JWTManager) -> None:
    jwt.token_verification_loader(_has_required_claims)
    jwt.token_in_blocklist_loader(lambda header, payload: _session_revoked(payload))
    jwt.user_lookup_loader(lambda header, payload: _load_principal(payload))
    jwt.user_lookup_error_loader(
        lambda header, payload: _error(401, "account_unavailable", UNAVAILABLE_MESSAGE)
    )
    jwt.unauthorized_loader(lambda reason: _error(401, "unauthorized", "请先登录"))
    jwt.invalid_token_loader(
        lambda reason: _error(401, "invalid_token", "登录凭证无效，请重新登录")
    )
    jwt.expired_token_loader(
        lambda header, payload: _error(401, "token_expired", "登录已过期，请刷新或重新登录")
    )
    jwt.revoked_token_loader(
        lambda header, payload: _error(401, "token_revoked", REVOKED_MESSAGE)
    )
    jwt.needs_fresh_token_loader(
        lambda header, payload: _error(401, "fresh_token_required", "请重新登录")
    )
    jwt.token_verification_failed_loader(
        lambda header, payload: _error(401, "invalid_token", "登录凭证无效，请重新登录")
    )
