"""GET /api/openapi.json: the OpenAPI 3.1 document, no token needed."""

import json

from pyramid.response import Response

from ..openapi import answers, document
from . import RegistryService

openapi = RegistryService("openapi", "/api/openapi.json")


@openapi.get()
@answers(200, "The OpenAPI 3.1 document of this API (the document itself, not an envelope).",
         {"type": "object", "required": ["openapi", "paths"]}, raw=True, database=False)
def get_openapi(request):
    body = json.dumps(document(request.registry)).encode("utf-8")
    return Response(body=body, content_type="application/json", charset=None)


SERVICES = [openapi]
