"""The okeanos policy against a fake Astakos over real HTTP on loopback."""

import concurrent.futures
import logging
import threading
import time

import pytest
import webtest

from lambda_registry import get_components
from lambda_registry.auth.cache import REJECTED_TTL, IdentityCache
from lambda_registry.settings import get_settings

from .fake_astakos import FakeAstakos
from .support import (
    CAROL_TOKEN,
    DAVE_TOKEN,
    IDENTITY_TIMEOUT as TIMEOUT,
    FakeClock,
    IDENTITY_UNAVAILABLE as UNAVAILABLE,
    SECRET_TOKENS,
    UUID,
    TokenLeakHandler,
    assert_envelope,
    call,
    free_port,
    new_instance,
    served,
    token_headers,
    wait_for,
)

OTHER_TOKENS = ["flood-token-77", "late-token-51", "short-lived-42", "third-token-64", "refused-token-13"]
SECRET_TOKENS.update(OTHER_TOKENS)


def test_the_leak_check_sees_a_token_in_a_log_line():
    handler = TokenLeakHandler()
    logger = logging.getLogger("tests.leak_check")
    logger.addHandler(handler)
    logger.propagate = False  # this line is planted: keep it from the session's check
    try:
        logger.info("nothing secret here")
        logger.info("the token is %s", CAROL_TOKEN)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert handler.records == 2 and handler.leaks == ["tests.leak_check"]


@pytest.fixture
def okeanos(make_okeanos_app):
    return webtest.TestApp(make_okeanos_app())


def test_the_owner_is_the_astakos_user(okeanos, query):
    okeanos.post_json("/api/lambda_instances/", new_instance(), headers=token_headers(CAROL_TOKEN), status=202)
    assert [tuple(r) for r in query("SELECT owner, uuid FROM lambda_instances")] == [("carol-uuid-0001", UUID)]


def test_two_users_records_stay_apart(okeanos):
    carol, dave = token_headers(CAROL_TOKEN), token_headers(DAVE_TOKEN)
    okeanos.post_json("/api/lambda_instances/", new_instance(name="carol's"), headers=carol, status=202)
    okeanos.post_json("/api/lambda_instances/", new_instance(name="dave's"), headers=dave, status=202)
    assert [r["name"] for r in okeanos.get("/api/lambda_instances/", headers=carol).json["data"]] == ["carol's"]
    assert [r["name"] for r in okeanos.get("/api/lambda_instances/", headers=dave).json["data"]] == ["dave's"]
    okeanos.delete(f"/api/lambda_instances/{UUID}", headers=dave, status=202)
    assert okeanos.get(f"/api/lambda_instances/{UUID}", headers=carol).json["data"][0]["status"] == "20"


def test_twenty_sequential_requests_make_one_identity_call(okeanos, fake):
    for _ in range(20):
        okeanos.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status=200)
    assert fake.calls[CAROL_TOKEN] == 1


@pytest.mark.parametrize("message", ["Invalid token", "Authentication expired", "User inactive"])
def test_refused_token_is_401(okeanos, fake, message):
    fake.add_user("refused-token-13", "someone", refused=message)
    response = okeanos.get("/api/lambda_instances/", headers=token_headers("refused-token-13"), status="*")
    assert_envelope(response, 401, error_names=["Authorization"])
    assert response.headers["WWW-Authenticate"] == "Token"


def test_unknown_token_is_401_and_a_flood_of_it_is_damped(okeanos, fake):
    for _ in range(50):
        response = okeanos.get("/api/lambda_instances/", headers=token_headers("flood-token-77"), status="*")
        assert response.status_int == 401
    assert fake.calls["flood-token-77"] == 1


def with_clock(app, clock):
    """The app's identity cache, anew, on ``clock`` (and the app's settings)."""
    settings = get_settings(app.registry)
    policy = get_components(app.registry).policy
    policy.cache = IdentityCache(settings.okeanos_cache_ttl, settings.okeanos_cache_size,
                                 settings.okeanos_max_concurrent_checks, clock=clock)
    return webtest.TestApp(app)


def test_rejection_is_remembered_only_briefly(make_okeanos_app, fake):
    clock = FakeClock()
    app = with_clock(make_okeanos_app(), clock)
    app.get("/api/lambda_instances/", headers=token_headers("late-token-51"), status=401)
    fake.add_user("late-token-51", "late-user")
    clock.now += REJECTED_TTL - 0.1
    app.get("/api/lambda_instances/", headers=token_headers("late-token-51"), status=401)
    clock.now += 0.2
    app.get("/api/lambda_instances/", headers=token_headers("late-token-51"), status=200)
    assert fake.calls["late-token-51"] == 2


def test_an_answer_without_user_is_a_bad_token(okeanos, fake):
    # Astakos answers an empty token with 200 and no user; our header cannot
    # carry an empty token, so the fake is asked to answer that way.
    original = fake.answer
    fake.answer = lambda token: original("")
    try:
        response = okeanos.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status="*")
    finally:
        fake.answer = original
    assert_envelope(response, 401)


def test_astakos_404_is_a_bad_token(make_okeanos_app, fake):
    app = webtest.TestApp(make_okeanos_app(**{"lambda_registry.okeanos.identity_url": fake.url.replace("/identity/v2.0", "/elsewhere")}))
    assert_envelope(app.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status="*"), 401)


def test_a_token_is_validated_again_when_astakos_says_it_expired(make_okeanos_app, fake):
    clock = FakeClock()
    app = with_clock(make_okeanos_app(), clock)
    fake.add_user("short-lived-42", "erin", expires_in=60.0)
    app.get("/api/lambda_instances/", headers=token_headers("short-lived-42"), status=200)
    clock.now += 59
    app.get("/api/lambda_instances/", headers=token_headers("short-lived-42"), status=200)
    assert fake.calls["short-lived-42"] == 1
    # cache_ttl is 300 s, but Astakos said the token ends now: ask again (and it is refused).
    clock.now += 2
    fake.add_user("short-lived-42", "erin", expires_in=-1.0)
    app.get("/api/lambda_instances/", headers=token_headers("short-lived-42"), status=401)
    assert fake.calls["short-lived-42"] == 2


def test_a_token_is_validated_again_after_cache_ttl(make_okeanos_app, fake):
    clock = FakeClock()
    app = with_clock(make_okeanos_app(**{"lambda_registry.okeanos.cache_ttl": "10"}), clock)
    app.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status=200)
    clock.now += 9.9
    app.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status=200)
    assert fake.calls[CAROL_TOKEN] == 1
    clock.now += 0.2
    app.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status=200)
    assert fake.calls[CAROL_TOKEN] == 2


def test_least_recently_used_tokens_leave_a_full_cache_first(make_okeanos_app, fake):
    app = webtest.TestApp(make_okeanos_app(**{"lambda_registry.okeanos.cache_size": "2"}))
    fake.add_user("third-token-64", "frank")
    for token in [CAROL_TOKEN, DAVE_TOKEN, CAROL_TOKEN, "third-token-64", CAROL_TOKEN, DAVE_TOKEN]:
        app.get("/api/lambda_instances/", headers=token_headers(token), status=200)
    # dave was the least recently used when the third token came in.
    assert (fake.calls[CAROL_TOKEN], fake.calls[DAVE_TOKEN], fake.calls["third-token-64"]) == (1, 2, 1)


def test_cache_keys_are_not_tokens(make_okeanos_app, fake):
    policy_app = make_okeanos_app()
    webtest.TestApp(policy_app).get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN))
    cache = get_components(policy_app.registry).policy.cache
    assert len(cache) == 1
    (key,) = cache.accepted.entries
    assert isinstance(key, bytes) and len(key) == 32
    assert CAROL_TOKEN.encode() not in key and CAROL_TOKEN not in repr(cache.accepted.entries)


@pytest.fixture
def live(make_okeanos_app, fake):
    """The okeanos app on real waitress, 16 threads, room for 16 requests
    waiting on the identity service (the bound itself: test_hostile_traffic)."""
    app = make_okeanos_app(**{"lambda_registry.okeanos.max_concurrent_checks": "16"})
    with served(app, threads=16) as address:
        yield address


def test_sixteen_concurrent_requests_with_a_new_token_make_one_call(live, fake):
    fake.delay = 0.5  # long enough for all 16 to arrive while the first call is under way
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: call(live, "GET", "/api/lambda_instances/", CAROL_TOKEN), range(16)))
    assert [status for status, _, _ in answers] == [200] * 16
    assert fake.calls[CAROL_TOKEN] == 1


@pytest.mark.parametrize("mode", ["slow", "drip", "500", "502", "503", "garbage", "drop", "refused", "bad request"])
def test_each_failure_mode_is_a_prompt_503(make_okeanos_app, fake, mode):
    identity_url = fake.url
    if mode == "slow":
        fake.delay = TIMEOUT + 2
    elif mode == "drip":
        fake.drip = 0.2  # each byte within the socket timeout, the whole answer far past it
    elif mode.isdigit():
        fake.fail_status = int(mode)
    elif mode == "garbage":
        fake.garbage = True
    elif mode == "drop":
        fake.drop = True
    elif mode == "refused":
        identity_url = f"http://127.0.0.1:{free_port()}/identity/v2.0"
    elif mode == "bad request":
        fake.fail_status = 400
    app = webtest.TestApp(make_okeanos_app(**{"lambda_registry.okeanos.identity_url": identity_url}))
    started = time.monotonic()
    response = app.post_json("/api/lambda_instances/", new_instance(), headers=token_headers(CAROL_TOKEN), status="*")
    elapsed = time.monotonic() - started
    assert_envelope(response, 503, UNAVAILABLE)
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < TIMEOUT + 1
    assert CAROL_TOKEN not in response.text
    # Nothing was written, and the service answers again once Astakos does.
    fake.reset()
    if mode != "refused":
        app.post_json("/api/lambda_instances/", new_instance(), headers=token_headers(CAROL_TOKEN), status=202)


def test_the_count_never_asks_astakos(okeanos, fake):
    fake.drop = True
    okeanos.get("/api/lambda_instances/count", headers=token_headers(CAROL_TOKEN), status=200)
    assert sum(fake.calls.values()) == 0


def test_tls_certificates_are_verified(make_okeanos_app, fake, tmp_path):
    """An https identity service with a certificate nobody signed is unavailable, never trusted."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    tls_fake = FakeAstakos()
    tls_fake.add_user(CAROL_TOKEN, "carol-uuid-0001")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls_fake.server.socket = context.wrap_socket(tls_fake.server.socket, server_side=True)
    tls_fake.start()
    try:
        url = tls_fake.url.replace("http://", "https://")
        app = webtest.TestApp(make_okeanos_app(**{"lambda_registry.okeanos.identity_url": url}))
        response = app.get("/api/lambda_instances/", headers=token_headers(CAROL_TOKEN), status="*")
        assert_envelope(response, 503, UNAVAILABLE)
        # The handshake failed before any token was sent.
        assert tls_fake.calls[CAROL_TOKEN] == 0
    finally:
        tls_fake.stop()


def test_single_flight_followers_share_the_leaders_failure():
    cache = IdentityCache(ttl=300, max_size=10, max_waiting=8)
    calls = []
    gate = threading.Event()

    def load():
        calls.append(1)
        gate.wait(2)
        raise RuntimeError("identity down")

    errors = []

    def ask():
        try:
            cache.get_or_load(b"k", load, wait_timeout=3)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    wait_for(lambda: cache.waiting == 8, what="the leader and its seven followers waiting")
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1
    assert errors == ["identity down"] * 8
    assert len(cache) == 0  # a failure is not remembered
