"""For load balancers, operators and client generators (no token): the
Dockerflow-style heartbeats, the version, the OpenAPI document, and (with
``lambda_registry.metrics``) the Prometheus metrics."""

import importlib.metadata

from pyramid.response import Response
from sqlalchemy import column, literal, select, table

from ..storage.failures import is_unavailable
from ..storage.statements import Statement
from ..web.envelope import success
from ..web.jsonio import dumps_bytes
from ..web.openapi import document
from ..web.schemas import component_ref
from .service import Operation, RegistryService

SELECT_ONE = Statement(select(literal(1).label("one")))
# The schema's revision, as Alembic keeps it (one row).
SELECT_REVISION = Statement(select(column("version_num")).select_from(table("alembic_version")))
DISTRIBUTION = "lambda_registry"


def services(components):
    database = components.database
    lbheartbeat = RegistryService("lbheartbeat", "/__lbheartbeat__", "operations")
    heartbeat = RegistryService("heartbeat", "/__heartbeat__", "operations")
    version = RegistryService("version", "/__version__", "operations", for_any_origin=False)
    openapi = RegistryService("openapi", "/api/openapi.json", "operations")
    package_version = importlib.metadata.version(DISTRIBUTION)

    def get_lbheartbeat(request):
        # Touches nothing: the process answers, that is all it says.
        return success(200, "OK.", {})

    def get_heartbeat(request):
        # A database that does not answer raises; the error views make it our 503.
        with database.read(request) as executor:
            executor.rows(SELECT_ONE)
        return success(200, "OK.", {"database": "ok"})

    def get_version(request):
        with database.read(request) as executor:
            row = executor.first(SELECT_REVISION)
        return success(200, "OK.", {"version": package_version, "revision": row.version_num if row else None})

    def get_openapi(request):
        return Response(body=dumps_bytes(document(request.registry)), content_type="application/json", charset=None)

    lbheartbeat.add_view("GET", get_lbheartbeat, operation=Operation(
        "lbheartbeat", 200, "OK: the process answers (touches nothing).", "LbHeartbeatAnswer",
        {"type": "object", "maxProperties": 0}, database=False))
    heartbeat.add_view("GET", get_heartbeat, operation=Operation(
        "heartbeat", 200, "OK: the database answers too.", "HeartbeatAnswer", component_ref("Health")))
    version.add_view("GET", get_version, operation=Operation(
        "get_version", 200, "OK: the installed package and the database schema.", "VersionAnswer",
        component_ref("Version")))
    openapi.add_view("GET", get_openapi, operation=Operation(
        "get_openapi", 200, "The OpenAPI 3.1 document of this API (the document itself, not an envelope).",
        "OpenAPI", raw=True, database=False, conditional=True))
    found = [lbheartbeat, heartbeat, version, openapi]
    if components.settings.metrics:
        found.append(metrics_service(components))
    return found


def metrics_service(components):
    metrics = RegistryService("metrics", "/__metrics__", "operations", for_any_origin=False)

    def get_metrics(request):
        try:
            figures = components.counts.figures(request)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # The counters still answer, above all database_unavailable_total:
            # an outage is when operators scrape the most. The gauges wait.
            figures = None
        body, content_type = components.metrics.exposition(figures)
        # prometheus_client's type names its own charset and format version.
        response = Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    metrics.add_view("GET", get_metrics, operation=Operation(
        "get_metrics", 200, "The Prometheus text exposition format (not an envelope).", "Metrics", raw=True, media_type="text/plain"))
    return metrics
