"""Error views: every error on our URLs answers with the envelope.

Registered only for our own paths (``lambda_registry_path`` predicate): a
host application's errors stay the host's.
"""

import logging
import re

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPException

from ..storage.failures import is_unavailable, sqlstate
from ..components import get_components
from .envelope import EnvelopeError, database_unavailable, error, error_entry
from .observe import UNKNOWN, begin

log = logging.getLogger(__name__)

# Headers of a wrapped exception that still mean something on our envelope.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Location")


def http_exception_view(exc, request):
    """Wrap any HTTP error raised on our routes (404, 405, 403, ...) in the envelope."""
    begin(request, UNKNOWN)  # when no view of ours began it (a 404, a 405)
    if isinstance(exc, EnvelopeError) or exc.code < 400:
        return exc
    headers = {name: exc.headers[name] for name in KEPT_HEADERS if name in exc.headers}
    if exc.code == 404:
        problem = error_entry("url", "", "There is nothing at this URL.")
    elif exc.code == 405:
        problem = error_entry("method", "", f"{request.method} is not allowed here: {headers.get('Allow', '')}.")
    else:
        problem = error_entry("url", "", exc.title + ".")
    return error(exc.code, None, [problem], headers=headers)


def undecodable_url_view(exc, request):
    begin(request, UNKNOWN)
    return error(400, None, [error_entry("url", "", "the URL is not valid UTF-8")])


def unexpected_exception_view(exc, request):
    """Anything else: a 503 when the database is unreachable, else a quiet 500."""
    begin(request, UNKNOWN)
    if is_unavailable(exc):
        get_components(request.registry).metrics.database_was_unavailable()
        # The SQLSTATE tells operators which (lock timeout, deadlock, ...);
        # the message itself may quote parameters, so it is left out.
        log.warning("database unavailable: %s (SQLSTATE %s)", type(exc).__name__, sqlstate(exc))
        return database_unavailable()
    log.error("unexpected error on %s %s", request.method, request.environ.get("PATH_INFO", ""), exc_info=exc)
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


def register(config, ours):
    """Our error views, for the paths matching the regex ``ours``."""
    config.add_view_predicate("lambda_registry_path", RawPathPredicate)
    only_ours = {"lambda_registry_path": ours}
    config.add_exception_view(http_exception_view, context=HTTPException, **only_ours)
    config.add_exception_view(undecodable_url_view, context=URLDecodeError, **only_ours)
    config.add_exception_view(unexpected_exception_view, context=Exception, **only_ours)
    config.add_notfound_view(http_exception_view, **only_ours)
