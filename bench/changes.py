"""What the changes feed costs, measured in one run (SPEC.md "Changes"):

    .venv/bin/python -m bench.changes                       # SQLite (WAL), writes docs/benchmarks-changes.md
    .venv/bin/python -m bench.changes --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.changes --smoke --output /tmp/changes.md

1. **Writes with the feed's bookkeeping against the last release.** Status
   updates (instances and applications) of this tree against the release
   before the feed (``--release``, a git revision: its ``lambda_registry``
   and ``bench`` are extracted with ``git archive`` into a folder of their
   own), each on a database of its own seeded and migrated by this tree
   (the release's code runs on the new schema: it leaves the new columns at
   their defaults). Measured, rounds interleaved: HTTP on waitress (one
   process each), in-process µs, and instructions per request under
   callgrind (which the machine's load does not move).
2. **A changes poll with nothing new against a list page** (limit 50) of
   the same owner (10,000 records), in-process and over HTTP.
3. **Details while ``max_waiting`` waiters are held**: details over HTTP
   on waitress with no waiter, then with ``lambda_registry.changes.max_waiting``
   requests waiting (``wait=30``, nothing changing), rounds interleaved.
   On PostgreSQL, what the database saw meanwhile (new sessions, wait
   events of its active sessions).
"""

import argparse
import collections
import contextlib
import glob
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench.common import ROOT, TOKEN, Workload, build_app, databases, prepare, wsgi_call
from bench.run import answering, free_port, in_process_us, load, machine, postgres_watch, watch_lines

# (No callgrind in the smoke run: bench.instructions' own smoke run covers it, and it takes long.)
SMOKE = {"seconds": 0.3, "rounds": 1, "requests": 20, "records": 200, "instructions": 0}
WRITES = ["update", "app update"]
RELEASE = "27e9fa4"  # main before the changes feed
GOAL = 0.95  # status updates with the feed's bookkeeping / the release's

# Run in a tree's folder (this one or the release's): in-process µs, or
# instructions between the callgrind marks, of ``requests`` calls of an endpoint.
TIMED = r"""
import json, sys, time
from bench.common import build_app, Workload, wsgi_call
url, endpoint, requests, offset, counted, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
app = build_app("service", url)
workload = Workload(0)
for _ in range(offset):  # where the previous rounds left the update pool: every call a real change
    workload.request(endpoint)
calls = [workload.request(endpoint) for _ in range(requests + 50)]
for method, path, body in calls[:50]:
    wsgi_call(app, method, path, body)
if counted:
    from bench.instructions import client_requests
    marks = client_requests(folder)
    marks.lr_start()
started = time.perf_counter()
for method, path, body in calls[50:]:
    code = wsgi_call(app, method, path, body)
    assert code == 202, (method, path, code)
elapsed = time.perf_counter() - started
if counted:
    marks.lr_stop(endpoint.encode())
print(json.dumps(elapsed / requests * 1e6))
"""


def thread_totals(folder, label):
    """{thread number: instructions counted} of a run under ``--separate-threads``:
    the requests' thread (1) dumps at the mark, the others (the notifier) at
    the end; counting is on only between the marks, so each holds the
    measured requests' work alone."""
    found = {}
    for path in glob.glob(os.path.join(folder, f"{label}.out.*")):
        # <label>.out.<pid>[.<dump>]-<thread>
        suffix = os.path.basename(path).rsplit(".out.", 1)[1]
        thread = int(suffix.rsplit("-", 1)[1]) if "-" in suffix else 1
        with open(path) as handle:
            for line in handle:
                if line.startswith("totals:"):
                    found[thread] = found.get(thread, 0) + int(line.split()[1])
    return found


def release_tree(revision, folder):
    """The release's ``lambda_registry`` and ``bench``, extracted into ``folder``."""
    archive = subprocess.run(["git", "archive", revision, "lambda_registry", "bench"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    os.makedirs(folder, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def timed_in(tree, url, endpoint, requests, offset, folder=None, label=None):
    """µs per request of ``endpoint`` run by ``tree``'s code in a process of its own;
    under callgrind when ``label`` names its output (instructions then in ``totals(folder, label)``)."""
    command = [sys.executable, "-c", TIMED, url, endpoint, str(requests), str(offset), "1" if label else "0",
               folder or ""]
    if label:
        # One profile per thread: the request's thread, and the notifier's (PostgreSQL).
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
                   f"--callgrind-out-file={os.path.join(folder, label)}.out.%p"] + command
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def waitress_of(tree, url, threads=8, **settings):
    """``bench.serve``'s service on waitress, from ``tree``'s code."""
    port = free_port()
    environment = dict(os.environ, **{f"BENCH_SETTING_{name}": value for name, value in settings.items()})
    process = subprocess.Popen([sys.executable, "-m", "bench.changes", "--serve", url, "--port", str(port),
                                "--threads", str(threads)] if tree == ROOT else
                               [sys.executable, "-m", "bench.serve", "--kind", "service", "--database-url", url,
                                "--port", str(port), "--threads", str(threads)],
                               cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    try:
        yield answering(process, port, f"the server of {tree}")
    finally:
        process.terminate()
        process.wait(10)


def serve(url, port, threads):
    """This tree's service with extra settings from BENCH_SETTING_* (max_waiting)."""
    import logging

    import waitress

    extra = {name[len("BENCH_SETTING_"):]: value for name, value in os.environ.items()
             if name.startswith("BENCH_SETTING_")}
    from bench.common import service_settings
    import lambda_registry

    settings = service_settings(url)
    settings.update({f"lambda_registry.{name}": value for name, value in extra.items()})
    logging.basicConfig(level=logging.WARNING)
    waitress.serve(lambda_registry.main({}, **settings), host="127.0.0.1", port=port, threads=threads, _quiet=True)


def http_get(address, path):
    connection = http.client.HTTPConnection(*address, timeout=60)
    try:
        connection.request("GET", path, headers={"Authorization": f"Token {TOKEN}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def cursor_at_the_end(app):
    """The cursor after every change of the bench user's instances (in-process)."""
    cursor = None
    while True:
        body = wsgi_json(app, "/api/lambda_instances/changes?limit=1000" + (f"&since={cursor}" if cursor else ""))
        cursor = body["changes"]["cursor"]
        if not body["changes"]["more"]:
            return cursor


def wsgi_json(app, path):
    """The JSON answer of a GET, in-process."""
    import io

    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path_info, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "6543", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "HTTP_AUTHORIZATION": f"Token {TOKEN}", "HTTP_HOST": "127.0.0.1:6543",
    }
    return json.loads(b"".join(app(environ, lambda status, headers, exc_info=None: None)))


class PathWorkload:
    """One GET path, for ``bench.run.load``."""

    def __init__(self, path):
        self.path = path

    def request(self, endpoint):
        return "GET", self.path, None


def median_spread(values):
    return statistics.median(values), min(values), max(values)


def cell(values, digits=0):
    middle, low, high = median_spread(values)
    return f"{middle:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server to use (two databases are created and dropped)")
    parser.add_argument("--release", default=RELEASE, help="the git revision to compare writes with")
    parser.add_argument("--seconds", type=float, default=3.0, help="HTTP load per round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="in-process requests per round")
    parser.add_argument("--instructions", type=int, default=100, help="requests counted under callgrind (0: none)")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--max-waiting", type=int, default=2, help="waiters held while details are loaded")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks-changes.md"))
    parser.add_argument("--smoke", action="store_true", help=f"seconds ({SMOKE}): that it runs")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # internal: serve this tree (waitress_of)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.port, args.threads)
    if args.smoke:
        for name, value in SMOKE.items():
            setattr(args, name, value)
    if args.instructions and subprocess.run(["which", "valgrind"], capture_output=True).returncode != 0:
        args.instructions = 0
    command = " ".join(["python -m bench.changes", *sys.argv[1:]])
    kind_of_db = "PostgreSQL" if args.database_url else "SQLite (WAL)"

    with tempfile.TemporaryDirectory() as folder, databases(args.database_url, folder) as urls:
        release = release_tree(args.release, os.path.join(folder, "release"))
        trees = {"feed": ROOT, "release": release}
        # "service" database for this tree, "baseline" for the release's.
        urls = {"feed": urls["service"], "release": urls["baseline"]}
        print(f"seeding {args.records:,} records per database ...", flush=True)
        for url in urls.values():
            prepare(url, args.records, 10)

        print("writes: in-process and instructions ...", flush=True)
        inproc = {(endpoint, tree): [] for endpoint in WRITES for tree in trees}
        offsets = {(endpoint, tree): 0 for endpoint in WRITES for tree in trees}
        for _ in range(args.rounds):
            for endpoint in WRITES:
                for tree, path in trees.items():
                    inproc[(endpoint, tree)].append(
                        timed_in(path, urls[tree], endpoint, args.requests, offsets[(endpoint, tree)]))
                    offsets[(endpoint, tree)] += args.requests + 50
        instructions = {}
        if args.instructions:
            for endpoint in WRITES:
                for tree, path in trees.items():
                    label = f"{tree}-{endpoint.replace(' ', '-')}"
                    timed_in(path, urls[tree], endpoint, args.instructions, offsets[(endpoint, tree)], folder, label)
                    offsets[(endpoint, tree)] += args.instructions + 50
                    threads = thread_totals(folder, label)
                    instructions[(endpoint, tree)] = (threads.get(1, 0) / args.instructions,
                                                      sum(threads.values()) / args.instructions)

        print("writes: HTTP on waitress ...", flush=True)
        http_rps = {(endpoint, tree): [] for endpoint in WRITES for tree in trees}
        write_watch = {}  # tree: what PostgreSQL saw during its write rounds
        with waitress_of(ROOT, urls["feed"]) as feed, waitress_of(release, urls["release"]) as old:
            addresses = {"feed": feed, "release": old}
            # The update pools from where the in-process rounds left them.
            workloads = {}
            for tree in trees:
                workloads[tree] = Workload(0)
                for endpoint in WRITES:
                    for _ in range(offsets[(endpoint, tree)]):
                        workloads[tree].request(endpoint)
            for tree, address in addresses.items():
                for endpoint in WRITES:
                    load(address, workloads[tree], endpoint, 0.3, args.connections)
            for _ in range(args.rounds):
                for endpoint in WRITES:
                    for tree, address in addresses.items():
                        with postgres_watch(urls[tree]) as seen:
                            http_rps[(endpoint, tree)].append(
                                load(address, workloads[tree], endpoint, args.seconds, args.connections))
                        write_watch.setdefault(tree, []).append(seen)

        print("a changes poll with nothing new against a list page ...", flush=True)
        app = build_app("service", urls["feed"])
        cursor = cursor_at_the_end(app)
        polls = {"changes, nothing new": f"/api/lambda_instances/changes?since={cursor}",
                 "list page (50)": "/api/lambda_instances/?limit=50"}
        poll_inproc = {name: [] for name in polls}
        poll_http = {name: [] for name in polls}
        sizes = {}
        for _ in range(args.rounds):
            for name, path in polls.items():
                poll_inproc[name].append(in_process_us(app, PathWorkload(path), name, args.requests))
        with waitress_of(ROOT, urls["feed"]) as address:
            for name, path in polls.items():
                connection = http.client.HTTPConnection(*address, timeout=30)
                connection.request("GET", path, headers={"Authorization": f"Token {TOKEN}"})
                sizes[name] = len(connection.getresponse().read())
                connection.close()
            for _ in range(args.rounds):
                for name, path in polls.items():
                    poll_http[name].append(load(address, PathWorkload(path), name, args.seconds, args.connections))

        print(f"details with {args.max_waiting} waiters held ...", flush=True)
        details_path = "/api/lambda_instances/" + Workload(0).details["details"]
        waiting = {"none": [], "held": []}
        watched = {}
        settings = {"changes.max_waiting": str(args.max_waiting), "metrics": "true"}
        with waitress_of(ROOT, urls["feed"], **settings) as address:
            stop = threading.Event()

            def hold(since):
                # Waits of 30 s, one after the other; a change only moves the cursor on.
                while not stop.is_set():
                    status, body = http_get(address, f"/api/lambda_instances/changes?since={since}&wait=30")
                    assert status == 200, status
                    since = body["changes"]["cursor"]

            def waiters():
                """The server's own count of the requests waiting now (its metrics' gauge)."""
                connection = http.client.HTTPConnection(*address, timeout=30)
                connection.request("GET", "/__metrics__")
                text = connection.getresponse().read().decode()
                connection.close()
                return int(float(next(line.split()[1] for line in text.splitlines()
                                      if line.startswith("lambda_registry_change_waiters "))))

            load(address, PathWorkload(details_path), "details", 0.3, args.connections)
            held_during = []
            for round_number in range(args.rounds):
                with postgres_watch(urls["feed"]) as seen:
                    waiting["none"].append(load(address, PathWorkload(details_path), "details", args.seconds,
                                                args.connections))
                watched.setdefault("none", []).append(seen)
                stop.clear()
                since = cursor_at_the_end(app)
                holding = [threading.Thread(target=hold, args=(since,), daemon=True) for _ in range(args.max_waiting)]
                for thread in holding:
                    thread.start()
                deadline = time.monotonic() + 30
                while waiters() < args.max_waiting and time.monotonic() < deadline:
                    time.sleep(0.05)
                with postgres_watch(urls["feed"]) as seen:
                    waiting["held"].append(load(address, PathWorkload(details_path), "details", args.seconds,
                                                args.connections))
                held_during.append(waiters())  # still waiting when the load ended
                watched.setdefault("held", []).append(seen)
                stop.set()
                # A write ends the waits at once (then nobody waits in the next round's "none").
                wsgi_call(app, "POST", details_path + "/status/",
                          json.dumps({"status": "0" if round_number % 2 == 0 else "1"}).encode())
                for thread in holding:
                    thread.join(60)
        get_dispose(app)

    # -- the report --
    out = ["# The changes feed: what it costs\n",
           f"Measured on {time.strftime('%Y-%m-%d')} with `{command}` on {kind_of_db}.\n"]
    out.extend(machine(args.database_url))
    out.append(f"\n{args.rounds} rounds, interleaved; medians with (min–max). HTTP: {args.connections} keep-alive "
               f"connections, {args.seconds:g} s per round, waitress with 8 threads, one process per app, the load "
               "generator in Python on the same 2 cores.\n")
    out.append(f"## Status updates: with the feed's bookkeeping against the release before it ({args.release})\n")
    out.append("Each write now stores its position (the transaction id on PostgreSQL, SQLite's change counter, "
               "taken once per transaction), and on PostgreSQL its process queues a notice once it has committed, "
               "sent as NOTIFY by a thread on a connection of its own (the writer neither waits nor pays a round "
               f"trip). Goal: ≥ {GOAL} (req/s: feed / release; µs and instructions: release / feed).\n")
    out.append("| endpoint | measure | release | feed | ratio | goal |")
    out.append("|---|---|---|---|---|---|")
    for endpoint in WRITES:
        old, new = (statistics.median(r["rps"] for r in http_rps[(endpoint, tree)]) for tree in ("release", "feed"))
        rows = [("HTTP req/s", cell([r["rps"] for r in http_rps[(endpoint, "release")]]),
                 cell([r["rps"] for r in http_rps[(endpoint, "feed")]]), new / old)]
        old, new = (statistics.median(inproc[(endpoint, tree)]) for tree in ("release", "feed"))
        rows.append(("in-process µs", cell(inproc[(endpoint, "release")]), cell(inproc[(endpoint, "feed")]), old / new))
        if instructions:
            for n, measure in enumerate(("instructions (M), the request's thread",
                                         "instructions (M), every thread (the notifier's NOTIFY too)")):
                old, new = instructions[(endpoint, "release")][n], instructions[(endpoint, "feed")][n]
                rows.append((measure, f"{old / 1e6:.3f}", f"{new / 1e6:.3f}", old / new))
        for measure, release_cell, feed_cell, ratio in rows:
            out.append(f"| {endpoint} | {measure} | {release_cell} | {feed_cell} | **{ratio:.2f}** | "
                       f"≥ {GOAL} {'✓' if ratio >= GOAL else '✗'} |")
    if args.database_url:
        out.append("\nWhat PostgreSQL saw during the HTTP write rounds (wait events of the active sessions, sampled "
                   "every 50 ms; `Lock:transactionid` would be writers queueing on a shared row):\n")
        out.extend(watch_lines({("waitress", tree): merged_watch(seens) for tree, seens in write_watch.items()}))
    out.append(f"\n## A changes poll with nothing new against a list page ({args.records:,} records of the owner)\n")
    out.append("| poll | body bytes | in-process µs | HTTP req/s | HTTP p50 ms |")
    out.append("|---|---|---|---|---|")
    for name in polls:
        out.append(f"| {name} | {sizes[name]:,} | {cell(poll_inproc[name])} | "
                   f"{cell([r['rps'] for r in poll_http[name]])} | {statistics.median(r['p50'] for r in poll_http[name]):.2f} |")
    ratio = statistics.median(poll_inproc["list page (50)"]) / statistics.median(poll_inproc["changes, nothing new"])
    out.append(f"\nIn-process, a poll with nothing new costs **{1 / ratio:.2f}×** a list page.\n")
    out.append(f"## Details while {args.max_waiting} waiters are held (`max_waiting = {args.max_waiting}`)\n")
    out.append("| waiters | req/s | p50 ms | p99 ms | non-2xx |")
    out.append("|---|---|---|---|---|")
    for state, label in (("none", "none"), ("held", f"{args.max_waiting}, waiting 30 s")):
        results = waiting[state]
        out.append(f"| {label} | {cell([r['rps'] for r in results])} | {statistics.median(r['p50'] for r in results):.2f} | "
                   f"{statistics.median(r['p99'] for r in results):.2f} | {sum(r['failures'] for r in results)} |")
    none, held = (statistics.median(r["p99"] for r in waiting[state]) for state in ("none", "held"))
    out.append(f"\nWaiters in the server's own gauge at the end of each held round: {held_during} "
               f"(of `max_waiting` {args.max_waiting}).\n")
    out.append(f"p99 with the waiters held / without: **{held / none:.2f}**; req/s: "
               f"**{statistics.median(r['rps'] for r in waiting['held']) / statistics.median(r['rps'] for r in waiting['none']):.2f}**.\n")
    if args.database_url:
        out.append("What PostgreSQL saw while details were loaded (all rounds; waiters hold no connection: "
                   "each of their reads takes one from the pool and gives it back):\n")
        out.extend(watch_lines({("waitress", f"waiters {state}"): merged_watch(seens)
                                for state, seens in watched.items()}))
    report = "\n".join(out) + "\n"
    with open(args.output, "w") as handle:
        handle.write(report)
    print(report)


def merged_watch(seens):
    """``postgres_watch`` results of several rounds, added up."""
    return {"sessions": sum(seen["sessions"] or 0 for seen in seens), "samples": sum(seen["samples"] for seen in seens),
            "waits": sum((seen["waits"] for seen in seens), start=collections.Counter())}


def get_dispose(app):
    from lambda_registry import get_components

    get_components(app.registry).database.dispose()


if __name__ == "__main__":
    main()
