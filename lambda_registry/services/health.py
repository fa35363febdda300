"""Dockerflow-style health checks for load balancers and operators (no token)."""

from sqlalchemy import text

from ..openapi import answers
from ..responses import success
from . import RegistryService

lbheartbeat = RegistryService("lbheartbeat", "/__lbheartbeat__")
heartbeat = RegistryService("heartbeat", "/__heartbeat__")


@lbheartbeat.get()
@answers(200, "OK.", {"type": "object", "maxProperties": 0}, database=False)
def get_lbheartbeat(request):
    # Touches nothing: the process answers, that is all it says.
    return success(200, "OK.", {})


@heartbeat.get()
@answers(200, "OK.", {"type": "object", "required": ["database"], "properties": {"database": {"const": "ok"}}})
def get_heartbeat(request):
    # A database that does not answer raises; the error views make it our 503.
    request.lambda_registry_dbsession.execute(text("SELECT 1"))
    return success(200, "OK.", {"database": "ok"})


SERVICES = [lbheartbeat, heartbeat]
