"""Sign-in, tokens, profile, claims (residents) and staff accounts."""

from __future__ import annotations

from html import escape

from flask import current_app, redirect, request, url_for
from flask.views import MethodView
from flask_jwt_extended import jwt_required

from participation.auth import notifications, schemas, services, sms, wechat
from participation.auth.models import Account, Role, StaffUser, SubjectKind
from participation.auth.scoping import (
    path_object,
    resident_only,
    staff_only,
)
from participation.auth.tokens import (
    current_principal,
    issue_tokens,
    refresh_access_token,
    revoke_current_session,
)
from participation.common.errors import ApiError, ErrorSchema, error_payload
from participation.common.http import CONTENT_SECURITY_POLICY, client_address
from participation.common.pagination import SelectPage
from participation.common.parsing import Blueprint
from participation.extensions import db

blp = Blueprint("auth", __name__, description="Sign-in, tokens and the resident's profile")
staff_blp = Blueprint("staff", __name__, description="Staff accounts and roles")

SECURITY = [{"bearerAuth": []}]
NOT_FOUND = {"schema": ErrorSchema, "description": "not found or outside your scope"}
STAFF_ONLY = {"schema": ErrorSchema, "description": "staff_only: residents may not call this"}
RESIDENT_ONLY = {"schema": ErrorSchema, "description": "resident_only: staff may not call this"}
SIGNED_OUT = {"schema": ErrorSchema, "description": "not signed in, signed out or expired"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait",
        "schema": {"type": "integer", "minimum": 1, "maximum": 86400},
    }
}


@blp.record_once
def _init_sms(state) -> None:
    """The SMS sender is chosen (and SMS_SENDER checked) when the app registers the API."""
    sms.init_app(state.app)


# --- sign-in and tokens -------------------------------------------------------------------


@blp.route("/auth/codes")
class Codes(MethodView):
    @blp.arguments(schemas.CodeRequestSchema)
    @blp.response(202, schemas.CodeSentSchema)
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        headers=RETRY_AFTER,
        description="rate_limited (phone or address); sms_limited (the SMS provider's flow "
        "control for this number, no Retry-After)",
    )
    @blp.alt_response(
        422, schema=ErrorSchema, description="phone_invalid: the SMS provider cannot deliver to it"
    )
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="sms_unavailable: the SMS provider did not take the code; ask again",
    )
    def post(self, data):
        """Send a sign-in code by SMS

        Answers the same for every valid mobile number, whether it is in a roster or not.
        """
        code = services.issue_code(data["phone"], client_address())
        db.session.commit()  # stored before it is sent: no code out that sign-in cannot check
        try:
            services.send_code(data["phone"], code)
        except services.CodeNotSent:
            db.session.commit()  # the unsent code withdrawn, the minute given back
            raise
        return {"message": "验证码已发送", "expires_in": current_app.config["SMS_CODE_TTL_SECONDS"]}


@blp.route("/auth/sessions")
class PhoneSessions(MethodView):
    @blp.arguments(schemas.PhoneSignInSchema)
    @blp.response(201, schemas.TokenPairSchema)
    @blp.alt_response(
        401,
        schema=ErrorSchema,
        description="code_invalid, code_expired, code_used or code_attempts_exceeded",
    )
    @blp.alt_response(
        400, schema=ErrorSchema, description="wechat_ticket_invalid (used or expired ticket)"
    )
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="wechat_bound_elsewhere or wechat_account_bound: nothing was bound",
    )
    def post(self, data):
        """Sign in with the SMS code (residents)

        The first sign-in creates the account and links the roster owners with this phone.
        With ``wechat_ticket`` (from a WeChat visit) the WeChat user is bound to the account,
        so the next visit from WeChat signs in directly.
        """
        try:
            account = services.sign_in_with_code(
                data["phone"], data["code"], data.get("wechat_ticket")
            )
        except services.CodeRejected:
            db.session.commit()  # the failed attempt counts
            raise
        tokens = issue_tokens(SubjectKind.RESIDENT, account.id)
        db.session.commit()
        return tokens


# --- sign-in through WeChat (snsapi_base) -------------------------------------------------

WECHAT_OFF = {"schema": ErrorSchema, "description": "wechat_not_configured"}


@blp.route("/auth/wechat/authorize")
class WechatAuthorize(MethodView):
    @blp.arguments(schemas.WechatAuthorizeQuerySchema, location="query")
    @blp.response(302, description="to WeChat's authorisation page (``#wechat_redirect``)")
    @blp.alt_response(400, schema=ErrorSchema, description="next_invalid: not a path of this site")
    @blp.alt_response(404, **WECHAT_OFF)
    def get(self, query):
        """Start a sign-in through WeChat (open inside WeChat)

        Redirects to WeChat's web authorisation (``scope=snsapi_base``, silent). Its ``state``
        is bound to this browser by a signed cookie that lasts 10 minutes.
        """
        wechat.require_configured()
        next_path = wechat.safe_next(query.get("next"))
        base = current_app.config["PUBLIC_BASE_URL"]
        if base:
            callback = base.rstrip("/") + url_for("auth.WechatCallback")
        else:
            callback = url_for("auth.WechatCallback", _external=True)
        url, cookie = wechat.start(next_path, callback)
        response = redirect(url, 302)
        response.set_cookie(
            wechat.STATE_COOKIE,
            cookie,
            max_age=wechat.STATE_SECONDS,
            path=wechat.STATE_COOKIE_PATH,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
        return response


@blp.route("/auth/wechat/callback")
class WechatCallback(MethodView):
    @blp.arguments(schemas.WechatCallbackQuerySchema, location="query")
    @blp.response(
        302,
        description="to the H5 page, with ``#wechat_login=<code>`` (a bound WeChat user: "
        "POST it to /auth/wechat/sessions) or ``#wechat_bind=<ticket>`` (send it with the "
        "phone sign-in)",
    )
    @blp.alt_response(
        400,
        schema=ErrorSchema,
        description="wechat_state_invalid, wechat_code_missing, wechat_code_used, "
        "wechat_code_invalid (WeChat refused the code) or wechat_snapshot_user. A browser "
        "asking for HTML gets the message as a page.",
    )
    @blp.alt_response(404, **WECHAT_OFF)
    @blp.alt_response(502, schema=ErrorSchema, description="wechat_unavailable")
    def get(self, query):
        """Where WeChat sends the browser back, with code and state"""
        wechat.require_configured()
        cookie_state = wechat.read_state(request.cookies.get(wechat.STATE_COOKIE))
        try:
            location = wechat.finish(cookie_state, query["state"], query["code"])
        except ApiError as error:
            db.session.rollback()
            response = _error_for_browser(error, (cookie_state or {}).get("n"))
        else:
            db.session.commit()
            response = redirect(location, 302)
        # The state is good for one callback.
        response.delete_cookie(
            wechat.STATE_COOKIE, path=wechat.STATE_COOKIE_PATH, httponly=True, samesite="Lax"
        )
        return response


def _error_for_browser(error: ApiError, next_path: str | None):
    """The JSON error, or for a browser (it asks for HTML first) a small page in Chinese with
    the same status and a way back to the H5."""
    body, headers = error_payload(error)
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if best != "text/html":
        response = current_app.json.response(body)
    else:
        back = escape(next_path or wechat.DEFAULT_NEXT)
        response = current_app.response_class(
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="{url_for("h5.static", filename="style.css")}">'
            "<title>微信登录未成功</title></head><body><main>"
            f"<h1>微信登录未成功</h1><p>{escape(error.message)}</p>"
            f'<p><a href="{back}">返回首页，用手机号登录</a></p></main></body></html>',
            mimetype="text/html",
        )
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.status_code = error.code
    response.headers.extend(headers)
    return response


@blp.route("/auth/wechat/sessions")
class WechatSessions(MethodView):
    @blp.arguments(schemas.WechatSignInSchema)
    @blp.response(201, schemas.TokenPairSchema)
    @blp.alt_response(
        401, schema=ErrorSchema, description="wechat_login_invalid: used, expired or unknown"
    )
    @blp.alt_response(404, **WECHAT_OFF)
    def post(self, data):
        """Exchange the one-time code from ``#wechat_login=`` for tokens

        The code lasts two minutes and works once; the session is the same as a phone
        sign-in's.
        """
        wechat.require_configured()
        account = services.sign_in_with_wechat(data["code"])
        tokens = issue_tokens(SubjectKind.RESIDENT, account.id)
        db.session.commit()
        return tokens


@blp.route("/auth/staff-sessions")
class StaffSessions(MethodView):
    @blp.arguments(schemas.StaffSignInSchema)
    @blp.response(201, schemas.TokenPairSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="invalid_credentials")
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        headers=RETRY_AFTER,
        description="rate_limited: too many wrong passwords for the username or the address",
    )
    def post(self, data):
        """Sign in with username and password (staff)

        After 5 wrong passwords for a username in 15 minutes, or 20 from one address in an
        hour, sign-in is refused (429, with Retry-After) until the span has room again.
        """
        staff = services.sign_in_staff(data["username"], data["password"], client_address())
        if staff is None:
            db.session.commit()  # the failure counts towards the limits
            raise ApiError(401, "invalid_credentials", "用户名或密码错误")
        tokens = issue_tokens(SubjectKind.STAFF, staff.id)
        db.session.commit()
        return tokens


@blp.route("/auth/refresh")
class Refresh(MethodView):
    decorators = [jwt_required(refresh=True)]

    @blp.doc(security=SECURITY, description="Send the refresh token as the bearer token.")
    @blp.response(200, schemas.AccessTokenSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="signed out, expired or invalid")
    def post(self):
        """A new access token for the same sign-in session"""
        return refresh_access_token(current_principal())


@blp.route("/auth/session")
class CurrentSession(MethodView):
    decorators = [jwt_required(verify_type=False)]

    @blp.doc(security=SECURITY, description="Send the access or the refresh token.")
    @blp.response(204)
    @blp.alt_response(401, schema=ErrorSchema, description="already signed out or invalid")
    def delete(self):
        """Sign out: the session's access and refresh tokens stop working"""
        revoke_current_session()
        db.session.commit()


# --- profile and claims (residents) -----------------------------------------------------


@blp.route("/me")
class Me(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ProfileSchema)
    @blp.alt_response(401, **SIGNED_OUT)
    def get(self):
        """Who is signed in: a resident (masked phone, dwellings, pending claims) or staff"""
        principal = current_principal()
        if principal.is_staff:
            staff = db.session.get(StaffUser, principal.id)
            return {"kind": "staff", "staff": services.staff_profile(staff), "resident": None}
        account = db.session.get(Account, principal.id)
        return {"kind": "resident", "resident": services.resident_profile(account), "staff": None}


@blp.route("/me/wechat")
class MyWechat(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.response(204)
    @blp.alt_response(401, **SIGNED_OUT)
    @blp.alt_response(403, **RESIDENT_ONLY)
    def delete(self):
        """Unbind WeChat from my account (resident): opening the page in WeChat no longer signs
        me in; the phone code does, and binds WeChat again if I sign in from WeChat. Idempotent."""
        account = db.session.get(Account, current_principal().id)
        account.wechat_openid = None
        db.session.commit()


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.NotificationQuerySchema, location="query")
    @blp.response(200, schemas.NotificationSchema(many=True))
    @blp.alt_response(401, **SIGNED_OUT)
    @blp.paginate(SelectPage)
    def get(self, query):
        """My notifications, newest first (residents and staff): a ticket's progress, a
        ticket assigned or overdue, …; ``?unread=true`` for those not read yet"""
        return notifications.my_notifications(current_principal(), query.get("unread"))


@blp.route("/me/notifications/<int:notification_id>/read")
class MyNotificationRead(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ReadSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="not yours, or no such notification")
    def post(self, notification_id):
        """Mark one of my notifications read"""
        principal = current_principal()
        notification = path_object("notification_id")
        changed = notifications.mark_read(principal, notification.id)
        db.session.commit()
        return {"changed": changed, "unread": notifications.unread_count(principal)}


@blp.route("/me/notifications/read")
class MyNotificationsRead(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ReadSchema)
    def post(self):
        """Mark all my notifications read"""
        principal = current_principal()
        changed = notifications.mark_read(principal)
        db.session.commit()
        return {"changed": changed, "unread": 0}


@blp.route("/me/claims")
class MyClaims(MethodView):
    decorators = [jwt_required()]

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ClaimSchema(many=True))
    @blp.alt_response(401, **SIGNED_OUT)
    @blp.alt_response(403, **RESIDENT_ONLY)
    @blp.paginate()
    def get(self, pagination_parameters):
        """My dwelling claims, newest first"""
        principal = current_principal()
        page = SelectPage(services.own_claims(principal.id), pagination_parameters)
        return services.claim_views(page.items)

    @resident_only
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ClaimInSchema)
    @blp.response(201, schemas.ClaimSchema)
    @blp.alt_response(401, **SIGNED_OUT)
    @blp.alt_response(403, **RESIDENT_ONLY)
    @blp.alt_response(
        409, schema=ErrorSchema, description="claim_pending (already filed) or already_linked"
    )
    def post(self, data):
        """Ask to be linked to a dwelling, as owner or tenant

        For a phone number that is not in the roster. Committee staff decide; nothing is
        linked before they approve. An unknown compound or dwelling is 422 dwelling_not_found.
        """
        principal = current_principal()
        claim = services.file_claim(principal.id, data)
        db.session.commit()
        return services.claim_views([claim])[0]


# --- claims (staff) -----------------------------------------------------------------------


def _claim_view(claim) -> dict:
    contact_for = set(current_principal().ids_for(Role.COMPOUND))
    return services.claim_views([claim], contact_for)[0]


@staff_blp.route("/compounds/<int:compound_id>/claims")
class CompoundClaims(MethodView):
    decorators = [jwt_required()]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.arguments(schemas.ClaimQuerySchema, location="query")
    @staff_blp.response(200, schemas.StaffClaimSchema(many=True))
    @staff_blp.alt_response(404, **NOT_FOUND)
    @staff_blp.paginate()
    def get(self, query, compound_id, pagination_parameters):
        """Dwelling claims of a compound (``?status=pending`` for the ones to decide)"""
        stmt = services.compound_claims(path_object("compound_id"), query.get("status"))
        page = SelectPage(stmt, pagination_parameters)
        contact_for = set(current_principal().ids_for(Role.COMPOUND))
        return services.claim_views(page.items, contact_for)


@staff_blp.route("/claims/<int:claim_id>/approve")
class ApproveClaim(MethodView):
    decorators = [jwt_required()]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.arguments(schemas.ApproveSchema)
    @staff_blp.response(200, schemas.StaffClaimSchema)
    @staff_blp.alt_response(404, **NOT_FOUND)
    @staff_blp.alt_response(
        409,
        schema=ErrorSchema,
        description="claim_decided, claim_mismatch (no owner with that name and ID digits) "
        "or owner_linked (the owner has another phone)",
    )
    def post(self, data, claim_id):
        """Approve: link the owner, or record the tenancy"""
        claim = services.approve_claim(
            path_object("claim_id"), current_principal().id, data["note"]
        )
        db.session.commit()
        return _claim_view(claim)


@staff_blp.route("/claims/<int:claim_id>/reject")
class RejectClaim(MethodView):
    decorators = [jwt_required()]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.arguments(schemas.RejectSchema)
    @staff_blp.response(200, schemas.StaffClaimSchema)
    @staff_blp.alt_response(404, **NOT_FOUND)
    @staff_blp.alt_response(409, schema=ErrorSchema, description="claim_decided")
    def post(self, data, claim_id):
        """Reject, with a reason the resident sees"""
        claim = services.reject_claim(path_object("claim_id"), current_principal().id, data["note"])
        db.session.commit()
        return _claim_view(claim)


# --- staff accounts -----------------------------------------------------------------------


@staff_blp.route("/staff")
class StaffList(MethodView):
    decorators = [jwt_required()]

    @staff_only
    @staff_blp.doc(security=SECURITY)
    @staff_blp.response(200, schemas.StaffSchema(many=True))
    @staff_blp.alt_response(403, **STAFF_ONLY)
    @staff_blp.paginate()
    def get(self, pagination_parameters):
        """Staff you may manage: every role of theirs lies within your area"""
        principal = current_principal()
        page = SelectPage(services.manageable_staff(principal), pagination_parameters)
        return services.staff_views(page.items)

    @staff_only
    @staff_blp.doc(security=SECURITY)
    @staff_blp.arguments(schemas.StaffCreateSchema)
    @staff_blp.response(201, schemas.StaffSchema)
    @staff_blp.alt_response(
        403, schema=ErrorSchema, description="staff_only, or outside_scope: a role you do not cover"
    )
    @staff_blp.alt_response(409, schema=ErrorSchema, description="username_taken")
    def post(self, data):
        """Create a staff account with roles within your area (only admin grants admin)"""
        principal = current_principal()
        staff = services.create_staff(data, granted_by=principal)
        db.session.commit()
        return services.staff_views([staff])[0]


@staff_blp.route("/staff/<int:staff_id>")
class StaffDetail(MethodView):
    decorators = [jwt_required()]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.response(200, schemas.StaffSchema)
    @staff_blp.alt_response(404, **NOT_FOUND)
    def get(self, staff_id):
        """A staff account you may manage"""
        return services.staff_views([path_object("staff_id")])[0]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.arguments(schemas.StaffPatchSchema)
    @staff_blp.response(200, schemas.StaffSchema)
    @staff_blp.alt_response(404, **NOT_FOUND)
    def patch(self, data, staff_id):
        """Rename, (de)activate or set a new password

        Deactivating or a new password signs the account out at once.
        """
        staff = services.update_staff(path_object("staff_id"), data, by=current_principal())
        db.session.commit()
        return services.staff_views([staff])[0]


@staff_blp.route("/staff/<int:staff_id>/roles")
class StaffRoles(MethodView):
    decorators = [jwt_required()]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.arguments(schemas.RoleGrantSchema)
    @staff_blp.response(201, schemas.RoleSchema)
    @staff_blp.alt_response(404, **NOT_FOUND)
    @staff_blp.alt_response(403, schema=ErrorSchema, description="outside_scope")
    @staff_blp.alt_response(409, schema=ErrorSchema, description="role_exists")
    def post(self, data, staff_id):
        """Grant a role within your area"""
        assignment = services.add_role(
            path_object("staff_id"), data["role"], data["scope_id"], by=current_principal()
        )
        db.session.commit()
        return services.role_view(assignment, services.place_names([assignment]))


@staff_blp.route("/staff/<int:staff_id>/roles/<int:role_id>")
class StaffRole(MethodView):
    decorators = [jwt_required()]

    @staff_blp.doc(security=SECURITY)
    @staff_blp.response(204)
    @staff_blp.alt_response(404, **NOT_FOUND)
    @staff_blp.alt_response(409, schema=ErrorSchema, description="last_role (admin only)")
    def delete(self, staff_id, role_id):
        """Remove a role; it stops working on the staff member's next request"""
        services.remove_role(
            path_object("staff_id"), path_object("role_id"), by=current_principal()
        )
        db.session.commit()
