"""How the service answers browsers from other origins (SPEC.md "Operations").

The public endpoints (counts, users/count, the heartbeats, openapi.json)
answer any origin, ``Access-Control-Allow-Origin: *``; the token endpoints,
the version and the metrics only the origins of
``lambda_registry.cors_origins`` (or any, if it is ``*``). Never with credentials: a token travels in a header the page sets.
Preflights (``OPTIONS``) say which methods and headers a URL takes.

Cornice's own CORS support would need its request subscriber on every
request of a host application, and refuses an unknown Origin with a 400;
this module works per service, on our requests only.
"""

from .envelope import error, error_entry, success

ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match"
# X-Request-ID: what a browser client quotes when it reports a problem.
EXPOSED_HEADERS = "ETag, Location, Retry-After, WWW-Authenticate, X-Request-ID"
MAX_AGE = "600"
PREFLIGHT = "Preflight: the methods and headers this URL takes from a browser."


class ServiceCors:
    """The CORS answers of one service: public, or for the token endpoints' origins."""

    def __init__(self, public, token_origins, methods):
        self.public = public
        self.token_origins = token_origins
        self.methods = methods  # what a preflight may ask for

    def allowed_origin(self, origin):
        """The Access-Control-Allow-Origin to answer ``origin`` with, or None."""
        if self.public or self.token_origins == "*":
            return "*"
        return origin if origin in self.token_origins else None

    def decorate(self, request):
        """For a request from a browser page: CORS headers on whatever it is answered."""
        origin = request.headers.get("Origin")
        if origin is None or request.method == "OPTIONS":  # a preflight answers for itself
            return
        allowed = self.allowed_origin(origin)

        def add_headers(request, response):
            if not self.public:
                response.vary = tuple(dict.fromkeys([*(response.vary or ()), "Origin"]))
            if allowed is not None:
                response.headers["Access-Control-Allow-Origin"] = allowed
                response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS

        request.add_response_callback(add_headers)

    def preflight(self, request):
        """The OPTIONS view."""
        methods = ", ".join(self.methods)
        origin = request.headers.get("Origin")
        asked = request.headers.get("Access-Control-Request-Method")
        if origin is None or asked is None:
            return success(200, "Methods of this URL.", {"methods": list(self.methods)}, headers={"Allow": methods})
        if self.allowed_origin(origin) is None or asked not in self.methods:
            # No CORS headers: the browser refuses the request it wanted to send.
            raise error(403, "Not allowed from this origin.", [
                error_entry("header", "Origin", f"{origin[:100]} may not {asked[:20]} this URL from a browser")])
        response = success(200, PREFLIGHT, {"methods": list(self.methods)}, headers={
            "Access-Control-Allow-Origin": self.allowed_origin(origin),
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        })
        if not self.public:
            response.vary = ("Origin",)
        return response
