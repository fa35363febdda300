"""Conditional requests and incremental sync (SPEC.md "Conditional requests
and sync"), standalone and embedded, on both databases: ETags that change
exactly when their answers do, 304s, HEAD, If-Match's 412 that changes
nothing, and ``?updated_after=``."""

import collections
import concurrent.futures
import threading

import pytest

from .support import (ALICE, ALICE_TOKEN, BOB, OTHER_UUID, UUID, assert_envelope, call, new_application,
                      new_instance, served)

APP_MODES = ("standalone", "embedded")

INSTANCE = f"/api/lambda_instances/{UUID}"
APPLICATION = f"/api/lambda_applications/{UUID}"
CHANGED = {"instances": "The specified lambda instance has been changed since.",
           "applications": "The specified lambda application has been changed since."}

# Every GET of the API that answers an ETag, with the headers it is sent with.
GETS = [
    ("/api/lambda_instances/", ALICE),
    ("/api/lambda_instances/?limit=1", ALICE),
    ("/api/lambda_instances/?status=0", ALICE),
    (INSTANCE, ALICE),
    ("/api/lambda_instances/count", {}),
    ("/api/lambda_instances/count?status=0", {}),
    ("/api/lambda_applications/", ALICE),
    (APPLICATION, ALICE),
    ("/api/lambda_applications/count", {}),
    ("/api/users/count", {}),
    ("/api/authenticate", ALICE),
    ("/api/openapi.json", {}),
]


def snapshot(testapp):
    """{url: (status, body, ETag)} of every GET above, as alice (or anyone) sees it now."""
    answers = {}
    for url, headers in GETS:
        response = testapp.get(url, headers=headers, status="*")
        answers[url] = (response.status_int, response.body, response.headers.get("ETag"))
    return answers


def test_every_get_answers_a_strong_etag_and_a_304_with_it(testapp):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)
    for url, headers in GETS:
        full = testapp.get(url, headers=headers)
        tag = full.headers["ETag"]
        assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2, (url, tag)
        for condition in (tag, f'"other", {tag}', "*", f"W/{tag}"):  # If-None-Match compares weakly
            unchanged = testapp.get(url, headers=dict(headers, **{"If-None-Match": condition}), status=304)
            assert unchanged.body == b"", url
            assert unchanged.headers["ETag"] == tag
            assert "Content-Type" not in unchanged.headers
        changed = testapp.get(url, headers=dict(headers, **{"If-None-Match": '"something else"'}), status=200)
        assert changed.body == full.body and changed.headers["ETag"] == tag


def test_head_answers_as_get_without_a_body(testapp):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)
    for url, headers in GETS:
        full = testapp.get(url, headers=headers)
        head = testapp.head(url, headers=headers)
        assert head.status_int == 200 and head.body == b""
        assert head.headers["ETag"] == full.headers["ETag"]
        assert head.headers["Content-Type"] == full.headers["Content-Type"]
        testapp.head(url, headers=dict(headers, **{"If-None-Match": full.headers["ETag"]}), status=304)


def test_etags_change_exactly_when_the_answers_do(testapp):
    """After each write, each answer's ETag changed if and only if its body
    did: another user's write changes the counts' tags, not alice's lists."""
    writes = [
        ("alice creates an instance", lambda: testapp.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE)),
        ("alice creates an application", lambda: testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)),
        ("bob creates an instance", lambda: testapp.post_json("/api/lambda_instances/", new_instance(uuid=OTHER_UUID, status="0"), headers=BOB)),
        ("bob's instance changes", lambda: testapp.post_json(f"/api/lambda_instances/{OTHER_UUID}/status/", {"status": "1"}, headers=BOB)),
        ("alice posts the same status again", lambda: testapp.post_json(f"{INSTANCE}/status/", {"status": "2"}, headers=ALICE)),
        ("alice's instance changes", lambda: testapp.post_json(f"{INSTANCE}/status/", {"status": "0"}, headers=ALICE)),
        ("only the message changes", lambda: testapp.post_json(INSTANCE, {"status": "0", "failure_message": "hm"}, headers=ALICE)),
        ("alice's application is started", lambda: testapp.post(f"{APPLICATION}/increment_started/", headers=ALICE)),
        ("alice's application uploads", lambda: testapp.post_json(f"{APPLICATION}/status/", {"status": "0"}, headers=ALICE)),
        ("alice's instance is destroyed", lambda: testapp.delete(INSTANCE, headers=ALICE)),
        ("alice's application is deleted", lambda: testapp.delete(APPLICATION, headers=ALICE)),
        ("alice registers it again", lambda: testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)),
    ]
    before = snapshot(testapp)
    changed_tags = collections.Counter()
    for what, write in writes:
        write()
        after = snapshot(testapp)
        for url, (status, body, tag) in after.items():
            old_status, old_body, old_tag = before[url]
            if status != 200 or old_status != 200:
                continue  # a 404 has no tag (the record is not there yet, or gone)
            assert (body != old_body) == (tag != old_tag), (what, url)
            changed_tags[url] += tag != old_tag
        before = after
    # bob's writes moved the counts but never alice's lists (checked above);
    # each answer did change at some point, so the check above had both cases.
    assert all(changed_tags[url] for url, _ in GETS if url not in ("/api/authenticate", "/api/openapi.json")), changed_tags


def test_every_write_of_one_record_answers_the_etag_its_details_then_answer(testapp):
    def details_tag(url):
        return testapp.get(url, headers=ALICE).headers["ETag"]

    writes = [
        (INSTANCE, lambda: testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)),
        (INSTANCE, lambda: testapp.post_json(f"{INSTANCE}/status/", {"status": "10"}, headers=ALICE)),
        (INSTANCE, lambda: testapp.post_json(INSTANCE, {"status": "12"}, headers=ALICE)),
        (INSTANCE, lambda: testapp.post_json(INSTANCE, {"status": "12"}, headers=ALICE)),  # no change, same tag
        (INSTANCE, lambda: testapp.delete(INSTANCE, headers=ALICE)),
        (APPLICATION, lambda: testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)),
        (APPLICATION, lambda: testapp.post_json(f"{APPLICATION}/status/", {"status": "0"}, headers=ALICE)),
        (APPLICATION, lambda: testapp.post(f"{APPLICATION}/increment_started/", headers=ALICE)),
        (APPLICATION, lambda: testapp.post(f"{APPLICATION}/decrement_started/", headers=ALICE)),
    ]
    tags = []
    for url, write in writes:
        answer = write()
        assert answer.status_int == 202
        assert answer.headers["ETag"] == details_tag(url)
        tags.append(answer.headers["ETag"])
    assert tags[2] == tags[3]  # the same status again changed nothing
    assert len(set(tags)) == len(tags) - 1
    deleted = testapp.delete(APPLICATION, headers=ALICE)
    assert "ETag" not in deleted.headers  # gone: nothing to tag


def state(testapp, query):
    """All that a refused write must leave as it was."""
    return (
        testapp.get("/api/lambda_instances/", headers=ALICE).body,
        testapp.get("/api/lambda_applications/", headers=ALICE).body,
        testapp.get(INSTANCE, headers=ALICE).body,
        testapp.get(APPLICATION, headers=ALICE).body,
        testapp.get("/api/lambda_instances/count").body,
        testapp.get("/api/lambda_applications/count").body,
        sorted(tuple(row) for row in query("SELECT status, failure_message, at FROM lambda_instance_status_changes")),
        sorted(tuple(row) for row in query("SELECT status, record_count FROM lambda_instance_count_changes")),
    )


def one_record_writes(testapp):
    """(kind, name, send(headers, status)) of every write of one record that takes If-Match."""
    return [
        ("instances", "update", lambda h, s: testapp.post_json(INSTANCE, {"status": "0"}, headers=h, status=s)),
        ("instances", "update_status", lambda h, s: testapp.post_json(f"{INSTANCE}/status/", {"status": "1"}, headers=h, status=s)),
        ("instances", "delete", lambda h, s: testapp.delete(INSTANCE, headers=h, status=s)),
        ("applications", "update", lambda h, s: testapp.post_json(APPLICATION, {"status": "0"}, headers=h, status=s)),
        ("applications", "update_status", lambda h, s: testapp.post_json(f"{APPLICATION}/status/", {"status": "2"}, headers=h, status=s)),
        ("applications", "increment", lambda h, s: testapp.post(f"{APPLICATION}/increment_started/", headers=h, status=s)),
        ("applications", "decrement", lambda h, s: testapp.post(f"{APPLICATION}/decrement_started/", headers=h, status=s)),
        ("applications", "delete", lambda h, s: testapp.delete(APPLICATION, headers=h, status=s)),
    ]


@pytest.fixture
def two_records(testapp):
    testapp.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE)
    testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE)
    testapp.post(f"{APPLICATION}/increment_started/", headers=ALICE)


def test_if_match_with_another_tag_is_a_412_that_changes_nothing(testapp, query, two_records):
    stale = testapp.get(INSTANCE, headers=ALICE).headers["ETag"]
    testapp.post_json(INSTANCE, {"status": "10"}, headers=ALICE)  # the tag moves on
    current = {"instances": testapp.get(INSTANCE, headers=ALICE).headers["ETag"],
               "applications": testapp.get(APPLICATION, headers=ALICE).headers["ETag"]}
    before = state(testapp, query)
    for kind, name, send in one_record_writes(testapp):
        tag = current[kind]
        # Stale, unknown, the weak form of the current one (If-Match compares strongly), garbage.
        for condition in (stale, '"nope"', f"W/{tag}", "nope", ""):
            refused = send(dict(ALICE, **{"If-Match": condition}), 412)
            assert_envelope(refused, 412, CHANGED[kind], error_names=["If-Match"])
        assert state(testapp, query) == before, name


def test_if_match_with_the_current_tag_or_a_star_writes(testapp, two_records):
    for kind, name, send in one_record_writes(testapp):
        url = INSTANCE if kind == "instances" else APPLICATION
        tag = testapp.get(url, headers=ALICE).headers["ETag"]
        condition = f'"other", {tag}' if name != "decrement" else "*"
        written = send(dict(ALICE, **{"If-Match": condition}), 202)
        if name != "delete" or kind == "instances":
            assert written.headers["ETag"] == testapp.get(url, headers=ALICE).headers["ETag"] != tag


def test_if_match_on_an_unknown_or_someone_elses_uuid_is_a_404(testapp, two_records):
    for kind, name, send in one_record_writes(testapp):
        for headers in (dict(BOB, **{"If-Match": "*"}), dict(BOB, **{"If-Match": '"x"'})):
            assert_envelope(send(headers, 404), 404)


def test_if_match_is_checked_before_a_destroyed_instance_is_refused(testapp):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    tag = testapp.delete(INSTANCE, headers=ALICE).headers["ETag"]
    stale = dict(ALICE, **{"If-Match": '"stale"'})
    assert_envelope(testapp.post_json(INSTANCE, {"status": "0"}, headers=stale, status=412), 412)
    current = dict(ALICE, **{"If-Match": tag})
    assert_envelope(testapp.post_json(INSTANCE, {"status": "0"}, headers=current, status=409), 409)
    assert_envelope(testapp.delete(INSTANCE, headers=current, status=404), 404)


# -- ?updated_after= ---------------------------------------------------------------

def uuid_of(n):
    return f"00000000-0000-4000-8000-{n:012d}"


def test_updated_after_keeps_exactly_the_records_changed_since_across_pages(testapp):
    for n in range(6):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid_of(n), status="2"), headers=ALICE)
        testapp.post_json("/api/lambda_applications/", new_application(uuid=uuid_of(n)), headers=ALICE)
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid_of(9), status="2"), headers=BOB)
    # The last of alice's records written: a portal's "last look" at her lists.
    last_look = testapp.get(f"/api/lambda_applications/{uuid_of(5)}", headers=ALICE).json["data"][0]["updated_at"]
    for n in (4, 1, 3):
        testapp.post_json(f"/api/lambda_instances/{uuid_of(n)}/status/", {"status": "0"}, headers=ALICE)
    testapp.delete(f"/api/lambda_instances/{uuid_of(0)}", headers=ALICE)
    testapp.post_json(f"/api/lambda_instances/{uuid_of(9)}/status/", {"status": "0"}, headers=BOB)
    testapp.post(f"/api/lambda_applications/{uuid_of(2)}/increment_started/", headers=ALICE)
    testapp.delete(f"/api/lambda_applications/{uuid_of(3)}", headers=ALICE)

    everything = testapp.get("/api/lambda_instances/", headers=ALICE).json["data"]
    expected = [record for record in everything if record["updated_at"] > last_look]
    assert [record["uuid"] for record in expected] == [uuid_of(n) for n in (0, 1, 3, 4)]  # the list's order
    assert expected[0]["status"] == "6"  # destroyed since: in the answer, as destroyed

    since = f"/api/lambda_instances/?updated_after={last_look}"
    assert testapp.get(since, headers=ALICE).json["data"] == expected
    # Paged: two at a time, following "next"; the total is the changed ones'.
    url, seen = since + "&limit=2", []
    while url:
        page = testapp.get(url, headers=ALICE).json
        assert page["pagination"]["count"] == 4
        seen += page["data"]
        url = page["pagination"]["next"]
    assert seen == expected
    filtered = testapp.get(since + "&status=0&limit=10", headers=ALICE).json
    assert [record["uuid"] for record in filtered["data"]] == [uuid_of(n) for n in (1, 3, 4)]
    assert filtered["pagination"]["count"] == 3
    # Strictly later: the last change itself is not "after" its own moment.
    newest = max(record["updated_at"] for record in everything)
    assert testapp.get(f"/api/lambda_instances/?updated_after={newest}", headers=ALICE).json["data"] == []

    # Applications: the one deleted since is simply gone.
    applications = testapp.get(f"/api/lambda_applications/?updated_after={last_look}", headers=ALICE).json["data"]
    assert [(a["uuid"], a["times_started"]) for a in applications] == [(uuid_of(2), 1)]


def test_updated_after_takes_offsets_and_the_same_moment_in_any_zone(testapp):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=ALICE)
    stamp = testapp.get(INSTANCE, headers=ALICE).json["data"][0]["updated_at"]  # ...Z
    day, time = stamp[:10], stamp[11:-1]
    hour = int(time[:2])
    earlier = f"{day}T{(hour - 1) % 24:02d}{time[2:]}"
    # One moment, written three ways (+01:00 is an hour ahead of UTC); "+" sent as %2B.
    plus_one = f"{day}T{(hour + 1) % 24:02d}{time[2:]}%2B01:00"
    same = [stamp, stamp[:-1], plus_one] if 0 < hour < 23 else [stamp, stamp[:-1]]
    for moment in same:
        assert testapp.get(f"/api/lambda_instances/?updated_after={moment}", headers=ALICE).json["data"] == [], moment
    if 0 < hour:
        assert len(testapp.get(f"/api/lambda_instances/?updated_after={earlier}Z", headers=ALICE).json["data"]) == 1


@pytest.mark.parametrize("value", ["yesterday", "2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T09:30:00 01:00",
                                   "", "2026-12-01T25:00:00", "0001-01-01T00:00:00%2B01:00", "12345678901"])
def test_updated_after_that_is_not_a_date_time_is_a_400_naming_it(testapp, value):
    for path in ("/api/lambda_instances/", "/api/lambda_applications/"):
        refused = testapp.get(f"{path}?updated_after={value}", headers=ALICE, status=400)
        assert_envelope(refused, 400, error_names=["updated_after"])


# -- two clients racing with If-Match, on a real server ------------------------------

@pytest.mark.parametrize("racers", [2, 8])
def test_clients_racing_with_one_tag_one_writes_the_others_are_told(make_app, racers):
    with served(make_app(), threads=racers) as live:
        call(live, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(status="2"))
        # (waitress writes the header "Etag": header names are case-insensitive.)
        _, headers, _ = call(live, "GET", INSTANCE, ALICE_TOKEN)
        tag = headers["Etag"]
        start = threading.Barrier(racers)

        def race(n):
            start.wait()
            return call(live, "POST", f"{INSTANCE}/status/", ALICE_TOKEN, {"status": "10", "failure_message": f"by {n}"},
                        headers=[("If-Match", tag)])

        with concurrent.futures.ThreadPoolExecutor(racers) as pool:
            answers = list(pool.map(race, range(racers)))
        assert collections.Counter(status for status, _, _ in answers) == {202: 1, 412: racers - 1}
        (winner,) = [(headers, n) for n, (status, headers, _) in enumerate(answers) if status == 202]
        _, details_headers, details = call(live, "GET", INSTANCE, ALICE_TOKEN)
        assert details_headers["Etag"] == winner[0]["Etag"]
        history = details["data"][0]["history"]
        assert [(entry["status"], entry["failure_message"]) for entry in history] == [
            ("2", "OK"), ("10", f"by {winner[1]}")]


def test_updated_after_reads_through_the_owner_updated_index(dbengine, database):
    """Only what changed is read (SQLite's plan; PostgreSQL's planner picks by its statistics)."""
    if dbengine.dialect.name != "sqlite":
        pytest.skip("the plan of SQLite's planner")
    import datetime

    from lambda_registry.counts import Counts
    from lambda_registry.model.kinds import INSTANCES
    from lambda_registry.storage.record_store import RecordStore

    store = RecordStore(INSTANCES, Counts(database, 0))
    parameters = {"owner": "alice", "updated_after": datetime.datetime(2026, 1, 1), "limit": 5, "offset": 0}
    with dbengine.connect() as connection:
        for statement in (store._pages[False, True], store._changed[False]):
            compiled = statement._clause.compile(dbengine)
            values = compiled.construct_params(parameters)
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                              tuple(values[name] for name in compiled.positiontup)).all()
            assert "ix_lambda_instances_owner_updated" in plan[0][-1], plan


def test_host_code_writes_with_if_match_and_gets_the_new_tag(testapp):
    from lambda_registry import EnvelopeError, get_components

    instances = get_components(testapp.app.registry).instances
    testapp.post_json("/api/lambda_instances/", new_instance(status="2"), headers=ALICE)
    tag = testapp.get(INSTANCE, headers=ALICE).headers["ETag"]
    # As a host's code calls it outside a request (its own transaction), uuid in any accepted form.
    new_tag = instances.update_status(None, "alice", UUID.upper(), {"status": "10"}, if_match=tag)
    assert new_tag == testapp.get(INSTANCE, headers=ALICE).headers["ETag"] != tag
    with pytest.raises(EnvelopeError) as refused:
        instances.update_status(None, "alice", UUID, {"status": "12"}, if_match=tag)
    assert refused.value.status_int == 412
    assert testapp.get(INSTANCE, headers=ALICE).json["data"][0]["status"] == "10"
