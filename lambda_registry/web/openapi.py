"""The OpenAPI 3.1 document of the API, generated from what serves it.

Paths and methods come from our Cornice services and the routes Pyramid
really matched (so a host's ``route_prefix`` shows), each endpoint once
(every URL also answers with a trailing slash: a courtesy, said in the
description, not a second path). Each view's ``Operation``
(``services/service.py``) declares what it takes (a token, the colander
schemas of its body or query, no body) and what it answers: the same
declaration its validators are made from. Records come from their
declarations (``model/kinds.py``). Every body and answer is a named component, status codes are
enums whose names generators read (``x-enum-varnames``), and the schemas
are flat (no ``allOf``): the real answers satisfy them, which the tests
check with a Draft 2020-12 validator and with Schemathesis.
"""

import importlib.metadata

from pyramid.interfaces import IRoutesMapper

from ..components import get_components
from ..model.kinds import KINDS
from .schemas import component_ref, json_schema
from .urls import path_of

JSON = "application/json"
VERSION = importlib.metadata.version("lambda_registry")

TOKEN = "Token"
TAGS = {
    "instances": "Lambda instances: Hadoop, Kafka, Flink and Flume clusters, as their service VMs report them.",
    "applications": "Lambda applications: what users upload to their clusters, and how often it runs.",
    "users": "The users the registry has seen.",
    "operations": "For load balancers, operators and client generators.",
}
DESCRIPTION = """The central registry of ~okeanos Lambda instances and applications.

Every answer except this document is the JSON envelope
`{"status": {"short_description", "code"}, "data" | "errors"}`. Unknown body
fields are refused (400); unknown query parameters are ignored. Every path
also answers with a trailing slash (`/api/lambda_instances/`), directly.

**Authentication**: `Authorization: Token <token>`, the user's ~okeanos token
(the word `Token` in any case). A client generated with openapi-python-client
authenticates with `AuthenticatedClient(base_url=..., token=<token>, prefix="Token")`.
"""


# What each operation does, for the people and generators reading the document.
SUMMARIES = {
    "create_instance": "Register a Lambda instance (a cluster a service VM is building)",
    "list_instances": "List your Lambda instances, oldest first",
    "get_instance": "A Lambda instance of yours, with its status history",
    "update_instance": "Post a Lambda instance's new status (the seed's URL)",
    "update_instance_status": "Post a Lambda instance's new status",
    "delete_instance": "Mark a Lambda instance destroyed (it stays, with its history)",
    "count_instances": "How many Lambda instances are active, running, created, failed (public)",
    "count_instances_daily": "Active Lambda instances at the end of each of the last days (public)",
    "follow_instance_changes": "Your Lambda instances changed after a cursor, in commit order; can wait for the next",
    "create_application": "Register a Lambda application (a file a user uploaded)",
    "list_applications": "List your Lambda applications, oldest first",
    "get_application": "A Lambda application of yours, with its status history",
    "update_application": "Post a Lambda application's new status (the record's URL)",
    "update_application_status": "Post a Lambda application's new status",
    "delete_application": "Delete a Lambda application and its history",
    "increment_application_started": "A Lambda application was started: one more (no body)",
    "decrement_application_started": "A Lambda application was stopped: one less, never below 0 (no body)",
    "count_applications": "How many Lambda applications are uploaded, running, failed (public)",
    "follow_application_changes": "Your Lambda applications changed or deleted after a cursor, in commit order; "
                                  "can wait for the next",
    "authenticate": "Who the token's user is; remembers the user",
    "count_users": "How many users the registry has seen (public)",
    "lbheartbeat": "Is the process answering (touches nothing)",
    "heartbeat": "Is the database answering too",
    "get_version": "Which package version serves, on which schema revision",
    "get_metrics": "Prometheus metrics (with lambda_registry.metrics)",
    "get_openapi": "This document",
}

ERRORS = {
    400: ("InvalidRequest", "A field or query parameter is wrong; each is named in `errors`."),
    401: ("Unauthorized", "No `Authorization: Token …` header, a malformed one, or a refused token."),
    404: ("NotFound", "No record of the caller's with this uuid (another user's answers the same)."),
    409: ("Conflict", "Conflicts with the record's state (see the short description)."),
    410: ("CursorTooOld", "`since` is older than the deletions the registry remembers "
                          "(`lambda_registry.changes.tombstone_days`): list the records again, then follow a new cursor."),
    412: ("PreconditionFailed", "`If-Match` holds no tag of the record as it is now: it changed since; nothing was written."),
    413: ("BodyTooLarge", "The body is larger than `lambda_registry.max_body_bytes`."),
    415: ("NotJson", "The body is not sent as `application/json`."),
    500: ("InternalError", "An unexpected fault; nothing internal is said."),
    503: ("Unavailable", "The database or the ~okeanos identity service cannot be reached now; see `Retry-After`."),
}
ETAG = {"schema": {"type": "string", "pattern": '^"[^"]*"$'}, "required": True,
        "description": "a strong tag of this answer: it changes whenever the answer would"}
RECORD_ETAG = dict(ETAG, description="the record's new ETag: the one its details now answer")
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "ETags of answers already held (or `*`): the same answer again is a 304 without a body"}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "write only if the record's ETag is one of these (or `*`: it exists); else a 412"}
QUERY_DESCRIPTIONS = {
    "updated_after": "only the records whose `updated_at` is later than this moment: a filter by time, "
                     "not a way to stay in sync (use the changes feed)",
    "days": "how many days, today included (1 to 366)",
    "since": "the `cursor` of an earlier answer: only what changed after it (none: every record, then onwards)",
    "wait": "seconds to wait for a change when there is none after `since` (0 to 30; "
            "past the server's lambda_registry.changes.max_waiting waiters, the answer comes at once)",
}
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string", "const": TOKEN}, "required": True}},
    503: {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "required": True}},
}

# Request bodies and answers as SPEC.md shows them (held to real answers by a test).
REQUEST_EXAMPLES = {
    "create_instance": {"uuid": "24b8a635-8d71-4016-b8f5-c4a14348ed8f", "name": "My first Lambda instance",
                        "instance_info": "", "status": "20", "failure_message": "OK"},
    "update_instance": {"status": "20", "failure_message": "OK"},
    "update_instance_status": {"status": "21", "failure_message": "SSH connection timed out."},
    "create_application": {"uuid": "c0ffee00-1111-4222-8333-444455556666", "name": "wordcount.jar",
                           "description": "Counts words.", "status": "1", "failure_message": ""},
}
ANSWER_EXAMPLES = {
    ("create_instance", 202): {
        "status": {"short_description": "Your request to create a new lambda instance has been accepted.", "code": 202},
        "data": [{"id": "24b8a635-8d71-4016-b8f5-c4a14348ed8f"}],
    },
    ("count_instances", 200): {
        "status": {"short_description": "Lambda instances count.", "code": 200},
        "data": {"count": "2", "running": "1", "created": "7", "failed": "3"},
    },
}
ERROR_EXAMPLE = {
    "status": {"short_description": "Invalid request.", "code": 400},
    "errors": [{"location": "body", "name": "status", "description": '"42" is not a known status code'}],
}


def _object(properties, required=None):
    return {"type": "object", "required": list(properties if required is None else required),
            "properties": properties, "additionalProperties": False}


def envelope(data, pagination=False, changes=False):
    properties = {"status": component_ref("Status"), "data": data}
    if pagination:
        properties["pagination"] = component_ref("Pagination")
    if changes:
        properties["changes"] = component_ref("ChangesCursor")
    return _object(properties, ["status", "data", "changes"] if changes else ["status", "data"])


def _status_components(statuses):
    codes = statuses.sorted_codes()
    names = [statuses.names[code] for code in codes]
    label = statuses.label
    return {
        label + "Status": {"type": "string", "enum": [str(code) for code in codes], "x-enum-varnames": names,
                           "description": f"A {label.lower()} status code: " + ", ".join(
                               f'"{code}" {name}' for code, name in zip(codes, names))},
        label + "StatusNumber": {"type": "integer", "enum": codes, "x-enum-varnames": names,
                                 "description": f"A {label.lower()} status code as a number (accepted in bodies)."},
        label + "StatusName": {"type": "string", "enum": names},
    }


def _kind_components(kind):
    name = kind.key.capitalize()
    record = kind.answer_schema()
    # Flat: every property of a record, and its history. (An allOf of the
    # record and a history object would refuse every answer: each branch's
    # additionalProperties: false rejects the other branch's properties.)
    with_history = dict(record, required=record["required"] + ["history"])
    with_history["properties"] = dict(record["properties"], history={"type": "array", "items": component_ref(name + "HistoryEntry")})
    return {name: record, name + "WithHistory": with_history, name + "HistoryEntry": kind.history_schema(),
            **_status_components(kind.statuses)}


def _counts(keys, what):
    return _object({key: {"type": "string", "pattern": "^[0-9]+$", "description": text} for key, text in zip(keys, what)})


COMPONENTS = {
    "Status": _object({"short_description": {"type": "string"}, "code": {"type": "integer", "minimum": 100, "maximum": 599}}),
    "ErrorEntry": _object({
        "location": {"type": "string", "enum": ["body", "querystring", "url", "header", "path", "method"]},
        "name": {"type": "string"},
        "description": {"type": "string"},
    }),
    "ErrorAnswer": _object({"status": component_ref("Status"),
                            "errors": {"type": "array", "minItems": 1, "items": component_ref("ErrorEntry")}}),
    "Pagination": _object({
        "count": {"type": "integer", "minimum": 0},
        "limit": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0},
        "next": {"type": ["string", "null"]},
        "previous": {"type": ["string", "null"]},
    }),
    "ChangesCursor": _object({
        "cursor": {"type": "string", "maxLength": 200,
                   "description": "where this answer ends: send it as `since` to get what changed after"},
        "more": {"type": "boolean", "description": "more changes are ready now: ask `next` at once"},
        "next": {"type": "string", "description": "this URL with `since` set to `cursor`"},
    }),
    "Deleted": _object({"uuid": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
                        "deleted": {"type": "boolean", "const": True}}),
    "Accepted": _object({"id": {"type": "string"}}),
    "AcceptedStarted": _object({"id": {"type": "string"}, "times_started": {"type": "integer", "minimum": 0}}),
    "UserId": _object({"id": {"type": "string"}}),
    "InstanceCounts": _counts(["count", "running", "created", "failed"], [
        "active instances (neither failed nor destroyed), or those of ?status=", "started", "ever created", "failed"]),
    "ApplicationCounts": _counts(["count", "running", "failed"], [
        "uploaded applications", "how many times they were started, in all", "failed"]),
    "UserCount": _counts(["count"], ["users seen with a valid token"]),
    "ActiveOnDay": _object({
        "date": {"type": "string", "format": "date", "description": "a UTC day; the last one is today"},
        "active": {"type": "string", "pattern": "^[0-9]+$",
                   "description": "active instances at the end of that day (today: now)"},
    }),
    "Health": {"type": "object", "properties": {"database": {"const": "ok"}}, "additionalProperties": False},
    "Version": {"type": "object", "required": ["version", "revision"], "additionalProperties": False, "properties": {
        "version": {"type": "string", "description": "the installed lambda_registry distribution's version"},
        "revision": {"type": ["string", "null"],
                     "description": "the database schema's Alembic revision (null: none recorded)"}}},
    **{name: schema for kind in KINDS for name, schema in _kind_components(kind).items()},
}


def _response(declared):
    if declared.media_type != JSON:
        content = {"schema": {"type": "string"}}
    elif declared.raw:
        content = {"schema": {"type": "object", "required": ["openapi", "paths"]}}
    else:
        content = {"schema": component_ref(declared.answer)}
    example = ANSWER_EXAMPLES.get((declared.id, declared.code))
    if example is not None:
        content["example"] = example
    response = {"description": declared.description, "content": {declared.media_type: content}}
    headers = {}
    if declared.location:
        headers["Location"] = {"schema": {"type": "string"}, "required": True, "description": "the record's URL"}
    if declared.conditional:
        headers["ETag"] = ETAG
    if declared.answers_tag:
        headers["ETag"] = RECORD_ETAG
    if headers:
        response["headers"] = headers
    if declared.links:
        response["links"] = {
            name: {"operationId": operation, "parameters": {"uuid": expression}}
            for name, (operation, expression) in declared.links.items()
        }
    return response


def _operation(service, method):
    declared = service.operations[method]
    requires_token, body_schema, query_schema = declared.token, declared.body, declared.query

    operation = {
        "operationId": declared.id,
        "summary": SUMMARIES[declared.id],
        "description": f"Answers {declared.code} `{declared.description}`"
        + (" Needs a token." if requires_token else " Needs no token, and ignores any."),
        "tags": [service.tag],
        "security": [{TOKEN: []}] if requires_token else [],
        "responses": {str(declared.code): _response(declared)},
    }
    parameters = []
    if "{uuid}" in service.path:
        parameters.append({"name": "uuid", "in": "path", "required": True, "schema": {"type": "string"},
                           "description": "the record's uuid, any case, with or without hyphens"})
    if query_schema is not None:
        for name, schema in json_schema(query_schema)["properties"].items():
            parameter = {"name": name, "in": "query", "required": False, "schema": schema}
            if name in QUERY_DESCRIPTIONS:
                parameter["description"] = QUERY_DESCRIPTIONS[name]
            parameters.append(parameter)
    if declared.conditional:
        parameters.append(IF_NONE_MATCH)
        operation["responses"]["304"] = {"$ref": "#/components/responses/NotModified"}
    if declared.if_match:
        parameters.append(IF_MATCH)
    if parameters:
        operation["parameters"] = parameters
    errors = [500]
    if body_schema is not None:
        content = {"schema": component_ref(body_schema.component_name)}
        if declared.id in REQUEST_EXAMPLES:
            content["example"] = REQUEST_EXAMPLES[declared.id]
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
        errors += [400, 413, 415]
    elif query_schema is not None or declared.no_body:
        errors.append(400)
    if requires_token:
        errors.append(401)
    if "{uuid}" in service.path:
        errors.append(404)
    if declared.conflicts:
        errors.append(409)
    if declared.gone:
        errors.append(410)
    if declared.if_match:
        errors.append(412)
    if declared.database or requires_token:
        errors.append(503)
    for code in sorted(errors):
        operation["responses"][str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
    return operation, body_schema


def _error_responses():
    responses = {"NotModified": {"description": "Not modified: `If-None-Match` holds this answer's ETag. No body.",
                                 "headers": {"ETag": ETAG}}}
    for code, (name, description) in ERRORS.items():
        content = {"schema": component_ref("ErrorAnswer")}
        if code == 400:
            content["example"] = ERROR_EXAMPLE
        responses[name] = {"description": description, "content": {"application/json": content}}
        if code in ERROR_HEADERS:
            responses[name]["headers"] = ERROR_HEADERS[code]
    return responses


def build_document(registry):
    mapper = registry.getUtility(IRoutesMapper)
    paths, schemas = {}, dict(COMPONENTS)
    for service in get_components(registry).services:
        route = mapper.get_route(service.name)
        # Pyramid keeps a prefixed pattern without its leading slash.
        item = paths.setdefault("/" + path_of(route.pattern).lstrip("/"), {})
        # HEAD wherever GET is, as HTTP says; OPTIONS is the CORS preflight: neither is declared.
        for method, declared in service.operations.items():
            operation, body_schema = _operation(service, method)
            item[method.lower()] = operation
            if not declared.raw:
                schemas[declared.answer] = envelope(declared.data, declared.pagination, declared.changes)
            if body_schema is not None:
                schemas[body_schema.component_name] = json_schema(body_schema)
    return {
        "openapi": "3.1.0",
        # The installed package's version (what Swagger UI's badge shows), as /__version__ says it.
        "info": {"title": "lambda_registry", "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": _error_responses(),
            "securitySchemes": {
                TOKEN: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <token>`: the user's ~okeanos token (the word Token in any case). "
                    'With openapi-python-client: `AuthenticatedClient(base_url=..., token=<token>, prefix="Token")`.',
                }
            },
        },
    }


def document(registry):
    """The document, built on first use and kept: it changes only with the code."""
    components = get_components(registry)
    if components.openapi is None:
        components.openapi = build_document(registry)
    return components.openapi
