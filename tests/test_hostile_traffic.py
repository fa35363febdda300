"""SPEC "Hostile traffic": what an unauthenticated client sends can neither
starve, amplify nor confuse the service. Every attack here is a bounded loop
on loopback."""

import concurrent.futures
import json
import logging
import secrets
import socket

from pyramid.config import Configurator
import pytest
import webtest

from lambda_registry import get_components
from lambda_registry.auth.policy import refusal_tally
from lambda_registry.logs import QueueWarningSummary, Tally

from .support import (
    ALICE,
    CAROL_TOKEN,
    DAVE_TOKEN,
    IDENTITY_UNAVAILABLE,
    ROOT,
    UUID,
    FakeClock,
    FunctionPolicy,
    assert_envelope,
    call,
    ini_server_settings,
    new_instance,
    served,
    settings_for,
    token_headers,
    wait_for,
)

LIST = "/api/lambda_instances/"


@pytest.fixture
def okeanos(make_okeanos_app):
    return webtest.TestApp(make_okeanos_app())


# -- tokens that cannot be ~okeanos tokens ------------------------------------

@pytest.mark.parametrize(
    "token",
    ["x" * 257, "t\u00f6ken", "tok\u0080en", "\u2603" * 10, "tok\x7fen"],
    ids=["257 characters", "latin-1", "C1 control", "non-latin", "DEL"],
)
def test_a_token_that_cannot_be_an_okeanos_token_is_401_without_an_identity_call(okeanos, fake, token):
    response = okeanos.get(LIST, headers={"Authorization": "Token " + token}, status="*")
    assert_envelope(response, 401, error_names=["Authorization"])
    assert response.headers["WWW-Authenticate"] == "Token"
    assert sum(fake.calls.values()) == 0


def test_a_256_character_token_is_asked_about(okeanos, fake):
    token = "y" * 256
    fake.add_user(token, "long-token-user")
    okeanos.get(LIST, headers=token_headers(token), status=200)
    assert fake.calls[token] == 1


# -- refused tokens never evict accepted ones --------------------------------

def test_a_flood_of_random_tokens_never_evicts_a_cached_identity(make_okeanos_app, fake):
    app = webtest.TestApp(make_okeanos_app(**{"lambda_registry.okeanos.cache_size": "2"}))
    app.get(LIST, headers=token_headers(CAROL_TOKEN), status=200)
    for _ in range(300):
        app.get(LIST, headers=token_headers(secrets.token_hex(16)), status=401)
    app.get(LIST, headers=token_headers(CAROL_TOKEN), status=200)
    assert fake.calls[CAROL_TOKEN] == 1
    assert sum(fake.calls.values()) == 301


# -- a bound on the requests waiting for the identity service -----------------

@pytest.fixture
def live_okeanos(make_okeanos_app):
    """16 server threads, at most 2 requests waiting on the identity service
    (whose calls may take 5 s: the gate, not the timeout, ends them here)."""
    app = make_okeanos_app(**{"lambda_registry.okeanos.max_concurrent_checks": "2", "lambda_registry.okeanos.timeout": "5"})
    with served(app, threads=16) as address:
        yield address, get_components(app.registry).policy.cache



def test_past_the_bound_uncached_tokens_get_503_at_once_and_cached_users_never_wait(live_okeanos, fake):
    address, _ = live_okeanos
    call(address, "GET", LIST, CAROL_TOKEN)  # carol's identity is cached
    fake.gate.clear()  # from now on the identity service answers nobody until the test says so
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        waiting = [pool.submit(call, address, "GET", LIST, secrets.token_hex(16)) for _ in range(2)]
        fake.wait_for_in_flight(2)
        # The identity service holds two calls: every other new token is
        # turned away now, while those two still wait.
        turned_away = list(pool.map(lambda _: call(address, "GET", LIST, secrets.token_hex(16)), range(8)))
        # ... and carol, cached, is served while nothing has been answered.
        cached = call(address, "GET", LIST, CAROL_TOKEN)
        assert fake.in_flight == 2 and not any(future.done() for future in waiting)
        fake.gate.set()
        released = [future.result(timeout=10) for future in waiting]
    assert cached[0] == 200
    for status, headers, body in turned_away:
        assert (status, body["status"]["short_description"]) == (503, IDENTITY_UNAVAILABLE)
        assert headers["Retry-After"] == "1"
    assert [status for status, _, _ in released] == [401, 401]
    assert fake.max_in_flight == 2


def test_requests_following_one_call_count_against_the_bound_too(live_okeanos, fake):
    address, cache = live_okeanos
    fake.gate.clear()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        first = pool.submit(call, address, "GET", LIST, DAVE_TOKEN)
        fake.wait_for_in_flight(1)
        second = pool.submit(call, address, "GET", LIST, DAVE_TOKEN)
        wait_for(lambda: cache.waiting == 2)
        # The second waits for the first's call, making no call of its own;
        # a third finds no room.
        third = call(address, "GET", LIST, DAVE_TOKEN)
        fake.gate.set()
        answers = [first.result(timeout=10)[0], second.result(timeout=10)[0]]
    assert third[0] == 503 and answers == [200, 200]
    assert fake.calls[DAVE_TOKEN] == 1


# -- identity answers we cannot use -------------------------------------------

def answer_with_user(user_id, expires="2999-01-01T00:00:00+00:00"):
    return json.dumps(
        {"access": {"token": {"id": "t", "expires": expires}, "user": {"id": user_id, "name": "n"}}}
    ).encode()


@pytest.mark.parametrize(
    "raw",
    [
        answer_with_user("u" * 256),
        answer_with_user("nul\u0000inside"),
        answer_with_user("tab\tinside"),
        answer_with_user("\ud800"),
        answer_with_user(123),
        b'{"access": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"access": {"user": {"id": "u"}}, "padding": "' + b"p" * (2 * 1024 * 1024) + b'"}',
    ],
    ids=["256-character id", "NUL", "tab", "lone surrogate", "not a string", "nested too deep", "over 1 MiB"],
)
def test_an_identity_answer_we_cannot_use_is_503_and_stores_nothing(okeanos, fake, query, raw):
    fake.raw = raw
    response = okeanos.post_json(LIST, new_instance(), headers=token_headers(CAROL_TOKEN), status="*")
    assert_envelope(response, 503, IDENTITY_UNAVAILABLE)
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_a_255_character_user_id_is_a_user(okeanos, fake, query):
    fake.raw = answer_with_user("u" * 255)
    okeanos.post_json(LIST, new_instance(), headers=token_headers(CAROL_TOKEN), status=202)
    assert query("SELECT owner FROM lambda_instances")[0][0] == "u" * 255


@pytest.mark.parametrize("expires", ["2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00Z"])
def test_a_token_that_has_already_expired_is_401_and_remembered_as_refused(okeanos, fake, expires):
    fake.raw = answer_with_user("carol-uuid-0001", expires=expires)
    for _ in range(3):
        assert_envelope(okeanos.get(LIST, headers=token_headers(CAROL_TOKEN), status="*"), 401)
    assert fake.calls[CAROL_TOKEN] == 1


@pytest.mark.parametrize("user_id", ["", None])
def test_an_answer_with_an_empty_or_no_user_id_is_401(okeanos, fake, user_id):
    fake.raw = answer_with_user(user_id)
    assert_envelope(okeanos.get(LIST, headers=token_headers(CAROL_TOKEN), status="*"), 401)


# -- Content-Type ----------------------------------------------------------------

@pytest.mark.parametrize(
    "url, body",
    [(LIST, new_instance()), (f"{LIST}{UUID}", {"status": "0"}), (f"{LIST}{UUID}/status/", {"status": "0"})],
)
def test_a_post_with_a_body_and_no_content_type_is_415_and_changes_nothing(testapp, query, url, body):
    testapp.post_json(LIST, new_instance(status="2"), headers=ALICE, status=202)
    response = testapp.request(url, method="POST", body=json.dumps(body).encode(), headers=ALICE, status="*")
    assert "Content-Type" not in response.request.headers
    assert_envelope(response, 415, error_names=["Content-Type"])
    assert [tuple(row) for row in query("SELECT status FROM lambda_instances")] == [(2,)]


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; charset=UTF-8", "application/json;charset=utf-8"])
def test_the_json_media_type_is_compared_case_insensitively(testapp, content_type):
    body = json.dumps(new_instance()).encode()
    response = testapp.request(LIST, method="POST", body=body, headers=dict(ALICE, **{"Content-Type": content_type}))
    assert_envelope(response, 202)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"])
def test_what_a_cross_site_form_can_send_is_415(testapp, query, content_type):
    body = json.dumps(new_instance()).encode()
    response = testapp.request(LIST, method="POST", body=body, headers=dict(ALICE, **{"Content-Type": content_type}), status="*")
    assert_envelope(response, 415, error_names=["Content-Type"])
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_the_media_type_is_checked_before_the_token_costs_an_identity_call(okeanos, fake):
    response = okeanos.request(LIST, method="POST", body=b"{}", headers=token_headers(CAROL_TOKEN), status="*")
    assert_envelope(response, 415)
    assert sum(fake.calls.values()) == 0


# -- strict JSON ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "body, name",
    [
        (b'{"uuid": "%s", "name": "n", "status": "2", "instance_info": {"x": 1e400}}', ""),
        (b'{"uuid": "%s", "name": "n", "status": "2", "instance_info": {"x": -1e999}}', ""),
        (b'{"uuid": "%s", "name": "n", "status": "2", "instance_info": {"x": 1' + b"0" * 400 + b"}}", ""),
        (b'{"uuid": "%s", "name": "n", "status": "2", "instance_info": "{\\"x\\": 1e400}"}', "instance_info"),
        (b'{"uuid": "%s", "name": "n", "status": "2", "instance_info": {"x": NaN}}', ""),
        (b'{"uuid": "%s", "name": "n", "status": "2", "instance_info": {"x": Infinity}}', ""),
    ],
    ids=["1e400", "-1e999", "401-digit integer", "1e400 in a string", "NaN", "Infinity"],
)
def test_numbers_that_do_not_fit_a_double_are_400_and_nothing_is_stored(testapp, query, body, name):
    response = testapp.post(LIST, body.replace(b"%s", UUID.encode()), headers=ALICE, content_type="application/json", status="*")
    assert_envelope(response, 400, error_names=[name])
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_the_largest_double_is_kept_and_every_answer_is_strict_json(testapp):
    info = {"max": 1.7976931348623157e308, "tiny": 5e-324, "big": 2**63}
    testapp.post_json(LIST, new_instance(instance_info=info), headers=ALICE, status=202)
    for url in (LIST, f"{LIST}{UUID}"):
        text = testapp.get(url, headers=ALICE).text
        assert "Infinity" not in text and "NaN" not in text
        assert json.loads(text, parse_constant=pytest.fail)["data"][0]["instance_info"] == info


def test_an_answer_that_would_not_be_strict_json_is_never_sent():
    from lambda_registry.web.envelope import success

    with pytest.raises(ValueError):
        success(200, "x", {"count": float("nan")})


# -- host identities ---------------------------------------------------------------------

@pytest.fixture
def host(database_url, clean_db):
    """A host application whose own policy says every caller is ``policy.userid``."""
    policy = FunctionPolicy(lambda request: policy.userid)
    policy.userid = None
    settings = settings_for(database_url)
    del settings["lambda_registry.auth"]  # the host's policy decides
    with Configurator(settings=settings) as config:
        config.include("pyramid_tm")
        config.set_security_policy(policy)
        config.include("lambda_registry")
    return webtest.TestApp(config.make_wsgi_app()), policy


@pytest.mark.parametrize(
    "userid", ["", False, 0, 123, 1.5, None, b"bytes", "x" * 256, "nul\x00", "\ud800"],
    ids=repr,
)
def test_a_host_identity_that_is_not_a_usable_string_is_nobody(host, query, userid):
    app, policy = host
    policy.userid = userid
    assert_envelope(app.post_json(LIST, new_instance(), status="*"), 401)
    assert_envelope(app.get(LIST, status="*"), 401)
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_a_host_identity_that_is_a_string_is_the_owner(host, query):
    app, policy = host
    policy.userid = "123"
    app.post_json(LIST, new_instance(), status=202)
    assert [tuple(row) for row in query("SELECT owner FROM lambda_instances")] == [("123",)]


# -- logs an operator can use -----------------------------------------------------------

def test_refused_tokens_are_summarised_once_per_interval_never_shown(make_okeanos_app, caplog):
    app = make_okeanos_app()
    clock = FakeClock()
    get_components(app.registry).policy.refusals = refusal_tally(clock)
    client = webtest.TestApp(app)
    tokens = [secrets.token_hex(16) for _ in range(40)]
    with caplog.at_level(logging.WARNING, logger="lambda_registry.auth"):
        for token in tokens[:20]:
            client.get(LIST, headers=token_headers(token), status=401)
        client.get(LIST, headers={"Authorization": "Token " + "z" * 300}, status=401)
        clock.now += 61
        for token in tokens[20:]:
            client.get(LIST, headers=token_headers(token), status=401)
    lines = [record.getMessage() for record in caplog.records if record.name == "lambda_registry.auth.policy"]
    # The first refusal at once; the next line after the interval, with
    # every refusal since the first line.
    assert lines == [
        "1 token(s) refused or turned away in the last 0 s: refused 1",
        "21 token(s) refused or turned away in the last 61 s: malformed 1, refused 20",
    ]
    assert not any(token in line for token in tokens for line in lines)


def test_a_tally_logs_a_lone_event_at_once_and_counts_by_kind():
    records = []
    logger = logging.getLogger("tests.tally")
    logger.propagate = False
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    clock = FakeClock()
    try:
        tally = Tally(logger, "%d events in %.0f s: %s", interval=10, clock=clock)
        tally.add("a")
        clock.now += 5
        tally.add("b")
        tally.add("a")
        clock.now += 6
        tally.add("c")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert [record.getMessage() for record in records] == ["1 events in 0 s: a 1", "3 events in 11 s: a 1, b 1, c 1"]


def test_waitress_queue_warnings_are_one_line_per_interval():
    clock = FakeClock()
    summary = QueueWarningSummary(interval=60, clock=clock)

    def warning(depth):
        return logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (depth,), None)

    passed = [record for record in (warning(depth) for depth in range(1, 1001)) if summary.filter(record)]
    clock.now += 60
    passed += [record for record in (warning(depth) for depth in (3, 7)) if summary.filter(record)]
    assert [record.getMessage() for record in passed] == [
        "task queue depth up to 1 (1 queued requests in this summary; one line per 60 s)",
        "task queue depth up to 1000 (1000 queued requests in this summary; one line per 60 s)",
    ]


def test_the_standalone_app_summarises_waitress_queue_warnings(app):
    assert any(isinstance(f, QueueWarningSummary) for f in logging.getLogger("waitress.queue").filters)


# -- the shipped ini files bound every request ---------------------------------------------

INI_FILES = ["production.ini", "development.ini"]


def slow_clients(address, count):
    """Connections that declare a body and send its first byte only."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        sock.sendall(b"POST /api/lambda_instances/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 60000\r\n\r\n{")
        sockets.append(sock)
    return sockets


def heartbeat_answers(address, timeout):
    try:
        return call(address, "GET", "/__lbheartbeat__", timeout=timeout)[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("ini", INI_FILES)
def test_slow_clients_do_not_stop_the_heartbeat(app, ini):
    # More slow clients than waitress's default connection limit (100).
    with served(app, **ini_server_settings(ROOT / ini)) as address:
        sockets = slow_clients(address, 150)
        try:
            assert heartbeat_answers(address, timeout=5)
        finally:
            for sock in sockets:
                sock.close()


def test_on_waitress_defaults_the_same_slow_clients_stop_the_heartbeat(app):
    """The control: the attack above is real, and the ini files' limits are what stop it."""
    with served(app, threads=8) as address:
        sockets = slow_clients(address, 150)
        try:
            assert not heartbeat_answers(address, timeout=2)
        finally:
            for sock in sockets:
                sock.close()


@pytest.mark.parametrize("ini", INI_FILES)
def test_a_huge_declared_body_is_refused_before_it_is_sent(app, ini):
    with served(app, **ini_server_settings(ROOT / ini)) as address:
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"POST /api/lambda_instances/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200000000\r\n\r\n")
            # Not a byte of the 200 MB was sent: the answer comes anyway.
            assert sock.recv(64).startswith(b"HTTP/1.1 413")
