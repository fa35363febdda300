"""The OpenAPI 3.1 document of the API, generated from what serves it.

Paths and methods come from our Cornice services and the routes Pyramid
really matched (so a host's ``route_prefix`` shows); request bodies and
query parameters from the colander schemas the validators use; each view
says what it answers with ``@answers``. The envelopes are written here once
and held to the real answers by the tests (and by Schemathesis).
"""

from pyramid.interfaces import IRoutesMapper

from .records import KINDS
from .schemas import json_schema
from .urls import path_of

TOKEN = "Token"
ERROR_DESCRIPTIONS = {
    400: "A field or query parameter is wrong; each is named in `errors`.",
    401: "No `Authorization: Token …` header, a malformed one, or a refused token.",
    404: "No record of the caller's with this uuid (another user's answers the same).",
    409: "Conflicts with the record's state (see the short description).",
    413: "The body is larger than `lambda_registry.max_body_bytes`.",
    415: "The body is not sent as `application/json`.",
    500: "An unexpected fault; nothing internal is said.",
    503: "The database or the ~okeanos identity service cannot be reached now; see `Retry-After`.",
}


class Answer:
    """What a view answers on success, for the document."""

    def __init__(
        self, code, description, data, conflicts=False, location=False, pagination=False, raw=False, database=True
    ):
        self.code = code
        self.description = description
        self.data = data
        self.conflicts = conflicts
        self.location = location
        self.pagination = pagination
        self.raw = raw
        self.database = database  # False: never a 503 for the database


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _kind_components(kind):
    name = kind.key.capitalize()
    record = kind.answer_schema()
    # Flat: every property of a record, and its history. (An allOf of the
    # record and a history object would refuse every answer: each branch's
    # additionalProperties: false rejects the other branch's properties.)
    with_history = dict(record, required=record["required"] + ["history"])
    with_history["properties"] = dict(record["properties"], history={"type": "array", "items": _ref(name + "HistoryEntry")})
    return {name + "Record": record, name + "RecordWithHistory": with_history, name + "HistoryEntry": kind.history_schema()}


COMPONENTS = {
    "ErrorEntry": {
        "type": "object",
        "required": ["location", "name", "description"],
        "properties": {
            "location": {"type": "string", "enum": ["body", "querystring", "url", "header", "path", "method", "cookies"]},
            "name": {"type": "string"},
            "description": {"type": "string"},
        },
        "additionalProperties": False,
    },
    **{name: schema for kind in KINDS for name, schema in _kind_components(kind).items()},
    "Pagination": {
        "type": "object",
        "required": ["count", "limit", "offset", "next", "previous"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 0},
            "offset": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"]},
            "previous": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "Accepted": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}, "additionalProperties": False},
    },
    "AcceptedStarted": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {
            "type": "object",
            "required": ["id", "times_started"],
            "properties": {"id": {"type": "string"}, "times_started": {"type": "integer", "minimum": 0}},
            "additionalProperties": False,
        },
    },
    "ApplicationCounts": {
        "type": "object",
        "required": ["count", "running", "failed"],
        "properties": {key: {"type": "string", "pattern": "^[0-9]+$"} for key in ["count", "running", "failed"]},
        "additionalProperties": False,
    },
    "UserCount": {
        "type": "object",
        "required": ["count"],
        "properties": {"count": {"type": "string", "pattern": "^[0-9]+$"}},
        "additionalProperties": False,
    },
    "InstanceCounts": {
        "type": "object",
        "required": ["count", "running", "created", "failed"],
        "properties": {key: {"type": "string", "pattern": "^[0-9]+$"} for key in ["count", "running", "created", "failed"]},
        "additionalProperties": False,
    },
}

EXAMPLES = {
    ("lambda_registry.instances", "POST"): {
        "uuid": "24b8a635-8d71-4016-b8f5-c4a14348ed8f",
        "name": "My first Lambda instance",
        "instance_info": "",
        "status": "20",
        "failure_message": "OK",
    },
    ("lambda_registry.instance", "POST"): {"status": "20", "failure_message": "OK"},
    ("lambda_registry.instance_status", "POST"): {"status": "21", "failure_message": "SSH connection timed out."},
}


# Answers as SPEC.md shows them.
ANSWER_EXAMPLES = {
    ("lambda_registry.instances", "POST", 202): {
        "status": {"short_description": "Your request to create a new lambda instance has been accepted.", "code": 202},
        "data": [{"id": "24b8a635-8d71-4016-b8f5-c4a14348ed8f"}],
    },
    ("lambda_registry.instances", "POST", 400): {
        "status": {"short_description": "Invalid request.", "code": 400},
        "errors": [{"location": "body", "name": "status", "description": '"42" is not a known status code'}],
    },
    ("lambda_registry.instance_count", "GET", 200): {
        "status": {"short_description": "Lambda instances count.", "code": 200},
        "data": {"count": "2", "running": "1", "created": "7", "failed": "3"},
    },
}


def _with_example(response, service, method, code):
    example = ANSWER_EXAMPLES.get((service.name, method, code))
    if example is not None:
        response["content"]["application/json"]["example"] = example
    return response


def _status(code):
    return {
        "type": "object",
        "required": ["short_description", "code"],
        "properties": {"short_description": {"type": "string"}, "code": {"const": code}},
        "additionalProperties": False,
    }


def _error_response(code):
    schema = {
        "type": "object",
        "required": ["status", "errors"],
        "properties": {"status": _status(code), "errors": {"type": "array", "minItems": 1, "items": _ref("ErrorEntry")}},
        "additionalProperties": False,
    }
    response = {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string", "const": TOKEN}, "required": True}}
    if code == 503:
        response["headers"] = {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "required": True}}
    return response


def _success_response(answer):
    if answer.raw:
        return {"description": answer.description, "content": {"application/json": {"schema": answer.data}}}
    properties = {"status": _status(answer.code), "data": answer.data}
    if answer.pagination:
        properties["pagination"] = _ref("Pagination")
    schema = {
        "type": "object",
        "required": ["status", "data"],
        "properties": properties,
        "additionalProperties": False,
    }
    response = {
        "description": answer.description,
        "content": {"application/json": {"schema": schema}},
    }
    if answer.location:
        response["headers"] = {"Location": {"schema": {"type": "string"}, "required": True}}
    return response


def _operation(service, method, args, path_variant):
    answer = service.answers[method]
    validators = args.get("validators", ())
    requires_token = any(getattr(v, "requires_token", False) for v in validators)
    body_schema = next((v.body_schema for v in validators if hasattr(v, "body_schema")), None)
    query_schema = next((v.query_schema for v in validators if hasattr(v, "query_schema")), None)

    operation = {
        "operationId": f"{method.lower()}_{service.name.split('.', 1)[1]}{path_variant}",
        "summary": answer.description,
        "security": [{TOKEN: []}] if requires_token else [],
        "responses": {str(answer.code): _with_example(_success_response(answer), service, method, answer.code)},
    }
    parameters = []
    if "{uuid}" in service.path:
        parameters.append(
            {"name": "uuid", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[^/]+$"},
             "description": "the record's uuid, any case, with or without hyphens"}
        )
    if query_schema is not None:
        for name, schema in json_schema(query_schema)["properties"].items():
            parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
    if parameters:
        operation["parameters"] = parameters
    errors = [500]
    if body_schema is not None:
        example = EXAMPLES.get((service.name, method))
        content = {"schema": json_schema(body_schema)}
        if example is not None:
            content["example"] = example
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
        errors += [400, 413, 415]
    elif query_schema is not None:
        errors.append(400)
    if requires_token:
        errors.append(401)
    if "{uuid}" in service.path:
        errors.append(404)
    if answer.conflicts:
        errors.append(409)
    if answer.database or requires_token:
        errors.append(503)
    for code in sorted(errors):
        operation["responses"][str(code)] = _with_example(_error_response(code), service, method, code)
    return operation


def build_document(registry):
    mapper = registry.getUtility(IRoutesMapper)
    paths = {}
    for service in registry.lambda_registry_services:
        route = mapper.get_route(service.name)
        # Pyramid keeps a prefixed pattern without its leading slash.
        base = "/" + path_of(route.pattern).lstrip("/")
        for variant, path in (("", base), ("_slash", base + "/")):
            item = paths.setdefault(path, {})
            for method, view, args in service.definitions:
                if method == "HEAD":  # answered wherever GET is, as HTTP says
                    continue
                item[method.lower()] = _operation(service, method, args, variant)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lambda_registry",
            "version": "1",
            "description": "The central registry of ~okeanos Lambda instances. Every answer except "
            "this document is the JSON envelope `{status: {short_description, code}, data | errors}`; "
            "unknown body fields are refused (400).",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                TOKEN: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <token>`: the user's ~okeanos token (the word Token in any case).",
                }
            },
        },
    }


def document(registry):
    """The document, built on first use and kept: it changes only with the code."""
    built = getattr(registry, "lambda_registry_openapi", None)
    if built is None:
        built = registry.lambda_registry_openapi = build_document(registry)
    return built
