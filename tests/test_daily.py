"""SPEC.md "People's page": active instances per day, kept as writes
happen (``GET /api/lambda_instances/count/daily``), on both databases:
equal to a recount from the histories, across folds, concurrent writers
and a database migrated from before the series."""

import concurrent.futures
import datetime

import pytest
from sqlalchemy import create_engine, text
import webtest

from lambda_registry.counts import Counts
from lambda_registry.model.kinds import INSTANCES
from lambda_registry.model.statuses import ACTIVE_CODES
from lambda_registry.storage.database import Database
from lambda_registry.storage.migrate import upgrade
from lambda_registry.storage.record_store import RecordStore

from .support import ALICE_TOKEN, BOB_TOKEN, assert_envelope, build_app, call, dispose, new_instance, served
from .test_migrations import scratch_url  # noqa: F401 (a fixture)

APP_MODES = ("standalone", "embedded")


def utc_today():
    # Asked when needed, not at import: a run may cross midnight (UTC).
    return datetime.datetime.now(datetime.timezone.utc).date()


def uuid(n):
    return f"00000000-0000-4000-8000-{n:012x}"


def recount(connection_or_query, days):
    """{day: active instances at its end}, from the histories alone."""
    rows = connection_or_query("SELECT instance_id, status, at FROM lambda_instance_status_changes ORDER BY id")
    today, figures = utc_today(), {}
    for back in range(days):
        day = today - datetime.timedelta(days=back)
        end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
        status = {}
        for record, code, at in rows:
            at = at if isinstance(at, datetime.datetime) else datetime.datetime.fromisoformat(str(at))
            if at < end:
                status[record] = code
        figures[day.isoformat()] = sum(1 for code in status.values() if code in ACTIVE_CODES)
    return figures


def series(testapp, days):
    response = testapp.get("/api/lambda_instances/count/daily", params={"days": str(days)})
    assert_envelope(response, 200, "Lambda instances per day.")
    return {entry["date"]: int(entry["active"]) for entry in response.json["data"]}


def test_the_series_answers_the_days_asked_oldest_first_today_last(testapp):
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(1), status="20"),
                      headers={"Authorization": f"Token {ALICE_TOKEN}"})
    answer = testapp.get("/api/lambda_instances/count/daily").json["data"]  # no token
    assert len(answer) == 30 and answer[-1] == {"date": utc_today().isoformat(), "active": "1"}
    assert [entry["date"] for entry in answer] == sorted(entry["date"] for entry in answer)
    assert answer[-1]["active"] == testapp.get("/api/lambda_instances/count").json["data"]["count"]
    tagged = testapp.get("/api/lambda_instances/count/daily?days=2")
    testapp.get("/api/lambda_instances/count/daily?days=2", headers={"If-None-Match": tagged.headers["ETag"]},
                status=304)


@pytest.mark.parametrize("days", ["0", "367", "thirty", "-1", "1.5"])
def test_days_out_of_range_is_a_400_naming_it(testapp, days):
    response = testapp.get("/api/lambda_instances/count/daily", params={"days": days}, status=400)
    assert_envelope(response, 400, "Invalid request.", ["days"])


def test_the_series_equals_a_recount_from_the_histories(make_app, dbengine, query):
    """Four days written through the store with their own clock (folds
    every few writes), then today's writes by 8 concurrent clients."""
    database = Database(dbengine, db_timeout=5, retry_attempts=3)
    counts = Counts(database, cache_seconds=0, fold_every=3)
    moments = {"now": None}
    store = RecordStore(INSTANCES, counts, clock=lambda: moments["now"])
    plan = {  # days ago: [(record, status)], in order
        4: [(1, 20), (2, 20), (3, 2), (4, 20)],
        3: [(2, 11), (5, 0), (1, 6), (6, 20)],
        2: [(3, 20), (7, 20), (5, 1), (8, 13)],
        1: [(4, 6), (9, 0), (2, 12)],
    }
    today = utc_today()
    for back, steps in plan.items():
        for minute, (record, status) in enumerate(steps):
            moments["now"] = datetime.datetime.combine(today - datetime.timedelta(days=back),
                                                       datetime.time(12, minute))

            def work(executor, record=record, status=status):
                locked = store.lock(executor, "alice", uuid(record))
                if locked is None:
                    store.create(executor, "alice", {"uuid": uuid(record), "name": "n", "instance_info": "{}",
                                                     "status": status, "failure_message": ""})
                else:
                    store.change_status(executor, "alice", locked, status, "")

            database.write(None, work)

    app = make_app(**{"lambda_registry.count_fold_every": "5", "lambda_registry.count_cache_seconds": "0"})
    with served(app) as address:
        def today(n):
            token = ALICE_TOKEN if n % 2 else BOB_TOKEN
            statuses = [call(address, "POST", "/api/lambda_instances/", token, new_instance(uuid=uuid(100 + n)))[0]]
            for status in ("10", "0", "9" if n % 3 == 0 else "20"):
                statuses.append(call(address, "POST", f"/api/lambda_instances/{uuid(100 + n)}/status/", token,
                                     {"status": status})[0])
            if n % 4 == 0:
                statuses.append(call(address, "DELETE", f"/api/lambda_instances/{uuid(100 + n)}", token)[0])
            return statuses

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert all(status == 202 for statuses in pool.map(today, range(40)) for status in statuses)
    expected = recount(query, 7)
    assert series(webtest.TestApp(app), 7) == expected
    # The days are not all alike: the test would see an off-by-one-day.
    assert len(set(expected.values())) >= 4, expected
    database.dispose()


def test_a_database_from_before_the_series_shows_its_history(scratch_url):  # noqa: F811
    upgrade(scratch_url, "0007")
    engine = create_engine(scratch_url)
    steps = [(1, 20, 5), (2, 20, 5), (1, 9, 3), (3, 0, 3), (2, 6, 2), (4, 20, 1), (3, 20, 0)]  # (record, status, days ago)
    today = utc_today()
    with engine.begin() as connection:
        for record in {record for record, _, _ in steps}:
            connection.execute(text(
                "INSERT INTO lambda_instances (id, owner, uuid, name, instance_info, status, failure_message, "
                "created_at, updated_at) VALUES (:id, 'alice', :uuid, 'n', '{}', 0, '', :at, :at)"),
                {"id": record, "uuid": uuid(record), "at": datetime.datetime(2026, 1, 1)})
        for record, status, back in steps:
            at = datetime.datetime.combine(today - datetime.timedelta(days=back), datetime.time(0, record))
            connection.execute(text("INSERT INTO lambda_instance_status_changes (instance_id, status, failure_message, at)"
                                    " VALUES (:record, :status, '', :at)"), {"record": record, "status": status, "at": at})
            connection.execute(text("UPDATE lambda_instances SET status = :status WHERE id = :record"),
                               {"record": record, "status": status})
        # The totals the code of 0007 kept beside them.
        connection.execute(text("DELETE FROM lambda_instance_status_counts"))
        connection.execute(text("INSERT INTO lambda_instance_status_counts (status, record_count) "
                                "SELECT status, count(*) FROM lambda_instances GROUP BY status"))
    upgrade(scratch_url)
    app = build_app(scratch_url, **{"lambda_registry.count_cache_seconds": "0"})
    try:
        with engine.connect() as connection:
            expected = recount(lambda sql: connection.execute(text(sql)).all(), 7)
        assert series(webtest.TestApp(app), 7) == expected
        assert list(expected.values()) == [2, 2, 1, 2, 2, 2, 0]  # today first
    finally:
        dispose(app)
        engine.dispose()


def test_a_page_request_reads_no_record_and_no_history_at_a_hundred_thousand_entries(make_app, dbengine, caplog):
    """The landing page and its chart's refresh: what they ask the database,
    with 10^5 history rows behind one instance (printed: ``pytest -s``)."""
    app = webtest.TestApp(make_app(**{"lambda_registry.count_cache_seconds": "0"}))
    app.post_json("/api/lambda_instances/", new_instance(uuid=uuid(1), status="20"),
                  headers={"Authorization": f"Token {ALICE_TOKEN}"})
    with dbengine.begin() as connection:
        record = connection.execute(text("SELECT id FROM lambda_instances")).scalar_one()
        connection.execute(text(
            "INSERT INTO lambda_instance_status_changes (instance_id, status, failure_message, at) "
            "SELECT :record, 20, '', :at FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 100000) SELECT i FROM n) AS numbers"), {"record": record, "at": datetime.datetime(2026, 1, 1)})
        assert connection.execute(text("SELECT count(*) FROM lambda_instance_status_changes")).scalar_one() > 100000
    for path in ("/", "/activity"):
        caplog.clear()
        with caplog.at_level("DEBUG", logger="lambda_registry.sql"):
            assert app.get(path).status_int == 200
        statements = [record.getMessage() for record in caplog.records if record.name == "lambda_registry.sql"]
        print(f"\n[page cost] GET {path} at 10^5 history rows: {len(statements)} statement(s)")
        for statement in statements:
            print("  " + " ".join(statement.split()))
        assert statements and len(statements) <= 4
        for statement in statements:
            assert "status_changes" not in statement  # no history
            assert "FROM lambda_instances " not in statement and "FROM lambda_instances\n" not in statement
