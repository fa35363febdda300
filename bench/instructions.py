"""Instruction counts per request, in-process, the service against the baseline.

    .venv/bin/python -m bench.instructions                     # SQLite
    .venv/bin/python -m bench.instructions --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.instructions --metrics --endpoints details,update   # metrics on against off

Wall-clock time on a shared 2-core machine moves with whatever else runs;
the number of instructions a request executes does not. Each app (service,
baseline) runs in a process of its own under valgrind's callgrind, with
instrumentation off while Python starts, the app is built and each
endpoint is warmed up; then, per endpoint, callgrind counts exactly
``--requests`` WSGI calls (``CALLGRIND_START_INSTRUMENTATION`` to
``CALLGRIND_DUMP_STATS_AT``, through a few lines of C compiled here and
loaded with ctypes). What is counted is the client side: Python, the
framework, the driver and, for SQLite, the database engine itself; a
PostgreSQL server's work is its own process's, and not counted.
"""

import argparse
import ctypes
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

from bench.common import ENDPOINTS, Workload, build_app, prepared_pair, wsgi_call

CLIENT_REQUESTS = r"""
#include <valgrind/callgrind.h>
void lr_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void lr_stop(const char *label) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT(label); }
"""
KINDS = ("service", "baseline")
# --metrics: the service with lambda_registry.metrics against the service without.
METRICS_KINDS = ("service", "metrics")


def client_requests(folder):
    """The start/stop functions (no-ops when not run under valgrind)."""
    source, library = os.path.join(folder, "callgrind_marks.c"), os.path.join(folder, "callgrind_marks.so")
    with open(source, "w") as handle:
        handle.write(CLIENT_REQUESTS)
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", library, source], check=True)
    marks = ctypes.CDLL(library)
    marks.lr_stop.argtypes = [ctypes.c_char_p]
    return marks


def child(args):
    """Runs under callgrind: warm each endpoint up, then count ``requests`` calls of it."""
    marks = client_requests(args.folder)
    if args.kind == "metrics":
        app = build_app("service", args.database_url, metrics="true")
    else:
        app = build_app(args.kind, args.database_url)
    workload = Workload(args.delete_pool)
    for endpoint in args.endpoints:
        for method, path, body in [workload.request(endpoint) for _ in range(args.warm_up)]:
            wsgi_call(app, method, path, body)
        calls = [workload.request(endpoint) for _ in range(args.requests)]
        marks.lr_start()
        for method, path, body in calls:
            code = wsgi_call(app, method, path, body)
            if code >= 300:
                raise RuntimeError(f"{endpoint}: {method} {path} answered {code}")
        marks.lr_stop(endpoint.encode())


def totals(folder, kind):
    """{label: instructions} of the dumps callgrind wrote for ``kind``."""
    found = {}
    for path in glob.glob(os.path.join(folder, f"{kind}.out*")):
        label = total = None
        with open(path) as handle:
            for line in handle:
                if line.startswith("desc: Trigger: Client Request: "):
                    label = line.split(": ", 3)[3].strip()
                elif line.startswith(("totals:", "summary:")):
                    total = int(line.split()[1])
        if label is not None and total is not None:
            found[label] = total
    return found


def measure(urls, endpoints, requests, warm_up, delete_pool, folder, kinds=KINDS):
    """{(endpoint, kind): instructions per request}."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    results = {}
    for kind in kinds:
        command = [
            valgrind, "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
            f"--callgrind-out-file={folder}/{kind}.out.%p",
            sys.executable, "-m", "bench.instructions", "--child", "--kind", kind,
            "--database-url", urls[kind], "--folder", folder, "--requests", str(requests),
            "--warm-up", str(warm_up), "--delete-pool", str(delete_pool), "--endpoints", ",".join(endpoints),
        ]
        # The same hashes in every run: set and dict orders, hence the work, repeat.
        environment = dict(os.environ, PYTHONHASHSEED="0")
        subprocess.run(command, check=True, env=environment, stderr=subprocess.DEVNULL)
        for endpoint, total in totals(folder, kind).items():
            results[(endpoint, kind)] = total / requests
    return results


def table(results, endpoints, goals=None, kinds=KINDS):
    goals = goals or {}
    first, second = kinds
    lines = [f"| endpoint | {first} instructions | {second} instructions | ratio | goal |", "|---|---|---|---|---|"]
    for endpoint in endpoints:
        service, baseline = results[(endpoint, first)], results[(endpoint, second)]
        ratio = service / baseline
        goal = goals.get(endpoint)
        cell = "—" if goal is None else f"≤ {goal} {'✓' if ratio <= goal else '✗'}"
        lines.append(f"| {endpoint} | {service / 1e6:.3f} M | {baseline / 1e6:.3f} M | **{ratio:.2f}** | {cell} |")
    return lines


# Issue 18's goals, in instructions.
GOALS = {"details": 2, "update": 3, "create": 3}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server to use (two databases are created and dropped)")
    parser.add_argument("--requests", type=int, default=100, help="requests counted per endpoint")
    parser.add_argument("--warm-up", type=int, default=30, help="requests per endpoint before counting")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--metrics", action="store_true",
                        help="the service without metrics against the service with them (lambda_registry.metrics)")
    parser.add_argument("--smoke", action="store_true", help="two endpoints, a few requests: that it runs, not figures")
    # The child's own options.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--delete-pool", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.endpoints = [endpoint.strip() for endpoint in args.endpoints.split(",") if endpoint.strip()]
    if args.child:
        return child(args)
    if args.smoke:
        args.endpoints, args.requests, args.warm_up, args.records = ["details", "update"], 3, 2, 10
    delete_pool = (args.requests + args.warm_up) * 2 + 10
    with tempfile.TemporaryDirectory() as folder, prepared_pair(args.database_url, args.records, delete_pool) as (urls, _):
        kinds = METRICS_KINDS if args.metrics else KINDS
        # Each on a database of its own, prepared the same way: the writes of one must not change the other's.
        urls = dict(urls, metrics=urls["baseline"])
        results = measure(urls, args.endpoints, args.requests, args.warm_up, delete_pool, folder, kinds)
    database = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(f"\nInstructions per request (callgrind), in-process, {database}, {args.requests} requests per endpoint:\n")
    print("\n".join(table(results, args.endpoints, None if args.metrics else GOALS, kinds)))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({f"{endpoint}|{kind}": value for (endpoint, kind), value in results.items()}, handle, indent=1)
    return None


if __name__ == "__main__":
    main()
