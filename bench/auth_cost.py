"""In-process cost of authentication: ``static`` against ``okeanos`` with a warm cache.

Calls the WSGI app directly (no sockets) with GET /api/lambda_instances/?limit=0
(the lightest authenticated request), interleaving the two policies over
several rounds, and also times the policy look-up alone. The identity service
is the fake Astakos of the tests, on loopback; with a warm cache it is called
once per round at most.

    .venv/bin/python bench/auth_cost.py [--requests 2000] [--rounds 5]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import webtest  # noqa: E402

import lambda_registry  # noqa: E402
from lambda_registry.migrate import upgrade  # noqa: E402
from tests.fake_astakos import FakeAstakos  # noqa: E402

TOKEN = "bench-token-0001"


def build(kind, database_url, identity_url):
    settings = {
        "sqlalchemy.url": database_url,
        "lambda_registry.auth": kind,
        "lambda_registry.static_tokens": f"{TOKEN} bench-user",
        "lambda_registry.okeanos.identity_url": identity_url,
    }
    return lambda_registry.main({}, **settings)


def per_request_us(app, requests):
    client = webtest.TestApp(app)
    headers = {"Authorization": f"Token {TOKEN}"}
    client.get("/api/lambda_instances/?limit=0", headers=headers, status=200)  # warm
    started = time.perf_counter()
    for _ in range(requests):
        client.get("/api/lambda_instances/?limit=0", headers=headers, status=200)
    return (time.perf_counter() - started) / requests * 1e6


def lookup_us(policy, lookups):
    policy.owner_for_token(TOKEN)
    started = time.perf_counter()
    for _ in range(lookups):
        policy.owner_for_token(TOKEN)
    return (time.perf_counter() - started) / lookups * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    fake = FakeAstakos().start()
    fake.add_user(TOKEN, "bench-user")
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/bench.sqlite"
        upgrade(database_url)
        apps = {kind: build(kind, database_url, fake.url) for kind in ("static", "okeanos")}
        request_times = {kind: [] for kind in apps}
        lookup_times = {kind: [] for kind in apps}
        for _ in range(args.rounds):
            for kind, app in apps.items():  # interleaved: both see the same machine state
                request_times[kind].append(per_request_us(app, args.requests))
                lookup_times[kind].append(lookup_us(app.registry.lambda_registry_policy, args.requests * 10))
    fake.stop()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    print(f"{args.rounds} interleaved rounds; medians (min-max)")
    for title, times in [("request, µs", request_times), ("policy look-up, µs", lookup_times)]:
        for kind in apps:
            values = times[kind]
            print(f"  {title:20} {kind:8} {statistics.median(values):8.2f}  ({min(values):.2f}-{max(values):.2f})")
        ratio = statistics.median(times["okeanos"]) / statistics.median(times["static"])
        print(f"  {title:20} okeanos/static = {ratio:.3f}")
    print(f"identity calls made: {sum(fake.calls.values())}")


if __name__ == "__main__":
    main()
