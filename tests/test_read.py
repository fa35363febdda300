"""GET /api/lambda_instances/ (list, pages, filter) and GET /api/lambda_instances/<uuid>."""

import uuid as uuidlib

import pytest
import webtest

from .support import OTHER_UUID, UUID, assert_envelope, new_instance

APP_MODES = ("standalone", "embedded")  # our URLs behave the same embedded (conftest)

LISTED = "Lambda instances."
DETAILS = "Lambda instance details."
RECORD_FIELDS = {
    "uuid", "name", "instance_info", "status", "status_name", "failure_message", "created_at", "updated_at",
}


def make_uuids(count):
    return [str(uuidlib.UUID(int=n + 1)) for n in range(count)]


@pytest.fixture
def five(testapp, alice):
    """Five records of alice's, created in order, statuses 0, 20, 0, 21, 6."""
    uuids = make_uuids(5)
    for uuid, status in zip(uuids, ["0", "20", "0", "21", "0"]):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid, status=status), headers=alice)
    testapp.delete(f"/api/lambda_instances/{uuids[4]}", headers=alice)
    return uuids


@pytest.mark.parametrize("url", ["/api/lambda_instances/", "/api/lambda_instances"])
def test_list_is_the_callers_records_oldest_first(testapp, alice, bob, five, url):
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=OTHER_UUID), headers=bob)
    body = assert_envelope(testapp.get(url, headers=alice), 200, LISTED)
    assert [record["uuid"] for record in body["data"]] == five
    assert all(set(record) == RECORD_FIELDS for record in body["data"])
    # Short enough to come back whole: no pagination.
    assert "pagination" not in body
    bobs = testapp.get(url, headers=bob).json["data"]
    assert [record["uuid"] for record in bobs] == [OTHER_UUID]


def test_empty_list(testapp, alice):
    body = assert_envelope(testapp.get("/api/lambda_instances/", headers=alice), 200, LISTED)
    assert body["data"] == []


def test_ties_in_creation_time_are_ordered_by_uuid(testapp, alice, clean_db):
    from sqlalchemy import text

    testapp.post_json("/api/lambda_instances/", new_instance(uuid=OTHER_UUID), headers=alice)
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=UUID), headers=alice)
    with clean_db.begin() as connection:
        connection.execute(text("UPDATE lambda_instances SET created_at = '2026-01-01 00:00:00'"))
    listed = testapp.get("/api/lambda_instances/", headers=alice).json["data"]
    assert [record["uuid"] for record in listed] == sorted([UUID, OTHER_UUID])


def test_limit_and_offset_page_with_links(testapp, alice, five):
    body = assert_envelope(testapp.get("/api/lambda_instances/?limit=2&offset=1", headers=alice), 200, LISTED)
    assert [record["uuid"] for record in body["data"]] == five[1:3]
    assert body["pagination"] == {
        "count": 5,
        "limit": 2,
        "offset": 1,
        "next": "http://localhost/api/lambda_instances/?limit=2&offset=3",
        "previous": "http://localhost/api/lambda_instances/?limit=2&offset=0",
    }
    following = testapp.get(body["pagination"]["next"], headers=alice).json
    assert [record["uuid"] for record in following["data"]] == five[3:5]
    assert following["pagination"]["next"] is None


def test_first_page_has_no_previous_and_last_has_no_next(testapp, alice, five):
    first = testapp.get("/api/lambda_instances?limit=5", headers=alice).json
    assert first["pagination"]["previous"] is None
    assert first["pagination"]["next"] is None
    assert len(first["data"]) == 5


def test_limit_zero_gives_the_count_only(testapp, alice, five):
    body = testapp.get("/api/lambda_instances/?limit=0", headers=alice).json
    assert body["data"] == []
    assert body["pagination"] == {"count": 5, "limit": 0, "offset": 0, "next": None, "previous": None}


def test_offset_past_the_end(testapp, alice, five):
    body = testapp.get("/api/lambda_instances/?limit=2&offset=50", headers=alice).json
    assert body["data"] == []
    assert body["pagination"]["next"] is None
    # "previous" leads back to the last page that has records.
    assert body["pagination"]["previous"] == "http://localhost/api/lambda_instances/?limit=2&offset=3"


def test_offset_without_limit_skips(testapp, alice, five):
    body = testapp.get("/api/lambda_instances/?offset=3", headers=alice).json
    assert [record["uuid"] for record in body["data"]] == five[3:]
    assert body["pagination"]["count"] == 5
    assert body["pagination"]["offset"] == 3


@pytest.fixture
def small_pages(make_app):
    return webtest.TestApp(make_app(**{"lambda_registry.max_page_size": "3"}))


def test_without_limit_at_most_max_page_size_with_pagination(small_pages, alice):
    for uuid in make_uuids(4):
        small_pages.post_json("/api/lambda_instances/", new_instance(uuid=uuid), headers=alice)
    body = small_pages.get("/api/lambda_instances/", headers=alice).json
    assert len(body["data"]) == 3
    assert body["pagination"]["count"] == 4
    assert body["pagination"]["limit"] == 3
    assert body["pagination"]["next"] == "http://localhost/api/lambda_instances/?limit=3&offset=3"


def test_exactly_max_page_size_records_need_no_pagination(small_pages, alice):
    for uuid in make_uuids(3):
        small_pages.post_json("/api/lambda_instances/", new_instance(uuid=uuid), headers=alice)
    body = small_pages.get("/api/lambda_instances/", headers=alice).json
    assert len(body["data"]) == 3
    assert "pagination" not in body


def test_limit_at_the_maximum_and_beyond(small_pages, alice):
    assert_envelope(small_pages.get("/api/lambda_instances/?limit=3", headers=alice), 200)
    response = small_pages.get("/api/lambda_instances/?limit=4", headers=alice, status="*")
    assert_envelope(response, 400, "Invalid request.", ["limit"])


@pytest.mark.parametrize(
    "query, names",
    [
        ("limit=-1", ["limit"]),
        ("limit=abc", ["limit"]),
        ("limit=1.5", ["limit"]),
        ("limit=", ["limit"]),
        ("limit=1001", ["limit"]),
        ("offset=-1", ["offset"]),
        ("offset=x", ["offset"]),
        ("limit=1&limit=2", ["limit"]),
        ("status=42", ["status"]),
        ("status=0,", ["status"]),
        ("status=", ["status"]),
        ("limit=-1&offset=-1&status=x", ["limit", "offset", "status"]),
    ],
)
def test_bad_query_is_400_naming_the_parameter(testapp, alice, query, names):
    response = testapp.get(f"/api/lambda_instances/?{query}", headers=alice, status="*")
    assert_envelope(response, 400, "Invalid request.", names)


def test_unknown_query_parameters_are_ignored(testapp, alice, five):
    body = testapp.get("/api/lambda_instances/?_=12345", headers=alice).json
    assert len(body["data"]) == 5


def test_status_filter(testapp, alice, five):
    body = testapp.get("/api/lambda_instances/?status=0,20", headers=alice).json
    assert [record["uuid"] for record in body["data"]] == five[0:3]
    destroyed = testapp.get("/api/lambda_instances/?status=6", headers=alice).json
    assert [record["uuid"] for record in destroyed["data"]] == [five[4]]


def test_status_filter_with_pages_keeps_the_filter_in_links(testapp, alice, five):
    body = testapp.get("/api/lambda_instances/?status=0,20&limit=2", headers=alice).json
    assert [record["uuid"] for record in body["data"]] == five[0:2]
    assert body["pagination"]["count"] == 3
    assert body["pagination"]["next"] == "http://localhost/api/lambda_instances/?status=0%2C20&limit=2&offset=2"


@pytest.mark.parametrize("url", ["/api/lambda_instances/{}", "/api/lambda_instances/{}/"])
def test_details_with_history(testapp, alice, url):
    testapp.post_json("/api/lambda_instances/", new_instance(instance_info='{"master": "10.0.0.1"}'), headers=alice)
    testapp.post_json(f"/api/lambda_instances/{UUID}", {"status": "21", "failure_message": "no"}, headers=alice)
    body = assert_envelope(testapp.get(url.format(UUID.upper()), headers=alice), 200, DETAILS)
    (record,) = body["data"]
    assert set(record) == RECORD_FIELDS | {"history"}
    assert record["uuid"] == UUID
    assert record["instance_info"] == {"master": "10.0.0.1"}
    assert record["status"] == "21" and record["status_name"] == "FLINK_FAILED"
    assert record["failure_message"] == "no"
    assert [(h["status"], h["status_name"], h["failure_message"]) for h in record["history"]] == [
        ("20", "FLINK_INSTALLED", "OK"),
        ("21", "FLINK_FAILED", "no"),
    ]
    for stamp in [record["created_at"], record["updated_at"]] + [h["at"] for h in record["history"]]:
        assert stamp.endswith("Z") and stamp[10] == "T"


def test_details_of_unknown_uuid(testapp, alice):
    response = testapp.get(f"/api/lambda_instances/{OTHER_UUID}", headers=alice, status="*")
    assert_envelope(response, 404, "The specified lambda instance doesn't exist.", ["uuid"])
