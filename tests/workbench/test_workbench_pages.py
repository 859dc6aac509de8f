"""The workbench's files as served: from the package, versioned and cached like the H5's,
under the same strict CSP, self-contained. The browser test (test_workbench_browser.py)
covers what the pages do."""

from __future__ import annotations

import gzip
import re
from importlib.resources import files

import pytest

PAGES = ["/workbench/", "/workbench/static/app.js", "/workbench/static/style.css"]


def _text(name: str) -> str:
    return files("participation.workbench").joinpath(name).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", PAGES)
def test_served_with_the_h5_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert csp == client.get("/h5/").headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_content_types_and_unknown_files(client):
    assert client.get("/workbench/").mimetype == "text/html"
    assert client.get("/workbench/static/app.js").mimetype == "text/javascript"
    assert client.get("/workbench/static/style.css").mimetype == "text/css"
    assert client.get("/workbench/static/nothing.js").status_code == 404
    assert client.get("/workbench/static/..%2F__init__.py").status_code == 404
    # The H5's files are not the workbench's, and the other way round.
    assert client.get("/workbench/static/app.js").data != client.get("/h5/static/app.js").data


def test_without_slash_redirects(client):
    response = client.get("/workbench")
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith("/workbench/")


def test_page_names_versioned_assets_and_is_revalidated(client):
    response = client.get("/workbench/")
    assert response.headers["Cache-Control"] == "no-cache"
    html = response.get_data(as_text=True)
    addresses = re.findall(r'(?:src|href)="(/workbench/static/[^"]+)"', html)
    assert [a.split("?")[0] for a in addresses] == [
        "/workbench/static/style.css",
        "/workbench/static/app.js",
        "/workbench/static/project.js",
    ]
    for address in addresses:
        asset = client.get(address)
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        etag = asset.headers["ETag"]
        assert address.endswith("v=" + etag.strip('"'))
        assert client.get(address, headers={"If-None-Match": etag}).status_code == 304
    # Without the current version the file is served but revalidated.
    assert client.get("/workbench/static/app.js").headers["Cache-Control"] == "no-cache"
    page = client.get("/workbench/", headers={"If-None-Match": response.headers["ETag"]})
    assert page.status_code == 304


def test_gzip_for_clients_that_accept_it(client):
    plain = client.get("/workbench/static/app.js")
    zipped = client.get("/workbench/static/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert "Content-Encoding" not in plain.headers


def test_not_in_the_api_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert not [path for path in spec["paths"] if "workbench" in path]


def test_nothing_from_elsewhere_no_inline_code():
    html, script, css = _text("index.html"), _text("static/app.js"), _text("static/style.css")
    project = _text("static/project.js")
    assert re.findall(r'(?:src|href)="([^"#]+)"', html) == [
        "static/style.css",
        "static/app.js",
        "static/project.js",
    ]
    assert "<style" not in html and not re.search(r"\sstyle=|\son[a-z]+=", html)
    assert re.findall(r"<script[^>]*>\s*</script>", html) == [
        '<script src="static/app.js" defer></script>',
        '<script src="static/project.js" defer></script>',
    ]
    for text in (html, script, css, project):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
        assert "@import" not in text and "url(" not in text
    assert 'lang="zh-CN"' in html and 'name="viewport"' in html


def test_script_keeps_tokens_in_session_storage_and_data_out_of_urls():
    script = _text("static/app.js")
    assert "console." not in script and "document.cookie" not in script
    assert "localStorage" not in script and "sessionStorage" in script
    assert script.count("fetch(") == 1  # every request goes through send()
    project = _text("static/project.js")  # the project pages: app.js's helpers only
    for word in ("fetch(", "console.", "document.cookie", "localStorage", "sessionStorage"):
        assert word not in project, word
    assert "?phone" not in script and "?token" not in script
    # Only the documented API of the same origin.
    assert 'new URL("../api/v1/", window.location.href)' in script


def test_print_sheet_is_a4_one_entrance_a_page():
    css = _text("static/style.css")
    assert re.search(r"@page\s*{\s*size:\s*A4", css)
    printed = css[css.index("@media print") :]
    assert re.search(r"\.sheet-page\s*{[^}]*break-after:\s*page", printed)
