"""Cornice validators: the request body and query string through colander.

Problems are added to ``request.errors`` (Cornice then answers 400 with all
of them); a body too large to read is a 413 at once.
"""

import colander

from .responses import JSON, body_too_large, not_json
from .schemas import CountQuery, ListQuery, NotStrictJSON, loads, normalise_uuid
from .settings import get_settings


def json_body_expected(request, **kwargs):
    """Cornice validator, first of a view that takes a body: a JSON media type
    (case-insensitive, parameters allowed; none at all is refused too, as a
    form or a typeless body is what a cross-site page can send without a
    preflight), and a declared length within the limit. Both before the
    token is checked: refusing costs no identity call."""
    if request.content_type.lower() != JSON:
        raise not_json(request.headers.get("Content-Type", ""))
    limit = get_settings(request.registry).max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)


def read_body(request):
    """The raw body, refusing more than ``max_body_bytes`` before reading it all."""
    limit = get_settings(request.registry).max_body_bytes
    if request.content_length is not None:
        if request.content_length > limit:
            raise body_too_large(limit)
        # request.body rewinds a body made seekable (pyramid_retry does so,
        # to give each attempt the whole body again).
        return request.body
    # Chunked bodies have no Content-Length: read one byte past the limit.
    body = request.body_file.read(limit + 1)
    if len(body) > limit:
        raise body_too_large(limit)
    return body


def _add_invalid(request, location, invalid):
    for name, message in invalid.asdict().items():
        request.errors.add(location, name, message)


def _deserialize(request, location, schema, cstruct):
    try:
        return schema.deserialize(cstruct)
    except colander.Invalid as invalid:
        _add_invalid(request, location, invalid)
        return None


def json_object_body(request):
    """The body as a dict, or None with the problem added to ``request.errors``."""
    body = read_body(request)
    if not body.strip():
        request.errors.add("body", "", "a JSON object is required")
        return None
    try:
        value = loads(body)
    except NotStrictJSON as problem:
        request.errors.add("body", "", f"the body is not strict JSON: {problem}")
        return None
    except (ValueError, RecursionError):
        request.errors.add("body", "", "the body is not valid JSON")
        return None
    if not isinstance(value, dict):
        request.errors.add("body", "", "the body must be a JSON object")
        return None
    return value


def body_validator(schema):
    """A validator putting the fields of ``schema`` into ``request.validated``.

    Fields the schema does not know are refused: a misspelt optional field
    would otherwise be dropped without the client ever knowing.
    """
    known = {child.name for child in schema.children}

    def validate_body(request, **kwargs):
        value = json_object_body(request)
        if value is None:
            return
        for name in sorted(set(value) - known):
            request.errors.add("body", name, "is not a known field")
        fields = _deserialize(request, "body", schema, value)
        if fields is not None and not request.errors:
            request.validated.update(fields)

    validate_body.body_schema = schema  # for the OpenAPI document
    return validate_body


def query_validator(schema_name):
    """A validator for the query string; unknown parameters are ignored
    (browsers add cache-busters), a parameter given twice is refused."""

    def validate_query(request, **kwargs):
        schema = request.registry.lambda_registry_query_schemas[schema_name]
        query = {}
        try:
            parameters = request.GET
        except UnicodeDecodeError:
            request.errors.add("querystring", "", "the query string is not valid UTF-8")
            return
        for name in (child.name for child in schema.children):
            values = parameters.getall(name)
            if len(values) > 1:
                request.errors.add("querystring", name, "must be given once")
            elif values:
                query[name] = values[0]
        fields = _deserialize(request, "querystring", schema, query)
        if fields is not None:
            request.validated.update(fields)

    validate_query.query_schema_name = schema_name  # for the OpenAPI document
    return validate_query


def uuid_in_path(request, **kwargs):
    """The uuid of the URL, normalised; a malformed one cannot exist (404 later)."""
    request.validated["uuid"] = normalise_uuid(request.matchdict["uuid"])


def includeme(config):
    max_page_size = get_settings(config.registry).max_page_size
    config.registry.lambda_registry_query_schemas = {
        "list": ListQuery().bind(max_page_size=max_page_size),
        "count": CountQuery().bind(),
    }
