"""Dockerflow-style health checks for load balancers and operators (no token)."""

from sqlalchemy import literal, select

from ..storage import get_database
from ..storage.statements import Statement
from ..web.envelope import success
from ..web.openapi import Answer
from ..web.schemas import component_ref
from . import RegistryService

SELECT_ONE = Statement(select(literal(1)))


def services(registry):
    database = get_database(registry)
    lbheartbeat = RegistryService("lbheartbeat", "/__lbheartbeat__", "operations")
    heartbeat = RegistryService("heartbeat", "/__heartbeat__", "operations")

    def get_lbheartbeat(request):
        # Touches nothing: the process answers, that is all it says.
        return success(200, "OK.", {})

    def get_heartbeat(request):
        # A database that does not answer raises; the error views make it our 503.
        with database.read(request) as db:
            db.rows(SELECT_ONE)
        return success(200, "OK.", {"database": "ok"})

    lbheartbeat.add_view("GET", get_lbheartbeat, answer=Answer(
        "lbheartbeat", 200, "OK: the process answers (touches nothing).", "LbHeartbeatAnswer",
        {"type": "object", "maxProperties": 0}, database=False))
    heartbeat.add_view("GET", get_heartbeat, answer=Answer(
        "heartbeat", 200, "OK: the database answers too.", "HeartbeatAnswer", component_ref("Health")))
    return [lbheartbeat, heartbeat]
