"""Validation: the request body, the query string, the uuid of the URL.

The validators here are what ``services/service.py`` runs for each
operation, from its declaration. Problems are added to ``request.errors``
(Cornice then answers 400 with all of them); a request that cannot be read
at all (wrong media type, a body too large) is refused at once.
``validate_fields`` is the one check of a body's fields, for the API and
for a host's code alike.
"""

import colander

from ..settings import get_settings
from .envelope import JSON, body_too_large, error, error_entry, not_json
from .jsonio import NotStrictJSON, loads
from .schemas import normalise_uuid


def json_body_expected(request, **kwargs):
    """First check of a view that takes a body: a JSON media type
    (case-insensitive, parameters allowed; none at all is refused too, as a
    form or a typeless body is what a cross-site page can send without a
    preflight), and a declared length within the limit, before anything
    reads the body. Both before the token is checked: refusing costs no
    identity call."""
    if request.content_type.lower() != JSON:
        raise not_json(request.headers.get("Content-Type", ""))
    limit = get_settings(request.registry).max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)


def no_body_expected(request, **kwargs):
    """A view that takes no body: anything sent is refused, unread."""
    if request.content_length or request.headers.get("Transfer-Encoding"):
        raise error(400, None, [error_entry("body", "", "this request takes no body")])


def read_body(request):
    """The raw body, refusing more than ``max_body_bytes`` before reading it all."""
    limit = get_settings(request.registry).max_body_bytes
    if request.content_length is not None:
        if request.content_length > limit:
            raise body_too_large(limit)
        # body_file reads the declared length once; request.body would first
        # copy the body into a seekable buffer.
        return request.body_file.read()
    # Chunked bodies have no Content-Length: read one byte past the limit.
    body = request.body_file.read(limit + 1)
    if len(body) > limit:
        raise body_too_large(limit)
    return body


def validate_fields(schema, value, location="body"):
    """``(fields, problems)``: the fields of ``value`` (a dict) as ``schema``
    takes them (normalised, defaults filled in), or None and every problem
    as ``(location, name, description)``. Fields the schema does not know
    are problems too: a misspelt optional field would otherwise be dropped
    without the client ever knowing."""
    problems = [(location, name, "is not a known field") for name in sorted(set(value) - _known(schema))]
    try:
        fields = schema.deserialize(value)
    except colander.Invalid as invalid:
        problems += [(location, name, message) for name, message in invalid.asdict().items()]
        fields = None
    return (None, problems) if problems else (fields, [])


def checked_fields(schema, value):
    """The fields of ``value`` as ``schema`` takes them, or a 400 naming every problem."""
    if not isinstance(value, dict):
        raise error(400, None, [error_entry("body", "", "the fields must be a JSON object")])
    fields, problems = validate_fields(schema, value)
    if problems:
        raise error(400, None, [error_entry(*problem) for problem in problems])
    return fields


def _known(schema):
    return {child.name for child in schema.children}


def _deserialize(request, location, schema, cstruct):
    try:
        return schema.deserialize(cstruct)
    except colander.Invalid as invalid:
        for name, message in invalid.asdict().items():
            request.errors.add(location, name, message)
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
    """A validator putting the fields of ``schema`` into ``request.validated``."""

    def validate_body(request, **kwargs):
        value = json_object_body(request)
        if value is None:
            return
        fields, problems = validate_fields(schema, value)
        for problem in problems:
            request.errors.add(*problem)
        if fields is not None and not request.errors:
            request.validated.update(fields)

    return validate_body


def query_validator(schema):
    """A validator for the query string; unknown parameters are ignored
    (browsers add cache-busters), a parameter given twice is refused."""

    def validate_query(request, **kwargs):
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

    return validate_query


def uuid_in_path(not_found):
    """A validator: the uuid of the URL, normalised. A malformed one cannot
    exist: ``not_found(uuid as given)`` is raised, as for an unknown one."""

    def validate_uuid(request, **kwargs):
        uuid = normalise_uuid(request.matchdict["uuid"])
        if uuid is None:
            raise not_found(request.matchdict["uuid"])
        request.validated["uuid"] = uuid

    return validate_uuid
