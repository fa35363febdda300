"""GET /api/openapi.json: the OpenAPI 3.1 document, no token needed."""

from pyramid.response import Response

from ..web.jsonio import dumps_bytes
from ..web.openapi import Answer, document
from . import RegistryService


def services(registry):
    openapi = RegistryService("openapi", "/api/openapi.json", "operations")

    def get_openapi(request):
        return Response(body=dumps_bytes(document(request.registry)), content_type="application/json", charset=None)

    openapi.add_view("GET", get_openapi, answer=Answer(
        "get_openapi", 200, "The OpenAPI 3.1 document of this API (the document itself, not an envelope).",
        "OpenAPI", raw=True, database=False))
    return [openapi]
