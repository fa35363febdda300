"""For load balancers, operators and client generators (no token): the
Dockerflow-style heartbeats and the OpenAPI document."""

from pyramid.response import Response
from sqlalchemy import literal, select

from ..storage.statements import Statement
from ..web.envelope import success
from ..web.jsonio import dumps_bytes
from ..web.openapi import document
from ..web.schemas import component_ref
from .service import Operation, RegistryService

SELECT_ONE = Statement(select(literal(1).label("one")))


def services(components):
    database = components.database
    lbheartbeat = RegistryService("lbheartbeat", "/__lbheartbeat__", "operations")
    heartbeat = RegistryService("heartbeat", "/__heartbeat__", "operations")
    openapi = RegistryService("openapi", "/api/openapi.json", "operations")

    def get_lbheartbeat(request):
        # Touches nothing: the process answers, that is all it says.
        return success(200, "OK.", {})

    def get_heartbeat(request):
        # A database that does not answer raises; the error views make it our 503.
        with database.read(request) as executor:
            executor.rows(SELECT_ONE)
        return success(200, "OK.", {"database": "ok"})

    def get_openapi(request):
        return Response(body=dumps_bytes(document(request.registry)), content_type="application/json", charset=None)

    lbheartbeat.add_view("GET", get_lbheartbeat, operation=Operation(
        "lbheartbeat", 200, "OK: the process answers (touches nothing).", "LbHeartbeatAnswer",
        {"type": "object", "maxProperties": 0}, database=False))
    heartbeat.add_view("GET", get_heartbeat, operation=Operation(
        "heartbeat", 200, "OK: the database answers too.", "HeartbeatAnswer", component_ref("Health")))
    openapi.add_view("GET", get_openapi, operation=Operation(
        "get_openapi", 200, "The OpenAPI 3.1 document of this API (the document itself, not an envelope).",
        "OpenAPI", raw=True, database=False, conditional=True))
    return [lbheartbeat, heartbeat, openapi]
