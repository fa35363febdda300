"""POST /api/lambda_instances/<uuid>[/status/] and DELETE /api/lambda_instances/<uuid>."""

import pytest

from .support import OTHER_UUID, UUID, assert_envelope, new_instance

APP_MODES = ("standalone", "embedded")  # our URLs behave the same embedded (conftest)

UPDATED = "Lambda instances status update accepted."
DESTROYED = "Your request to destroy the specified lambda instance has been accepted."
NOT_FOUND = "The specified lambda instance doesn't exist."
GONE = "The specified lambda instance has been destroyed."

UPDATE_URLS = [
    "/api/lambda_instances/{}",
    "/api/lambda_instances/{}/",
    "/api/lambda_instances/{}/status",
    "/api/lambda_instances/{}/status/",
]


@pytest.fixture
def created(testapp, alice):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=alice)
    return UUID


def history(testapp, headers, uuid=UUID):
    record = testapp.get(f"/api/lambda_instances/{uuid}", headers=headers).json["data"][0]
    return [(entry["status"], entry["failure_message"]) for entry in record["history"]]


@pytest.mark.parametrize("url", UPDATE_URLS)
def test_update_answers_202_on_every_url_form(testapp, alice, created, url):
    response = testapp.post_json(url.format(UUID), {"status": "22", "failure_message": ""}, headers=alice)
    body = assert_envelope(response, 202, UPDATED)
    assert body["data"] == [{"id": UUID}]
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert (record["status"], record["status_name"]) == ("22", "FLUME_INSTALLED")


def test_update_by_uuid_in_another_spelling(testapp, alice, created):
    response = testapp.post_json(
        f"/api/lambda_instances/{UUID.replace('-', '').upper()}/status/", {"status": 9}, headers=alice
    )
    assert response.json["data"] == [{"id": UUID}]


def test_absent_failure_message_clears_the_old_one(testapp, alice, created):
    testapp.post_json(f"/api/lambda_instances/{UUID}", {"status": "21", "failure_message": "boom"}, headers=alice)
    testapp.post_json(f"/api/lambda_instances/{UUID}", {"status": "20"}, headers=alice)
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert record["failure_message"] == ""


def test_history_after_create_updates_repeat_and_delete(testapp, alice, created, query):
    url = f"/api/lambda_instances/{UUID}/status/"
    testapp.post_json(url, {"status": "21", "failure_message": "SSH connection timed out."}, headers=alice)
    # The service VM retries: the identical update is accepted and changes nothing.
    repeat = testapp.post_json(url, {"status": "21", "failure_message": "SSH connection timed out."}, headers=alice)
    assert_envelope(repeat, 202, UPDATED)
    # A new message with the same status is a real change.
    testapp.post_json(url, {"status": "21", "failure_message": "retried"}, headers=alice)
    testapp.post_json(url, {"status": 0}, headers=alice)
    testapp.delete(f"/api/lambda_instances/{UUID}", headers=alice, status=202)
    assert history(testapp, alice) == [
        ("20", "OK"),
        ("21", "SSH connection timed out."),
        ("21", "retried"),
        ("0", ""),
        ("6", ""),
    ]
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert [entry["status_name"] for entry in record["history"]] == [
        "FLINK_INSTALLED", "FLINK_FAILED", "FLINK_FAILED", "STARTED", "DESTROYED",
    ]
    assert record["updated_at"] == record["history"][-1]["at"]
    assert record["created_at"] == record["history"][0]["at"]


def test_repeated_update_does_not_touch_updated_at(testapp, alice, created):
    url = f"/api/lambda_instances/{UUID}"
    testapp.post_json(url, {"status": "22"}, headers=alice)
    before = testapp.get(url, headers=alice).json["data"][0]["updated_at"]
    testapp.post_json(url, {"status": "22"}, headers=alice)
    assert testapp.get(url, headers=alice).json["data"][0]["updated_at"] == before


@pytest.mark.parametrize(
    "body, names",
    [
        ({}, ["status"]),
        ({"status": "99"}, ["status"]),
        ({"status": None}, ["status"]),
        ({"status": "20", "failure_message": "x" * 1001}, ["failure_message"]),
        ({"status": "20", "name": "renamed"}, ["name"]),
    ],
)
def test_invalid_update_is_400_and_changes_nothing(testapp, alice, created, body, names):
    response = testapp.post_json(f"/api/lambda_instances/{UUID}", body, headers=alice, status="*")
    assert_envelope(response, 400, "Invalid request.", names)
    assert history(testapp, alice) == [("20", "OK")]


@pytest.mark.parametrize("url", UPDATE_URLS)
def test_update_of_unknown_uuid_is_404(testapp, alice, url):
    response = testapp.post_json(url.format(OTHER_UUID), {"status": "20"}, headers=alice, status="*")
    assert_envelope(response, 404, NOT_FOUND, ["uuid"])


def test_malformed_uuid_in_the_url_is_404(testapp, alice):
    response = testapp.post_json("/api/lambda_instances/not-a-uuid", {"status": "20"}, headers=alice, status="*")
    assert_envelope(response, 404, NOT_FOUND, ["uuid"])
    response = testapp.delete("/api/lambda_instances/not-a-uuid", headers=alice, status="*")
    assert_envelope(response, 404, NOT_FOUND, ["uuid"])


def test_destroyed_instance_cannot_change_status(testapp, alice, created):
    testapp.delete(f"/api/lambda_instances/{UUID}", headers=alice, status=202)
    response = testapp.post_json(f"/api/lambda_instances/{UUID}", {"status": "20"}, headers=alice, status="*")
    assert_envelope(response, 409, GONE, ["uuid"])
    assert history(testapp, alice)[-1] == ("6", "")


@pytest.mark.parametrize("url", ["/api/lambda_instances/{}", "/api/lambda_instances/{}/"])
def test_delete_marks_destroyed_and_keeps_the_record(testapp, alice, created, url):
    response = testapp.delete(url.format(UUID), headers=alice, status="*")
    assert assert_envelope(response, 202, DESTROYED)["data"] == [{"id": UUID}]
    listed = testapp.get("/api/lambda_instances/", headers=alice).json["data"]
    assert [(r["uuid"], r["status"], r["status_name"]) for r in listed] == [(UUID, "6", "DESTROYED")]


def test_delete_of_unknown_or_destroyed_uuid_is_404(testapp, alice, created):
    response = testapp.delete(f"/api/lambda_instances/{OTHER_UUID}", headers=alice, status="*")
    assert_envelope(response, 404, NOT_FOUND)
    testapp.delete(f"/api/lambda_instances/{UUID}", headers=alice, status=202)
    response = testapp.delete(f"/api/lambda_instances/{UUID}", headers=alice, status="*")
    assert_envelope(response, 404, NOT_FOUND)
    assert history(testapp, alice) == [("20", "OK"), ("6", "")]


def test_another_users_uuid_answers_exactly_like_an_absent_one(testapp, alice, bob, created):
    """Same status and the very same body: bob cannot learn that alice's uuid exists."""
    absent = OTHER_UUID
    for method, suffix, body in [
        ("post", "", {"status": "20"}),
        ("post", "/status/", {"status": "20"}),
        ("delete", "", None),
        ("get", "", None),
    ]:
        answers = []
        for uuid in (UUID, absent):
            url = f"/api/lambda_instances/{uuid}{suffix}"
            if method == "post":
                response = testapp.post_json(url, body, headers=bob, status="*")
            else:
                response = getattr(testapp, method)(url, headers=bob, status="*")
            assert_envelope(response, 404, NOT_FOUND)
            # The uuid as given is the only difference between the two bodies.
            answers.append(response.text.replace(uuid, "<uuid>"))
        assert answers[0] == answers[1], (method, suffix)
    # ... and alice's record is untouched.
    assert history(testapp, alice) == [("20", "OK")]


def test_update_needs_json(testapp, alice, created):
    response = testapp.post(f"/api/lambda_instances/{UUID}", "status=20", headers=alice, status="*")
    assert_envelope(response, 415)
