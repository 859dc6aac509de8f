"""The resident H5 page in a real browser (the system Chromium, driven by Playwright) against a
real server: a separate app on a temporary SQLite file, served by werkzeug in a thread.

Without Chromium or the playwright package the tests are skipped locally; with ``CI=true``
they fail instead (the convention of ``_need`` in tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from participation import create_app
from participation.extensions import db
from participation.roster.demo import roster_csv, roster_rows
from participation.roster.importer import import_roster_file
from participation.roster.models import Community, Compound, District, Street

IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOT = Path("/tmp/h5-signed-in.png")
SECRET = "test-secret-key-with-enough-length-for-hs256"

COMPOUND_NAME = "和平里小区"
OWNER_PHONE = "13800000001"  # owner of 1栋1单元101 in the roster below
OWNER_PHONE_MASKED = "138****0001"
NEWCOMER_PHONE = "13900000002"  # in no roster
NEWCOMER_PHONE_MASKED = "139****0002"


def _need(what: str, problem: str):
    """Skip locally, fail under CI=true (as ``_need`` in tests/conftest.py)."""
    if IN_CI:
        pytest.fail(f"CI=true but {what} is not usable: {problem}", pytrace=False)
    pytest.skip(f"{what} not available: {problem}")


# --- the server -----------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class LiveServer:
    url: str
    compound_id: int
    outbox: list = field(repr=False)

    def code_for(self, phone: str) -> str:
        """The last sign-in code the test SMS sender sent to ``phone``."""
        for sent_to, code in reversed(self.outbox):
            if sent_to == phone:
                return code
        raise AssertionError("no code was sent to this phone")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("h5") / "h5.sqlite3"
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
        }
    )
    with app.app_context():
        db.create_all()
        district = District(name="测试区")
        street = Street(district=district, name="测试街道")
        community = Community(street=street, name="测试社区")
        compound = Compound(community=community, name=COMPOUND_NAME, address="和平路8号")
        db.session.add_all([district, street, community, compound])
        db.session.flush()
        # 1栋, 1单元 and 2单元, floors 1–2, rooms x01 and x02; 1栋1单元101 is OWNER_PHONE's.
        rows = roster_rows(
            1, entrances=2, floors=2, rooms_per_floor=2, seed=7, first_phone=OWNER_PHONE
        )
        result = import_roster_file(compound.id, "h5.csv", roster_csv(rows))
        assert result.status.value == "done", result.report
        db.session.commit()
        compound_id = compound.id

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="h5-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{server.server_port}",
            compound_id=compound_id,
            outbox=app.extensions["sms_sender"].outbox,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


# --- the browser ----------------------------------------------------------------------------


@dataclass
class Watched:
    """What a page did that the tests check: its requests, console output and errors."""

    page: object
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self, server: LiveServer, *secrets: str) -> None:
        assert not self.errors, self.errors
        # Chromium reports every 4xx answer as "Failed to load resource"; the tests cause
        # those on purpose. Anything else (a CSP violation, a script error) is a failure.
        problems = [
            m
            for m in self.console
            if m.startswith(("error", "warning")) and "Failed to load resource" not in m
        ]
        assert not problems, problems
        for url in self.requests:
            assert url.startswith(server.url + "/"), f"request to another origin: {url}"
            for secret in secrets:
                assert secret not in url, "personal data or a token in a URL"
        for message in self.console:
            for secret in secrets:
                assert secret not in message, "personal data or a token in the console"


@pytest.fixture
def phone_page(browser):
    """A new page in a phone-sized context (375 × 812, touch, zh-CN)."""
    context = browser.new_context(
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    watched = Watched(page)
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("console", lambda message: watched.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    yield watched
    context.close()


# --- helpers --------------------------------------------------------------------------------


def _expect():
    from playwright.sync_api import expect

    return expect


def _open_landing_page(page, server: LiveServer) -> None:
    expect = _expect()
    page.goto(f"{server.url}/h5/?compound={server.compound_id}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("heading", level=1)).to_have_text(COMPOUND_NAME)
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()


def _sign_in(page, server: LiveServer, phone: str) -> None:
    expect = _expect()
    page.get_by_label("手机号", exact=True).fill(phone)
    send = page.get_by_role("button", name="获取验证码")
    send.click()
    status = page.get_by_role("status").filter(has_text="验证码已发送")
    expect(status).to_have_text("验证码已发送，请查收短信")
    expect(page.locator("#send-code")).to_be_disabled()
    expect(page.locator("#send-code")).to_have_text(re.compile(r"^(60|59|58) 秒后重新获取$"))
    page.get_by_label("验证码", exact=True).fill(server.code_for(phone))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="我的房屋")).to_be_visible()


def _stored_tokens(page) -> dict | None:
    return page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('participation.h5.tokens') || 'null')"
    )


def _assert_no_horizontal_overflow(page) -> None:
    width = page.evaluate("() => window.innerWidth")
    assert width == 375
    overflow = page.evaluate(
        """() => {
            const root = document.documentElement;
            const wide = [...document.querySelectorAll('body *')]
                .filter(e => e.getClientRects().length)
                .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
                .map(e => e.tagName + (e.id ? '#' + e.id : ''));
            return {scroll: root.scrollWidth, client: root.clientWidth, wide};
        }"""
    )
    assert overflow["scroll"] <= overflow["client"], overflow
    assert not overflow["wide"], overflow


def _assert_touch_targets(page) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, input:not([type=radio]), select')]
            .filter(e => e.getClientRects().length)
            .filter(e => e.getBoundingClientRect().height < 44)
            .map(e => e.id)"""
    )
    assert not small, f"touch targets under 44 px high: {small}"


# --- scenarios ------------------------------------------------------------------------------


def test_owner_signs_in_sees_dwelling_and_signs_out(phone_page, live_server):
    expect = _expect()
    page = phone_page.page
    started = time.monotonic()

    _open_landing_page(page, live_server)
    _assert_no_horizontal_overflow(page)
    _assert_touch_targets(page)

    # A wrong number: the API's message next to the field, nothing sent.
    page.get_by_label("手机号", exact=True).fill("12345")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#phone-error")).to_have_text("请输入正确的 11 位手机号")
    expect(page.get_by_label("手机号", exact=True)).to_have_attribute("aria-invalid", "true")
    assert not [sent for sent in live_server.outbox if sent[0] == "12345"]

    _sign_in(page, live_server, OWNER_PHONE)

    owned = page.locator("#owned-list li")
    expect(owned).to_have_count(1)
    expect(owned).to_contain_text(COMPOUND_NAME)
    expect(owned).to_contain_text("1栋1单元101")
    expect(owned).to_contain_text(re.compile(r"面积 \d+\.\d\d m²"))
    expect(page.locator("#my-phone")).to_have_text(OWNER_PHONE_MASKED)
    expect(page.get_by_text(OWNER_PHONE, exact=False)).to_have_count(0)
    expect(page.locator("#claim-section")).to_be_hidden()
    expect(page.get_by_role("button", name="申请关联其他房屋")).to_be_visible()

    tokens = _stored_tokens(page)
    assert tokens and tokens["access"] and tokens["refresh"]
    assert page.evaluate("() => localStorage.length") == 0
    assert page.evaluate("() => document.cookie") == ""
    assert OWNER_PHONE not in page.url

    _assert_no_horizontal_overflow(page)
    _assert_touch_targets(page)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # An expired access token: refreshed once with the refresh token, and the call retried.
    expired_once = []

    def expire_first_me(route):
        if not expired_once:
            expired_once.append(route.request.headers.get("authorization"))
            route.fulfill(
                status=401,
                content_type="application/json",
                body='{"code": "token_expired", "message": "登录已过期，请刷新或重新登录"}',
            )
        else:
            route.continue_()

    page.route("**/api/v1/me", expire_first_me)
    with page.expect_response("**/api/v1/auth/refresh") as refreshed:
        page.reload()
    assert refreshed.value.status == 200
    assert refreshed.value.request.all_headers()["authorization"] == f"Bearer {tokens['refresh']}"
    expect(page.locator("#owned-list li")).to_contain_text("1栋1单元101")
    new_tokens = _stored_tokens(page)
    assert new_tokens["refresh"] == tokens["refresh"]
    assert new_tokens["access"] != tokens["access"]
    page.unroute("**/api/v1/me")

    # Sign out: the session ends on the server and the page forgets everything.
    with page.expect_response("**/api/v1/auth/session") as ended:
        page.get_by_role("button", name="退出登录").click()
    assert ended.value.status == 204
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    expect(page.locator("#sign-in-status")).to_have_text("已退出登录")
    expect(page.locator("#my-phone")).to_have_text("")
    expect(page.locator("#owned-list li")).to_have_count(0)
    assert _stored_tokens(page) is None
    page.reload()
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()

    phone_page.assert_clean(live_server, OWNER_PHONE, tokens["access"], tokens["refresh"])
    assert time.monotonic() - started < 60


def test_newcomer_files_a_tenant_claim_and_sees_it_pending(phone_page, live_server):
    expect = _expect()
    page = phone_page.page
    _open_landing_page(page, live_server)

    # A wrong code: the API's message, still on the sign-in form.
    page.get_by_label("手机号", exact=True).fill(NEWCOMER_PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#sign-in-status")).to_have_text("验证码已发送，请查收短信")

    # Asking again within the minute (a reload resets the page's countdown): the API's 429
    # message, and the countdown follows its Retry-After.
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.get_by_label("手机号", exact=True).fill(NEWCOMER_PHONE)
    with page.expect_response("**/api/v1/auth/codes") as limited:
        page.get_by_role("button", name="获取验证码").click()
    assert limited.value.status == 429
    expect(page.locator("#sign-in-status")).to_contain_text("操作过于频繁")
    expect(page.locator("#sign-in-status")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#send-code")).to_be_disabled()
    expect(page.locator("#send-code")).to_have_text(re.compile(r"^\d+ 秒后重新获取$"))

    wrong = "000000" if live_server.code_for(NEWCOMER_PHONE) != "000000" else "111111"
    page.get_by_label("验证码", exact=True).fill(wrong)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#sign-in-status")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#sign-in-status")).to_contain_text("验证码")
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()

    page.get_by_label("验证码", exact=True).fill(live_server.code_for(NEWCOMER_PHONE))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="我的房屋")).to_be_visible()
    expect(page.locator("#my-phone")).to_have_text(NEWCOMER_PHONE_MASKED)
    expect(page.locator("#no-dwelling")).to_be_visible()

    # The claim form is open, with the compound's buildings and entrances to choose from.
    form = page.locator("#claim-section")
    expect(form).to_be_visible()
    expect(page.locator("#claim-compound")).to_have_text(COMPOUND_NAME)
    building = page.get_by_label("楼栋", exact=True)
    entrance = page.get_by_label("单元", exact=True)
    expect(building.locator("option")).to_have_text(["请选择楼栋", "1栋"])
    expect(entrance).to_be_disabled()
    building.select_option(label="1栋")
    expect(entrance.locator("option")).to_have_text(["请选择单元", "1单元", "2单元"])
    entrance.select_option(label="2单元")
    page.get_by_label("租户", exact=True).check()
    expect(page.locator("#id-hint")).to_have_text("（选填）")
    page.get_by_label("姓名", exact=True).fill("李四")

    # A room that does not exist: the API's message.
    page.get_by_label("房号", exact=True).fill("909")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#claim-status")).to_have_text("未找到该房屋，请核对小区、楼栋、单元和房号")
    expect(page.locator("#room-error")).to_have_text("未找到该房屋")

    page.get_by_label("房号", exact=True).fill("102")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#home-status")).to_have_text(
        f"申请已提交：{COMPOUND_NAME} 1栋2单元102（租户），请等待居委会或业委会审核。"
    )
    pending = page.locator("#claims-list li")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("1栋2单元102")
    expect(pending).to_contain_text("待审核")
    expect(pending).to_contain_text("申请身份：租户")
    expect(form).to_be_hidden()
    expect(page.locator("#owned-block")).to_be_hidden()
    _assert_no_horizontal_overflow(page)

    # Filing the same claim again: the API's conflict message.
    page.get_by_role("button", name="申请关联其他房屋").click()
    building.select_option(label="1栋")
    entrance.select_option(label="2单元")
    page.get_by_label("租户", exact=True).check()
    page.get_by_label("姓名", exact=True).fill("李四")
    page.get_by_label("房号", exact=True).fill("102")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#claim-status")).to_have_text(
        "您已提交过该房屋的申请，请等待居委会或业委会审核"
    )
    page.screenshot(path="/tmp/h5-claim.png", full_page=True)

    tokens = _stored_tokens(page)
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    phone_page.assert_clean(live_server, NEWCOMER_PHONE, tokens["access"], tokens["refresh"])
