"""WeChat sign-in in a real browser: the H5 opened through /auth/wechat/authorize, a stand-in
for WeChat on loopback (its authorisation page sends the browser straight back with a code, as
snsapi_base does; its API swaps codes for an openid), the binding by phone code, then a second
visit that signs in without a code."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from participation import create_app
from participation.auth.models import Account
from participation.extensions import db
from participation.roster.models import Community, Compound, District, Street

SECRET = "test-secret-key-with-enough-length-for-hs256"
OPENID = "oBrowserWechatUser0000000000"
PHONE = "13900000009"
STORED_TICKET = "() => sessionStorage.getItem('participation.h5.wechat_ticket')"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def _stand_in_wechat() -> ThreadingHTTPServer:
    issued: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            if parts.path == "/connect/oauth2/authorize":
                assert query["scope"] == "snsapi_base"
                code = secrets.token_hex(8)
                issued.add(code)
                back = urlencode({"code": code, "state": query["state"]})
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{back}")
                self.end_headers()
                return
            if code := query.get("code"):
                answer = (
                    {"openid": OPENID, "scope": "snsapi_base"}
                    if code in issued
                    else {
                        "errcode": 40029,
                        "errmsg": "invalid code",
                    }
                )
                issued.discard(code)
            else:
                answer = {"errcode": 41008, "errmsg": "missing code"}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(app, live server URL, compound id): the app on a SQLite file of its own, WeChat sign-in
    configured against the stand-in."""
    wechat = _stand_in_wechat()
    wechat_base = f"http://127.0.0.1:{wechat.server_address[1]}"
    database = tmp_path_factory.mktemp("h5wechat") / "h5.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "REDIS_URL": None,
            "SECRET_KEY": SECRET,
            "JWT_SECRET_KEY": SECRET,
            "ID_HASH_KEY": "test-id-hash-key",
            "SMS_SENDER": "test",
            "WECHAT_APPID": "wxbrowsertest0000",
            "WECHAT_SECRET": "browser-test-secret",
            "WECHAT_OPEN_BASE": wechat_base,
            "WECHAT_API_BASE": wechat_base,
        }
    )
    with app.app_context():
        db.create_all()
        district = District(name="测试区")
        street = Street(district=district, name="测试街道")
        community = Community(street=street, name="测试社区")
        compound = Compound(community=community, name="微信小区", address="和平路9号")
        db.session.add_all([district, street, community, compound])
        db.session.commit()
        compound_id = compound.id
    live = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True) for server in (live, wechat)
    ]
    for thread in threads:
        thread.start()
    try:
        yield app, f"http://127.0.0.1:{live.server_port}", compound_id
    finally:
        live.shutdown()
        wechat.shutdown()
        wechat.server_close()
        for thread in threads:
            thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def test_bind_by_phone_code_then_sign_in_from_wechat_directly(browser, servers):
    from playwright.sync_api import expect

    app, url, compound_id = servers
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    entry = f"{url}/api/v1/auth/wechat/authorize?next=" + quote(f"/h5/?compound={compound_id}")
    try:
        # First visit: not bound yet → the phone sign-in, the ticket kept for this tab.
        page.goto(entry)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
        assert urlsplit(page.url).fragment == ""  # taken out of the address at once
        assert page.evaluate(STORED_TICKET)

        page.get_by_label("手机号", exact=True).fill(PHONE)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.get_by_role("status").filter(has_text="验证码已发送")).to_be_visible()
        code = next(c for p, c in reversed(app.extensions["sms_sender"].outbox) if p == PHONE)
        page.get_by_label("验证码", exact=True).fill(code)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="我的房屋")).to_be_visible()
        assert page.evaluate(STORED_TICKET) is None
        with app.app_context():
            bound = db.session.scalar(select(Account.phone).where(Account.wechat_openid == OPENID))
        assert bound == PHONE

        # Sign out, then come back from WeChat: signed in without a code.
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
        page.goto(entry)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.get_by_role("heading", name="我的房屋")).to_be_visible()
        assert urlsplit(page.url).fragment == ""
        assert page.evaluate("() => sessionStorage.getItem('participation.h5.tokens')")

        # Unbind (a shared or changed WeChat): the next visit from WeChat asks for the phone.
        expect(page.locator("#wechat-block")).to_contain_text("已绑定微信")
        page.get_by_role("button", name="解除微信绑定").click()
        expect(page.locator("#home-status")).to_contain_text("已解除微信绑定")
        expect(page.locator("#wechat-block")).to_be_hidden()
        with app.app_context():
            assert (
                db.session.scalar(select(Account.wechat_openid).where(Account.phone == PHONE))
                is None
            )
        page.get_by_role("button", name="退出登录").click()
        page.goto(entry)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
        assert page.evaluate(STORED_TICKET)
        assert not errors, errors
    finally:
        context.close()
