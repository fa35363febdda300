"""How many waitress threads per process: the service's requests/s and p99
by ``threads``, against the baseline served the same way, same run.

    .venv/bin/python bench/threads.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

One round per setting (``--seconds`` each), so read differences under
~15 % as noise. Prints a Markdown table (docs/performance.md quotes it).
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.run import databases, load, machine, prepare, server  # noqa: E402

ENDPOINTS = ["details", "list", "update", "count"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--threads", default="2,4,8,16")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    settings = [int(n) for n in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as folder, databases(args.database_url, folder) as urls:
        workloads = {kind: prepare(url, 10_000, 20_000) for kind, url in urls.items()}
        rows = []
        for threads in settings:
            with server("service", urls["service"], threads=threads) as service, \
                    server("baseline", urls["baseline"], threads=threads) as baseline:
                addresses = {"service": service, "baseline": baseline}
                row = {}
                for endpoint in ENDPOINTS:
                    for kind in addresses:
                        load(addresses[kind], workloads[kind], endpoint, 0.3, args.connections)  # warm-up
                        row[(endpoint, kind)] = load(addresses[kind], workloads[kind], endpoint, args.seconds,
                                                     args.connections)
                rows.append((threads, row))
    print(f"# waitress threads, {'PostgreSQL' if args.database_url else 'SQLite (WAL)'}, "
          f"{time.strftime('%Y-%m-%d')}, `{' '.join(['python bench/threads.py', *sys.argv[1:]])}`\n")
    print("\n".join(machine(args.database_url)) + "\n")
    print(f"{args.connections} keep-alive connections, {args.seconds:g} s per cell; service / baseline requests/s "
          "(ratio), service p99 ms.\n")
    print("| threads | " + " | ".join(ENDPOINTS) + " |")
    print("|---|" + "---|" * len(ENDPOINTS))
    for threads, row in rows:
        cells = []
        for endpoint in ENDPOINTS:
            s, b = row[(endpoint, "service")], row[(endpoint, "baseline")]
            cells.append(f"{s['rps']:.0f} / {b['rps']:.0f} ({s['rps'] / b['rps']:.2f}), p99 {s['p99']:.1f}")
        print(f"| {threads} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
