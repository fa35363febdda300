"""Input that breaks lower layers: NUL characters (PostgreSQL refuses them in
text), lone surrogates (no UTF-8 encoding), absurd nesting, odd URLs."""

import io
import json

import pytest

from .support import ALICE, ALICE_TOKEN, UUID, assert_envelope, call, new_instance, served


@pytest.mark.parametrize(
    "instance_info",
    [
        {"nul": "a\u0000b", "key\u0000": 1},
        {"surrogate": "\ud800 alone", "pair": "\U0001f600"},
        json.dumps({"nul": "\u0000", "surrogate": "\udfff"}),
        {"deep": [[[[[[[[[[{"x": None}]]]]]]]]]]},
    ],
)
def test_odd_but_valid_instance_info_is_stored_and_given_back(testapp, instance_info):
    testapp.post_json("/api/lambda_instances/", new_instance(instance_info=instance_info), headers=ALICE, status=202)
    stored = testapp.get(f"/api/lambda_instances/{UUID}", headers=ALICE).json["data"][0]["instance_info"]
    expected = json.loads(instance_info) if isinstance(instance_info, str) else instance_info
    assert stored == expected


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"name": "nul\u0000name"}, "name"),
        ({"name": "surrogate \ud800"}, "name"),
        ({"failure_message": "nul\u0000"}, "failure_message"),
        ({"failure_message": "\udc80"}, "failure_message"),
        ({"uuid": "24b8a635-8d71-4016-b8f5-c4a14348ed8\u0000"}, "uuid"),
        ({"status": "2\u0000"}, "status"),
    ],
)
def test_text_fields_with_nul_or_surrogates_are_400(testapp, query, fields, name):
    body = json.dumps(new_instance(**fields))  # ensure_ascii: the JSON escapes them
    response = testapp.post("/api/lambda_instances/", body, headers=ALICE, content_type="application/json", status="*")
    assert_envelope(response, 400, error_names=[name])
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_raw_invalid_utf8_in_the_body_is_400(testapp):
    body = b'{"uuid": "' + UUID.encode() + b'", "name": "\xc3\x28", "instance_info": "", "status": "2"}'
    response = testapp.post("/api/lambda_instances/", body, headers=ALICE, content_type="application/json", status="*")
    assert_envelope(response, 400)


def test_nul_in_the_url_is_an_unknown_uuid(testapp):
    assert_envelope(testapp.get("/api/lambda_instances/%00", headers=ALICE, status="*"), 404)


@pytest.mark.parametrize("path", ["/api/lambda_instances/%ED%A0%80", "/api/lambda_instances/%FF%FE", "/api/%C3%28"])
def test_url_that_is_not_utf8_is_400(testapp, path):
    response = testapp.get(path, headers=ALICE, status="*")
    assert_envelope(response, 400, "Invalid request.")


@pytest.mark.parametrize("query_string", ["status=%00", "limit=%00", "status=%ED%A0%80", "offset=%FF"])
def test_odd_bytes_in_the_query_are_400(testapp, query_string):
    response = testapp.get(f"/api/lambda_instances/?{query_string}", headers=ALICE, status="*")
    assert_envelope(response, 400, "Invalid request.")


def test_json_nested_100000_deep_is_refused_without_harm(make_app, query):
    """With room for it in the body limit, the nesting itself is refused (400)."""
    app = make_app(**{"lambda_registry.max_body_bytes": "1000000"})
    deep_body = b"[" * 100_000 + b"]" * 100_000
    deep_field = b'{"uuid": "' + UUID.encode() + b'", "name": "n", "status": "2", "instance_info": ' + b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000 + b"}"
    deep_string = json.dumps(new_instance(instance_info='{"a":' * 100_000 + "1" + "}" * 100_000)).encode()
    with served(app, threads=2) as address:
        for body in (deep_body, deep_field, deep_string):
            status, _, answer = call(address, "POST", "/api/lambda_instances/", ALICE_TOKEN, raw_body=body,
                                     headers=[("Content-Type", "application/json")])
            assert status == 400 and answer["status"]["code"] == 400
        # The workers are alive and the database untouched.
        assert call(address, "GET", "/api/lambda_instances/count")[0] == 200
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_huge_content_length_is_refused_before_reading(app):
    """A client declaring 100 GB gets its 413 at once, and nothing is read."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/lambda_instances/", "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "99999999999", "HTTP_AUTHORIZATION": f"Token {ALICE_TOKEN}",
        "wsgi.input": ExplodingInput(),
    }
    answered = []
    body = b"".join(app(environ, lambda status, headers: answered.append(status)))
    assert answered[0].startswith("413")
    assert json.loads(body)["status"]["code"] == 413


class ExplodingInput:
    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_many_unknown_fields_are_reported_not_crashed_on(testapp):
    body = new_instance(**{f"extra{n}": n for n in range(500)})
    response = testapp.post_json("/api/lambda_instances/", body, headers=ALICE, status="*")
    body = assert_envelope(response, 400)
    assert len(body["errors"]) == 500


def unsized_post(app, body):
    """POST a body with no Content-Length, as a server passes a dechunked one."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/lambda_instances/", "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "wsgi.url_scheme": "http", "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Token {ALICE_TOKEN}", "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True,
    }
    answered = []
    answer = b"".join(app(environ, lambda status, headers: answered.append(status)))
    return int(answered[0][:3]), json.loads(answer)


def test_bodies_without_a_length_are_limited_too(app, clean_db, query):
    status, answer = unsized_post(app, json.dumps(new_instance(failure_message="x" * 70_000)).encode())
    assert (status, answer["status"]["code"]) == (413, 413)
    status, answer = unsized_post(app, json.dumps(new_instance()).encode())
    assert (status, answer["data"]) == (202, [{"id": UUID}])
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 1
