"""The OpenAPI document is the contract an H5 developer generates a client from: it must be a
valid OpenAPI 3 document, and every number it promises must be one the API keeps — decimals
as strings with a pattern, integers with their bounds, headers as the strings they are."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from participation.common.schemas import DECIMAL_PATTERN, INT_MAX, INT_MIN


@pytest.fixture(scope="module")
def spec(app):
    with app.test_client() as client:
        return client.get("/api/v1/openapi.json").get_json()


def schemas_in(node, where="#"):
    """Every (location, schema object) in the document, nested ones included."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield where, node
        for key, value in node.items():
            yield from schemas_in(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{index}")


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_bounds_are_numbers_and_only_on_numbers(spec):
    for where, schema in schemas_in(spec):
        for bound in ("minimum", "maximum"):
            if bound in schema:
                assert schema["type"] in ("integer", "number"), where
                assert isinstance(schema[bound], int | float), where


def test_every_integer_has_its_bounds(spec):
    integers = [(w, s) for w, s in schemas_in(spec) if s["type"] == "integer"]
    assert len(integers) > 200
    for where, schema in integers:
        assert INT_MIN <= schema.get("minimum", INT_MIN - 1) <= INT_MAX, where
        assert schema.get("maximum", INT_MAX + 1) <= INT_MAX, where


def test_every_id_in_a_path_is_a_positive_bounded_integer(spec):
    for path, item in spec["paths"].items():
        for name in re.findall(r"{(\w+_id)}", path):
            parameters = item.get("parameters", []) + [
                p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])
            ]
            schema = next(p["schema"] for p in parameters if p["name"] == name)
            assert schema == {"type": "integer", "minimum": 1, "maximum": INT_MAX}, (path, name)


def test_decimals_money_and_areas_are_strings_with_a_pattern(spec):
    no_numbers = [(w, s) for w, s in schemas_in(spec) if s["type"] == "number"]
    assert no_numbers == []
    decimals = [(w, s) for w, s in schemas_in(spec) if s.get("pattern") == DECIMAL_PATTERN]
    assert len(decimals) > 40
    schemas = spec["components"]["schemas"]
    for name, field in [("Vote", "t_area"), ("MenuResult", "budget_cap"), ("Dwelling", "area")]:
        prop = schemas[name]["properties"][field]
        assert prop["type"] == "string" and prop["pattern"] == DECIMAL_PATTERN, (name, field)


def test_formats_a_client_validates(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["CodeRequest"]["properties"]["phone"]["pattern"] == "^1[3-9][0-9]{9}$"
    assert schemas["ReceiptStatus"]["properties"]["receipt"]["pattern"] == "^[A-Z2-7]{10}$"
    receipt = spec["paths"]["/api/v1/public/votes/{vote_id}/receipts/{code}"]
    code = next(p for p in receipt["parameters"] if p["name"] == "code")
    assert code["schema"]["pattern"] == "^[A-Z2-7]{10}$"


def test_the_pagination_header_is_a_string(spec):
    headers = spec["paths"]["/api/v1/compounds"]["get"]["responses"]["200"]["headers"]
    assert headers["X-Pagination"] == {"$ref": "#/components/headers/PAGINATION"}
    assert spec["components"]["headers"]["PAGINATION"]["schema"] == {"type": "string"}
    assert "PaginationMetadata" not in spec["components"]["schemas"]
