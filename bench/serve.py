"""Serve the service or the baseline for bench/run.py, one server process
(waitress) or several (gunicorn), the same way for both.

    python -m bench.serve --kind service --database-url URL --port 8001 [--threads 8]
    python -m bench.serve --kind baseline ... --server gunicorn --workers 2 --threads 4
"""

import argparse
import logging
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KIND, URL, METRICS = "BENCH_KIND", "BENCH_DATABASE_URL", "BENCH_METRICS"


def application():
    """gunicorn's app factory (``bench.serve:application()``): the app named by the environment."""
    from bench.common import build_app

    options = {"metrics": "true"} if os.environ.get(METRICS) else {}
    return build_app(os.environ[KIND], os.environ[URL], **options)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["service", "baseline"], required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--metrics", action="store_true",
                        help="the service with lambda_registry.metrics (gunicorn: in prometheus_client's "
                             "multiprocess mode, in a directory of its own)")
    args = parser.parse_args()
    os.environ.update({KIND: args.kind, URL: args.database_url})
    hooks = []
    if args.metrics:
        os.environ[METRICS] = "1"
        if args.server == "gunicorn":
            import tempfile

            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")
            hooks = ["-c", "python:lambda_registry.gunicorn_hooks"]
    if args.server == "gunicorn":
        os.execvp(sys.executable, [
            sys.executable, "-m", "gunicorn", *hooks, "--chdir", ROOT, "-b", f"127.0.0.1:{args.port}",
            "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning",
            "bench.serve:application()",
        ])
    import waitress

    logging.basicConfig(level=logging.WARNING)
    waitress.serve(application(), host="127.0.0.1", port=args.port, threads=args.threads, _quiet=True)


if __name__ == "__main__":
    main()
