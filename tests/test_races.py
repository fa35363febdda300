"""Concurrent writers against a live waitress server, on SQLite and PostgreSQL:
the database decides, every accepted write is stored once, nothing else is."""

import collections
import concurrent.futures
import logging

import pytest

from .support import ALICE_TOKEN, BOB_TOKEN, UUID, call, new_application, new_instance, served

WRITE_THREADS = 20


@pytest.fixture
def live(make_app):
    with served(make_app(), threads=WRITE_THREADS) as address:
        yield address


@pytest.fixture
def retries(caplog):
    """How many writes ran again after a transient database error (storage/database.py logs each)."""
    caplog.set_level(logging.INFO, logger="lambda_registry.storage")
    return lambda: sum("retrying" in record.getMessage() for record in caplog.records)


def in_parallel(function, arguments, workers=WRITE_THREADS):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, arguments))


def test_concurrent_creates_of_one_uuid_store_exactly_one(live, query, retries, counters_agree):
    answers = in_parallel(
        lambda n: call(live, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(name=f"attempt {n}")),
        range(20),
    )
    statuses = collections.Counter(status for status, _, _ in answers)
    assert statuses == {202: 1, 409: 19}, statuses
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 1
    assert query("SELECT count(*) FROM lambda_instance_status_changes")[0][0] == 1
    (winner,) = [body for status, _, body in answers if status == 202]
    stored_name = query("SELECT name FROM lambda_instances")[0][0]
    assert stored_name.startswith("attempt ")
    _, _, count = call(live, "GET", "/api/lambda_instances/count")
    assert count["data"]["created"] == "1"
    counters_agree()
    print(f"\n[races] 20 concurrent creates: {dict(statuses)}, rows 1, retries {retries()}")


def test_concurrent_updates_of_one_record_keep_history_and_counters_exact(live, query, retries, counters_agree):
    call(live, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(status="2"))
    codes = [str(code) for code in range(24) if code != 6]
    updates = [(codes[n % len(codes)], f"update {n}") for n in range(40)]
    answers = in_parallel(
        lambda update: call(
            live, "POST", f"/api/lambda_instances/{UUID}/status/", ALICE_TOKEN,
            {"status": update[0], "failure_message": update[1]},
        ),
        updates,
    )
    assert [status for status, _, _ in answers] == [202] * len(updates)
    _, _, details = call(live, "GET", f"/api/lambda_instances/{UUID}", ALICE_TOKEN)
    record = details["data"][0]
    history = [(entry["status"], entry["failure_message"]) for entry in record["history"]]
    # Every update carried its own message: each one is a real change, stored once.
    assert len(history) == 1 + len(updates)
    assert sorted(history[1:]) == sorted(updates)
    # The record's status is the one committed last.
    assert (record["status"], record["failure_message"]) == history[-1]
    # The counters moved the record from status to status: it is counted once, in its last status.
    _, _, count = call(live, "GET", f"/api/lambda_instances/count?status={record['status']}")
    assert (count["data"]["count"], count["data"]["created"]) == ("1", "1")
    counters_agree()
    print(f"\n[races] 40 concurrent updates: all 202, history {len(history)}, retries {retries()}")


def test_history_order_at_order_and_updated_at_agree_after_50_concurrent_updates(live):
    """Each update's time is taken inside its turn, after the record is locked."""
    call(live, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(status="2"))
    codes = [str(code) for code in range(24) if code != 6]
    answers = in_parallel(
        lambda n: call(live, "POST", f"/api/lambda_instances/{UUID}/status/", ALICE_TOKEN,
                       {"status": codes[n % len(codes)], "failure_message": f"update {n}"}),
        range(50),
    )
    assert [status for status, _, _ in answers] == [202] * 50
    record = call(live, "GET", f"/api/lambda_instances/{UUID}", ALICE_TOKEN)[2]["data"][0]
    stamps = [entry["at"] for entry in record["history"]]
    assert len(stamps) == 51
    # ISO 8601 UTC to the microsecond: text order is time order.
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), stamps
    assert record["updated_at"] == stamps[-1]
    assert (record["status"], record["failure_message"]) == (record["history"][-1]["status"],
                                                             record["history"][-1]["failure_message"])


def test_concurrent_deletes_destroy_once(live, query):
    call(live, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance())
    answers = in_parallel(lambda _: call(live, "DELETE", f"/api/lambda_instances/{UUID}", ALICE_TOKEN), range(10))
    assert collections.Counter(status for status, _, _ in answers) == {202: 1, 404: 9}
    assert query("SELECT count(*) FROM lambda_instance_status_changes WHERE status = 6")[0][0] == 1


LIFECYCLE = ["10", "12", "14", "16", "18", "20", "22", "0"]


def lifecycle(live, token, uuid):
    """A service VM's whole life of one cluster; the statuses it was answered."""
    statuses = [call(live, "POST", "/api/lambda_instances/", token, new_instance(uuid=uuid, status="2"))[0]]
    for code in LIFECYCLE:
        statuses.append(call(live, "POST", f"/api/lambda_instances/{uuid}/status/", token, {"status": code})[0])
    statuses.append(call(live, "DELETE", f"/api/lambda_instances/{uuid}/", token)[0])
    return statuses


def test_stress_lifecycles_every_accepted_write_is_stored_once(live, query, retries, counters_agree):
    threads, per_thread = 8, 6
    jobs = [
        (ALICE_TOKEN if n % 2 else BOB_TOKEN, f"{n:08x}-0000-4000-8000-{m:012x}")
        for n in range(threads)
        for m in range(per_thread)
    ]
    answers = in_parallel(lambda job: lifecycle(live, *job), jobs, workers=threads)
    operations = sum(len(statuses) for statuses in answers)
    assert all(statuses == [202] * (2 + len(LIFECYCLE)) for statuses in answers), answers
    records = len(jobs)
    assert query("SELECT count(*), count(DISTINCT owner || uuid) FROM lambda_instances")[0] == (records, records)
    assert query("SELECT count(*) FROM lambda_instances WHERE status <> 6")[0][0] == 0
    per_record = query("SELECT instance_id, count(*) FROM lambda_instance_status_changes GROUP BY instance_id")
    assert sorted(n for _, n in per_record) == [2 + len(LIFECYCLE)] * records
    _, _, count = call(live, "GET", "/api/lambda_instances/count")
    assert count["data"] == {"count": "0", "running": "0", "created": str(records), "failed": "0"}
    counters_agree()
    print(f"\n[races] stress: {threads} threads x {per_thread} lifecycles, {operations} operations, "
          f"{records} rows, retries {retries()}")


def test_concurrent_increments_are_never_lost(live, query, counters_agree):
    call(live, "POST", "/api/lambda_applications/", ALICE_TOKEN, new_application(status="0"))
    path = f"/api/lambda_applications/{UUID}/increment_started/"
    answers = in_parallel(lambda _: call(live, "POST", path, ALICE_TOKEN), range(20))
    assert [status for status, _, _ in answers] == [202] * 20
    # Each answer is the value after its own change: 1 to 20, each once.
    assert sorted(body["data"][0]["times_started"] for _, _, body in answers) == list(range(1, 21))
    assert query("SELECT times_started FROM lambda_applications")[0][0] == 20
    assert call(live, "GET", "/api/lambda_applications/count")[2]["data"]["running"] == "20"
    counters_agree()


def test_concurrent_decrements_stop_exactly_at_zero(live, query, counters_agree):
    call(live, "POST", "/api/lambda_applications/", ALICE_TOKEN, new_application(status="0"))
    for _ in range(5):
        call(live, "POST", f"/api/lambda_applications/{UUID}/increment_started/", ALICE_TOKEN)
    path = f"/api/lambda_applications/{UUID}/decrement_started/"
    answers = in_parallel(lambda _: call(live, "POST", path, ALICE_TOKEN), range(12))
    assert collections.Counter(status for status, _, _ in answers) == {202: 5, 409: 7}
    assert sorted(body["data"][0]["times_started"] for status, _, body in answers if status == 202) == [0, 1, 2, 3, 4]
    assert query("SELECT times_started FROM lambda_applications")[0][0] == 0
    counters_agree()


def test_counters_racing_status_changes_and_a_delete_stay_exact(live, query, counters_agree):
    uuids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(4)]
    for uuid in uuids:
        call(live, "POST", "/api/lambda_applications/", BOB_TOKEN, new_application(uuid=uuid, status="0"))
    jobs = [(uuid, action) for uuid in uuids for action in ["inc"] * 6 + ["dec"] * 2 + ["0", "2", "1"]]
    jobs += [(uuids[0], "delete")]

    def act(job):
        uuid, action = job
        base = f"/api/lambda_applications/{uuid}"
        if action in ("inc", "dec"):
            return call(live, "POST", f"{base}/{'increment' if action == 'inc' else 'decrement'}_started/", BOB_TOKEN)[0]
        if action == "delete":
            return call(live, "DELETE", base, BOB_TOKEN)[0]
        return call(live, "POST", f"{base}/status/", BOB_TOKEN, {"status": action})[0]

    statuses = in_parallel(act, jobs)
    assert set(statuses) <= {202, 404, 409}
    counters_agree()
