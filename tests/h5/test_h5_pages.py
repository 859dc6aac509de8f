"""The H5 pages as files: served from the package, self-contained, under a strict CSP.
The browser test (test_h5_browser.py) covers what they do."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from participation import create_app
from participation.auth.scoping import resolve_path_objects

PAGES = ["/h5/", "/h5/?compound=1", "/h5/static/app.js", "/h5/static/style.css"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_served_with_a_strict_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp and "*" not in csp and "http" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_content_types(client):
    assert client.get("/h5/").mimetype == "text/html"
    assert client.get("/h5/static/app.js").mimetype == "text/javascript"
    assert client.get("/h5/static/style.css").mimetype == "text/css"
    assert client.get("/h5/static/nothing.js").status_code == 404


def test_without_slash_redirects_and_keeps_the_compound(client):
    response = client.get("/h5?compound=7")
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith("/h5/?compound=7")


def test_pages_are_not_in_the_api_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert not [path for path in spec["paths"] if "h5" in path]


def test_page_loads_nothing_from_elsewhere_and_has_no_inline_code():
    html = files("participation.h5").joinpath("index.html").read_text(encoding="utf-8")
    script = files("participation.h5").joinpath("static/app.js").read_text(encoding="utf-8")
    css = files("participation.h5").joinpath("static/style.css").read_text(encoding="utf-8")
    plan = files("participation.h5").joinpath("static/plan.js").read_text(encoding="utf-8")
    assert re.findall(r'(?:src|href)="([^"#]+)"', html) == [
        "static/style.css",
        "static/app.js",
        "static/plan.js",
    ]
    assert "<style" not in html and not re.search(r"\sstyle=|\son[a-z]+=", html)
    assert re.findall(r"<script[^>]*>\s*</script>", html) == [
        '<script src="static/app.js" defer></script>',
        '<script src="static/plan.js" defer></script>',
    ]
    for text in (html, script, css, plan):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
        assert "@import" not in text and "url(" not in text
    assert 'lang="zh-CN"' in html and 'name="viewport"' in html


def test_script_keeps_personal_data_out_of_urls_storage_and_console():
    script = files("participation.h5").joinpath("static/app.js").read_text(encoding="utf-8")
    assert "console." not in script
    assert "document.cookie" not in script
    # localStorage keeps one display preference (大字), nothing personal.
    stored = re.findall(r"localStorage\.(\w+)\((\w+)", script)
    assert stored and {key for _, key in stored} == {"LARGE_TEXT_KEY"}, stored
    assert script.count("localStorage") == len(stored)
    assert 'LARGE_TEXT_KEY = "participation.h5.large-text"' in script
    assert "sessionStorage" in script
    plan = files("participation.h5").joinpath("static/plan.js").read_text(encoding="utf-8")
    for word in ("fetch(", "console.", "document.cookie", "localStorage", "sessionStorage"):
        assert word not in plan, word  # the plan page: app.js's helpers only
    # Every request goes through one helper that sends data in JSON bodies, never in a query.
    assert script.count("fetch(") == 1
    assert "?phone" not in script and "?token" not in script and "location.href =" not in script


def test_every_form_control_has_a_label():
    html = files("participation.h5").joinpath("index.html").read_text(encoding="utf-8")
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    for tag, attrs in re.findall(r"<(input|select)\b([^>]*)>", html):
        control_id = re.search(r'id="([^"]+)"', attrs).group(1)
        wrapped = 'type="radio"' in attrs or 'type="checkbox"' in attrs  # inside their <label>
        assert control_id in labelled or wrapped, f"<{tag} id={control_id}> has no label"
        assert "name=" not in attrs or wrapped, "only radios have a name (nothing to submit)"


def test_a_second_app_can_be_created_in_the_same_process(app):
    """The browser test's live server is its own app next to the session's ``app``."""
    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "REDIS_URL": None,
            "SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "JWT_SECRET_KEY": "test-secret-key-with-enough-length-for-hs256",
            "ID_HASH_KEY": "test-id-hash-key",
            "SMS_SENDER": "test",
        }
    )
    assert other.extensions["sms_sender"] is not app.extensions["sms_sender"]
    for name in ("auth", "staff", "roster", "public"):
        assert other.before_request_funcs[name] == [resolve_path_objects]
        assert app.before_request_funcs[name] == [resolve_path_objects]
    assert other.test_client().get("/h5/").status_code == 200


def test_assets_are_versioned_cached_for_a_year_and_sent_compressed(client):
    """A phone on a slow network fetches the page (revalidated, small) and, once per release,
    the assets it names by content hash; text goes gzip-compressed."""
    import gzip

    page = client.get("/h5/?compound=1", headers={"Accept-Encoding": "gzip, deflate"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert page.headers["Cache-Control"] == "no-cache"
    html = gzip.decompress(page.data).decode()
    assets = re.findall(r'(?:src|href)="(/h5/static/[\w.-]+\?v=\w+)"', html)
    assert [a.split("?")[0] for a in assets] == [
        "/h5/static/style.css",
        "/h5/static/app.js",
        "/h5/static/plan.js",
    ]
    transferred = len(page.data)
    for asset in assets:
        response = client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Vary"] == "Accept-Encoding"
        plain = client.get(asset)  # a client without gzip gets the file as it is
        assert "Content-Encoding" not in plain.headers
        assert gzip.decompress(response.data) == plain.data
        again = client.get(asset, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        transferred += len(response.data)
    # The page and its assets; the API's JSON comes on top (bench/h5_slow_network.py).
    assert transferred < 60_000, transferred
    # An old or missing version is not cached for long: the next release is not hidden.
    stale = client.get("/h5/static/app.js?v=0123456789abcdef")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
