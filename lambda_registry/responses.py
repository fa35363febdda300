"""The JSON envelope of every answer, success or error, and the error views.

Every body is ``{"status": {"short_description", "code"}, ...}`` with
``data`` on success and ``errors`` on failure; ``status.code`` always equals
the HTTP status. Errors are raised, never returned, so that pyramid_tm
aborts the transaction of any request that fails.
"""

import json
import logging
import re

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPException, status_map
from pyramid.response import Response
from pyramid_retry import mark_error_retryable
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

JSON = "application/json"

INVALID_REQUEST = "Invalid request."
NOT_FOUND = "Not found."
INSTANCE_NOT_FOUND = "The specified lambda instance doesn't exist."
ALREADY_CREATED = "The specified lambda instance has already been created."
ALREADY_DESTROYED = "The specified lambda instance has been destroyed."
DATABASE_UNAVAILABLE = "The database is unavailable."
IDENTITY_UNAVAILABLE = "The ~okeanos identity service is unavailable."
UNAUTHORIZED = "Authentication required: a valid ~okeanos token is needed."

# The short description of an error status when nothing more precise is known.
GENERIC_DESCRIPTIONS = {
    400: INVALID_REQUEST,
    401: UNAUTHORIZED,
    403: "Forbidden.",
    404: NOT_FOUND,
    405: "Method not allowed.",
    406: "Not acceptable.",
    409: "Conflict.",
    413: "Request body too large.",
    415: "Unsupported media type: send application/json.",
    500: "Internal server error.",
    503: "Service unavailable.",
}

# Headers of a wrapped exception that still mean something on our envelope.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Location")


def _dumps(body):
    # allow_nan=False: an answer is strict JSON or it is not sent (a 500).
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def envelope(code, short_description, **parts):
    body = {"status": {"short_description": short_description, "code": code}}
    body.update(parts)
    return body


def success(code, short_description, data, pagination=None, headers=None):
    """A success response: ``data``, and ``pagination`` when given."""
    parts = {"data": data}
    if pagination is not None:
        parts["pagination"] = pagination
    response = Response(
        body=_dumps(envelope(code, short_description, **parts)),
        status=code,
        content_type=JSON,
        charset=None,
    )
    if headers:
        response.headers.update(headers)
    return response


def error_entry(location, name, description):
    if isinstance(description, bytes):  # Cornice describes 406 and 415 in bytes.
        description = description.decode("utf-8", "replace")
    return {"location": location, "name": name, "description": str(description)}


class EnvelopeError(HTTPException):
    """Marks an HTTP error whose body is already our envelope."""


# One subclass of EnvelopeError per HTTP error class, made on first use.
_ENVELOPE_CLASSES = {}


def error(code, short_description=None, errors=(), headers=None):
    """The exception to raise for an error answer (its body is the envelope)."""
    exc_class = status_map[code]
    # One subclass per status, so the exception keeps the status's own class
    # (HTTPNotFound, ...) for anyone who catches by it.
    cls = _ENVELOPE_CLASSES.get(exc_class)
    if cls is None:
        cls = _ENVELOPE_CLASSES[exc_class] = type(
            "Envelope" + exc_class.__name__, (EnvelopeError, exc_class), {}
        )
    description = short_description or GENERIC_DESCRIPTIONS.get(code, exc_class.title + ".")
    exc = cls(headers=headers)
    exc.content_type = JSON
    exc.charset = None
    exc.body = _dumps(envelope(code, description, errors=list(errors)))
    return exc


def database_unavailable():
    return error(
        503,
        DATABASE_UNAVAILABLE,
        [error_entry("url", "", "the database cannot be reached; retry later")],
        headers={"Retry-After": "5"},
    )


def not_json(content_type):
    shown = "no Content-Type" if not content_type else f"Content-Type {content_type[:40]!r}"
    return error(415, None, [error_entry("header", "Content-Type", f"send the body as application/json ({shown} was sent)")])


def body_too_large(limit):
    return error(413, None, [error_entry("body", "", f"the body must be at most {limit} bytes")])


def is_database_unavailable(exc):
    """True for errors that mean the database cannot be reached right now."""
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        # OperationalError: connection refused, server closing, lock timeouts.
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    return False


def http_exception_view(exc, request):
    """Wrap any HTTP error raised on our routes (404, 405, 403, ...) in the envelope."""
    if isinstance(exc, EnvelopeError) or exc.code < 400:
        return exc
    headers = {name: exc.headers[name] for name in KEPT_HEADERS if name in exc.headers}
    if exc.code == 404:
        problem = error_entry("url", "", "There is nothing at this URL.")
    elif exc.code == 405:
        allowed = headers.get("Allow", "")
        problem = error_entry("method", "", f"{request.method} is not allowed here: {allowed}.")
    else:
        problem = error_entry("url", "", exc.title + ".")
    return error(exc.code, None, [problem], headers=headers)


def undecodable_url_view(exc, request):
    return error(400, None, [error_entry("url", "", "the URL is not valid UTF-8")])


def _mark_if_transient(exc, request):
    """Let pyramid_retry run the request again after a deadlock or a
    serialization failure.

    zope.sqlalchemy knows these errors are transient, and pyramid_tm would
    tag them so, but only after its commit veto: our error views answer 503,
    the veto aborts first, and the error would never be retried. So the tag
    is set here, while the transaction that can tell is still open.
    """
    try:
        transient = request.tm.get().isRetryableError(exc)
    except Exception:  # no transaction (any more): nothing to retry
        return
    if transient:
        mark_error_retryable(exc)


def unexpected_exception_view(exc, request):
    """Anything else: a 503 when the database is unreachable, else a quiet 500."""
    if is_database_unavailable(exc):
        _mark_if_transient(exc, request)
        # The SQLSTATE tells operators which (lock timeout, deadlock, ...);
        # the message itself may quote parameters, so it is left out.
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
        log.warning("database unavailable: %s (SQLSTATE %s)", type(exc).__name__, sqlstate)
        return database_unavailable()
    log.error("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return error(500, None, [error_entry("url", "", "the request could not be handled; it was logged")])


class RawPathPredicate:
    """Pyramid's ``path_info`` predicate on the raw PATH_INFO.

    Pyramid's own decodes the path first, and fails on a URL that is not
    UTF-8: that error would then never reach our error views.
    """

    def __init__(self, pattern, config):
        self.pattern = pattern
        self.regex = re.compile(pattern)

    def text(self):
        return f"lambda_registry_path = {self.pattern}"

    phash = text

    def __call__(self, context, request):
        return self.regex.match(request.environ.get("PATH_INFO", "")) is not None


def includeme(config):
    config.add_view_predicate("lambda_registry_path", RawPathPredicate)
    # Only on our own URLs: a host application's errors stay the host's.
    ours = {"lambda_registry_path": config.registry.lambda_registry_path_info}
    config.add_exception_view(http_exception_view, context=HTTPException, **ours)
    config.add_exception_view(undecodable_url_view, context=URLDecodeError, **ours)
    config.add_exception_view(unexpected_exception_view, context=Exception, **ours)
    config.add_notfound_view(http_exception_view, **ours)
