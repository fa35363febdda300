"""The OpenAPI document: valid, served without a token, and true to the service.

The routes and limits are checked by asking the running app, not by reading
the code that writes the document.
"""

import itertools

from openapi_spec_validator import validate
from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
import pytest
import webtest

import lambda_registry

from .support import ALICE, UUID, assert_envelope, new_instance, settings_for

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture
def document(testapp):
    return testapp.get("/api/openapi.json").json


def test_document_is_valid_openapi_3_1_and_needs_no_token(testapp):
    response = testapp.get("/api/openapi.json")  # no Authorization header
    assert response.content_type == "application/json"
    assert response.json["openapi"] == "3.1.0"
    validate(response.json)


def answered(testapp, method, path):
    """True when the app has a view for this method at this path (not 405/unknown URL)."""
    response = testapp.request(path, method=method, headers=ALICE, body=b"{}", content_type="application/json", status="*")
    if response.status_int == 405:
        return False
    if response.status_int == 404:
        return response.json["status"]["short_description"] != "Not found."
    return True


def concrete(path):
    return path.replace("{uuid}", UUID)


def test_every_route_and_method_is_documented_and_nothing_else(testapp, app, document):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    # Every path of every route of ours, in both forms, and every method it answers.
    ours = [route for route in app.registry.getUtility(IRoutesMapper).get_routes() if route.name.startswith("lambda_registry.")]
    served_paths = set()
    for route in ours:
        base = "/" + route.pattern.replace("{slash:/?}", "").lstrip("/")
        served_paths |= {base, base + "/"}
    assert served_paths == set(document["paths"])
    served = {(path, method) for path, method in itertools.product(served_paths, METHODS) if answered(testapp, method, concrete(path))}
    assert served == documented


def test_documented_limits_are_the_enforced_ones(testapp, document):
    create = document["paths"]["/api/lambda_instances/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    fields = create["properties"]

    def post(**changes):
        body = new_instance(uuid=changes.pop("uuid", UUID), **changes)
        return testapp.post_json("/api/lambda_instances/", body, headers=ALICE, status="*").status_int

    name_max = fields["name"]["maxLength"]
    assert post(name="n" * (name_max + 1)) == 400
    assert post(name="n" * name_max) == 202
    message_max = fields["failure_message"]["maxLength"]
    assert post(uuid="11111111-1111-4111-8111-111111111111", failure_message="m" * (message_max + 1)) == 400
    assert post(uuid="11111111-1111-4111-8111-111111111111", failure_message="m" * message_max) == 202
    string_codes, integer_codes = (variant["enum"] for variant in fields["status"]["anyOf"])
    assert string_codes == [str(code) for code in integer_codes]
    for number, code in enumerate(string_codes):
        assert post(uuid=f"22222222-2222-4222-8222-{number:012d}", status=code) == 202
    assert post(uuid="33333333-3333-4333-8333-333333333333", status=str(max(integer_codes) + 1)) == 400
    assert set(create["required"]) == {"uuid", "name", "instance_info", "status"}
    assert create["additionalProperties"] is False
    assert post(uuid="44444444-4444-4444-8444-444444444444", colour="blue") == 400


def test_documented_page_size_follows_the_setting(make_app):
    app = webtest.TestApp(make_app(**{"lambda_registry.max_page_size": "7"}))
    parameters = app.get("/api/openapi.json").json["paths"]["/api/lambda_instances/"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (0, 7)
    assert app.get("/api/lambda_instances/?limit=7", headers=ALICE).status_int == 200
    assert_envelope(app.get("/api/lambda_instances/?limit=8", headers=ALICE, status="*"), 400, error_names=["limit"])


def test_document_lists_the_error_codes_of_each_operation(testapp, document):
    """Spot checks of the responses listed (Schemathesis holds the app to them)."""
    update = document["paths"]["/api/lambda_instances/{uuid}/status/"]["post"]["responses"]
    assert {"202", "400", "401", "404", "409", "413", "415", "500", "503"} <= set(update)
    count = document["paths"]["/api/lambda_instances/count"]["get"]
    assert count["security"] == [] and "401" not in count["responses"]
    assert document["paths"]["/api/lambda_instances/"]["get"]["security"] == [{"Token": []}]


def test_document_honours_the_route_prefix_of_a_host(database_url):
    settings = settings_for(database_url)
    with Configurator(settings=settings) as config:
        config.include("lambda_registry", route_prefix="/portal/registry")
    host = webtest.TestApp(config.make_wsgi_app())
    document = host.get("/portal/registry/api/openapi.json").json
    assert document["paths"] and all(path.startswith("/portal/registry/") for path in document["paths"])
    assert "/portal/registry/api/lambda_instances/{uuid}/status/" in document["paths"]


def test_spec_examples_in_the_document_are_real_answers(testapp, document):
    """The examples come from SPEC.md; the app answers in the same shape."""
    from jsonschema import Draft202012Validator

    create = document["paths"]["/api/lambda_instances/"]["post"]
    request_example = create["requestBody"]["content"]["application/json"]["example"]
    answer = testapp.post_json("/api/lambda_instances/", request_example, headers=ALICE, status=202).json
    assert answer == create["responses"]["202"]["content"]["application/json"]["example"]
    refused = testapp.post_json("/api/lambda_instances/", dict(request_example, uuid=UUID.replace("24", "42"), status="42"), headers=ALICE, status=400).json
    assert refused == create["responses"]["400"]["content"]["application/json"]["example"]
    count = document["paths"]["/api/lambda_instances/count"]["get"]["responses"]["200"]["content"]["application/json"]
    resolved = _resolve(count["schema"], document)
    Draft202012Validator(resolved).validate(count["example"])
    Draft202012Validator(resolved).validate(testapp.get("/api/lambda_instances/count").json)


def _resolve(schema, document):
    """Inline the document's $refs (the schemas here hold no cycles)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return _resolve(document["components"]["schemas"][name], document)
        return {key: _resolve(value, document) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_resolve(item, document) for item in schema]
    return schema
