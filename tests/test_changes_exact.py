"""The changes feed loses nothing: two server processes on one database,
twelve writers, one follower; and, on PostgreSQL, transactions that commit
in another order than they began, a transaction left open in another
database, and a listener that loses its connection."""

import random
import threading
import time

import pytest
from sqlalchemy import create_engine, text
import webtest

from lambda_registry import get_components
from lambda_registry.counts import Counts
from lambda_registry.model.kinds import APPLICATIONS
from lambda_registry.storage.record_store import RecordStore

from .support import ALICE, ALICE_TOKEN, BOB_TOKEN, call, new_application, new_instance, wait_for
from .test_changes import Waiter, apply, changes, follow, listed, uuid, waiters_of
from .test_scale_out import two_processes  # noqa: F401 (a fixture)

WRITERS = 12
SECONDS = 15
RECORDS = 24  # per kind: few enough that writers collide on them


def feed_answer(address, kind, since, wait, limit):
    query = f"wait={wait}&limit={limit}" + (f"&since={since}" if since else "")
    status, _, body = call(address, "GET", f"/api/lambda_{kind}/changes?{query}", ALICE_TOKEN)
    assert status == 200, body
    return body


def writer(addresses, stop, seed, done, failures):
    """Creates, status updates, counter changes, deletes and re-creates of
    alice's records (and some of bob's), through both processes."""
    try:
        write(addresses, stop, seed, done)
    except BaseException as exc:  # reported by the test, not lost in the thread
        failures.append(exc)


def write(addresses, stop, seed, done):
    chance = random.Random(seed)
    while not stop.is_set():
        address = chance.choice(addresses)
        n = chance.randrange(RECORDS)
        token = ALICE_TOKEN if chance.random() < 0.9 else BOB_TOKEN
        operation = chance.random()
        if operation < 0.5:
            kind, path = "applications", f"/api/lambda_applications/{uuid(n)}"
            if operation < 0.12:
                request = ("POST", "/api/lambda_applications/", new_application(uuid=uuid(n), name=f"job {seed}"))
            elif operation < 0.2:
                request = ("DELETE", path, None)
            elif operation < 0.3:
                request = ("POST", path + "/increment_started/", None)
            else:
                request = ("POST", path + "/status/", {"status": chance.choice("012"), "failure_message": str(seed)})
        else:
            kind, path = "instances", f"/api/lambda_instances/{uuid(n)}"
            if operation < 0.62:
                request = ("POST", "/api/lambda_instances/", new_instance(uuid=uuid(n), status="2"))
            elif operation < 0.65:
                request = ("DELETE", path, None)
            else:
                request = ("POST", path + "/status/", {"status": chance.choice(["0", "1", "10", "20", "13"]),
                                                        "failure_message": str(seed)})
        method, url, body = request
        status = call(address, method, url, token, body)[0]
        assert status in (202, 404, 409), (method, url, status)
        done[kind] += status == 202


def test_a_follower_of_two_processes_ends_equal_to_a_fresh_list(two_processes, make_app):  # noqa: F811
    stop = threading.Event()
    accepted = {"instances": 0, "applications": 0}
    failures = []
    threads = [threading.Thread(target=writer, args=(two_processes, stop, seed, accepted, failures))
               for seed in range(WRITERS)]
    views = {"instances": {}, "applications": {}}
    cursors = {"instances": None, "applications": None}
    deletions_seen = 0
    for thread in threads:
        thread.start()
    started = time.monotonic()
    answers = 0
    try:
        # The follower asks each process in turn, waiting, small pages or large.
        while time.monotonic() - started < SECONDS:
            for kind in views:
                body = feed_answer(two_processes[answers % 2], kind, cursors[kind], wait=0.5,
                                   limit=random.choice([3, 50, 1000]))
                apply(views[kind], body["data"])
                deletions_seen += sum(1 for entry in body["data"] if entry.get("deleted"))
                cursors[kind] = body["changes"]["cursor"]
                answers += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []
    # The writers stopped: the follower asks until nothing more is ready, once more.
    testapp = webtest.TestApp(make_app())
    for kind in views:
        entries, _ = follow(testapp, cursors[kind], kind)
        apply(views[kind], entries)
        fresh = listed(testapp, kind)
        stale = [key for key in fresh if key in views[kind] and views[kind][key] != fresh[key]]
        missing = set(fresh) - set(views[kind])
        kept_deleted = set(views[kind]) - set(fresh)
        assert (stale, missing, kept_deleted) == ([], set(), set()), kind
    print(f"\n[changes] {sum(accepted.values())} writes accepted in {SECONDS} s by {WRITERS} writers through "
          f"two processes; {answers} answers followed, {deletions_seen} deletions seen; 0 stale, 0 missing")
    assert accepted["applications"] > 100 and accepted["instances"] > 100 and deletions_seen > 0


def test_a_wait_on_one_process_ends_with_a_commit_on_the_other(two_processes):  # noqa: F811
    body = feed_answer(two_processes[0], "applications", None, wait=0, limit=10)
    cursor = body["changes"]["cursor"]
    answer = {}

    def wait():
        started = time.monotonic()
        answer["body"] = feed_answer(two_processes[0], "applications", cursor, wait=30, limit=10)
        answer["seconds"] = time.monotonic() - started

    waiting = threading.Thread(target=wait)
    waiting.start()
    time.sleep(1)  # not a measure: it only lets the request start waiting first
    committed = time.monotonic()
    assert call(two_processes[1], "POST", "/api/lambda_applications/", ALICE_TOKEN, new_application(uuid=uuid(1)))[0] == 202
    waiting.join(30)
    latency = time.monotonic() - committed
    # The change ended the wait (30 s), not the time.
    assert [entry["uuid"] for entry in answer["body"]["data"]] == [uuid(1)]
    assert answer["seconds"] < 25
    print(f"\n[changes] a wait on one process answered {latency:.3f} s after the commit on the other")


# -- PostgreSQL's horizon ----------------------------------------------------------------

@pytest.fixture
def postgresql_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("transactions that overlap: SQLite's writers take turns")


def test_a_change_held_back_behind_an_older_transaction_comes_once_it_commits(
        postgresql_only, testapp, writer, database):
    """An older transaction (``writer``) changes a record; a younger one
    commits first. A follower must not move past the older one while it
    runs, and a waiter gets both once it commits (no NOTIFY comes then)."""
    for n in (1, 2):
        testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(n)), headers=ALICE)
    _, cursor = follow(testapp)
    store = RecordStore(APPLICATIONS, Counts(database, cache_seconds=0))
    store.change_status(writer, "alice", store.lock(writer, "alice", uuid(1)), 0, "older")  # not committed
    testapp.post_json(f"/api/lambda_applications/{uuid(2)}/status/", {"status": "2"}, headers=ALICE)

    held = changes(testapp, since=cursor)
    assert held["data"] == [] and held["changes"]["cursor"] == cursor
    waiter = Waiter(testapp, cursor)
    wait_for(lambda: waiters_of(testapp) == 1, what="the request waiting")
    writer.connection.commit()
    waiter.join(25)
    assert not waiter.is_alive()
    assert [(entry["uuid"], entry["status"]) for entry in waiter.answer["data"]] == [(uuid(1), "0"), (uuid(2), "2")]


def test_a_transaction_open_in_another_database_holds_nothing_back(postgresql_only, testapp, database_url):
    """pg_snapshot_xmin is cluster-wide: an idle transaction next door must not stop the feed."""
    _, cursor = follow(testapp)
    neighbour = create_engine(database_url.rsplit("/", 1)[0] + "/postgres")
    with neighbour.connect() as connection:
        connection.execute(text("SELECT pg_current_xact_id()"))  # an id, older than the write below
        testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=ALICE)
        assert [entry["uuid"] for entry in changes(testapp, since=cursor)["data"]] == [uuid(1)]
        connection.rollback()
    neighbour.dispose()


def test_the_listener_reconnects_by_itself(postgresql_only, make_app, dbengine):
    testapp = webtest.TestApp(make_app())
    components = get_components(testapp.app.registry)

    def listening():
        return components.database.listen(components.waiters.changed, components.waiters.wake_all)

    def listeners():
        with dbengine.connect() as connection:
            return {row.pid for row in connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query = 'LISTEN lambda_registry_changes'"))}

    wait_for(listening, what="the listener connected")
    before = listeners()
    with dbengine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND query = 'LISTEN lambda_registry_changes'"))
    wait_for(lambda: listening() and listeners() - before, what="a new listening connection")
    _, cursor = follow(testapp)
    waiter = Waiter(testapp, cursor)
    wait_for(lambda: waiters_of(testapp) == 1, what="the request waiting")
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=ALICE)
    waiter.join(25)
    assert [entry["uuid"] for entry in waiter.answer["data"]] == [uuid(1)]
