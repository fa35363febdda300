"""SPEC.md "Metrics and request ids": what /__metrics__ answers after known
requests, standalone and embedded; identity outcomes under the fake
identity service's modes; the gauges; no label that names anyone."""

import concurrent.futures
import http.client

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families
import pytest
import webtest

from .minimal_host import make_host
from .support import (
    ALICE,
    ALICE_TOKEN,
    BOB_TOKEN,
    CAROL_TOKEN,
    DAVE_TOKEN,
    UUID,
    assert_envelope,
    build_app,
    dispose,
    free_port,
    new_application,
    new_instance,
    served,
    settings_for,
    token_headers,
)

ON = {"lambda_registry.metrics": "true"}
OTHER_UUID = "11111111-2222-4333-8444-555555555555"


def samples(text):
    """{(sample name, ((label, value), ...)): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def requests_counted(found):
    """{(operation, code): count} of lambda_registry_requests_total, zeros left out."""
    return {(dict(labels)["operation"], dict(labels)["code"]): int(value)
            for (name, labels), value in found.items() if name == "lambda_registry_requests_total" and value}


def scrape(testapp, path="/__metrics__"):
    response = testapp.get(path, status=200)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.text)


@pytest.fixture(params=["standalone", "embedded"])
def metered(request, database_url, clean_db):
    """(a TestApp of the app with metrics on, its URL prefix), standalone or
    embedded under a prefix."""
    if request.param == "standalone":
        app, prefix = build_app(database_url, **ON), ""
    else:
        app, prefix = make_host(settings_for(database_url, **ON), route_prefix="/registry"), "/registry"
    yield webtest.TestApp(app), prefix
    dispose(app)


def test_a_scrape_counts_each_operation_and_code_exactly(metered):
    app, prefix = metered
    sequence = [
        ("POST", "/api/lambda_instances/", ALICE, new_instance(), 202),
        ("POST", "/api/lambda_instances/", ALICE, new_instance(), 409),
        ("POST", "/api/lambda_instances/", ALICE, new_instance(uuid="nope"), 400),
        ("GET", "/api/lambda_instances/", ALICE, None, 200),
        ("GET", "/api/lambda_instances", ALICE, None, 200),
        ("GET", "/api/lambda_instances/", {}, None, 401),
        ("GET", f"/api/lambda_instances/{OTHER_UUID}", ALICE, None, 404),
        ("GET", f"/api/lambda_instances/{UUID}", dict(ALICE, **{"If-None-Match": "*"}), None, 304),
        ("POST", f"/api/lambda_instances/{UUID}/status", dict(ALICE, **{"If-Match": '"old"'}), {"status": "0"}, 412),
        ("GET", "/api/lambda_instances/count", {}, None, 200),
        ("GET", "/api/nothing/here", {}, None, 404),
        ("OPTIONS", "/api/lambda_instances/count", {"Origin": "https://x.example", "Access-Control-Request-Method": "GET"},
         None, 200),
        ("GET", "/__version__", {}, None, 200),
    ]
    for method, path, headers, body, code in sequence:
        if body is None:
            app.request(prefix + path, method=method, headers=headers, status=code)
        else:
            app.post_json(prefix + path, body, headers=headers, status=code)
    found = scrape(app, prefix + "/__metrics__")
    assert requests_counted(found) == {
        ("create_instance", "202"): 1, ("create_instance", "409"): 1, ("create_instance", "400"): 1,
        ("list_instances", "200"): 2, ("list_instances", "401"): 1,
        ("get_instance", "404"): 1, ("get_instance", "304"): 1,
        ("update_instance_status", "412"): 1, ("count_instances", "200"): 1,
        ("unknown", "404"): 1, ("preflight", "200"): 1, ("get_version", "200"): 1,
    }
    # One observation of the duration per request, under the same operation.
    durations = {dict(labels)["operation"]: int(value) for (name, labels), value in found.items()
                 if name == "lambda_registry_request_duration_seconds_count"}
    assert durations == {"create_instance": 3, "list_instances": 3, "get_instance": 2, "update_instance_status": 1,
                         "count_instances": 1, "unknown": 1, "preflight": 1, "get_version": 1}
    # The scrape itself is counted once it has answered: it shows in the next one.
    assert requests_counted(scrape(app, prefix + "/__metrics__"))["get_metrics", "200"] == 1
    # The static tokens were checked (alice's, a token each request); no header is no check.
    checks = {dict(labels)["outcome"]: int(value) for (name, labels), value in found.items()
              if name == "lambda_registry_identity_checks_total"}
    assert checks == {"accepted": 8, "refused": 0, "unavailable": 0, "busy": 0, "malformed": 0}


def test_the_gauges_are_the_public_counts(metered):
    app, prefix = metered
    app.post_json(prefix + "/api/lambda_instances/", new_instance(status="0"), headers=ALICE)
    app.post_json(prefix + "/api/lambda_instances/", new_instance(uuid=OTHER_UUID, status="9"), headers=ALICE)
    app.post_json(prefix + "/api/lambda_applications/", new_application(status="0"), headers=ALICE)
    app.post(prefix + f"/api/lambda_applications/{UUID}/increment_started", headers=ALICE)
    found = scrape(app, prefix + "/__metrics__")
    records = {(dict(labels)["kind"], dict(labels)["group"]): int(value) for (name, labels), value in found.items()
               if name == "lambda_registry_records"}
    instances = app.get(prefix + "/api/lambda_instances/count").json["data"]
    applications = app.get(prefix + "/api/lambda_applications/count").json["data"]
    assert records == {
        ("instances", "active"): int(instances["count"]), ("instances", "running"): int(instances["running"]),
        ("instances", "created"): int(instances["created"]), ("instances", "failed"): int(instances["failed"]),
        ("applications", "active"): int(applications["count"]),
        ("applications", "running"): int(applications["running"]),
        ("applications", "failed"): int(applications["failed"]),
    }
    assert records[("instances", "created")] == 2 and records[("applications", "running")] == 1
    assert found["lambda_registry_users", ()] == int(app.get(prefix + "/api/users/count").json["data"]["count"]) == 1


def test_metrics_are_off_by_default_and_then_not_in_the_document(testapp):
    assert_envelope(testapp.get("/__metrics__", status=404), 404)
    assert "/__metrics__" not in testapp.get("/api/openapi.json").json["paths"]


def test_when_on_the_document_describes_the_scrape(metered):
    app, prefix = metered
    operation = app.get(prefix + "/api/openapi.json").json["paths"][prefix + "/__metrics__"]["get"]
    assert operation["operationId"] == "get_metrics" and operation["security"] == []
    assert list(operation["responses"]["200"]["content"]) == ["text/plain"]


def test_the_hosts_own_metrics_are_left_alone(database_url, clean_db):
    """Ours are in registries of our own: the host's global registry neither
    gains ours nor shows up in our scrape; two apps count apart."""
    host_counter = prometheus_client.Counter("host_portal_logins", "the host's own", registry=prometheus_client.REGISTRY)
    try:
        host_counter.inc()
        first = make_host(settings_for(database_url, **ON), route_prefix="/one")
        second = make_host(settings_for(database_url, **ON), route_prefix="/two")
        one, two = webtest.TestApp(first), webtest.TestApp(second)
        one.get("/one/__version__")
        one.get("/one/__version__")
        two.get("/two/__version__")
        assert requests_counted(scrape(one, "/one/__metrics__")) == {("get_version", "200"): 2}
        scraped_two = scrape(two, "/two/__metrics__")
        assert requests_counted(scraped_two) == {("get_version", "200"): 1}
        assert not any(name.startswith("host_") for name, _ in scraped_two)
        assert not any(name.startswith("lambda_registry") for name in prometheus_client.REGISTRY._names_to_collectors)
    finally:
        prometheus_client.REGISTRY.unregister(host_counter)
        for app in (first, second):
            dispose(app)


def test_a_database_outage_is_counted_and_the_scrape_still_answers(make_app):
    app = webtest.TestApp(make_app(**ON, **{
        "sqlalchemy.url": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone",
        "lambda_registry.db_timeout": "1"}))
    assert_envelope(app.get("/__heartbeat__", status=503), 503, "The database is unavailable.")
    assert_envelope(app.get("/api/lambda_instances/", headers=ALICE, status=503), 503)
    found = scrape(app)
    assert found["lambda_registry_database_unavailable_total", ()] == 2
    assert requests_counted(found) == {("heartbeat", "503"): 1, ("list_instances", "503"): 1}
    assert not any(name == "lambda_registry_records" for name, _ in found)  # unknown: left out, not 0


# -- identity outcomes, under the fake identity service ------------------------

def get(address, path, token=None, headers=()):
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.putrequest("GET", path)
        if token is not None:
            connection.putheader("Authorization", f"Token {token}")
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def identity_figures(address):
    found = samples(get(address, "/__metrics__")[2].decode())
    checks = {dict(labels)["outcome"]: int(value) for (name, labels), value in found.items()
              if name == "lambda_registry_identity_checks_total"}
    return checks, int(found["lambda_registry_identity_cache_hits_total", ()])


def test_identity_outcomes_are_counted_under_each_mode_of_the_identity_service(make_okeanos_app, fake):
    app = make_okeanos_app(**ON, **{"lambda_registry.okeanos.max_concurrent_checks": "1"})
    with served(app, threads=4) as address:
        assert get(address, "/api/lambda_instances/", CAROL_TOKEN)[0] == 200  # accepted
        assert get(address, "/api/lambda_instances/", CAROL_TOKEN)[0] == 200  # a cache hit
        assert get(address, "/api/lambda_instances/", "unknown-token-1")[0] == 401  # refused
        assert get(address, "/api/lambda_instances/", "unknown-token-1")[0] == 401  # remembered: a hit
        assert get(address, "/api/lambda_instances/", headers=[("Authorization", "Token a b")])[0] == 401  # malformed
        fake.fail_status = 500
        assert get(address, "/api/lambda_instances/", DAVE_TOKEN)[0] == 503  # unavailable
        fake.fail_status = None
        # Busy: one call held at the identity service fills the one place for waiting.
        fake.gate.clear()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            held = pool.submit(get, address, "/api/lambda_instances/", DAVE_TOKEN)
            fake.wait_for_in_flight(1)
            assert get(address, "/api/lambda_instances/", "another-token-2")[0] == 503  # busy
            fake.gate.set()
            assert held.result()[0] == 200  # accepted
        checks, hits = identity_figures(address)
    assert checks == {"accepted": 2, "refused": 1, "unavailable": 1, "busy": 1, "malformed": 1}
    assert hits == 2


def test_no_label_names_a_token_a_user_or_a_uuid(make_okeanos_app, fake):
    """A whole lifecycle of both kinds, with errors; then every label value of the scrape."""
    app = webtest.TestApp(make_okeanos_app(**ON))
    carol = token_headers(CAROL_TOKEN)
    app.post_json("/api/lambda_instances/", new_instance(), headers=carol)
    app.post_json(f"/api/lambda_instances/{UUID}/status", {"status": "0"}, headers=carol)
    app.get(f"/api/lambda_instances/{UUID}", headers=carol)
    app.get(f"/api/lambda_instances/{OTHER_UUID}", headers=carol, status=404)
    app.get(f"/api/lambda_instances/{UUID}/nowhere", headers=carol, status=404)
    app.delete(f"/api/lambda_instances/{UUID}", headers=carol)
    app.post_json("/api/lambda_applications/", new_application(), headers=carol)
    app.post(f"/api/lambda_applications/{UUID}/increment_started", headers=carol)
    app.delete(f"/api/lambda_applications/{UUID}", headers=carol)
    app.get("/api/authenticate", headers=carol)
    app.get("/api/lambda_instances/", headers=token_headers(DAVE_TOKEN))
    app.get("/api/lambda_instances/", headers=token_headers("not-a-user-token"), status=401)
    text = app.get("/__metrics__").text
    values = {value for _, labels in samples(text) for _, value in labels}
    named = {CAROL_TOKEN, DAVE_TOKEN, ALICE_TOKEN, BOB_TOKEN, "not-a-user-token", "carol-uuid-0001",
             "dave-uuid-0002", UUID, OTHER_UUID}
    assert values and not values & named
    assert not any(secret in text for secret in named)
    assert {value for _, labels in samples(text) for name, value in labels if name == "operation"} <= {
        "create_instance", "update_instance_status", "get_instance", "delete_instance", "create_application",
        "increment_application_started", "delete_application", "authenticate", "list_instances", "unknown"}


def test_counting_from_many_threads_loses_nothing(make_app):
    app = make_app(**ON)
    with served(app, threads=8) as address:
        def hammer(_):
            return [get(address, "/__lbheartbeat__")[0] for _ in range(25)]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answered = [status for statuses in pool.map(hammer, range(8)) for status in statuses]
        assert answered == [200] * 200
        found = samples(get(address, "/__metrics__")[2].decode())
    assert requests_counted(found) == {("lbheartbeat", "200"): 200}
