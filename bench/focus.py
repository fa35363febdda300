"""Re-measure a few endpoints over HTTP on waitress with more rounds, when
bench/run.py's three rounds were too noisy to tell (service and baseline
interleaved, as there).

    .venv/bin/python -m bench.focus --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --endpoints details,"app details",list --rounds 5
"""

import argparse
import statistics

from bench.common import prepared_pair
from bench.run import http_arguments, load, served_pair, warm_up

SMOKE_DATA = {"records": 200, "delete_pool": 3000}
SMOKE = {"seconds": 0.3, "rounds": 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    http_arguments(parser, seconds=3.0)
    parser.add_argument("--endpoints", default="details")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help=f"a run of seconds ({SMOKE}): that the script works")
    args = parser.parse_args()
    if args.smoke:
        for option, value in SMOKE.items():
            setattr(args, option, value)
    endpoints = [endpoint.strip() for endpoint in args.endpoints.split(",")]
    rps = {}
    with prepared_pair(args.database_url, **(SMOKE_DATA if args.smoke else {})) as (urls, workloads), served_pair(urls, threads=args.threads) as addresses:
        warm_up(addresses, workloads, endpoints, args.connections)
        for _ in range(args.rounds):
            for endpoint in endpoints:
                for kind, address in addresses.items():
                    rps.setdefault((endpoint, kind), []).append(
                        load(address, workloads[kind], endpoint, args.seconds, args.connections)["rps"])
    print("| endpoint | service req/s by round | baseline req/s by round | ratio of medians | ratio by round |")
    print("|---|---|---|---|---|")
    for endpoint in endpoints:
        service, baseline = rps[(endpoint, "service")], rps[(endpoint, "baseline")]
        print(f"| {endpoint} | {', '.join(f'{x:.0f}' for x in service)} | {', '.join(f'{x:.0f}' for x in baseline)} | "
              f"**{statistics.median(service) / statistics.median(baseline):.2f}** | "
              f"{', '.join(f'{s / b:.2f}' for s, b in zip(service, baseline))} |")


if __name__ == "__main__":
    main()
