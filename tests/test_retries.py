"""PostgreSQL deadlocks are retried by our writes; out of attempts, a clean 503.

The test's own connection and the app's request lock the same two rows in
opposite orders. The test's side waits 10 s before looking for deadlocks,
the app's the default 1 s, so PostgreSQL aborts the app's transaction.
"""

import logging
import threading

import pytest
from sqlalchemy import text
import webtest

from .conftest import PG_URL
from .minimal_host import make_host
from .support import ALICE, UUID, assert_envelope, dispose, new_instance, settings_for, wait_for

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs LAMBDA_REGISTRY_TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture
def postgres_only(database_url, clean_db):
    if database_url != PG_URL:
        pytest.skip("deadlocks are PostgreSQL's")
    return clean_db


@pytest.fixture(params=["standalone", "embedded"])
def app_of(request, database_url, make_app):
    """``app_of(**settings)``: the standalone app (each write its own
    transaction), or the minimal host (writes joined to its request.tm)."""
    if request.param == "standalone":
        yield lambda **overrides: webtest.TestApp(make_app(**overrides))
        return
    hosts = []
    yield lambda **overrides: webtest.TestApp(hosts.append(make_host(settings_for(database_url, **overrides))) or hosts[-1])
    for host in hosts:
        dispose(host)


def waiting_for_a_lock(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar() > 0


def deadlock_one_update(engine, app):
    """Post a status update that PostgreSQL aborts once as a deadlock victim."""
    instance_id = None
    with engine.connect() as connection:
        instance_id = connection.execute(text("SELECT id FROM lambda_instances")).scalar_one()
    answers = []
    with engine.connect() as blocker:
        transaction = blocker.begin()
        blocker.execute(text("SET LOCAL deadlock_timeout = '10s'"))
        # Hold the counter row the update will need after locking the record.
        blocker.execute(text("UPDATE lambda_instance_status_counts SET record_count = record_count WHERE status = 2"))
        request = threading.Thread(
            target=lambda: answers.append(
                app.post_json(f"/api/lambda_instances/{UUID}/status/", {"status": "10"}, headers=ALICE, status="*")
            )
        )
        request.start()
        # The app now holds the record and waits for the counter row.
        wait_for(lambda: waiting_for_a_lock(engine), what="the request waiting for the counter row")
        blocker.execute(text("SELECT id FROM lambda_instances WHERE id = :id FOR UPDATE"), {"id": instance_id})
        transaction.rollback()
        request.join(30)
    return answers[0]


def test_a_deadlock_is_retried_and_the_update_stored_once(postgres_only, app_of, caplog):
    caplog.set_level(logging.INFO, logger="lambda_registry.storage")
    app = app_of()
    app.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE, status=202)
    response = deadlock_one_update(postgres_only, app)
    assert_envelope(response, 202)
    retried = [record.getMessage() for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retried) == 1 and "OperationalError" in retried[0]
    history = app.get(f"/api/lambda_instances/{UUID}", headers=ALICE).json["data"][0]["history"]
    assert [entry["status"] for entry in history] == ["2", "10"]
    counts = app.get("/api/lambda_instances/count?status=2").json["data"]["count"]
    assert counts == "0"


def test_out_of_attempts_is_a_clean_503(postgres_only, app_of):
    app = app_of(**{"lambda_registry.retry_attempts": "1"})
    app.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE, status=202)
    response = deadlock_one_update(postgres_only, app)
    assert_envelope(response, 503, "The database is unavailable.")
    history = app.get(f"/api/lambda_instances/{UUID}", headers=ALICE).json["data"][0]["history"]
    assert [entry["status"] for entry in history] == ["2"]
