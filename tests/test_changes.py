"""SPEC.md "Changes (exact sync and live updates)": the feed of each kind,
its cursor, tombstones, 410, ``wait`` and its bound, on both databases,
standalone and embedded."""

import datetime
import threading

import pytest
from sqlalchemy import text

from lambda_registry import get_components

from .support import ALICE, BOB, assert_envelope, new_application, new_instance, wait_for
from .test_operator_tools import ini, run  # noqa: F401 (a fixture)

APP_MODES = ("standalone", "embedded")
CHANGES = {"instances": "Lambda instance changes.", "applications": "Lambda application changes."}
TOO_OLD = "The cursor is too old: list the records again."


def uuid(n):
    return f"00000000-0000-4000-8000-{n:012x}"


def changes(testapp, kind="applications", headers=ALICE, status=200, **query):
    response = testapp.get(f"/api/lambda_{kind}/changes", params=query, headers=headers, status=status)
    if status == 200:
        assert_envelope(response, 200, CHANGES[kind])
    return response.json


def follow(testapp, cursor=None, kind="applications", headers=ALICE, limit=None):
    """Every answer from ``cursor`` until ``more`` is false: (entries, the last cursor)."""
    entries = []
    while True:
        query = {} if cursor is None else {"since": cursor}
        if limit is not None:
            query["limit"] = limit
        body = changes(testapp, kind, headers, **query)
        entries += body["data"]
        cursor = body["changes"]["cursor"]
        if not body["changes"]["more"]:
            return entries, cursor


def apply(view, entries):
    """A follower's copy of the records, after ``entries``."""
    for entry in entries:
        if entry.get("deleted"):
            view.pop(entry["uuid"], None)
        else:
            view[entry["uuid"]] = entry
    return view


def listed(testapp, kind="applications", headers=ALICE):
    return {record["uuid"]: record for record in testapp.get(f"/api/lambda_{kind}/", headers=headers).json["data"]}


def test_without_since_every_record_then_only_what_changed_in_commit_order(testapp):
    for n in range(1, 4):
        testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(n)), headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(9)), headers=BOB)
    body = changes(testapp)
    assert [entry["uuid"] for entry in body["data"]] == [uuid(1), uuid(2), uuid(3)]  # alice's only
    assert "history" not in body["data"][0]
    assert body["data"] == list(listed(testapp).values())  # each as the list writes it
    cursor = body["changes"]["cursor"]
    assert body["changes"]["more"] is False
    assert body["changes"]["next"].endswith(f"/api/lambda_applications/changes?since={cursor}")

    testapp.post_json(f"/api/lambda_applications/{uuid(3)}/status/", {"status": "0"}, headers=ALICE)
    testapp.post(f"/api/lambda_applications/{uuid(1)}/increment_started/", headers=ALICE)
    testapp.post_json(f"/api/lambda_applications/{uuid(3)}/status/", {"status": "2"}, headers=ALICE)
    testapp.post_json(f"/api/lambda_applications/{uuid(9)}/status/", {"status": "0"}, headers=BOB)
    body = changes(testapp, since=cursor)
    # 1 then 3: each at most once, in the order of its last change, as it is now.
    assert [(entry["uuid"], entry["status"], entry["times_started"]) for entry in body["data"]] == [
        (uuid(1), "1", 1), (uuid(3), "2", 0)]
    again = changes(testapp, since=body["changes"]["cursor"])
    assert again["data"] == [] and again["changes"]["cursor"] == body["changes"]["cursor"]


def test_limit_pages_the_feed_and_more_says_to_ask_again(testapp):
    for n in range(1, 6):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(n)), headers=ALICE)
    first = changes(testapp, "instances", limit=2)
    assert first["changes"]["more"] is True and len(first["data"]) == 2
    assert "limit=2" in first["changes"]["next"]
    entries, _ = follow(testapp, kind="instances", limit=2)
    assert [entry["uuid"] for entry in entries] == [uuid(n) for n in range(1, 6)]


def test_a_deletion_is_told_once_and_a_uuid_registered_again_is_a_record(testapp):
    for n in (1, 2):
        testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(n)), headers=ALICE)
    _, cursor = follow(testapp)
    testapp.delete(f"/api/lambda_applications/{uuid(1)}", headers=ALICE)
    body = changes(testapp, since=cursor)
    assert body["data"] == [{"uuid": uuid(1), "deleted": True}]
    # From the start, a deleted record is only a deletion (a fresh follower may drop it).
    assert changes(testapp)["data"][-1] == {"uuid": uuid(1), "deleted": True}

    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1), name="again"), headers=ALICE)
    for since in (cursor, body["changes"]["cursor"], None):
        entries, _ = follow(testapp, since)
        assert [entry for entry in entries if entry["uuid"] == uuid(1)] == [listed(testapp)[uuid(1)]]
    # A destroyed instance stays a record (status 6), not a deletion.
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(5)), headers=ALICE)
    _, cursor = follow(testapp, kind="instances")
    testapp.delete(f"/api/lambda_instances/{uuid(5)}", headers=ALICE)
    (entry,) = changes(testapp, "instances", since=cursor)["data"]
    assert (entry["uuid"], entry["status"]) == (uuid(5), "6")


def test_another_users_feed_never_shows_your_records(testapp):
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=ALICE)
    testapp.delete(f"/api/lambda_applications/{uuid(1)}", headers=ALICE)
    assert changes(testapp, headers=BOB)["data"] == []


@pytest.mark.parametrize("query, name", [
    ({"since": "yesterday"}, "since"), ({"since": "12"}, "since"), ({"since": "1." + "a" * 36}, "since"),
    ({"since": "x" * 201}, "since"), ({"since": "-1."}, "since"),
    ({"wait": "31"}, "wait"), ({"wait": "-1"}, "wait"), ({"wait": "soon"}, "wait"), ({"wait": "nan"}, "wait"),
    ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "ten"}, "limit"),
])
def test_a_bad_query_is_a_400_naming_it(testapp, query, name):
    response = testapp.get("/api/lambda_instances/changes", params=query, headers=ALICE, status=400)
    assert_envelope(response, 400, "Invalid request.", [name])


def test_a_token_is_needed_and_both_url_forms_answer(testapp):
    assert_envelope(testapp.get("/api/lambda_instances/changes", status=401), 401)
    for path in ("/api/lambda_instances/changes/", "/api/lambda_applications/changes/"):
        assert testapp.get(path, headers=ALICE).status_int == 200


def test_a_cursor_of_another_database_is_a_410(testapp):
    body = testapp.get("/api/lambda_applications/changes", params={"since": "999999999999999999."},
                       headers=ALICE, status=410)
    assert_envelope(body, 410, TOO_OLD, ["since"])


def test_the_etag_changes_with_the_answer_and_304s_otherwise(testapp):
    first = testapp.get("/api/lambda_applications/changes", headers=ALICE)
    same = testapp.get("/api/lambda_applications/changes", headers=dict(ALICE, **{"If-None-Match": first.headers["ETag"]}),
                       status=304)
    assert same.body == b"" and same.headers["ETag"] == first.headers["ETag"]
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=ALICE)
    changed = testapp.get("/api/lambda_applications/changes", headers=dict(ALICE, **{"If-None-Match": first.headers["ETag"]}))
    assert changed.status_int == 200 and changed.headers["ETag"] != first.headers["ETag"]


# -- waiting ---------------------------------------------------------------------------

class Waiter(threading.Thread):
    """A changes request with ``wait`` in a thread of its own."""

    def __init__(self, testapp, cursor, wait=30, kind="applications"):
        super().__init__(daemon=True)
        self.testapp, self.cursor, self.wait, self.kind = testapp, cursor, wait, kind
        self.answer = None
        self.start()

    def run(self):
        self.answer = changes(self.testapp, self.kind, since=self.cursor, wait=self.wait)


def waiters_of(testapp):
    return get_components(testapp.app.registry).waiters.waiting()


def test_a_wait_ends_with_the_change_committed_meanwhile(testapp):
    _, cursor = follow(testapp)
    waiter = Waiter(testapp, cursor)
    wait_for(lambda: waiters_of(testapp) == 1, what="the request waiting")
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=ALICE)
    waiter.join(25)  # far less than its 30 s: the change ended it
    assert not waiter.is_alive()
    assert [entry["uuid"] for entry in waiter.answer["data"]] == [uuid(1)]


def test_another_users_change_does_not_end_a_wait_and_the_time_does(testapp):
    _, cursor = follow(testapp)
    waiter = Waiter(testapp, cursor, wait=0.5)
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=BOB)
    waiter.join(25)
    assert waiter.answer["data"] == [] and waiter.answer["changes"]["cursor"] == cursor


def test_past_max_waiting_the_answer_comes_at_once(make_app):
    import webtest

    testapp = webtest.TestApp(make_app(**{"lambda_registry.changes.max_waiting": "1",
                                          "lambda_registry.metrics": "true"}))
    _, cursor = follow(testapp)
    held = Waiter(testapp, cursor)
    wait_for(lambda: waiters_of(testapp) == 1, what="the first request waiting")
    # The second asks to wait 30 s too, and answers while the first still waits.
    second = changes(testapp, since=cursor, wait=30)
    assert second["data"] == [] and held.is_alive()
    assert 'lambda_registry_change_waits_total{outcome="full"} 1.0' in testapp.get("/__metrics__").text
    assert "lambda_registry_change_waiters 1.0" in testapp.get("/__metrics__").text
    testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(1)), headers=ALICE)
    held.join(25)
    assert not held.is_alive() and len(held.answer["data"]) == 1
    scraped = testapp.get("/__metrics__").text
    assert 'lambda_registry_change_waits_total{outcome="change"} 1.0' in scraped
    assert 'lambda_registry_changes_total{kind="applications"} 1.0' in scraped


def test_with_max_waiting_zero_nobody_waits(make_app):
    import webtest

    testapp = webtest.TestApp(make_app(**{"lambda_registry.changes.max_waiting": "0"}))
    _, cursor = follow(testapp)
    assert changes(testapp, since=cursor, wait=30)["data"] == []  # at once: the test would hang 30 s otherwise


# -- purge, tombstones and 410 ----------------------------------------------------------------

def test_a_purge_forgets_old_deletions_and_an_older_cursor_gets_410(testapp, ini, dbengine):  # noqa: F811
    for n in (1, 2, 3):
        testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid(n)), headers=ALICE)
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid(4)), headers=ALICE)
    _, old_cursor = follow(testapp)
    _, old_instance_cursor = follow(testapp, kind="instances")
    testapp.delete(f"/api/lambda_applications/{uuid(1)}", headers=ALICE)
    testapp.delete(f"/api/lambda_applications/{uuid(2)}", headers=ALICE)
    testapp.delete(f"/api/lambda_instances/{uuid(4)}", headers=ALICE)
    long_ago = datetime.datetime(2026, 1, 1)
    with dbengine.begin() as connection:
        # uuid(1)'s deletion and the destroyed instance are old; uuid(2)'s is recent.
        connection.execute(text("UPDATE lambda_application_tombstones SET deleted_at = :at WHERE uuid = :uuid"),
                           {"at": long_ago, "uuid": uuid(1)})
        connection.execute(text("UPDATE lambda_instances SET updated_at = :at"), {"at": long_ago})

    dry = run(ini, "purge", "--older-than-days", "30")
    assert "would forget 1 deletion(s)" in dry
    assert changes(testapp, since=old_cursor)["data"] == [{"uuid": uuid(n), "deleted": True} for n in (1, 2)]

    out = run(ini, "purge", "--older-than-days", "30", "--apply")
    assert "removed 1 destroyed instance(s)" in out and "forgot 1 deletion(s)" in out
    # The purged instance is a deletion now, for whoever follows instances.
    assert changes(testapp, "instances", since=old_instance_cursor)["data"] == [{"uuid": uuid(4), "deleted": True}]
    response = testapp.get("/api/lambda_applications/changes", params={"since": old_cursor}, headers=ALICE,
                           status=410)
    assert_envelope(response, 410, TOO_OLD, ["since"])
    # A fresh list recovers, and its cursor goes on.
    entries, cursor = follow(testapp)
    assert apply({}, entries) == listed(testapp) and set(listed(testapp)) == {uuid(3)}
    testapp.post_json(f"/api/lambda_applications/{uuid(3)}/status/", {"status": "0"}, headers=ALICE)
    assert [entry["status"] for entry in changes(testapp, since=cursor)["data"]] == ["0"]
