"""Benchmarks of lambda_registry against a plain-WSGI baseline measured in the same run.

    .venv/bin/python -m bench.run                          # SQLite (WAL), writes docs/benchmarks.md
    .venv/bin/python -m bench.run --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.run --smoke                  # seconds: that it runs, no figures worth reading

For each endpoint (create, update status, delete, list page, details, count):
  * HTTP: the service and the baseline (bench/baseline.py: the same SQL, the
    same driver, no framework) each served the same way, in its own
    process(es): on waitress (one process, production.ini's threads) and on
    gunicorn (several processes); loaded by a Python load generator
    (keep-alive connections, fixed duration): requests/s, p50 and p99;
  * in-process: µs per request calling each WSGI app directly (no sockets).
Rounds are interleaved (service, baseline, service, ...): medians and spread.
Then count and a list page at 10^3 ... 10^6 records of one owner, and the
cost of a warm-cache okeanos request against a static one. On PostgreSQL,
what the server saw during each server's load: new sessions, and what its
active sessions waited on (pg_stat_database, pg_stat_activity sampled).
"""

import argparse
import contextlib
import http.client
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import collections

import psycopg
from sqlalchemy.engine import make_url

from bench.common import (
    ENDPOINTS, GROUP, INSTANCE_ENDPOINTS, OWNER, PAGE_COMPARED, ROOT, TOKEN, WRITES_IN_ORDER, build_app, databases,
    prepare, seed, wsgi_call,
)
from lambda_registry import get_components
from tests.fake_astakos import FakeAstakos

# The scale-out goal: writes on gunicorn's processes against one waitress process.
SCALE_GOAL = 1.6
SMOKE = {"seconds": 0.3, "rounds": 1, "requests": 20, "records": 200, "scaling": "100,1000"}

# -- in-process --------------------------------------------------------------

def in_process_us(app, workload, endpoint, requests, headers=None, expected=range(200, 300)):
    calls = [workload.request(endpoint) for _ in range(requests)]
    started = time.perf_counter()
    for method, path, body in calls:
        code = wsgi_call(app, method, path, body, headers)
        if code not in expected:
            raise RuntimeError(f"{endpoint}: {method} {path} answered {code}")
    return (time.perf_counter() - started) / requests * 1e6


# -- HTTP --------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(kind, url, software="waitress", threads=8, workers=2, metrics=False):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", "--kind", kind, "--database-url", url, "--port", str(port),
         "--server", software, "--threads", str(threads), "--workers", str(workers)]
        + (["--metrics"] if metrics else []),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        yield answering(process, port, f"the {kind} server")
    finally:
        process.terminate()
        process.wait(10)


def answering(process, port, what):
    """The address of a server ``process`` started, once it accepts connections on ``port``."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return ("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.1)


@contextlib.contextmanager
def served_pair(urls, **options):
    """The service and the baseline, each on a server of its own, the same way: {kind: address}."""
    with server("service", urls["service"], **options) as service, \
            server("baseline", urls["baseline"], **options) as baseline:
        yield {"service": service, "baseline": baseline}


def warm_up(addresses, workloads, endpoints, connections):
    """Every process and path of both servers, loaded briefly; not recorded."""
    for endpoint in endpoints:
        for kind, address in addresses.items():
            load(address, workloads[kind], endpoint, 0.3, connections)


def http_arguments(parser, seconds):
    """The options of every HTTP measurement: the database, and how the load is made."""
    parser.add_argument("--database-url", help="a PostgreSQL server to use (two databases are created and dropped)")
    parser.add_argument("--seconds", type=float, default=seconds, help="HTTP load per round and endpoint")
    parser.add_argument("--connections", type=int, default=8)


def load(address, workload, endpoint, seconds, connections, more_headers=None, expected=range(200, 300)):
    """Requests/s, p50 and p99 (ms), and the number of answers not ``expected`` (2xx)."""
    latencies, failures = [], [0]
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json", **(more_headers or {})}

    def worker():
        connection = http.client.HTTPConnection(*address, timeout=30)
        mine = []
        while time.monotonic() < deadline:
            method, path, body = workload.request(endpoint)
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status not in expected:
                failures[0] += 1
        connection.close()
        latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "failures": failures[0],
    }


# -- conditional polls: a 304 against the full answer ----------------------------

# The polled GETs: the landing page's count, and a portal's list page.
CONDITIONAL_COMPARED = ["count", "list", "app list"]


def http_etag(address, path):
    """(the ETag, the body's size in bytes) of a GET over HTTP."""
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": f"Token {TOKEN}"})
        response = connection.getresponse()
        return response.getheader("ETag"), len(response.read())
    finally:
        connection.close()


def conditional_polls(address, app, workload, rounds, seconds, connections, requests):
    """{endpoint: {"bytes", "full", "304", "full µs", "304 µs"}}: each polled
    GET whole and with If-None-Match holding its ETag, over HTTP and in-process,
    interleaved round by round."""
    results = {}
    for endpoint in CONDITIONAL_COMPARED:
        _, path, _ = workload.request(endpoint)
        tag, size = http_etag(address, path)
        answered = {}
        wsgi_call(app, "GET", path, None, answered=answered)  # in-process, the Host differs: its own tag
        entry = results[endpoint] = {"bytes": size, "full": [], "304": [], "full µs": [], "304 µs": []}
        for _ in range(rounds):
            entry["full"].append(load(address, workload, endpoint, seconds, connections))
            entry["304"].append(load(address, workload, endpoint, seconds, connections,
                                     more_headers={"If-None-Match": tag}, expected={304}))
            entry["full µs"].append(in_process_us(app, workload, endpoint, requests))
            entry["304 µs"].append(in_process_us(app, workload, endpoint, requests,
                                                 headers={"If-None-Match": answered["ETag"]}, expected={304}))
    return results


def conditional_table(out, results, load_line):
    out.append("\n## Conditional polls: a 304 against the full answer (the service, same run)\n")
    out.append("Each GET as a poller sends it again with `If-None-Match` holding the ETag of its last answer "
               f"(nothing changed meanwhile): HTTP on waitress ({load_line}), and in-process µs per request. "
               "The 304 still reads what the answer is made of (the tag is the answer's), so what it saves is "
               "the body on the wire and the client's parsing, not the query. waitress closes the connection "
               "after every 304 (a 1.1 answer without Content-Length, waitress/task.py `build_response_header`), "
               "so each 304 here also pays a new connection: that is the count's lower req/s.\n")
    out.append("| endpoint | body bytes (200 / 304) | req/s 200 | req/s 304 | 304 / 200 | p50 ms 200 / 304 | "
               "in-process µs 200 / 304 | non-304 |")
    out.append("|---|---|---|---|---|---|---|---|")
    for endpoint, entry in results.items():
        full, cached = (statistics.median(r["rps"] for r in entry[key]) for key in ("full", "304"))
        p50s = [statistics.median(r["p50"] for r in entry[key]) for key in ("full", "304")]
        us = [statistics.median(entry[key]) for key in ("full µs", "304 µs")]
        out.append(f"| {endpoint} | {entry['bytes']:,} / 0 | {full:.0f} | {cached:.0f} | **{cached / full:.2f}** | "
                   f"{p50s[0]:.2f} / {p50s[1]:.2f} | {us[0]:.0f} / {us[1]:.0f} | "
                   f"{sum(r['failures'] for r in entry['304'])} |")


# -- metrics on against metrics off ------------------------------------------------

# A read and a write of one record: what every request pays for its metrics
# (a counter and a histogram observation) weighs most on the cheapest requests.
METRICS_COMPARED = ["details", "update"]
METRICS_GOAL = 0.95


def metrics_cost(url, servers, workload, rounds, seconds, connections, requests):
    """{(endpoint, where): {"off": [...], "on": [...]}}: the service with
    lambda_registry.metrics off and on, interleaved round by round, in-process
    (µs per request) and over HTTP on each server (requests/s; gunicorn's
    processes in prometheus_client's multiprocess mode)."""
    results = collections.defaultdict(lambda: {"off": [], "on": []})
    apps = {"off": build_app("service", url), "on": build_app("service", url, metrics="true")}
    for _ in range(rounds):
        for endpoint in METRICS_COMPARED:
            for state, app in apps.items():
                results[(endpoint, "in-process")][state].append(in_process_us(app, workload, endpoint, requests))
    for name, options in servers.items():
        with server("service", url, **options) as off, server("service", url, metrics=True, **options) as on:
            addresses = {"off": off, "on": on}
            for address in addresses.values():
                for endpoint in METRICS_COMPARED:
                    load(address, workload, endpoint, 0.3, connections)  # warm-up, not recorded
            for _ in range(rounds):
                for endpoint in METRICS_COMPARED:
                    for state, address in addresses.items():
                        results[(endpoint, name)][state].append(load(address, workload, endpoint, seconds, connections))
    return results


def metrics_table(out, results, load_line):
    out.append("\n## Metrics on against metrics off (the service, same run)\n")
    out.append("`lambda_registry.metrics = true` against `false`, rounds interleaved: in-process µs per request "
               f"(ratio: off / on), and HTTP requests/s ({load_line}; ratio: on / off). On gunicorn the metrics "
               "are in prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, memory-mapped files). "
               f"Goal: ≥ {METRICS_GOAL}.\n")
    out.append("| endpoint | where | off | on | ratio | goal | non-2xx (on) |")
    out.append("|---|---|---|---|---|---|---|")
    for (endpoint, where), entry in results.items():
        if where == "in-process":
            off, on = (statistics.median(entry[state]) for state in ("off", "on"))
            ratio, cells, failures = off / on, (f"{off:.0f} µs", f"{on:.0f} µs"), "—"
        else:
            off, on = (statistics.median(r["rps"] for r in entry[state]) for state in ("off", "on"))
            ratio, cells = on / off, (f"{off:.0f} req/s", f"{on:.0f} req/s")
            failures = str(sum(r["failures"] for r in entry["on"]))
        out.append(f"| {endpoint} | {where} | {cells[0]} | {cells[1]} | **{ratio:.2f}** | "
                   f"{goal_cell(ratio, METRICS_GOAL, True)} | {failures} |")


# -- what PostgreSQL saw ---------------------------------------------------------

@contextlib.contextmanager
def postgres_watch(url, interval=0.05):
    """{"sessions": new sessions, "waits": Counter of sampled wait events} of
    one database during the block (nothing on SQLite). Active sessions are
    sampled every ``interval``; "CPU" is an active session waiting on nothing.
    A session's count reaches pg_stat_database when it reports (at its end,
    or within a second or so while it lives)."""
    seen = {"sessions": None, "waits": collections.Counter(), "samples": 0}
    if not url.startswith("postgresql"):
        yield seen
        return
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    sessions = "SELECT sessions FROM pg_stat_database WHERE datname = %s"
    waits = ("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
             "WHERE datname = %s AND state = 'active'")
    stop = threading.Event()
    with psycopg.connect(admin, autocommit=True) as connection:
        before = connection.execute(sessions, (target.database,)).fetchone()[0]

        def sample():
            with psycopg.connect(admin, autocommit=True) as sampler:
                while not stop.wait(interval):
                    seen["samples"] += 1
                    seen["waits"].update(row[0] for row in sampler.execute(waits, (target.database,)))

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield seen
        finally:
            stop.set()
            thread.join()
            time.sleep(1.2)  # sessions that lived report within about a second
            connection.execute("SELECT pg_stat_clear_snapshot()")
            seen["sessions"] = connection.execute(sessions, (target.database,)).fetchone()[0] - before


def watch_lines(watched):
    """Markdown lines of ``{(server, kind): postgres_watch result}``."""
    out = ["| server | app | new sessions | samples | top wait events of active sessions (samples) |",
           "|---|---|---|---|---|"]
    for (server_name, kind), seen in watched.items():
        top = ", ".join(f"{event} {n}" for event, n in seen["waits"].most_common(4)) or "—"
        out.append(f"| {server_name} | {kind} | {seen['sessions']} | {seen['samples']} | {top} |")
    return out


# -- auth cost -----------------------------------------------------------------

def auth_cost(url, rounds, requests):
    fake = FakeAstakos().start()
    fake.add_user(TOKEN, OWNER)
    apps = {
        "static": build_app("service", url),
        "okeanos": build_app("service", url, auth="okeanos", identity_url=fake.url),
    }
    times = {(what, kind): [] for what in ("request", "look-up") for kind in apps}
    for _ in range(rounds):
        for kind, app in apps.items():
            wsgi_call(app, "GET", "/api/lambda_instances/?limit=0", None)  # warm the cache
            started = time.perf_counter()
            for _ in range(requests):
                wsgi_call(app, "GET", "/api/lambda_instances/?limit=0", None)
            times[("request", kind)].append((time.perf_counter() - started) / requests * 1e6)
            # The policy alone: what a request pays to know its owner.
            policy = get_components(app.registry).policy
            started = time.perf_counter()
            for _ in range(requests * 10):
                policy.owner_for_token(TOKEN)
            times[("look-up", kind)].append((time.perf_counter() - started) / (requests * 10) * 1e6)
    fake.stop()
    return times, sum(fake.calls.values())


# -- scaling -------------------------------------------------------------------

def scaling(urls, apps, sizes, rounds, requests):
    rows = []
    seeded = {kind: 0 for kind in urls}
    for size in sizes:
        for kind, url in urls.items():
            seed(url, "scale-user", GROUP["scale"], size - seeded[kind], start=seeded[kind])
            seeded[kind] = size
        row = {"size": size}
        for endpoint, path in (("count", "/api/lambda_instances/count"), ("list", "/api/lambda_instances/?limit=50")):
            for kind, app in apps.items():
                for _ in range(50):  # warm: caches, compiled statements, pages
                    scale_call(app, path)
                samples = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    for _ in range(requests):
                        scale_call(app, path)
                    samples.append((time.perf_counter() - started) / requests * 1e6)
                row[(endpoint, kind)] = samples
        rows.append(row)
        medians = ", ".join(f"{key[0]} {key[1]} {statistics.median(value):.0f} µs" for key, value in row.items() if key != "size")
        print(f"  scaling {size:>9,}: {medians}", flush=True)
    return rows


def scale_call(app, path):
    code = wsgi_call(app, "GET", path, None)
    if code != 200:
        raise RuntimeError(f"{path} answered {code}")


# -- report --------------------------------------------------------------------

def median_spread(values):
    return statistics.median(values), min(values), max(values)


def machine(database_url):
    lines = [
        f"- CPU: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Linux {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    if database_url:
        with psycopg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)) as connection:
            lines.append(f"- {connection.execute('SELECT version()').fetchone()[0]}")
    return lines


def plot(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    sizes = [row["size"] for row in rows]
    for endpoint in ("count", "list"):
        for kind, style in (("service", "-o"), ("baseline", "--s")):
            axis.plot(sizes, [statistics.median(row[(endpoint, kind)]) for row in rows], style, label=f"{endpoint} page, {kind}" if endpoint == "list" else f"count, {kind}")
    axis.set_xscale("log")
    axis.set_xlabel("records of the listing owner (log)")
    axis.set_ylabel("µs per request, in-process (median)")
    axis.set_ylim(bottom=0)
    axis.set_title(title)
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# In-process goals (issue 15 for reads and updates; issue 11's 6x for the other writes).
IN_PROCESS_GOALS = {"create": 6, "update": 5, "delete": 6, "list": 2, "details": 4, "count": 2.5}
# Over HTTP, the service's requests/s against the baseline's (issue 18's on
# PostgreSQL; on SQLite, where one writer at a time is the ceiling of both,
# that nothing regresses).
HTTP_GOALS = {
    "sqlite": {"create": 0.5, "update": 0.5, "delete": 0.5, "list": 0.6, "details": 0.6, "count": 0.6},
    "postgresql": {"create": 0.8, "update": 0.8, "delete": 0.5, "list": 0.8, "details": 0.8, "count": 0.6},
}
# Under --connections concurrent writers, p99 at most this many times p50 (SQLite's tail).
TAIL_GOAL = 10


def goal_cell(ratio, goal, at_least):
    if goal is None:
        return "—"
    met = ratio >= goal if at_least else ratio <= goal
    return f"{'≥' if at_least else '≤'} {goal} {'✓' if met else '✗'}"


def http_table(out, title, results, endpoints, goals):
    out.append(title + "\n")
    out.append("| endpoint | service req/s | baseline req/s | ratio | goal | service p50 / p99 ms | baseline p50 / p99 ms | non-2xx |")
    out.append("|---|---|---|---|---|---|---|---|")
    for endpoint in endpoints:
        s, b = results[(endpoint, "service")], results[(endpoint, "baseline")]
        srps, brps = median_spread([r["rps"] for r in s]), median_spread([r["rps"] for r in b])
        ratio = srps[0] / brps[0]
        out.append(
            f"| {endpoint} | {srps[0]:.0f} ({srps[1]:.0f}–{srps[2]:.0f}) | {brps[0]:.0f} ({brps[1]:.0f}–{brps[2]:.0f}) | "
            f"**{ratio:.2f}** | {goal_cell(ratio, goals.get(endpoint), True)} | "
            f"{statistics.median(r['p50'] for r in s):.1f} / {statistics.median(r['p99'] for r in s):.1f} | "
            f"{statistics.median(r['p50'] for r in b):.1f} / {statistics.median(r['p99'] for r in b):.1f} | "
            f"{sum(r['failures'] for r in s)} / {sum(r['failures'] for r in b)} |"
        )


def page_table(out, inproc, http, load_line):
    out.append("\n## The landing page against the public counts (the service, same run)\n")
    out.append("`GET /` renders the three public counts (from the same 1 s cache as the count endpoints) "
               "into HTML; its script then fetches the three count endpoints every 30 s. In-process µs per "
               f"request, and HTTP on waitress ({load_line}).\n")
    out.append("| endpoint | in-process µs | HTTP requests/s | HTTP p50 ms | HTTP p99 ms |")
    out.append("|---|---|---|---|---|")
    for endpoint in PAGE_COMPARED:
        us = median_spread(inproc[endpoint])
        rps, p50, p99 = (statistics.median(r[key] for r in http[endpoint]) for key in ("rps", "p50", "p99"))
        out.append(f"| {endpoint} | {us[0]:.0f} ({us[1]:.0f}–{us[2]:.0f}) | {rps:.0f} | {p50:.2f} | {p99:.2f} |")
    landing, count = statistics.median(inproc["landing"]), statistics.median(inproc["count"])
    counts = sum(statistics.median(inproc[endpoint]) for endpoint in PAGE_COMPARED[1:])
    http_ratio = statistics.median(r["p50"] for r in http["landing"]) / statistics.median(r["p50"] for r in http["count"])
    out.append(f"\nIn-process, the landing page takes **{landing / count:.2f}×** the instances count "
               f"and **{landing / counts:.2f}×** the three counts together; over HTTP its p50 is "
               f"**{http_ratio:.2f}×** the instances count's.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    http_arguments(parser, seconds=3.0)
    parser.add_argument("--records", type=int, default=10_000, help="records seeded before the endpoint runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300, help="in-process requests per round and endpoint")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers (production.ini's)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes of both servers")
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="threads per gunicorn process")
    parser.add_argument("--scaling", default="1000,10000,100000,1000000")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    parser.add_argument("--smoke", action="store_true",
                        help=f"a run of seconds ({SMOKE}), that the script works; give --output somewhere else")
    args = parser.parse_args()
    if args.smoke:
        for name, value in SMOKE.items():
            setattr(args, name, value)
    sizes = [int(size) for size in args.scaling.split(",") if size]
    kind_of_db = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    database = "postgresql" if args.database_url else "sqlite"
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    servers = {
        "waitress": {"software": "waitress", "threads": args.threads},
        "gunicorn": {"software": "gunicorn", "threads": args.gunicorn_threads, "workers": args.workers},
    }
    # Every endpoint on waitress; the instance endpoints (issue 15's goals) on gunicorn too.
    served_endpoints = {"waitress": ENDPOINTS, "gunicorn": INSTANCE_ENDPOINTS}

    with tempfile.TemporaryDirectory() as folder, databases(args.database_url, folder) as urls:
        delete_pool = len(servers) * (args.rounds * (args.requests + int(args.seconds * 4000)) + 2000) + 1000
        print(f"seeding {args.records:,} records and a pool of {delete_pool:,} to delete, per database ...", flush=True)
        workloads = {kind: prepare(url, args.records, delete_pool) for kind, url in urls.items()}
        apps = {kind: build_app(kind, url) for kind, url in urls.items()}

        print("in-process ...", flush=True)
        inproc = {(e, k): [] for e in ENDPOINTS for k in apps}
        for _ in range(args.rounds):
            for endpoint in ENDPOINTS:
                for kind, app in apps.items():
                    inproc[(endpoint, kind)].append(in_process_us(app, workloads[kind], endpoint, args.requests))

        print("landing page ...", flush=True)
        page_inproc = {endpoint: [] for endpoint in PAGE_COMPARED}
        for _ in range(args.rounds):
            for endpoint in PAGE_COMPARED:
                page_inproc[endpoint].append(in_process_us(apps["service"], workloads["service"], endpoint, args.requests))
        page_http = {endpoint: [] for endpoint in PAGE_COMPARED}

        http_results, watched = {}, {}
        for name, options in servers.items():
            print(f"HTTP on {name} ...", flush=True)
            results = http_results[name] = {(e, k): [] for e in served_endpoints[name] for k in apps}
            with served_pair(urls, **options) as addresses:
                warm_up(addresses, workloads, served_endpoints[name], args.connections)
                with postgres_watch(urls["service"]) as service_seen, postgres_watch(urls["baseline"]) as baseline_seen:
                    for _ in range(args.rounds):
                        for endpoint in served_endpoints[name]:
                            for kind in apps:
                                results[(endpoint, kind)].append(
                                    load(addresses[kind], workloads[kind], endpoint, args.seconds, args.connections))
                        if name == "waitress":
                            for endpoint in PAGE_COMPARED:
                                page_http[endpoint].append(load(
                                    addresses["service"], workloads["service"], endpoint, args.seconds, args.connections))
                watched[(name, "service")], watched[(name, "baseline")] = service_seen, baseline_seen
                if name == "waitress":
                    print("conditional polls ...", flush=True)
                    conditional = conditional_polls(addresses["service"], apps["service"], workloads["service"],
                                                    args.rounds, args.seconds, args.connections, args.requests)

        print("metrics on and off ...", flush=True)
        metrics = metrics_cost(urls["service"], servers, workloads["service"], args.rounds, args.seconds,
                               args.connections, args.requests)

        print("auth ...", flush=True)
        auth_times, identity_calls = auth_cost(urls["service"], args.rounds, args.requests * 3)

        print("scaling ...", flush=True)
        # A fresh pair of apps whose token is the scale user's, who owns nothing
        # else; the count's 1 s cache is off, so that its query is what is timed.
        scale_apps = {kind: build_app(kind, url, owner="scale-user", count_cache_seconds="0") for kind, url in urls.items()}
        scale_rows = scaling(urls, scale_apps, sizes, args.rounds, args.requests)

    # -- the report --
    out = ["# Benchmarks\n", f"Measured on {time.strftime('%Y-%m-%d')} with `{command}` on {kind_of_db}.\n"]
    out.extend(machine(args.database_url))
    out.append("")
    out.append("The baseline (`bench/baseline.py`) is a plain WSGI callable running the same SQL with the same "
               f"driver, served the same way{' (SQLite in WAL mode)' if not args.database_url else ''}. "
               "Rounds are interleaved service/baseline; "
               f"{args.rounds} rounds, medians with (min–max).\n")
    out.append("Between the two: Pyramid's router and tweens (pyramid_tm's among them), Cornice and colander, "
               "SQLAlchemy's pool and compiled statements, and our own code; the baseline pays none of them. The count "
               "answers from the service's 1 s cache (the baseline has none).\n")
    load_line = (f"{args.connections} keep-alive connections, {args.seconds:g} s per round, load generator in Python "
                 "on the same 2 cores")
    http_table(out, f"## HTTP on waitress, one process, {args.threads} threads ({load_line})", http_results["waitress"],
               ENDPOINTS, HTTP_GOALS[database])
    out.append("")
    http_table(out, f"## HTTP on gunicorn, {args.workers} processes × {args.gunicorn_threads} threads ({load_line})",
               http_results["gunicorn"], INSTANCE_ENDPOINTS, HTTP_GOALS[database])
    out.append("\n## Requests/s by server (the service)\n")
    out.append("| endpoint | waitress | gunicorn | gunicorn / waitress | goal | baseline: gunicorn / waitress |")
    out.append("|---|---|---|---|---|---|")
    for endpoint in INSTANCE_ENDPOINTS:
        rps = {(name, kind): statistics.median(r["rps"] for r in http_results[name][(endpoint, kind)])
               for name in servers for kind in apps}
        ratio = rps[("gunicorn", "service")] / rps[("waitress", "service")]
        goal = goal_cell(ratio, SCALE_GOAL, True) if endpoint in WRITES_IN_ORDER[:2] else "—"
        out.append(f"| {endpoint} | {rps[('waitress', 'service')]:.0f} | {rps[('gunicorn', 'service')]:.0f} | "
                   f"**{ratio:.2f}** | {goal} | {rps[('gunicorn', 'baseline')] / rps[('waitress', 'baseline')]:.2f} |")
    if args.database_url:
        out.append("\n## What PostgreSQL saw during the measured rounds\n")
        out.append("New sessions from pg_stat_database (0: the pool served every request); wait events of the "
                   "database's active sessions, sampled every 50 ms (`Lock:transactionid`: writers taking turns "
                   "on a row; `Client:ClientRead`: waiting for the app; `IO:WALSync`: the commit's fsync).\n")
        out.extend(watch_lines(watched))
    out.append(f"\n## Write tail on waitress ({args.connections} concurrent writers)\n")
    out.append("| endpoint | service p50 ms | service p99 ms | p99 / p50 | goal | baseline p99 / p50 |")
    out.append("|---|---|---|---|---|---|")
    for endpoint in WRITES_IN_ORDER:
        s, b = http_results["waitress"][(endpoint, "service")], http_results["waitress"][(endpoint, "baseline")]
        p50, p99 = statistics.median(r["p50"] for r in s), statistics.median(r["p99"] for r in s)
        base = statistics.median(r["p99"] for r in b) / statistics.median(r["p50"] for r in b)
        out.append(f"| {endpoint} | {p50:.1f} | {p99:.1f} | **{p99 / p50:.1f}** | ≤ {TAIL_GOAL} "
                   f"{'✓' if p99 / p50 <= TAIL_GOAL else '✗'} | {base:.1f} |")
    out.append("\n## In-process (µs per request, WSGI app called directly)\n")
    out.append("| endpoint | service µs | baseline µs | ratio | goal |")
    out.append("|---|---|---|---|---|")
    for endpoint in ENDPOINTS:
        s, b = median_spread(inproc[(endpoint, "service")]), median_spread(inproc[(endpoint, "baseline")])
        ratio = s[0] / b[0]
        out.append(f"| {endpoint} | {s[0]:.0f} ({s[1]:.0f}–{s[2]:.0f}) | {b[0]:.0f} ({b[1]:.0f}–{b[2]:.0f}) | **{ratio:.2f}** | "
                   f"{goal_cell(ratio, IN_PROCESS_GOALS.get(endpoint), False)} |")
    page_table(out, page_inproc, page_http, load_line)
    conditional_table(out, conditional, load_line)
    metrics_table(out, metrics, load_line)
    out.append("\n## Scaling: count and a list page (limit 50) by records of the listing owner\n")
    out.append("In-process, with the count's cache off (`count_cache_seconds = 0`): what is timed is the query. "
               "The endpoint tables above use the default 1 s cache, as production does.\n")
    plot_name = os.path.splitext(os.path.basename(args.output))[0] + "-scaling.png"
    out.append(f"![scaling]({plot_name})\n")
    out.append("| records | count service µs | count baseline µs | list service µs | list baseline µs |")
    out.append("|---|---|---|---|---|")
    for row in scale_rows:
        out.append(f"| {row['size']:,} | " + " | ".join(f"{statistics.median(row[key]):.0f}" for key in [("count", "service"), ("count", "baseline"), ("list", "service"), ("list", "baseline")]) + " |")
    first, last = scale_rows[0], scale_rows[-1]
    for endpoint in ("count", "list"):
        ratio = statistics.median(last[(endpoint, "service")]) / statistics.median(first[(endpoint, "service")])
        out.append(f"\n{endpoint}: {last['size']:,} records cost **{ratio:.2f}×** what {first['size']:,} cost (goal ≤ 1.5 {'✓' if ratio <= 1.5 else '✗'}).")
    out.append("\n## Authentication: `okeanos` with a warm cache against `static` (in-process, GET list limit=0)\n")
    st, ok = median_spread(auth_times[("request", "static")]), median_spread(auth_times[("request", "okeanos")])
    sl, ol = median_spread(auth_times[("look-up", "static")]), median_spread(auth_times[("look-up", "okeanos")])
    out.append("| policy | µs per request | µs per policy look-up alone |")
    out.append("|---|---|---|")
    out.append(f"| static | {st[0]:.0f} ({st[1]:.0f}–{st[2]:.0f}) | {sl[0]:.2f} ({sl[1]:.2f}–{sl[2]:.2f}) |")
    out.append(f"| okeanos, warm cache | {ok[0]:.0f} ({ok[1]:.0f}–{ok[2]:.0f}) | {ol[0]:.2f} ({ol[1]:.2f}–{ol[2]:.2f}) |")
    ratio = ok[0] / st[0]
    out.append(f"\nokeanos / static = **{ratio:.3f}** (goal ≤ 1.1 {'✓' if ratio <= 1.1 else '✗'}); identity calls made: {identity_calls}.\n")
    report = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        handle.write(report)
    plot(scale_rows, os.path.join(os.path.dirname(args.output), plot_name), f"lambda_registry on {kind_of_db}")
    print(report)


if __name__ == "__main__":
    main()
