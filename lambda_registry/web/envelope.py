"""The JSON envelope of every answer, success or error.

Every body is ``{"status": {"short_description", "code"}, ...}`` with
``data`` on success and ``errors`` on failure; ``status.code`` always equals
the HTTP status. Errors are raised (``EnvelopeError``), never returned, so
that the transaction of a request that fails is aborted.
"""

from pyramid.httpexceptions import HTTPException, status_map
from pyramid.response import Response

from .jsonio import dumps_bytes

JSON = "application/json"

INVALID_REQUEST = "Invalid request."
NOT_FOUND = "Not found."
DATABASE_UNAVAILABLE = "The database is unavailable."
IDENTITY_UNAVAILABLE = "The ~okeanos identity service is unavailable."
UNAUTHORIZED = "Authentication required: a valid ~okeanos token is needed."

# The short description of an error status when nothing more precise is known.
# (Any other status says its title: "Forbidden.")
GENERIC_DESCRIPTIONS = {
    400: INVALID_REQUEST,
    404: NOT_FOUND,
    405: "Method not allowed.",
    413: "Request body too large.",
    415: "Unsupported media type: send application/json.",
    500: "Internal server error.",
}

# Browsers must not guess another type than JSON (Cornice's own include
# would add it to every answer of a host; we add it to ours only).
NOSNIFF = ("X-Content-Type-Options", "nosniff")


def envelope(code, short_description, **parts):
    body = {"status": {"short_description": short_description, "code": code}}
    body.update(parts)
    return body


def json_response(body, code=200, headers=None):
    """``body`` (strict JSON) in a response; NaN or Infinity raise ValueError."""
    response = Response(body=dumps_bytes(body), status=code, content_type=JSON, charset=None)
    response.headerlist.append(NOSNIFF)
    if headers:
        response.headers.update(headers)
    return response


def success(code, short_description, data, pagination=None, headers=None, changes=None):
    """A success response: ``data``, and ``pagination`` or ``changes`` (a changes feed's cursor) when given."""
    parts = {"data": data}
    if pagination is not None:
        parts["pagination"] = pagination
    if changes is not None:
        parts["changes"] = changes
    return json_response(envelope(code, short_description, **parts), code, headers)


def error_entry(location, name, description):
    if isinstance(description, bytes):
        description = description.decode("utf-8", "replace")
    return {"location": location, "name": name, "description": str(description)}


class EnvelopeError(HTTPException):
    """An HTTP error whose body is already our envelope: raise it."""

    def __init__(self, code, short_description=None, errors=(), headers=None):
        # HTTPException takes its status line from these.
        self.code = code
        self.title = status_map[code].title
        super().__init__(headers=headers)
        description = short_description or GENERIC_DESCRIPTIONS.get(code, self.title + ".")
        self.content_type = JSON
        self.charset = None
        self.body = dumps_bytes(envelope(code, description, errors=list(errors)))
        self.headerlist.append(NOSNIFF)


error = EnvelopeError


def problem(code, description, location, name, text, **headers):
    """An error with one problem in ``errors``."""
    return error(code, description, [error_entry(location, name, text)], headers=headers or None)


def database_unavailable():
    return problem(503, DATABASE_UNAVAILABLE, "url", "", "the database cannot be reached; retry later",
                   **{"Retry-After": "5"})


def body_too_large(limit):
    return problem(413, None, "body", "", f"the body must be at most {limit} bytes")


def not_json(content_type):
    shown = "no Content-Type" if not content_type else f"Content-Type {content_type[:40]!r}"
    return problem(415, None, "header", "Content-Type", f"send the body as application/json ({shown} was sent)")


def unauthorized():
    return problem(401, UNAUTHORIZED, "header", "Authorization",
                   "expected 'Authorization: Token <token>' with a valid token", **{"WWW-Authenticate": "Token"})


def identity_unavailable(retry_after, text="the token could not be checked now; retry later"):
    return problem(503, IDENTITY_UNAVAILABLE, "header", "Authorization", text, **{"Retry-After": str(retry_after)})
