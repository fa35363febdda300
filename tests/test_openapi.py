"""The OpenAPI document: valid, each endpoint once, named for generators, and
true to the service. The routes, limits and answers are checked by asking
the running app, not by reading the code that writes the document."""

import itertools
import re

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pyramid.config import Configurator
from pyramid.interfaces import IRoutesMapper
import pytest
import webtest

from lambda_registry import get_components
from lambda_registry import pages

from .support import ALICE, BOB, UUID, assert_envelope, new_application, new_instance, settings_for

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
OPERATIONS = {
    "create_instance", "list_instances", "get_instance", "update_instance", "update_instance_status",
    "delete_instance", "count_instances", "create_application", "list_applications", "get_application",
    "update_application", "update_application_status", "delete_application", "increment_application_started",
    "decrement_application_started", "count_applications", "authenticate", "count_users", "heartbeat",
    "lbheartbeat", "get_version", "get_openapi", "follow_instance_changes", "follow_application_changes",
    "count_instances_daily",
}


@pytest.fixture
def document(testapp):
    return testapp.get("/api/openapi.json").json


def operations(document):
    return [(path, method, operation) for path, item in document["paths"].items() for method, operation in item.items()]


def test_document_is_valid_openapi_3_1_and_needs_no_token(testapp):
    response = testapp.get("/api/openapi.json")  # no Authorization header
    assert response.content_type == "application/json"
    assert response.json["openapi"] == "3.1.0"
    validate(response.json)


def test_each_endpoint_once_with_operation_ids_a_client_reads_well(document):
    paths = list(document["paths"])
    assert not [path for path in paths if path.endswith("/")]  # no second, slashed path
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert sorted(ids) == sorted(OPERATIONS)
    assert {tag["name"] for tag in document["tags"]} == {"instances", "applications", "users", "operations"}
    expected_tags = {"lambda_instances": "instances", "lambda_applications": "applications", "users": "users",
                     "authenticate": "users"}
    for path, _, operation in operations(document):
        tag = next((tag for part, tag in expected_tags.items() if part in path), "operations")
        assert operation["tags"] == [tag], path
        assert operation["summary"] and operation["description"]
    assert "trailing slash" in document["info"]["description"]


def test_every_body_and_answer_is_a_named_component(document):
    for _, _, operation in operations(document):
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]["application/json"]["schema"]) == {"$ref"}
        for code, response in operation["responses"].items():
            if code.startswith("2") and operation["operationId"] != "get_openapi":
                assert set(response["content"]["application/json"]["schema"]) == {"$ref"}
            elif not code.startswith("2"):
                assert set(response) == {"$ref"} and response["$ref"].startswith("#/components/responses/")


def test_status_codes_are_enums_with_their_names(document):
    schemas = document["components"]["schemas"]
    instance = schemas["InstanceStatus"]
    assert dict(zip(instance["enum"], instance["x-enum-varnames"]))["20"] == "FLINK_INSTALLED"
    assert dict(zip(schemas["ApplicationStatusNumber"]["enum"], schemas["ApplicationStatusNumber"]["x-enum-varnames"])) == {
        0: "UPLOADED", 1: "UPLOADING", 2: "FAILED"}
    assert schemas["Instance"]["properties"]["status"] == {"$ref": "#/components/schemas/InstanceStatus"}


def test_the_token_scheme_says_how_a_generated_client_authenticates(document):
    scheme = document["components"]["securitySchemes"]["Token"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert 'prefix="Token"' in scheme["description"] and 'prefix="Token"' in document["info"]["description"]


def test_record_schemas_are_flat(document):
    for name, schema in document["components"]["schemas"].items():
        assert not {"allOf", "anyOf", "oneOf"} & set(schema) or name.endswith("Create"), name


def answered(testapp, method, path):
    """True when the app has a view for this method at this path (not 405/unknown URL)."""
    response = testapp.request(path, method=method, headers=ALICE, body=b"{}", content_type="application/json", status="*")
    if response.status_int == 405:
        return False
    if response.status_int == 404:
        return response.json["status"]["short_description"] != "Not found."
    return True


def test_every_route_and_method_is_documented_once_and_nothing_else(testapp, app, document):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)
    documented = {(path, method.upper()) for path, method, _ in operations(document)}
    ours = [route for route in app.registry.getUtility(IRoutesMapper).get_routes()
            if route.name.startswith("lambda_registry.") and not route.name.startswith(pages.ROUTE_PREFIX)]
    served_paths = {"/" + route.pattern.replace("{slash:/?}", "").lstrip("/") for route in ours}
    assert served_paths == set(document["paths"])
    served = {(path, method) for path, method in itertools.product(served_paths, METHODS)
              if answered(testapp, method, path.replace("{uuid}", UUID))}
    assert served == documented


def test_documented_limits_are_the_enforced_ones(testapp, document):
    create = document["components"]["schemas"]["InstanceCreate"]
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
    string_codes = document["components"]["schemas"]["InstanceStatus"]["enum"]
    integer_codes = document["components"]["schemas"]["InstanceStatusNumber"]["enum"]
    assert string_codes == [str(code) for code in integer_codes]
    for number, code in enumerate(string_codes):
        assert post(uuid=f"22222222-2222-4222-8222-{number:012d}", status=code) == 202
    assert post(uuid="33333333-3333-4333-8333-333333333333", status=str(max(integer_codes) + 1)) == 400
    assert set(create["required"]) == {"uuid", "name", "instance_info", "status"}
    assert create["additionalProperties"] is False
    assert post(uuid="44444444-4444-4444-8444-444444444444", colour="blue") == 400
    description_max = document["components"]["schemas"]["ApplicationCreate"]["properties"]["description"]["maxLength"]
    for length, status in ((description_max, 202), (description_max + 1, 400)):
        body = new_application(uuid=f"55555555-5555-4555-8555-{length:012d}", description="d" * length)
        assert testapp.post_json("/api/lambda_applications/", body, headers=ALICE, status="*").status_int == status


def test_documented_page_size_follows_the_setting(make_app):
    app = webtest.TestApp(make_app(**{"lambda_registry.max_page_size": "7"}))
    parameters = app.get("/api/openapi.json").json["paths"]["/api/lambda_instances"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (0, 7)
    assert app.get("/api/lambda_instances/?limit=7", headers=ALICE).status_int == 200
    assert_envelope(app.get("/api/lambda_instances/?limit=8", headers=ALICE, status="*"), 400, error_names=["limit"])


def test_document_lists_the_error_codes_of_each_operation(document):
    """Spot checks of the responses listed (Schemathesis holds the app to them)."""
    update = document["paths"]["/api/lambda_instances/{uuid}/status"]["post"]["responses"]
    assert {"202", "400", "401", "404", "409", "412", "413", "415", "500", "503"} == set(update)
    assert update["202"]["headers"]["ETag"]["required"] is True
    parameters = {p["name"]: p for p in document["paths"]["/api/lambda_instances/{uuid}/status"]["post"]["parameters"]}
    assert parameters["If-Match"]["in"] == "header" and not parameters["If-Match"]["required"]
    listing = document["paths"]["/api/lambda_instances"]["get"]
    assert {"200", "304"} <= set(listing["responses"]) and "412" not in listing["responses"]
    assert listing["responses"]["200"]["headers"]["ETag"]["required"] is True
    parameters = {p["name"]: p for p in listing["parameters"]}
    assert parameters["If-None-Match"]["in"] == "header"
    assert parameters["updated_after"]["schema"]["format"] == "date-time"
    assert "304" in document["paths"]["/api/users/count"]["get"]["responses"]
    assert "304" not in document["paths"]["/__heartbeat__"]["get"]["responses"]
    not_modified = document["components"]["responses"]["NotModified"]
    assert "content" not in not_modified and not_modified["headers"]["ETag"]["required"]
    delete = document["paths"]["/api/lambda_applications/{uuid}"]["delete"]["responses"]
    # An application deleted is gone: its 202 has no ETag to give.
    assert "412" in delete and "headers" not in delete["202"]
    assert "409" not in document["paths"]["/api/lambda_applications/{uuid}/status"]["post"]["responses"]
    decrement = document["paths"]["/api/lambda_applications/{uuid}/decrement_started"]["post"]
    assert {"202", "400", "401", "404", "409"} <= set(decrement["responses"]) and "requestBody" not in decrement
    count = document["paths"]["/api/lambda_instances/count"]["get"]
    assert count["security"] == [] and "401" not in count["responses"]
    assert document["paths"]["/api/lambda_instances"]["get"]["security"] == [{"Token": []}]


def test_document_honours_the_route_prefix_of_a_host(database_url):
    with Configurator(settings=settings_for(database_url)) as config:
        config.include("lambda_registry", route_prefix="/portal/registry")
    host = webtest.TestApp(config.make_wsgi_app())
    document = host.get("/portal/registry/api/openapi.json").json
    assert document["paths"] and all(path.startswith("/portal/registry/") for path in document["paths"])
    assert "/portal/registry/api/lambda_instances/{uuid}/status" in document["paths"]
    get_components(host.app.registry).database.dispose()


def test_spec_examples_in_the_document_are_real_answers(testapp, document):
    """The examples come from SPEC.md; the app answers in the same shape."""
    create = document["paths"]["/api/lambda_instances"]["post"]
    request_example = create["requestBody"]["content"]["application/json"]["example"]
    answer = testapp.post_json("/api/lambda_instances/", request_example, headers=ALICE, status=202).json
    assert answer == create["responses"]["202"]["content"]["application/json"]["example"]
    refused = testapp.post_json("/api/lambda_instances/", dict(request_example, uuid=UUID.replace("24", "42"), status="42"),
                                headers=ALICE, status=400).json
    assert refused == document["components"]["responses"]["InvalidRequest"]["content"]["application/json"]["example"]
    example = document["paths"]["/api/lambda_instances/count"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    conforms(document, "/api/lambda_instances/count", "get", 200, example, testapp.get("/api/lambda_instances/count").headers)


# -- every answer of a lifecycle, against its documented response --------------------

def documented_response(document, template, method, status):
    response = document["paths"][template][method]["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def conforms(document, template, method, status, body, headers=None):
    """``body`` (and the required headers) as the document says ``method template`` answers ``status``."""
    response = documented_response(document, template, method, status)
    if "content" not in response:  # a 304
        assert body is None
    else:
        schema = dict(response["content"]["application/json"]["schema"], components=document["components"])
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)
    for name, header in response.get("headers", {}).items():
        assert not header.get("required") or name in (headers or {}), (template, method, status, name)


def template_of(document, path):
    path = path.split("?", 1)[0].rstrip("/")
    for template in document["paths"]:
        if re.fullmatch(re.sub(r"\{uuid\}", "[^/]+", template), path):
            return template
    raise AssertionError(f"no documented path for {path}")


def test_every_answer_of_a_full_lifecycle_fits_its_documented_response(testapp, document):
    other = "0c4a5b5e-9d9b-4d6e-8f3b-2f0c7c3c9a11"
    requests = [
        ("get", "/api/authenticate/", ALICE, None),
        ("post", "/api/lambda_instances/", ALICE, new_instance(status="2")),
        ("post", "/api/lambda_instances/", ALICE, new_instance(status="2")),  # 409
        ("post", "/api/lambda_instances/", ALICE, new_instance(uuid=other, status="99")),  # 400
        ("post", f"/api/lambda_instances/{UUID}/status/", ALICE, {"status": "10"}),
        ("post", f"/api/lambda_instances/{UUID}", ALICE, {"status": "0", "failure_message": "up"}),
        ("get", "/api/lambda_instances/?limit=1", ALICE, None),
        ("get", f"/api/lambda_instances/{UUID}", ALICE, None),
        ("get", f"/api/lambda_instances/{UUID}", dict(ALICE, **{"If-None-Match": "*"}), None),  # 304
        ("post", f"/api/lambda_instances/{UUID}", dict(ALICE, **{"If-Match": '"stale"'}), {"status": "1"}),  # 412
        ("get", f"/api/lambda_instances/{UUID}", BOB, None),  # 404
        ("get", "/api/lambda_instances/count?status=0", {}, None),
        ("get", "/api/lambda_instances/count/daily?days=3", {}, None),
        ("delete", f"/api/lambda_instances/{UUID}/", ALICE, None),
        ("post", f"/api/lambda_instances/{UUID}/status/", ALICE, {"status": "0"}),  # 409: destroyed
        ("get", "/api/lambda_instances/", {}, None),  # 401
        ("get", "/api/lambda_instances/changes?limit=1", ALICE, None),
        ("get", "/api/lambda_instances/changes?since=999999999999999999.", ALICE, None),  # 410: not of this database
        ("post", "/api/lambda_applications/", ALICE, new_application()),
        ("post", f"/api/lambda_applications/{UUID}/status/", ALICE, {"status": "2", "failure_message": "upload cut"}),
        ("post", f"/api/lambda_applications/{UUID}", ALICE, {"status": "0"}),
        ("post", f"/api/lambda_applications/{UUID}/increment_started/", ALICE, None),
        ("post", f"/api/lambda_applications/{UUID}/decrement_started/", ALICE, None),
        ("post", f"/api/lambda_applications/{UUID}/decrement_started/", ALICE, None),  # 409
        ("get", "/api/lambda_applications/", ALICE, None),
        ("get", f"/api/lambda_applications/{UUID}/", ALICE, None),
        ("get", "/api/lambda_applications/count", {}, None),
        ("delete", f"/api/lambda_applications/{UUID}", ALICE, None),
        ("get", "/api/lambda_applications/changes", ALICE, None),  # the deletion
        ("get", "/api/lambda_applications/changes?wait=forever", ALICE, None),  # 400
        ("get", "/api/users/count", {}, None),
        ("get", "/__heartbeat__", {}, None),
        ("get", "/__lbheartbeat__", {}, None),
        ("get", "/__version__", {}, None),
    ]
    seen = set()
    for method, path, headers, body in requests:
        if body is None:
            response = testapp.request(path, method=method.upper(), headers=headers, status="*")
        else:
            response = testapp.post_json(path, body, headers=headers, status="*")
        template = template_of(document, path)
        conforms(document, template, method, response.status_int, response.json if response.body else None,
                 response.headers)
        seen.add((template, method, response.status_int))
    # Every operation but the document's own, and every kind of error above.
    assert {(t, m) for t, m, _ in seen} == {(t, m) for t, m, o in operations(document) if o["operationId"] != "get_openapi"}
    assert {status for _, _, status in seen} == {200, 202, 304, 400, 401, 404, 409, 410, 412}


def test_a_record_with_a_history_fits_the_document_and_an_extra_property_does_not(testapp, document):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    answer = testapp.get(f"/api/lambda_instances/{UUID}", headers=ALICE)
    body = answer.json
    conforms(document, "/api/lambda_instances/{uuid}", "get", 200, body, answer.headers)
    body["data"][0]["surprise"] = 1
    with pytest.raises(Exception):
        conforms(document, "/api/lambda_instances/{uuid}", "get", 200, body, answer.headers)
