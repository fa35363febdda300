"""POST /api/lambda_instances/ — create a record."""

import json

import pytest

from .support import OTHER_UUID, UUID, assert_envelope, new_instance

APP_MODES = ("standalone", "embedded")  # our URLs behave the same embedded (conftest)

CREATED = "Your request to create a new lambda instance has been accepted."
ALREADY = "The specified lambda instance has already been created."


@pytest.mark.parametrize("url", ["/api/lambda_instances/", "/api/lambda_instances"])
def test_create_answers_202_with_the_uuid_and_a_location(testapp, alice, url):
    response = testapp.post_json(url, new_instance(), headers=alice, status="*")
    body = assert_envelope(response, 202, CREATED)
    assert body["data"] == [{"id": UUID}]
    assert response.headers["Location"] == f"http://localhost/api/lambda_instances/{UUID}"


def test_created_record_is_stored_with_every_field(testapp, alice, query):
    testapp.post_json("/api/lambda_instances/", new_instance(instance_info={"a": [1, 2]}), headers=alice)
    rows = query("SELECT owner, uuid, name, instance_info, status, failure_message FROM lambda_instances")
    assert [tuple(row) for row in rows] == [
        ("alice", UUID, "My first Lambda instance", '{"a":[1,2]}', 20, "OK")
    ]
    history = query("SELECT status, failure_message FROM lambda_instance_status_changes")
    assert [tuple(row) for row in history] == [(20, "OK")]


@pytest.mark.parametrize(
    "given",
    [UUID.upper(), UUID.replace("-", ""), UUID.replace("-", "").upper(), "24B8A635-8d71-4016-B8F5-c4a14348ed8f"],
)
def test_uuid_in_any_case_with_or_without_hyphens_is_normalised(testapp, alice, given):
    response = testapp.post_json("/api/lambda_instances/", new_instance(uuid=given), headers=alice)
    assert response.json["data"] == [{"id": UUID}]
    # The same uuid in another spelling is the same record.
    again = testapp.post_json("/api/lambda_instances/", new_instance(uuid=UUID), headers=alice, status="*")
    assert_envelope(again, 409, ALREADY, ["uuid"])


@pytest.mark.parametrize("status", ["20", 20])
def test_status_as_string_or_integer_is_stored_as_the_code(testapp, alice, status):
    testapp.post_json("/api/lambda_instances/", new_instance(status=status), headers=alice)
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert record["status"] == "20"
    assert record["status_name"] == "FLINK_INSTALLED"


@pytest.mark.parametrize(
    "given, stored",
    [
        ({"nodes": 3, "kind": "hadoop"}, {"nodes": 3, "kind": "hadoop"}),
        (json.dumps({"nodes": 3, "nested": {"x": [1, None]}}), {"nodes": 3, "nested": {"x": [1, None]}}),
        ("", {}),
        ({}, {}),
    ],
)
def test_instance_info_as_object_json_string_or_empty(testapp, alice, given, stored):
    testapp.post_json("/api/lambda_instances/", new_instance(instance_info=given), headers=alice)
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert record["instance_info"] == stored


@pytest.mark.parametrize(
    "instance_info",
    ["not json", "[1, 2]", '"a string"', "42", "null", [1, 2], 42, None, True, '{"a": NaN}', "{"],
)
def test_invalid_instance_info_is_refused(testapp, alice, query, instance_info):
    response = testapp.post_json(
        "/api/lambda_instances/", new_instance(instance_info=instance_info), headers=alice, status="*"
    )
    assert_envelope(response, 400, "Invalid request.", ["instance_info"])
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_instance_info_up_to_16_kib_encoded(testapp, alice):
    # {"k":"xxx…"} is 8 bytes of syntax around the value.
    fits = {"k": "x" * (16 * 1024 - 8)}
    testapp.post_json("/api/lambda_instances/", new_instance(instance_info=fits), headers=alice, status=202)
    too_big = {"k": "x" * (16 * 1024 - 7)}
    response = testapp.post_json(
        "/api/lambda_instances/", new_instance(uuid=OTHER_UUID, instance_info=too_big), headers=alice, status="*"
    )
    assert_envelope(response, 400, error_names=["instance_info"])


@pytest.mark.parametrize(
    "fields, names",
    [
        ({"uuid": "not-a-uuid"}, ["uuid"]),
        ({"uuid": "24b8a635-8d71-4016-b8f5-c4a14348ed8"}, ["uuid"]),
        ({"uuid": "{24b8a635-8d71-4016-b8f5-c4a14348ed8f}"}, ["uuid"]),
        ({"uuid": 42}, ["uuid"]),
        ({"uuid": UUID + "\n"}, ["uuid"]),
        ({"uuid": UUID.replace("-", "", 2)}, ["uuid"]),
        ({"name": ""}, ["name"]),
        ({"name": "   "}, ["name"]),
        ({"name": "x" * 101}, ["name"]),
        ({"name": "bad\x07name"}, ["name"]),
        ({"name": "nul\x00"}, ["name"]),
        ({"name": 12}, ["name"]),
        ({"status": "42"}, ["status"]),
        ({"status": "020"}, ["status"]),
        ({"status": " 20"}, ["status"]),
        ({"status": 24}, ["status"]),
        ({"status": True}, ["status"]),
        ({"status": 20.0}, ["status"]),
        ({"status": ["20"]}, ["status"]),
        ({"failure_message": "x" * 1001}, ["failure_message"]),
        ({"failure_message": "bell\x07"}, ["failure_message"]),
        ({"failure_message": 3}, ["failure_message"]),
        ({"failure_message": "lone \ud800 surrogate"}, ["failure_message"]),
        ({"colour": "blue"}, ["colour"]),
    ],
)
def test_each_invalid_field_is_named(testapp, alice, query, fields, names):
    response = testapp.post(
        "/api/lambda_instances/",
        json.dumps(new_instance(**fields)),
        headers=alice,
        content_type="application/json",
        status="*",
    )
    assert_envelope(response, 400, "Invalid request.", names)
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_unknown_status_error_says_which_code(testapp, alice):
    response = testapp.post_json("/api/lambda_instances/", new_instance(status="42"), headers=alice, status=400)
    assert response.json["errors"] == [
        {"location": "body", "name": "status", "description": '"42" is not a known status code'}
    ]


@pytest.mark.parametrize("missing", ["uuid", "name", "instance_info", "status"])
def test_each_required_field(testapp, alice, missing):
    body = new_instance()
    del body[missing]
    response = testapp.post_json("/api/lambda_instances/", body, headers=alice, status="*")
    assert_envelope(response, 400, error_names=[missing])


def test_name_is_trimmed_and_message_keeps_newlines_and_tabs(testapp, alice):
    testapp.post_json(
        "/api/lambda_instances/",
        new_instance(name="  spaced  ", failure_message="line 1\n\tline 2\r\n"),
        headers=alice,
    )
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert record["name"] == "spaced"
    assert record["failure_message"] == "line 1\n\tline 2\r\n"


def test_failure_message_is_optional_and_defaults_to_empty(testapp, alice):
    body = new_instance()
    del body["failure_message"]
    testapp.post_json("/api/lambda_instances/", body, headers=alice)
    record = testapp.get(f"/api/lambda_instances/{UUID}", headers=alice).json["data"][0]
    assert record["failure_message"] == ""


def test_duplicate_uuid_of_the_same_owner_is_409_and_changes_nothing(testapp, alice, query):
    testapp.post_json("/api/lambda_instances/", new_instance(), headers=alice)
    response = testapp.post_json(
        "/api/lambda_instances/", new_instance(name="other", status="2"), headers=alice, status="*"
    )
    assert_envelope(response, 409, ALREADY, ["uuid"])
    assert [tuple(r) for r in query("SELECT name, status FROM lambda_instances")] == [
        ("My first Lambda instance", 20)
    ]
    assert query("SELECT count(*) FROM lambda_instance_status_changes")[0][0] == 1
    counts = testapp.get("/api/lambda_instances/count").json["data"]
    assert counts["created"] == "1"


def test_the_same_uuid_for_another_owner_is_another_record(testapp, alice, bob, query):
    testapp.post_json("/api/lambda_instances/", new_instance(name="alice's"), headers=alice)
    response = testapp.post_json("/api/lambda_instances/", new_instance(name="bob's"), headers=bob, status="*")
    assert_envelope(response, 202, CREATED)
    rows = query("SELECT owner, name FROM lambda_instances ORDER BY owner")
    assert [tuple(r) for r in rows] == [("alice", "alice's"), ("bob", "bob's")]


@pytest.mark.parametrize(
    "body, description",
    [
        (b"{not json", "the body is not valid JSON"),
        (b"", "a JSON object is required"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'"text"', "the body must be a JSON object"),
        (b"\xff\xfe\x00garbage", "the body is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, None),
    ],
)
def test_broken_bodies_are_400(testapp, alice, query, body, description):
    response = testapp.post(
        "/api/lambda_instances/", body, headers=alice, content_type="application/json", status="*"
    )
    result = assert_envelope(response, 400 if len(body) <= 65536 else 413)
    if description:
        assert result["errors"][0]["description"] == description
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_deeply_nested_json_within_the_size_limit_is_400(testapp, alice):
    deep = b"[" * 30_000 + b"]" * 30_000
    response = testapp.post(
        "/api/lambda_instances/", deep, headers=alice, content_type="application/json", status="*"
    )
    assert_envelope(response, 400, error_names=[""])


def test_body_over_max_body_bytes_is_413(testapp, alice, query):
    body = new_instance(name="x", failure_message="y" * 70_000)
    response = testapp.post_json("/api/lambda_instances/", body, headers=alice, status="*")
    assert_envelope(response, 413, "Request body too large.")
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", ""])
def test_a_body_that_is_not_json_is_415(testapp, alice, content_type):
    response = testapp.post(
        "/api/lambda_instances/",
        json.dumps(new_instance()),
        headers=dict(alice, **({"Content-Type": content_type} if content_type else {})),
        status="*",
    )
    assert_envelope(response, 415, error_names=["Content-Type"])


def test_json_content_type_with_charset_is_accepted(testapp, alice):
    response = testapp.post(
        "/api/lambda_instances/",
        json.dumps(new_instance()),
        headers=dict(alice, **{"Content-Type": "application/json; charset=utf-8"}),
        status="*",
    )
    assert_envelope(response, 202, CREATED)
