"""PostgreSQL's transient errors are retried by our writes; out of attempts, a clean 503.

Since the counters stopped being shared rows (count_changes), two writes
of different records no longer lock anything in common, so a real
deadlock cannot be arranged through the API any more. The server itself
raises the error instead: a trigger, created by the test on the history
table, fails the first ``n`` history inserts with SQLSTATE 40P01
(deadlock_detected), exactly as a deadlock victim's statement fails. A
sequence counts the attempts because its ``nextval`` survives the
rollback that follows each failure.
"""

import logging

import pytest
from sqlalchemy import text
import webtest

from .conftest import PG_URL
from .minimal_host import make_host
from .support import ALICE, UUID, assert_envelope, dispose, new_instance, settings_for

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs LAMBDA_REGISTRY_TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture
def postgres_only(database_url, clean_db):
    if database_url != PG_URL:
        pytest.skip("the injected failure is a PostgreSQL trigger")
    return clean_db


@pytest.fixture(params=["standalone", "embedded"])
def app_of(request, database_url, make_app):
    """``app_of(**settings)``: the standalone app, or the minimal host
    (writes joined to its request.tm)."""
    if request.param == "standalone":
        yield lambda **overrides: webtest.TestApp(make_app(**overrides))
        return
    hosts = []
    yield lambda **overrides: webtest.TestApp(hosts.append(make_host(settings_for(database_url, **overrides))) or hosts[-1])
    for host in hosts:
        dispose(host)


@pytest.fixture
def failing_history_inserts(postgres_only):
    """``fail(n)``: the next ``n`` inserts into the instances' history raise 40P01."""
    engine = postgres_only

    def fail(times):
        with engine.begin() as connection:
            connection.execute(text("CREATE SEQUENCE lr_test_attempts"))
            connection.execute(text(f"""
                CREATE FUNCTION lr_test_fail_first() RETURNS trigger AS $$
                BEGIN
                    IF nextval('lr_test_attempts') <= {int(times)} THEN
                        RAISE EXCEPTION 'deadlock detected (injected by the test)' USING ERRCODE = '40P01';
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql"""))
            connection.execute(text(
                "CREATE TRIGGER lr_test_fail_first BEFORE INSERT ON lambda_instance_status_changes "
                "FOR EACH ROW EXECUTE FUNCTION lr_test_fail_first()"))

    yield fail
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER IF EXISTS lr_test_fail_first ON lambda_instance_status_changes"))
        connection.execute(text("DROP FUNCTION IF EXISTS lr_test_fail_first()"))
        connection.execute(text("DROP SEQUENCE IF EXISTS lr_test_attempts"))


def attempts(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT last_value FROM lr_test_attempts")).scalar_one()


def test_a_deadlock_is_retried_and_the_update_stored_once(postgres_only, failing_history_inserts, app_of, caplog):
    caplog.set_level(logging.INFO, logger="lambda_registry.storage")
    app = app_of()
    app.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE, status=202)
    failing_history_inserts(1)
    response = app.post_json(f"/api/lambda_instances/{UUID}/status/", {"status": "10"}, headers=ALICE, status="*")
    assert_envelope(response, 202)
    assert attempts(postgres_only) == 2
    retried = [record.getMessage() for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retried) == 1 and "DeadlockDetected" in retried[0]
    history = app.get(f"/api/lambda_instances/{UUID}", headers=ALICE).json["data"][0]["history"]
    assert [entry["status"] for entry in history] == ["2", "10"]
    assert app.get("/api/lambda_instances/count?status=2").json["data"]["count"] == "0"
    assert app.get("/api/lambda_instances/count?status=10").json["data"]["count"] == "1"


def test_out_of_attempts_is_a_clean_503(postgres_only, failing_history_inserts, app_of):
    app = app_of(**{"lambda_registry.retry_attempts": "2"})
    app.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE, status=202)
    failing_history_inserts(2)
    response = app.post_json(f"/api/lambda_instances/{UUID}/status/", {"status": "10"}, headers=ALICE, status="*")
    assert_envelope(response, 503, "The database is unavailable.")
    assert attempts(postgres_only) == 2
    details = app.get(f"/api/lambda_instances/{UUID}", headers=ALICE).json["data"][0]
    assert details["status"] == "2"
    assert [entry["status"] for entry in details["history"]] == ["2"]
    assert app.get("/api/lambda_instances/count?status=2").json["data"]["count"] == "1"
    assert app.get("/api/lambda_instances/count?status=10").json["data"]["count"] == "0"
