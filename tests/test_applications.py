"""SPEC.md "Lambda applications", line by line."""

import json

import pytest

from .support import OTHER_UUID, UUID, assert_envelope, new_application, new_instance

APP_MODES = ("standalone", "embedded")  # our URLs behave the same embedded (conftest)

BASE = "/api/lambda_applications/"
CREATED = "Your request to create the specified application has been accepted."
UPDATED = "Lambda application status update accepted."
DELETED = "Your request to delete the specified application has been accepted."
INCREMENTED = "Your request to increment the times started of the specified application has been accepted."
DECREMENTED = "Your request to decrement the times started of the specified application has been accepted."
LISTED = "Lambda applications."
DETAILS = "Lambda application details."
COUNTED = "Lambda applications count."
ALREADY = "The specified lambda application has already been created."
NOT_FOUND = "The specified application doesn't exist."
AT_ZERO = "Can't decrement started times counter for the specified application, the counter is already 0."
FIELDS = {"uuid", "name", "description", "status", "status_name", "failure_message", "times_started",
          "created_at", "updated_at"}


def details(testapp, headers, uuid=UUID):
    return testapp.get(BASE + uuid, headers=headers).json["data"][0]


def started(testapp, headers, verb, uuid=UUID, **options):
    """A counter call as the service VM makes it: POST, no body, no Content-Type."""
    return testapp.request(f"{BASE}{uuid}/{verb}_started/", method="POST", headers=headers, **options)


@pytest.fixture
def created(testapp, alice):
    testapp.post_json(BASE, new_application(), headers=alice, status=202)
    return UUID


# -- create ---------------------------------------------------------------------

@pytest.mark.parametrize("url", [BASE, BASE.rstrip("/")])
def test_create_is_202_with_the_uuid_and_a_location(testapp, alice, url):
    response = testapp.post_json(url, new_application(uuid=UUID.upper()), headers=alice, status="*")
    assert assert_envelope(response, 202, CREATED)["data"] == [{"id": UUID}]
    assert response.headers["Location"].endswith(BASE + UUID)


def test_a_created_application_has_every_field_and_starts_at_zero(testapp, alice, created):
    record = details(testapp, alice)
    assert set(record) == FIELDS | {"history"}
    assert (record["name"], record["description"], record["status"], record["status_name"]) == (
        "wordcount.jar", "Counts words.\nTakes a file.", "1", "UPLOADING")
    assert record["times_started"] == 0 and record["failure_message"] == ""
    assert [(entry["status"], entry["status_name"]) for entry in record["history"]] == [("1", "UPLOADING")]


def test_description_and_failure_message_are_optional(testapp, alice):
    body = new_application()
    del body["description"], body["failure_message"]
    testapp.post_json(BASE, body, headers=alice, status=202)
    assert (details(testapp, alice)["description"], details(testapp, alice)["failure_message"]) == ("", "")


@pytest.mark.parametrize("status, name", [("0", "UPLOADED"), (1, "UPLOADING"), ("2", "FAILED")])
def test_status_as_string_or_integer(testapp, alice, status, name):
    testapp.post_json(BASE, new_application(status=status), headers=alice, status=202)
    assert (details(testapp, alice)["status"], details(testapp, alice)["status_name"]) == (str(status), name)


@pytest.mark.parametrize(
    "fields, names",
    [
        ({"uuid": "not-a-uuid"}, ["uuid"]),
        ({"name": "  "}, ["name"]),
        ({"name": "n" * 101}, ["name"]),
        ({"name": "tab\tin a name"}, ["name"]),
        ({"description": "d" * 10_001}, ["description"]),
        ({"description": "bell\x07"}, ["description"]),
        ({"description": 7}, ["description"]),
        ({"status": "3"}, ["status"]),
        ({"status": "20"}, ["status"]),
        ({"status": True}, ["status"]),
        ({"failure_message": "m" * 1001}, ["failure_message"]),
        ({"times_started": 5}, ["times_started"]),
        ({"instance_info": {}}, ["instance_info"]),
        ({"name": "", "status": "9"}, ["name", "status"]),
    ],
)
def test_each_invalid_field_is_named_and_nothing_is_stored(testapp, alice, query, fields, names):
    response = testapp.post_json(BASE, new_application(**fields), headers=alice, status="*")
    assert_envelope(response, 400, "Invalid request.", names)
    assert query("SELECT count(*) FROM lambda_applications")[0][0] == 0


def test_the_longest_description_and_newlines_and_tabs_are_kept(testapp, alice):
    text = "line\n\ttabbed\r\n" + "d" * (10_000 - 14)
    testapp.post_json(BASE, new_application(description=text), headers=alice, status=202)
    assert details(testapp, alice)["description"] == text


@pytest.mark.parametrize("missing", ["uuid", "name", "status"])
def test_each_required_field(testapp, alice, missing):
    body = new_application()
    del body[missing]
    assert_envelope(testapp.post_json(BASE, body, headers=alice, status="*"), 400, error_names=[missing])


def test_a_uuid_registered_twice_is_409_and_changes_nothing(testapp, alice, created, query):
    response = testapp.post_json(BASE, new_application(name="other.jar", status="0"), headers=alice, status="*")
    assert_envelope(response, 409, ALREADY, ["uuid"])
    assert [tuple(row) for row in query("SELECT name, status FROM lambda_applications")] == [("wordcount.jar", 1)]


def test_another_user_may_register_the_same_uuid(testapp, alice, bob, created):
    testapp.post_json(BASE, new_application(name="bob.jar"), headers=bob, status=202)
    assert details(testapp, bob)["name"] == "bob.jar" and details(testapp, alice)["name"] == "wordcount.jar"


def test_an_application_and_an_instance_may_share_a_uuid(testapp, alice, created):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=alice, status=202)


def test_a_create_needs_json(testapp, alice):
    response = testapp.request(BASE, method="POST", body=json.dumps(new_application()).encode(), headers=alice, status="*")
    assert_envelope(response, 415, error_names=["Content-Type"])


# -- status updates --------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/", "/status", "/status/"])
def test_status_update_on_both_urls_adds_history(testapp, alice, created, suffix):
    response = testapp.post_json(BASE + UUID + suffix, {"status": "2", "failure_message": "upload failed"}, headers=alice)
    assert assert_envelope(response, 202, UPDATED)["data"] == [{"id": UUID}]
    record = details(testapp, alice)
    assert (record["status"], record["failure_message"]) == ("2", "upload failed")
    assert [entry["status"] for entry in record["history"]] == ["1", "2"]


def test_the_same_status_and_message_again_changes_nothing(testapp, alice, created):
    before = details(testapp, alice)
    testapp.post_json(BASE + UUID + "/status/", {"status": "1", "failure_message": ""}, headers=alice, status=202)
    assert details(testapp, alice) == before


def test_any_status_may_follow_any_other(testapp, alice, created):
    for status in ["0", "2", "1", "0"]:
        testapp.post_json(BASE + UUID + "/status/", {"status": status}, headers=alice, status=202)
    assert [entry["status"] for entry in details(testapp, alice)["history"]] == ["1", "0", "2", "1", "0"]


@pytest.mark.parametrize("body, names", [({}, ["status"]), ({"status": "5"}, ["status"]),
                                          ({"status": "0", "description": "new"}, ["description"])])
def test_an_invalid_update_is_400_and_changes_nothing(testapp, alice, created, body, names):
    assert_envelope(testapp.post_json(BASE + UUID, body, headers=alice, status="*"), 400, error_names=names)
    assert len(details(testapp, alice)["history"]) == 1


# -- someone else's uuid, or none ----------------------------------------------------------

def test_another_users_uuid_answers_exactly_like_an_absent_one(testapp, alice, bob, created):
    calls = [
        lambda uuid: testapp.get(BASE + uuid, headers=bob, status="*"),
        lambda uuid: testapp.post_json(BASE + uuid + "/status/", {"status": "0"}, headers=bob, status="*"),
        lambda uuid: testapp.delete(BASE + uuid, headers=bob, status="*"),
        lambda uuid: started(testapp, bob, "increment", uuid, status="*"),
        lambda uuid: started(testapp, bob, "decrement", uuid, status="*"),
    ]
    for make in calls:
        answers = []
        for uuid in (UUID, OTHER_UUID, "not-a-uuid"):
            response = make(uuid)
            assert_envelope(response, 404, NOT_FOUND, ["uuid"])
            answers.append(response.text.replace(uuid, "<uuid>"))
        assert len(set(answers)) == 1
    assert details(testapp, alice)["times_started"] == 0


# -- delete --------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/"])
def test_delete_removes_the_application_and_its_history(testapp, alice, created, query, suffix, counters_agree):
    testapp.post_json(BASE + UUID, {"status": "0"}, headers=alice)
    started(testapp, alice, "increment")
    response = testapp.delete(BASE + UUID + suffix, headers=alice, status="*")
    assert assert_envelope(response, 202, DELETED)["data"] == [{"id": UUID}]
    assert_envelope(testapp.get(BASE + UUID, headers=alice, status="*"), 404, NOT_FOUND)
    assert testapp.get(BASE, headers=alice).json["data"] == []
    assert query("SELECT count(*) FROM lambda_application_status_changes")[0][0] == 0
    assert testapp.get(BASE + "count").json["data"] == {"count": "0", "running": "0", "failed": "0"}
    counters_agree()
    assert_envelope(testapp.delete(BASE + UUID, headers=alice, status="*"), 404, NOT_FOUND)


def test_a_deleted_uuid_may_be_registered_again(testapp, alice, created):
    testapp.delete(BASE + UUID, headers=alice, status=202)
    testapp.post_json(BASE, new_application(name="again.jar"), headers=alice, status=202)
    record = details(testapp, alice)
    assert (record["name"], record["times_started"], len(record["history"])) == ("again.jar", 0, 1)


# -- times started ----------------------------------------------------------------------------

def test_increment_and_decrement_take_no_body_and_answer_the_new_value(testapp, alice, created):
    answers = [started(testapp, alice, verb) for verb in ("increment", "increment", "decrement")]
    assert [assert_envelope(answer, 202)["data"] for answer in answers] == [
        [{"id": UUID, "times_started": 1}], [{"id": UUID, "times_started": 2}], [{"id": UUID, "times_started": 1}]]
    assert [answer.json["status"]["short_description"] for answer in answers] == [INCREMENTED, INCREMENTED, DECREMENTED]
    assert "Content-Type" not in answers[0].request.headers and not answers[0].request.body
    assert details(testapp, alice)["times_started"] == 1


@pytest.mark.parametrize("suffix", ["_started", "_started/"])
def test_both_url_forms_of_the_counters(testapp, alice, created, suffix):
    testapp.request(f"{BASE}{UUID}/increment{suffix}", method="POST", headers=alice, status=202)
    testapp.request(f"{BASE}{UUID}/decrement{suffix}", method="POST", headers=alice, status=202)


def test_decrementing_at_zero_is_409_and_changes_nothing(testapp, alice, created):
    before = details(testapp, alice)
    response = started(testapp, alice, "decrement", status="*")
    assert_envelope(response, 409, AT_ZERO, ["uuid"])
    assert details(testapp, alice) == before


def test_counters_change_updated_at_add_no_history_and_work_whatever_the_status(testapp, alice, created):
    for status in ["1", "2", "0"]:
        testapp.post_json(BASE + UUID + "/status/", {"status": status}, headers=alice)
        before = details(testapp, alice)
        started(testapp, alice, "increment", status=202)
        after = details(testapp, alice)
        assert after["updated_at"] > before["updated_at"] and after["history"] == before["history"]
        assert after["times_started"] == before["times_started"] + 1


def test_a_counter_call_with_a_body_is_400_and_changes_nothing(testapp, alice, created):
    response = testapp.post_json(f"{BASE}{UUID}/increment_started/", {"times": 5}, headers=alice, status="*")
    assert_envelope(response, 400, error_names=[""])
    assert details(testapp, alice)["times_started"] == 0


def test_counters_need_a_token(testapp, created):
    assert_envelope(started(testapp, {}, "increment", status="*"), 401)


# -- list and details -------------------------------------------------------------------------

def test_list_is_the_callers_applications_oldest_first_with_every_field(testapp, alice, bob):
    uuids = [f"0000000{n}-0000-4000-8000-000000000000" for n in range(3)]
    for uuid in uuids:
        testapp.post_json(BASE, new_application(uuid=uuid), headers=alice)
    testapp.post_json(BASE, new_application(), headers=bob)
    body = assert_envelope(testapp.get(BASE, headers=alice), 200, LISTED)
    assert [record["uuid"] for record in body["data"]] == uuids
    assert all(set(record) == FIELDS for record in body["data"]) and "pagination" not in body


def test_list_pages_and_filters_by_status(testapp, alice):
    for n, status in enumerate(["0", "1", "0", "2", "0"]):
        testapp.post_json(BASE, new_application(uuid=f"0000000{n}-0000-4000-8000-000000000000", status=status), headers=alice)
    page = testapp.get(BASE + "?status=0&limit=2&offset=1", headers=alice).json
    assert [record["uuid"][7] for record in page["data"]] == ["2", "4"]
    assert page["pagination"] == {"count": 3, "limit": 2, "offset": 1, "next": None,
                                  "previous": "http://localhost/api/lambda_applications/?status=0&limit=2&offset=0"}
    assert_envelope(testapp.get(BASE + "?status=3", headers=alice, status="*"), 400, error_names=["status"])
    assert_envelope(testapp.get(BASE + "?limit=-1", headers=alice, status="*"), 400, error_names=["limit"])


def test_details_carry_the_history_oldest_first(testapp, alice, created):
    testapp.post_json(BASE + UUID + "/status/", {"status": "2", "failure_message": "disk full"}, headers=alice)
    body = assert_envelope(testapp.get(BASE + UUID + "/", headers=alice), 200, DETAILS)
    assert [(entry["status"], entry["status_name"], entry["failure_message"]) for entry in body["data"][0]["history"]] == [
        ("1", "UPLOADING", ""), ("2", "FAILED", "disk full")]


# -- count --------------------------------------------------------------------------------------

def test_count_needs_no_token_ignores_any_and_takes_no_filter(testapp, alice, bob, counters_agree):
    for n, (status, starts) in enumerate([("0", 3), ("0", 0), ("2", 1), ("1", 2)]):
        uuid = f"0000000{n}-0000-4000-8000-000000000000"
        testapp.post_json(BASE, new_application(uuid=uuid, status="0"), headers=alice if n % 2 else bob)
        for _ in range(starts):
            started(testapp, alice if n % 2 else bob, "increment", uuid)
        testapp.post_json(BASE + uuid, {"status": status}, headers=alice if n % 2 else bob)
    expected = {"count": "2", "running": "3", "failed": "1"}
    for url, headers in [(BASE + "count", {}), (BASE + "count/", {"Authorization": "Token nobody"}),
                         (BASE + "count?status=2", alice)]:
        assert assert_envelope(testapp.get(url, headers=headers), 200, COUNTED)["data"] == expected
    counters_agree()


def test_running_follows_an_application_out_of_and_back_into_uploaded(testapp, alice, created):
    testapp.post_json(BASE + UUID, {"status": "0"}, headers=alice)
    for _ in range(4):
        started(testapp, alice, "increment")
    assert testapp.get(BASE + "count").json["data"] == {"count": "1", "running": "4", "failed": "0"}
    testapp.post_json(BASE + UUID, {"status": "2"}, headers=alice)
    assert testapp.get(BASE + "count").json["data"] == {"count": "0", "running": "0", "failed": "1"}
    testapp.post_json(BASE + UUID, {"status": "0"}, headers=alice)
    assert testapp.get(BASE + "count").json["data"] == {"count": "1", "running": "4", "failed": "0"}


def test_only_get_on_the_count(testapp):
    response = testapp.post_json(BASE + "count", {}, status="*")
    assert_envelope(response, 405)
    assert "GET" in response.headers["Allow"]
