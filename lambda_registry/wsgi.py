"""WSGI middleware of the standalone application."""

from .responses import body_too_large


class DeclaredBodyLimit:
    """Answers 413 to a body whose Content-Length is over the limit, unread.

    pyramid_retry copies the whole body (to replay it on a retry) before any
    view runs: without this, a client declaring gigabytes would be read in
    full before the views could refuse it. Chunked bodies carry no length;
    the views refuse those while reading (``validation.read_body``).
    """

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit
        self.registry = app.registry

    def __call__(self, environ, start_response):
        declared = environ.get("CONTENT_LENGTH", "")
        if declared.isdigit() and int(declared) > self.limit:
            return body_too_large(self.limit)(environ, start_response)
        return self.app(environ, start_response)
