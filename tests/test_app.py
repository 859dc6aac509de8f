import pytest

from participation import config


def test_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["info"]["title"] == "participation API"


def test_unknown_url_is_json_404(client):
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert response.json["message"]


def test_docs_page_uses_bundled_swagger_ui(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"/api/docs/static/swagger-ui-bundle.js" in page.data
    asset = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.data) > 100_000


def test_every_operation_documents_its_errors(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "default" in responses or any(
                code.startswith(("4", "5")) for code in responses
            ), f"{method.upper()} {path} documents no error response"


def test_a_rate_limit_below_one_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("PARTICIPATION_SMS_PER_PHONE_PER_MINUTE", "0")
    with pytest.raises(ValueError, match="SMS_PER_PHONE_PER_MINUTE must be at least 1, not 0"):
        config.load()
