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

KIND, URL = "BENCH_KIND", "BENCH_DATABASE_URL"


def application():
    """gunicorn's app factory (``bench.serve:application()``): the app named by the environment."""
    from bench.common import build_app

    return build_app(os.environ[KIND], os.environ[URL])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["service", "baseline"], required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    args = parser.parse_args()
    os.environ.update({KIND: args.kind, URL: args.database_url})
    if args.server == "gunicorn":
        os.execvp(sys.executable, [
            sys.executable, "-m", "gunicorn", "--chdir", ROOT, "-b", f"127.0.0.1:{args.port}",
            "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning",
            "bench.serve:application()",
        ])
    import waitress

    logging.basicConfig(level=logging.WARNING)
    waitress.serve(application(), host="127.0.0.1", port=args.port, threads=args.threads, _quiet=True)


if __name__ == "__main__":
    main()
