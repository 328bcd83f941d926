"""The OpenAPI document stays faithful to the source document (tests/fixtures/seed_fields.json)."""

import json
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.builders import FIXTURES

FIXTURE = json.loads((FIXTURES / "seed_fields.json").read_text())


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref, single allOf and nullable oneOf wrappers down to the described schema."""
    while True:
        if "$ref" in node:
            node = {
                **schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]],
                **{k: v for k, v in node.items() if k != "$ref"},
            }
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = {**resolve(schema, node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
        elif "oneOf" in node:
            options = [o for o in node["oneOf"] if o.get("type") != "null"]
            node = {**resolve(schema, options[0]), **{k: v for k, v in node.items() if k != "oneOf"}}
        else:
            return node


def flatten(schema: dict[str, Any], node: dict[str, Any], path: str = "") -> dict[str, dict[str, Any]]:
    """Every field path of a schema with its type, format, enum, items and map values."""
    node = resolve(schema, node)
    flat: dict[str, dict[str, Any]] = {}
    if node.get("type") == "object" and "properties" in node:
        for name, child in node["properties"].items():
            child_path = f"{path}.{name}" if path else name
            resolved = resolve(schema, child)
            flat[child_path] = describe(schema, resolved)
            if resolved.get("type") == "array":
                items = resolve(schema, resolved["items"])
                flat.update(flatten(schema, items, f"{child_path}[]"))
            else:
                flat.update(flatten(schema, resolved, child_path))
    return flat


def describe(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    described = {key: node[key] for key in ("type", "format", "enum") if key in node}
    if node.get("type") == "array":
        described["items"] = describe(schema, resolve(schema, node["items"]))
    values = resolve(schema, node["additionalProperties"]) if isinstance(node.get("additionalProperties"), dict) else {}
    if "type" in values:
        described["additionalProperties"] = {"type": values["type"]}
    return described


def matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """The generated description carries everything the source says (it may add formats)."""
    for key, value in expected.items():
        if isinstance(value, dict):
            if key not in actual or not matches(value, actual[key]):
                return False
        elif actual.get(key) != value:
            return False
    return True


@pytest.fixture(scope="module")
def put_operation(schema):
    return schema["paths"][FIXTURE["path"]][FIXTURE["method"]]


def test_put_path_and_parameters_are_the_sources(put_operation):
    names = [p["name"] for p in put_operation["parameters"] if p["in"] == "path"]
    assert sorted(names) == sorted(FIXTURE["pathParameters"])


def test_request_schema_carries_every_source_field_with_its_type_format_and_enum(schema, put_operation):
    generated = flatten(schema, put_operation["requestBody"]["content"]["application/json"]["schema"])

    mismatched = {
        path: (spec, generated.get(path))
        for path, spec in FIXTURE["request"].items()
        if not matches(spec, generated.get(path, {}))
    }
    assert mismatched == {}


def test_request_schema_has_no_field_the_source_lacks(schema, put_operation):
    generated = flatten(schema, put_operation["requestBody"]["content"]["application/json"]["schema"])

    assert sorted(set(generated) - set(FIXTURE["request"])) == []


def test_response_schema_is_the_sources_with_its_spelling(schema, put_operation):
    generated = flatten(schema, put_operation["responses"]["200"]["content"]["application/json"]["schema"])

    assert "succesfullySubmittedSourceUuids" in generated
    assert {p: s for p, s in FIXTURE["response"].items() if not matches(s, generated.get(p, {}))} == {}
    assert sorted(set(generated) - set(FIXTURE["response"])) == []


def test_enumerations_are_complete(schema, put_operation):
    generated = flatten(schema, put_operation["requestBody"]["content"]["application/json"]["schema"])
    attributes = "saveMessageRequestList[].messageAttributes"

    assert len(generated[f"{attributes}.purpose"]["enum"]) == 113
    assert len(generated[f"{attributes}.draftAttributes.draftFailureReason"]["enum"]) == 24
    assert {"FinInviteM", "CIWNotOp", "CardSave_RCPT"} <= set(generated[f"{attributes}.purpose"]["enum"])


def test_security_scheme_is_http_basic(schema, put_operation):
    schemes = schema["components"]["securitySchemes"]
    expected = FIXTURE["security"]

    assert {name for requirement in put_operation["security"] for name in requirement} == {"basicAuth"}
    assert {k: schemes["basicAuth"][k] for k in expected} == expected


def test_enum_components_have_meaningful_names(schema):
    names = set(schema["components"]["schemas"])

    assert {"MessageTypeEnum", "ProtocolEnum", "PurposeEnum", "DraftStatusEnum", "DraftFailureReasonEnum"} <= names
    assert not [n for n in names if n.endswith("Enum") and any(ch.isdigit() for ch in n)]


def test_every_operation_of_the_read_api_is_documented(schema):
    path = FIXTURE["path"]

    assert {"put", "get"} <= set(schema["paths"][path])
    assert "get" in schema["paths"][f"{path}/{{messageUuid}}"]


def test_path_identifiers_are_described_as_percent_encoded_slash_included(schema):
    descriptions = {
        (path, parameter["name"]): parameter.get("description", "")
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }

    assert {name for _, name in descriptions} == {"departmentUUID", "customerUUID", "messageUuid"}
    assert [key for key, text in descriptions.items() if "Percent-encoded" not in text or "%2F" not in text] == []


def test_the_put_documents_411_for_a_body_it_cannot_read_to_its_end(put_operation):
    assert "411" in put_operation["responses"]
