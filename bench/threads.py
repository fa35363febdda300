"""How many waitress threads per process: the service's requests/s and p99
by ``threads``, against the baseline served the same way, same run.

    .venv/bin/python -m bench.threads [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

One round per setting (``--seconds`` each), so read differences under
~15 % as noise. Prints a Markdown table (docs/performance.md quotes it).
"""

import argparse
import sys
import time

from bench.common import prepared_pair
from bench.run import http_arguments, load, machine, served_pair, warm_up

SMOKE_DATA = {"records": 200, "delete_pool": 3000}
SMOKE = {"seconds": 0.3, "threads": "2,8"}

ENDPOINTS = ["details", "list", "update", "count"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    http_arguments(parser, seconds=2.0)
    parser.add_argument("--threads", default="2,4,8,16")
    parser.add_argument("--smoke", action="store_true", help=f"a run of seconds ({SMOKE}): that the script works")
    args = parser.parse_args()
    if args.smoke:
        for option, value in SMOKE.items():
            setattr(args, option, value)
    rows = []
    with prepared_pair(args.database_url, **(SMOKE_DATA if args.smoke else {})) as (urls, workloads):
        for threads in [int(n) for n in args.threads.split(",")]:
            with served_pair(urls, threads=threads) as addresses:
                warm_up(addresses, workloads, ENDPOINTS, args.connections)
                rows.append((threads, {
                    (endpoint, kind): load(address, workloads[kind], endpoint, args.seconds, args.connections)
                    for endpoint in ENDPOINTS for kind, address in addresses.items()
                }))
    print(f"# waitress threads, {'PostgreSQL' if args.database_url else 'SQLite (WAL)'}, "
          f"{time.strftime('%Y-%m-%d')}, `{' '.join(['python -m bench.threads', *sys.argv[1:]])}`\n")
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
