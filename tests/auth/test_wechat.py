"""Sign-in through WeChat's web authorisation (snsapi_base), against a stand-in WeChat API
server on loopback that answers ``/sns/oauth2/access_token`` as WeChat does."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select, update

from participation.auth.models import Account, WechatHandoff
from participation.common.types import utcnow

APPID = "wx0123456789abcdef"
SECRET = "stand-in-secret-0123456789abcdef"
CALLBACK = "/api/v1/auth/wechat/callback"
AUTHORIZE = "/api/v1/auth/wechat/authorize"
SESSIONS = "/api/v1/auth/wechat/sessions"
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
PHONE = "13812345678"
H5 = "/h5/?compound=1"


class StandInWechat:
    """What the stand-in answers: ``codes[code]`` is the JSON for that code (by default
    ``{"errcode":40029,"errmsg":"invalid code"}``); a code answered with an openid once is
    ``40163 code been used`` afterwards, as on WeChat. ``calls`` holds each request's query."""

    def __init__(self) -> None:
        self.codes: dict[str, dict] = {}
        self.used: set[str] = set()
        self.calls: list[dict[str, str]] = []
        self.status = 200
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        self.codes.clear()
        self.used.clear()
        self.calls.clear()
        self.status = 200

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path != "/sns/oauth2/access_token":
                    self.send_error(404)
                    return
                query = dict(parse_qsl(parts.query))
                stand_in.calls.append(query)
                code = query.get("code", "")
                if code in stand_in.used:
                    answer = {"errcode": 40163, "errmsg": "code been used, rid: 1"}
                else:
                    answer = stand_in.codes.get(code, {"errcode": 40029, "errmsg": "invalid code"})
                    if "openid" in answer:
                        stand_in.used.add(code)
                body = json.dumps(answer).encode()
                self.send_response(stand_in.status)
                self.send_header("Content-Type", "text/plain")  # as WeChat sends it
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def grant(self, code: str, openid: str = OPENID, **extra) -> None:
        self.codes[code] = {
            "access_token": "ACCESS_TOKEN",
            "expires_in": 7200,
            "refresh_token": "REFRESH_TOKEN",
            "openid": openid,
            "scope": "snsapi_base",
            **extra,
        }


@pytest.fixture(scope="module")
def stand_in():
    server = StandInWechat()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join()


@pytest.fixture
def wechat(app, monkeypatch, stand_in):
    """WeChat sign-in configured, its API the stand-in."""
    stand_in.reset()
    for key, value in {
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_OPEN_BASE": "https://open.weixin.qq.com",
        "WECHAT_API_BASE": stand_in.base,
        "PUBLIC_BASE_URL": None,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return stand_in


def _authorize(client, next_path: str | None = H5, **kwargs):
    query = {} if next_path is None else {"next": next_path}
    return client.get(AUTHORIZE, query_string=query, **kwargs)


def _state(response) -> str:
    assert response.status_code == 302, response.get_json()
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def _visit(client, stand_in, code: str, openid: str = OPENID, next_path: str = H5):
    """Open the H5 from WeChat: authorize, WeChat grants ``code``, the callback."""
    state = _state(_authorize(client, next_path))
    stand_in.grant(code, openid)
    return client.get(CALLBACK, query_string={"code": code, "state": state})


def _handed(response, kind: str) -> str:
    """The one-time value in the redirect's fragment (``wechat_login`` / ``wechat_bind``)."""
    assert response.status_code == 302, response.get_json()
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("", "")
    assert f"{location.path}?{location.query}" == H5
    name, _, value = location.fragment.partition("=")
    assert name == kind
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", value)
    return value


def _bound(db, openid: str = OPENID) -> list[str]:
    return list(db.session.scalars(select(Account.phone).where(Account.wechat_openid == openid)))


# --- the redirect to WeChat -------------------------------------------------------------------


def test_authorize_redirects_to_wechat_in_its_documented_format(client, wechat):
    response = _authorize(client)
    assert response.status_code == 302
    location = response.headers["Location"]
    url = urlsplit(location)
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "open.weixin.qq.com",
        "/connect/oauth2/authorize",
    )
    assert url.fragment == "wechat_redirect"
    assert location.endswith("#wechat_redirect")
    params = parse_qsl(url.query, keep_blank_values=True)
    assert [name for name, _ in params] == [
        "appid",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
    ]
    values = dict(params)
    assert values["appid"] == APPID
    assert values["redirect_uri"] == "http://localhost" + CALLBACK
    # URL-encoded in the query, slashes and colon included.
    assert "redirect_uri=http%3A%2F%2Flocalhost%2Fapi%2Fv1%2Fauth%2Fwechat%2Fcallback&" in location
    assert values["response_type"] == "code"
    assert values["scope"] == "snsapi_base"
    assert re.fullmatch(r"[0-9a-f]{32}", values["state"])  # WeChat: a-zA-Z0-9, ≤ 128 bytes
    assert SECRET not in location
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/api/v1/auth/wechat/" in cookie and "Max-Age=600" in cookie
    assert values["state"] not in cookie  # signed and encoded, not the bare state


def test_every_visit_gets_its_own_state(client, wechat):
    assert _state(_authorize(client)) != _state(_authorize(client))


def test_the_callback_address_uses_the_public_base_url(client, wechat, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://gaizao.example.cn/")
    response = _authorize(client)
    redirect_uri = parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == "https://gaizao.example.cn" + CALLBACK


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example.com/",
        "//evil.example.com/h5/",
        "/\\evil.example.com",
        "\\\\evil.example.com",
        "javascript:alert(1)",
        "h5/",
        "/h5/\r\nSet-Cookie: x=1",
        "http:/evil.example.com",
        "///evil.example.com",
    ],
)
def test_next_must_be_a_path_of_this_site(client, wechat, next_path):
    response = _authorize(client, next_path)
    assert response.status_code == 400
    assert response.json["code"] == "next_invalid"
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers


def test_next_defaults_to_the_h5_and_keeps_its_query(client, wechat, db):
    state = _state(_authorize(client, None))
    wechat.grant("CODE_DEFAULT")
    response = client.get(CALLBACK, query_string={"code": "CODE_DEFAULT", "state": state})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/h5/#wechat_bind=")


# --- the callback: bind, then sign in directly -------------------------------------------------


def test_unbound_user_binds_by_phone_code_then_signs_in_directly(
    client, wechat, db, request_code, auth_header, caplog
):
    caplog.set_level(logging.DEBUG)
    first = _visit(client, wechat, "CODE_FIRST")
    ticket = _handed(first, "wechat_bind")
    assert wechat.calls == [
        {
            "appid": APPID,
            "secret": SECRET,
            "code": "CODE_FIRST",
            "grant_type": "authorization_code",
        }
    ]
    assert _bound(db) == []
    # The state cookie is good for one callback.
    assert client.get_cookie("participation_wechat_state", path="/api/v1/auth/wechat/") is None

    code = request_code(PHONE)
    signed_in = client.post(
        "/api/v1/auth/sessions", json={"phone": PHONE, "code": code, "wechat_ticket": ticket}
    )
    assert signed_in.status_code == 201, signed_in.json
    assert _bound(db) == [PHONE]

    # The ticket works once.
    again = client.post(
        "/api/v1/auth/sessions",
        json={"phone": PHONE, "code": "000000", "wechat_ticket": ticket},
    )
    assert again.status_code == 400
    assert again.json["code"] == "wechat_ticket_invalid"

    second = _visit(client, wechat, "CODE_SECOND")
    login_code = _handed(second, "wechat_login")
    tokens = client.post(SESSIONS, json={"code": login_code})
    assert tokens.status_code == 201, tokens.json
    assert tokens.json["token_type"] == "Bearer"
    me = client.get("/api/v1/me", headers=auth_header(tokens.json["access_token"]))
    assert me.status_code == 200
    assert me.json["resident"]["phone"] == "138****5678"
    refreshed = client.post(
        "/api/v1/auth/refresh", headers=auth_header(tokens.json["refresh_token"])
    )
    assert refreshed.status_code == 200

    replay = client.post(SESSIONS, json={"code": login_code})
    assert replay.status_code == 401
    assert replay.json["code"] == "wechat_login_invalid"
    assert re.search(r"[\u4e00-\u9fff]", replay.json["message"])

    logged = caplog.text
    for secret in (SECRET, OPENID, "CODE_FIRST", "CODE_SECOND", ticket, login_code):
        assert secret not in logged


def test_a_resident_unbinds_wechat_and_is_asked_for_the_phone_again(
    client, wechat, db, request_code, auth_header
):
    ticket = _handed(_visit(client, wechat, "CODE_FIRST"), "wechat_bind")
    signed_in = client.post(
        "/api/v1/auth/sessions",
        json={"phone": PHONE, "code": request_code(PHONE), "wechat_ticket": ticket},
    )
    headers = auth_header(signed_in.json["access_token"])
    assert client.get("/api/v1/me", headers=headers).json["resident"]["wechat_bound"] is True

    for _ in range(2):  # idempotent
        assert client.delete("/api/v1/me/wechat", headers=headers).status_code == 204
    assert _bound(db) == []
    assert client.get("/api/v1/me", headers=headers).json["resident"]["wechat_bound"] is False
    # Opening the page in WeChat again leads to the phone sign-in (a binding ticket).
    _handed(_visit(client, wechat, "CODE_SECOND"), "wechat_bind")


def test_staff_have_no_wechat_to_unbind(client, db, make_compound, make_staff, sign_in):
    from participation.auth.models import Role

    staff = make_staff(Role.COMPOUND, make_compound("望江花园").id)
    refused = client.delete("/api/v1/me/wechat", headers=sign_in(staff))
    assert refused.status_code == 403 and refused.json["code"] == "resident_only"


def test_wechat_sign_in_links_roster_owners_as_phone_sign_in_does(
    client, wechat, db, make_compound, make_dwelling
):
    account = Account(phone=PHONE, wechat_openid=OPENID)
    db.session.add(account)
    compound = make_compound()
    owner = make_dwelling.owner(compound, "张三", PHONE)
    make_dwelling(compound, owners=[owner])
    tokens = client.post(
        SESSIONS, json={"code": _handed(_visit(client, wechat, "C1"), "wechat_login")}
    )
    assert tokens.status_code == 201
    db.session.refresh(owner)
    db.session.refresh(account)
    assert owner.account_id == account.id
    assert account.last_sign_in_at is not None


def test_a_login_code_expires(client, wechat, db):
    db.session.add(Account(phone=PHONE, wechat_openid=OPENID))
    login_code = _handed(_visit(client, wechat, "C1"), "wechat_login")
    db.session.execute(update(WechatHandoff).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.post(SESSIONS, json={"code": login_code})
    assert response.status_code == 401
    assert response.json["code"] == "wechat_login_invalid"


def test_an_expired_ticket_is_refused_and_the_sms_code_is_kept(client, wechat, db, request_code):
    ticket = _handed(_visit(client, wechat, "C1"), "wechat_bind")
    db.session.execute(update(WechatHandoff).values(expires_at=utcnow() - timedelta(seconds=1)))
    code = request_code(PHONE)
    refused = client.post(
        "/api/v1/auth/sessions", json={"phone": PHONE, "code": code, "wechat_ticket": ticket}
    )
    assert refused.status_code == 400
    assert refused.json["code"] == "wechat_ticket_invalid"
    assert _bound(db) == []
    # Signing in without the ticket still works with the same code.
    plain = client.post("/api/v1/auth/sessions", json={"phone": PHONE, "code": code})
    assert plain.status_code == 201
    assert _bound(db) == []


# --- errors: nothing bound --------------------------------------------------------------------


def test_invalid_code_is_refused_with_a_message_and_nothing_bound(client, wechat, db):
    state = _state(_authorize(client))
    response = client.get(CALLBACK, query_string={"code": "NOT_A_CODE", "state": state})
    assert response.status_code == 400
    assert response.json["code"] == "wechat_code_invalid"
    assert re.search(r"[\u4e00-\u9fff]", response.json["message"])
    assert [call["code"] for call in wechat.calls] == ["NOT_A_CODE"]
    assert db.session.scalar(select(func.count()).select_from(WechatHandoff)) == 0
    assert _bound(db) == []


def test_a_browser_gets_the_message_as_a_page(client, wechat):
    state = _state(_authorize(client))
    response = client.get(
        CALLBACK,
        query_string={"code": "NOT_A_CODE", "state": state},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "微信授权已失效" in page
    assert 'href="/h5/?compound=1"' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("state", [None, "", "0" * 32, "not-the-state"])
def test_a_bad_state_is_refused_before_asking_wechat(client, wechat, db, state):
    _authorize(client)
    wechat.grant("GOOD_CODE")
    query = {"code": "GOOD_CODE"} | ({} if state is None else {"state": state})
    response = client.get(CALLBACK, query_string=query)
    assert response.status_code == 400
    assert response.json["code"] == "wechat_state_invalid"
    assert wechat.calls == []
    assert _bound(db) == []


def test_a_state_without_its_cookie_is_refused(app, client, wechat, db):
    state = _state(_authorize(client))
    other_browser = app.test_client()
    wechat.grant("GOOD_CODE")
    response = other_browser.get(CALLBACK, query_string={"code": "GOOD_CODE", "state": state})
    assert response.status_code == 400
    assert response.json["code"] == "wechat_state_invalid"
    assert wechat.calls == []


def test_a_forged_state_cookie_is_refused(client, wechat):
    client.set_cookie(
        "participation_wechat_state", "eyJzIjoiYWJjIn0.forged.sig", path="/api/v1/auth/wechat/"
    )
    response = client.get(CALLBACK, query_string={"code": "X", "state": "abc"})
    assert response.status_code == 400
    assert response.json["code"] == "wechat_state_invalid"


def test_a_stale_state_is_refused(client, wechat, monkeypatch):
    state = _state(_authorize(client))
    monkeypatch.setattr("participation.auth.wechat.STATE_SECONDS", -1)  # older than allowed
    wechat.grant("GOOD_CODE")
    response = client.get(CALLBACK, query_string={"code": "GOOD_CODE", "state": state})
    assert response.status_code == 400
    assert response.json["code"] == "wechat_state_invalid"
    assert wechat.calls == []


def test_a_replayed_callback_is_refused(client, wechat, db):
    state = _state(_authorize(client))
    wechat.grant("ONCE")
    first = client.get(CALLBACK, query_string={"code": "ONCE", "state": state})
    _handed(first, "wechat_bind")
    replay = client.get(CALLBACK, query_string={"code": "ONCE", "state": state})
    assert replay.status_code == 400
    assert replay.json["code"] == "wechat_state_invalid"
    # With a fresh state, the used code is refused here, without asking WeChat again.
    fresh = _state(_authorize(client))
    reused = client.get(CALLBACK, query_string={"code": "ONCE", "state": fresh})
    assert reused.status_code == 400
    assert reused.json["code"] == "wechat_code_used"
    assert len(wechat.calls) == 1
    assert db.session.scalar(select(func.count()).select_from(WechatHandoff)) == 1


def test_a_code_wechat_says_was_used_is_refused(client, wechat, db):
    wechat.used.add("USED")
    state = _state(_authorize(client))
    response = client.get(CALLBACK, query_string={"code": "USED", "state": state})
    assert response.status_code == 400
    assert response.json["code"] == "wechat_code_invalid"
    assert db.session.scalar(select(func.count()).select_from(WechatHandoff)) == 0


@pytest.mark.parametrize(
    "answer, status",
    [
        ({"errcode": 40125, "errmsg": "invalid appsecret"}, 200),
        ({"errcode": -1, "errmsg": "system error"}, 200),
        ({"errcode": 40029, "errmsg": "invalid code"}, 500),
        ({"scope": "snsapi_base"}, 200),
    ],
)
def test_wechat_trouble_is_a_502_and_nothing_bound(client, wechat, db, answer, status, caplog):
    wechat.codes["CODE"] = answer
    wechat.status = status
    state = _state(_authorize(client))
    response = client.get(CALLBACK, query_string={"code": "CODE", "state": state})
    assert response.status_code == 502
    assert response.json["code"] == "wechat_unavailable"
    assert db.session.scalar(select(func.count()).select_from(WechatHandoff)) == 0
    assert SECRET not in caplog.text and "CODE" not in caplog.text.replace("errcode", "")


def test_wechat_unreachable_is_a_502(client, wechat, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_API_BASE", "http://127.0.0.1:9")
    state = _state(_authorize(client))
    response = client.get(CALLBACK, query_string={"code": "CODE", "state": state})
    assert response.status_code == 502
    assert response.json["code"] == "wechat_unavailable"


def test_a_snapshot_page_user_is_not_bound(client, wechat, db):
    state = _state(_authorize(client))
    wechat.grant("SNAP", is_snapshotuser=1)
    response = client.get(CALLBACK, query_string={"code": "SNAP", "state": state})
    assert response.status_code == 400
    assert response.json["code"] == "wechat_snapshot_user"
    assert db.session.scalar(select(func.count()).select_from(WechatHandoff)) == 0


# --- one WeChat user, one account ------------------------------------------------------------


def test_one_openid_cannot_bind_two_accounts(client, wechat, db, request_code, limits):
    limits(SMS_PER_ADDRESS_PER_HOUR=10)
    first_ticket = _handed(_visit(client, wechat, "C1"), "wechat_bind")
    second_ticket = _handed(_visit(client, wechat, "C2"), "wechat_bind")
    signed_in = client.post(
        "/api/v1/auth/sessions",
        json={"phone": PHONE, "code": request_code(PHONE), "wechat_ticket": first_ticket},
    )
    assert signed_in.status_code == 201
    other = "13900000002"
    code = request_code(other)
    refused = client.post(
        "/api/v1/auth/sessions", json={"phone": other, "code": code, "wechat_ticket": second_ticket}
    )
    assert refused.status_code == 409
    assert refused.json["code"] == "wechat_bound_elsewhere"
    assert _bound(db) == [PHONE]
    # Nothing of the refused request stayed: no account, the code still good without a ticket.
    assert db.session.scalar(select(Account).where(Account.phone == other)) is None
    plain = client.post("/api/v1/auth/sessions", json={"phone": other, "code": code})
    assert plain.status_code == 201
    assert _bound(db) == [PHONE]


def test_an_account_keeps_the_wechat_user_it_has(client, wechat, db, request_code):
    db.session.add(Account(phone=PHONE, wechat_openid=OPENID))
    ticket = _handed(
        _visit(client, wechat, "C1", openid="oOtherWechatUser000000000000"), "wechat_bind"
    )
    refused = client.post(
        "/api/v1/auth/sessions",
        json={"phone": PHONE, "code": request_code(PHONE), "wechat_ticket": ticket},
    )
    assert refused.status_code == 409
    assert refused.json["code"] == "wechat_account_bound"
    assert _bound(db) == [PHONE]
    assert _bound(db, "oOtherWechatUser000000000000") == []


# --- not configured ---------------------------------------------------------------------------


def test_without_appid_and_secret_wechat_is_off_and_phone_sign_in_works(
    client, app, monkeypatch, db, phone_sign_in, request_code, limits
):
    limits(SMS_PER_PHONE_PER_MINUTE=5)
    monkeypatch.setitem(app.config, "WECHAT_APPID", None)
    monkeypatch.setitem(app.config, "WECHAT_SECRET", None)
    for response in (
        client.get(AUTHORIZE, query_string={"next": H5}),
        client.get(CALLBACK, query_string={"code": "C", "state": "S"}),
        client.post(SESSIONS, json={"code": "x" * 43}),
    ):
        assert response.status_code == 404
        assert response.json["code"] == "wechat_not_configured"
        assert re.search(r"[\u4e00-\u9fff]", response.json["message"])
    tokens = phone_sign_in(PHONE)
    assert tokens["token_type"] == "Bearer"
    # A ticket left over from when WeChat was on does not stand in the way.
    code = request_code(PHONE)
    with_ticket = client.post(
        "/api/v1/auth/sessions", json={"phone": PHONE, "code": code, "wechat_ticket": "stale"}
    )
    assert with_ticket.status_code == 201
    assert db.session.scalar(select(Account.wechat_openid).where(Account.phone == PHONE)) is None


def test_settings_come_from_the_environment(monkeypatch):
    from participation import config

    monkeypatch.setenv("PARTICIPATION_WECHAT_APPID", APPID)
    monkeypatch.setenv("PARTICIPATION_WECHAT_SECRET", SECRET)
    monkeypatch.setenv("PARTICIPATION_SECRET_KEY", "x")
    settings = config.load()
    assert (settings["WECHAT_APPID"], settings["WECHAT_SECRET"]) == (APPID, SECRET)
    assert settings["WECHAT_OPEN_BASE"] == "https://open.weixin.qq.com"
    assert settings["WECHAT_API_BASE"] == "https://api.weixin.qq.com"
    monkeypatch.delenv("PARTICIPATION_WECHAT_APPID")
    monkeypatch.delenv("PARTICIPATION_WECHAT_SECRET")
    assert config.load()["WECHAT_APPID"] is None


# --- at once (real PostgreSQL, real threads, committed for real) -----------------------------


def _at_once(app, requests: list[tuple[str, dict]]) -> list[tuple[int, str | None]]:
    barrier = threading.Barrier(len(requests))
    outcomes: list[tuple[int, str | None]] = []

    def call(url: str, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(url, json=body)
        outcomes.append((response.status_code, (response.get_json() or {}).get("code")))

    threads = [threading.Thread(target=call, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes, key=lambda outcome: outcome[0])


def _handoffs(app, count: int, **values) -> list[str]:
    """``count`` hand-offs (tokens returned) stored as a callback stores them."""
    from participation.auth import wechat as wechat_module
    from participation.extensions import db as _db

    tokens = [f"token-{n}-{OPENID}" for n in range(count)]
    with app.app_context():
        for n, token in enumerate(tokens):
            _db.session.add(
                WechatHandoff(
                    token_hash=wechat_module._token_hash(token),
                    wechat_code_hash=f"code-{n}",
                    expires_at=utcnow() + timedelta(minutes=5),
                    **values,
                )
            )
        _db.session.commit()
    return tokens


@pytest.mark.postgres
def test_tickets_of_one_openid_bound_at_once_bind_one_account(race_app):
    from participation.extensions import db as _db

    race_app.config.update(WECHAT_APPID=APPID, WECHAT_SECRET=SECRET)
    phones = [f"1390000{n:04d}" for n in range(6)]
    client = race_app.test_client()
    for phone in phones:
        assert client.post("/api/v1/auth/codes", json={"phone": phone}).status_code == 202
    codes = dict(race_app.extensions["sms_sender"].outbox)
    tickets = _handoffs(race_app, len(phones), openid=OPENID)
    outcomes = _at_once(
        race_app,
        [
            ("/api/v1/auth/sessions", {"phone": p, "code": codes[p], "wechat_ticket": t})
            for p, t in zip(phones, tickets, strict=True)
        ],
    )
    assert outcomes == [(201, None)] + [(409, "wechat_bound_elsewhere")] * (len(phones) - 1)
    with race_app.app_context():
        accounts = _db.session.execute(select(Account.phone, Account.wechat_openid)).all()
    # The refused sign-ins left nothing behind: one account, the bound one.
    assert len(accounts) == 1 and accounts[0].wechat_openid == OPENID


@pytest.mark.postgres
def test_one_login_code_signs_in_once_however_many_try(race_app):
    from participation.auth.models import AuthSession
    from participation.extensions import db as _db

    race_app.config.update(WECHAT_APPID=APPID, WECHAT_SECRET=SECRET)
    with race_app.app_context():
        account = Account(phone=PHONE, wechat_openid=OPENID)
        _db.session.add(account)
        _db.session.commit()
        account_id = account.id
    [login_code] = _handoffs(race_app, 1, account_id=account_id)
    outcomes = _at_once(race_app, [(SESSIONS, {"code": login_code})] * 8)
    assert outcomes == [(201, None)] + [(401, "wechat_login_invalid")] * 7
    with race_app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(AuthSession)) == 1
