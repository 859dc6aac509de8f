"""Sign-in through WeChat's web authorisation (网页授权, ``scope=snsapi_base``).

The H5 opened inside our official account sends the browser to ``/auth/wechat/authorize``,
which redirects to WeChat with a random ``state``, bound to this browser by a short-lived
signed cookie. WeChat sends the browser back to ``/auth/wechat/callback?code=&state=``; the
server swaps the code for the user's ``openid`` (``/sns/oauth2/access_token``) and redirects to
the H5 with, in the URL fragment (never sent to a server, so never in a log):

- ``#wechat_login=<one-time code>`` when the openid is bound to an account: the H5 exchanges it
  by POST for the token pair (a session started as the phone sign-in starts one);
- ``#wechat_bind=<one-time ticket>`` when it is not: the resident signs in by phone code as
  usual, sending the ticket along, and the openid is bound to that account.

Off (404 ``wechat_not_configured``) without ``WECHAT_APPID`` and ``WECHAT_SECRET``. The secret,
the WeChat code and the openid are never logged in full. Functions flush, never commit.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from participation.auth.models import Account, WechatHandoff
from participation.common.errors import ApiError, conflict
from participation.common.privacy import keyed_hash
from participation.common.types import utcnow
from participation.extensions import db

log = logging.getLogger(__name__)

STATE_COOKIE = "participation_wechat_state"
STATE_COOKIE_PATH = "/api/v1/auth/wechat/"
STATE_SECONDS = 600
DEFAULT_NEXT = "/h5/"
MAX_NEXT = 512
MAX_ANSWER_BYTES = 64 * 1024
# WeChat's answers for a code that is wrong, used or expired (the others are ours to fix).
CODE_ERRCODES = {40029, 40163, 41008, 42003}


def configured() -> bool:
    config = current_app.config
    return bool(config.get("WECHAT_APPID") and config.get("WECHAT_SECRET"))


def require_configured() -> None:
    if not configured():
        raise ApiError(404, "wechat_not_configured", "本服务未开通微信登录，请使用手机号登录")


def short(openid: str) -> str:
    """An openid as it may appear in a log."""
    return openid[:4] + "…"


# --- the redirect to WeChat -----------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """A path of this site to return to, or 400 ``next_invalid`` (no open redirect: no scheme,
    no host, no ``//`` or backslash that a browser would take for a host). The fragment is
    dropped: ours goes there."""
    if not value:
        return DEFAULT_NEXT
    refused = ApiError(400, "next_invalid", "跳转地址无效，只能返回本站页面")
    if len(value) > MAX_NEXT or any(c < " " or c in "\\\x7f" for c in value):
        raise refused
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        raise refused
    return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="wechat-oauth-state")


def start(next_path: str, callback_url: str) -> tuple[str, str]:
    """WeChat's authorisation URL and the signed cookie value binding its state to the
    browser. ``state``: 32 hex digits (WeChat allows a-zA-Z0-9, up to 128 bytes)."""
    state = secrets.token_hex(16)
    config = current_app.config
    query = urllib.parse.urlencode(
        {
            "appid": config["WECHAT_APPID"],
            "redirect_uri": callback_url,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        },
        quote_via=urllib.parse.quote,
    )
    url = f"{config['WECHAT_OPEN_BASE'].rstrip('/')}/connect/oauth2/authorize?{query}"
    cookie = _serializer().dumps({"s": state, "n": next_path})
    return url + "#wechat_redirect", cookie


def read_state(cookie: str | None) -> dict | None:
    """The state and return path the cookie names, if it is ours and fresh."""
    if not cookie:
        return None
    try:
        data = _serializer().loads(cookie, max_age=STATE_SECONDS)
    except BadData:  # a bad signature, expired, or not our payload
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        return None
    return data


# --- the callback ---------------------------------------------------------------------------


def finish(cookie_state: dict | None, state: str | None, code: str | None) -> str:
    """Check the state, swap the code for the openid and store the hand-off; returns where the
    browser goes next (the H5 path with ``#wechat_login=`` or ``#wechat_bind=``)."""
    if (
        cookie_state is None
        or not state
        or not hmac.compare_digest(cookie_state["s"].encode(), state.encode())
    ):
        raise ApiError(400, "wechat_state_invalid", "登录请求已失效，请重新打开页面")
    if not code or len(code) > 256:
        raise ApiError(400, "wechat_code_missing", "未获得微信授权，请重新打开页面")
    code_hash = keyed_hash(code, "wechat-code")
    if db.session.scalar(select(exists().where(WechatHandoff.wechat_code_hash == code_hash))):
        raise ApiError(400, "wechat_code_used", "微信授权已使用，请重新打开页面")
    openid = exchange_code(code)
    account_id = db.session.scalar(select(Account.id).where(Account.wechat_openid == openid))
    config = current_app.config
    now = utcnow()
    seconds = config["WECHAT_LOGIN_CODE_SECONDS" if account_id else "WECHAT_BIND_TICKET_SECONDS"]
    token = secrets.token_urlsafe(32)
    # Hand-offs past their time are of no use to anyone: cleared as new ones come.
    db.session.execute(
        delete(WechatHandoff).where(WechatHandoff.expires_at < now - timedelta(seconds=900))
    )
    try:
        with db.session.begin_nested():
            db.session.add(
                WechatHandoff(
                    token_hash=_token_hash(token),
                    wechat_code_hash=code_hash,
                    account_id=account_id,
                    openid=None if account_id else openid,
                    expires_at=now + timedelta(seconds=seconds),
                )
            )
    except IntegrityError:
        raise ApiError(400, "wechat_code_used", "微信授权已使用，请重新打开页面") from None
    log.info("wechat callback: openid %s %s", short(openid), "bound" if account_id else "unbound")
    kind = "wechat_login" if account_id else "wechat_bind"
    return f"{cookie_state.get('n') or DEFAULT_NEXT}#{kind}={token}"


def exchange_code(code: str) -> str:
    """The openid for a WeChat code: ``GET /sns/oauth2/access_token`` on WeChat's API.

    400 ``wechat_code_invalid`` for a wrong, used or expired code; 502 ``wechat_unavailable``
    when WeChat cannot be reached or refuses our appid/secret. Exceptions are logged by class
    only: their text may carry the request URL, and with it the secret and the code."""
    config = current_app.config
    query = urllib.parse.urlencode(
        {
            "appid": config["WECHAT_APPID"],
            "secret": config["WECHAT_SECRET"],
            "code": code,
            "grant_type": "authorization_code",
        }
    )
    url = f"{config['WECHAT_API_BASE'].rstrip('/')}/sns/oauth2/access_token?{query}"
    unavailable = ApiError(502, "wechat_unavailable", "微信登录暂时不可用，请使用手机号登录")
    try:
        with urllib.request.urlopen(url, timeout=config["WECHAT_TIMEOUT_SECONDS"]) as answer:
            body = answer.read(MAX_ANSWER_BYTES)
        data = json.loads(body)
    except urllib.error.HTTPError as exc:
        log.warning("wechat access_token: HTTP %s", exc.code)
        raise unavailable from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, not JSON
        log.warning("wechat access_token: %s", type(exc).__name__)
        raise unavailable from None
    if not isinstance(data, dict):
        log.warning("wechat access_token: answer is not an object")
        raise unavailable
    errcode = data.get("errcode")
    if errcode:
        log.warning("wechat access_token refused: errcode %s (%s)", errcode, data.get("errmsg"))
        if errcode in CODE_ERRCODES:
            raise ApiError(400, "wechat_code_invalid", "微信授权已失效，请重新打开页面")
        raise unavailable
    openid = data.get("openid")
    if not isinstance(openid, str) or not 1 <= len(openid) <= 64:
        log.warning("wechat access_token: no openid in the answer")
        raise unavailable
    if data.get("is_snapshotuser") == 1:
        # 快照页模式: a virtual openid, not the user's: nothing to sign in or bind.
        raise ApiError(400, "wechat_snapshot_user", "请点击页面下方“使用完整服务”后再登录")
    return openid


# --- the hand-offs --------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return keyed_hash(token, "wechat-handoff")


def use_login_code(token: str) -> Account:
    """The account a one-time sign-in code was issued for; the code is used up (a conditional
    UPDATE: of two exchanges only one gets the account). 401 ``wechat_login_invalid``."""
    now = utcnow()
    account_id = db.session.scalar(
        update(WechatHandoff)
        .where(
            WechatHandoff.token_hash == _token_hash(token),
            WechatHandoff.used_at.is_(None),
            WechatHandoff.expires_at > now,
            WechatHandoff.account_id.is_not(None),
        )
        .values(used_at=now)
        .returning(WechatHandoff.account_id)
    )
    account = db.session.get(Account, account_id) if account_id else None
    if account is None or account.wechat_openid is None:
        raise ApiError(
            401, "wechat_login_invalid", "微信登录已失效，请重新打开页面或使用手机号登录"
        )
    return account


def _ticket_invalid() -> ApiError:
    return ApiError(
        400,
        "wechat_ticket_invalid",
        "微信绑定已失效，请从公众号重新打开页面，或直接用手机号登录",
        {"wechat_ticket": ["已失效"]},
    )


def check_ticket(ticket: str) -> None:
    """400 ``wechat_ticket_invalid`` unless the binding ticket is unused and in time (checked
    before the SMS code is used up, so a stale ticket does not cost the code)."""
    found = db.session.scalar(
        select(
            exists().where(
                WechatHandoff.token_hash == _token_hash(ticket),
                WechatHandoff.used_at.is_(None),
                WechatHandoff.expires_at > utcnow(),
                WechatHandoff.openid.is_not(None),
            )
        )
    )
    if not found:
        raise _ticket_invalid()


def bind(account: Account, ticket: str) -> None:
    """Use up the binding ticket and bind its openid to ``account``. 409 when the openid is
    bound to another account (the unique key decides, not a prior read) or the account has
    another WeChat user bound already."""
    now = utcnow()
    openid = db.session.scalar(
        update(WechatHandoff)
        .where(
            WechatHandoff.token_hash == _token_hash(ticket),
            WechatHandoff.used_at.is_(None),
            WechatHandoff.expires_at > now,
            WechatHandoff.openid.is_not(None),
        )
        .values(used_at=now)
        .returning(WechatHandoff.openid)
    )
    if openid is None:
        raise _ticket_invalid()
    if account.wechat_openid == openid:
        return
    try:
        with db.session.begin_nested():
            bound = db.session.execute(
                update(Account)
                .where(Account.id == account.id, Account.wechat_openid.is_(None))
                .values(wechat_openid=openid)
            )
    except IntegrityError:
        raise conflict(
            "wechat_bound_elsewhere", "该微信已绑定其他手机号，请用那个手机号登录"
        ) from None
    if bound.rowcount != 1:
        raise conflict(
            "wechat_account_bound", "该手机号已绑定其他微信，请用原来的微信打开，或直接用手机号登录"
        )
    db.session.refresh(account, ["wechat_openid"])
    log.info("wechat openid %s bound to account %s", short(openid), account.id)
