"""Re-measure a few endpoints over HTTP on waitress with more rounds, when
bench/run.py's three rounds were too noisy to tell (service and baseline
interleaved, as there).

    .venv/bin/python bench/focus.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --endpoints details,"app details",list --rounds 5
"""

import argparse
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.run import databases, load, prepare, server  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--endpoints", default="details")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    endpoints = [endpoint.strip() for endpoint in args.endpoints.split(",")]
    with tempfile.TemporaryDirectory() as folder, databases(args.database_url, folder) as urls:
        workloads = {kind: prepare(url, 10_000, 20_000) for kind, url in urls.items()}
        with server("service", urls["service"], threads=args.threads) as service, \
                server("baseline", urls["baseline"], threads=args.threads) as baseline:
            addresses = {"service": service, "baseline": baseline}
            for endpoint in endpoints:  # warm-up, not recorded
                for kind in addresses:
                    load(addresses[kind], workloads[kind], endpoint, 0.5, args.connections)
            rps = {}
            for _ in range(args.rounds):
                for endpoint in endpoints:
                    for kind in addresses:
                        rps.setdefault((endpoint, kind), []).append(
                            load(addresses[kind], workloads[kind], endpoint, args.seconds, args.connections)["rps"])
    print("| endpoint | service req/s by round | baseline req/s by round | ratio of medians | ratio by round |")
    print("|---|---|---|---|---|")
    for endpoint in endpoints:
        service, baseline = rps[(endpoint, "service")], rps[(endpoint, "baseline")]
        print(f"| {endpoint} | {', '.join(f'{x:.0f}' for x in service)} | {', '.join(f'{x:.0f}' for x in baseline)} | "
              f"**{statistics.median(service) / statistics.median(baseline):.2f}** | "
              f"{', '.join(f'{s / b:.2f}' for s, b in zip(service, baseline))} |")


if __name__ == "__main__":
    main()
