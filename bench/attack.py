"""The hostile-traffic measurements of docs/security.md: bounded, loopback only.

Two attacks on `pserve production.ini` (its own process; SQLite; the fake
identity service of the tests in another process, slowed down), each next
to the same measurement without the attack, in the same run:

1. A flood of random tokens (``--flood`` requests over ``--connections``
   keep-alive connections, from a third process) while a user whose token
   is cached keeps making requests: her latency, and how many identity
   calls were in flight at once.
2. ``--slow-clients`` connections that declare a body and send one byte
   every 2 s, while a load balancer polls ``/__lbheartbeat__`` on new
   connections: the heartbeat's latency. Run against production.ini, and
   against the same app on waitress's default limits, to show why the ini
   sets them.

    .venv/bin/python -m bench.attack            # about a minute
    .venv/bin/python -m bench.attack --smoke --output /tmp/attack.md   # seconds
"""

import argparse
import concurrent.futures
import configparser
import http.client
import json
import multiprocessing
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from tests.fake_astakos import STATS_PATH

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE = {"flood": 300, "connections": 8, "slow_clients": 20, "heartbeats": 10}

USER_TOKEN = "attack-bench-cached-user"
WAITRESS_LIMITS = ("connection_limit", "channel_timeout", "cleanup_interval", "asyncore_use_poll",
                   "max_request_body_size", "max_request_header_size")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(port, path, deadline=60):
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers {path} on port {port}")


def write_ini(folder, port, waitress_defaults=False):
    """production.ini with its port changed; with ``waitress_defaults`` also
    without the limits it sets (what the ini shipped before them)."""
    config = configparser.RawConfigParser()
    config.optionxform = str
    config.read(os.path.join(ROOT, "production.ini"))
    config["server:main"]["listen"] = f"127.0.0.1:{port}"
    if waitress_defaults:
        for name in WAITRESS_LIMITS:
            config.remove_option("server:main", name)
    path = os.path.join(folder, f"production-{port}.ini")
    with open(path, "w") as handle:
        config.write(handle)
    return path


class Processes:
    """The fake identity service and the registry, each in its own process."""

    def __init__(self, folder, identity_delay):
        self.folder = folder
        self.children = []
        self.identity_port = free_port()
        self.start([sys.executable, "-m", "tests.fake_astakos", "--port", str(self.identity_port),
                    "--token", f"{USER_TOKEN}=cached-user", "--delay", str(identity_delay)])
        wait_until_answering(self.identity_port, STATS_PATH)
        self.database = os.path.join(folder, "attack.sqlite")
        self.environment = dict(
            os.environ,
            LAMBDA_REGISTRY_DATABASE_URL=f"sqlite:///{self.database}",
            LAMBDA_REGISTRY_IDENTITY_URL=f"http://127.0.0.1:{self.identity_port}/identity/v2.0",
        )
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "initialize_lambda_registry_db"),
                        os.path.join(ROOT, "production.ini")], env=self.environment, check=True,
                       capture_output=True)

    def start(self, command, env=None):
        log = open(os.path.join(self.folder, f"process-{len(self.children)}.log"), "w")
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.children.append(child)
        return child

    def registry(self, waitress_defaults=False):
        port = free_port()
        ini = write_ini(self.folder, port, waitress_defaults)
        child = self.start([sys.executable, "-m", "pyramid.scripts.pserve", ini], env=self.environment)
        wait_until_answering(port, "/__lbheartbeat__")
        return port, child

    def identity_stats(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.identity_port, timeout=5)
        connection.request("GET", STATS_PATH)
        stats = json.loads(connection.getresponse().read())
        connection.close()
        return stats

    def close(self):
        for child in self.children:
            child.terminate()
        for child in self.children:
            child.wait(timeout=10)


def timed_request(connection, path, token=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000


def cached_user_latencies(port, stop, at_least=200):
    """ms per request of the cached user, on one keep-alive connection, until ``stop`` is set."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    while not stop.is_set() or len(latencies) < at_least:
        status, ms = timed_request(connection, "/api/lambda_instances/?limit=0", USER_TOKEN)
        assert status == 200, status
        latencies.append(ms)
    connection.close()
    return latencies


def _flood_worker(port, count, statuses):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        try:
            status, _ = timed_request(connection, "/api/lambda_instances/", secrets.token_hex(16))
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = "error"
        statuses[status] = statuses.get(status, 0) + 1
    connection.close()


def flood(port, requests, connections, result_queue):
    """In its own process: ``requests`` random tokens over ``connections`` threads."""
    per_thread = [requests // connections + (n < requests % connections) for n in range(connections)]
    tallies = [{} for _ in per_thread]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        list(pool.map(lambda job: _flood_worker(port, *job), zip(per_thread, tallies)))
    merged = {}
    for tally in tallies:
        for status, count in tally.items():
            merged[str(status)] = merged.get(str(status), 0) + count
    result_queue.put({"seconds": time.perf_counter() - started, "statuses": merged})


def percentiles(latencies):
    ordered = sorted(latencies)
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)],
            "max": ordered[-1]}


def measure_flood(processes, port, requests, connections):
    stop = threading.Event()
    quiet = threading.Event()
    quiet.set()
    cached_user_latencies(port, quiet, at_least=1)  # her one identity call, before anything is timed
    before = percentiles(cached_user_latencies(port, quiet, at_least=500))
    calls_before = processes.identity_stats()["calls"]
    results = multiprocessing.Queue()
    attacker = multiprocessing.Process(target=flood, args=(port, requests, connections, results))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        during = pool.submit(cached_user_latencies, port, stop)
        attacker.start()
        outcome = results.get(timeout=600)
        attacker.join()
        stop.set()
        during = percentiles(during.result())
    stats = processes.identity_stats()
    return {"without": before, "during": during, "flood": outcome,
            "identity_calls": stats["calls"] - calls_before, "max_in_flight": stats["max_in_flight"]}


def open_slow_clients(port, count):
    """Connections that declare a 60,000-byte body and send its first byte."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /api/lambda_instances/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 60000\r\n\r\n{")
        sockets.append(sock)
    return sockets


def drip(sockets, stop):
    """One byte per connection every 2 s, each resetting waitress's channel timeout."""
    while not stop.wait(2.0):
        for sock in sockets:
            try:
                sock.sendall(b" ")
            except OSError:
                pass


def heartbeat_latencies(port, samples, timeout=2.0):
    """ms to answer /__lbheartbeat__ on a new connection each time; None: no answer within ``timeout``."""
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            connection.request("GET", "/__lbheartbeat__")
            connection.getresponse().read()
            connection.close()
            latencies.append((time.perf_counter() - started) * 1000)
        except OSError:
            latencies.append(None)
        time.sleep(0.05)
    return latencies


def summarise_heartbeats(latencies):
    answered = [ms for ms in latencies if ms is not None]
    summary = percentiles(answered) if answered else {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    summary["unanswered"] = len(latencies) - len(answered)
    return summary


def measure_slow_clients(port, count, samples, samples_under_attack=None):
    before = summarise_heartbeats(heartbeat_latencies(port, samples))
    sockets = open_slow_clients(port, count)
    stop = threading.Event()
    dripper = threading.Thread(target=drip, args=(sockets, stop), daemon=True)
    dripper.start()
    time.sleep(1.0)  # every connection is accepted (or queued) before the polls
    during = summarise_heartbeats(heartbeat_latencies(port, samples_under_attack or samples))
    stop.set()
    dripper.join()
    for sock in sockets:
        sock.close()
    return {"without": before, "during": during}


def server_settings():
    config = configparser.RawConfigParser()
    config.read(os.path.join(ROOT, "production.ini"))
    return {name: value for name, value in config["server:main"].items() if name not in ("use", "listen")}


def report(args, flood_result, slow, slow_defaults):
    def row(label, figures, extra=""):
        return f"| {label} | {figures['n']} | {figures['p50']:.1f} | {figures['p99']:.1f} | {figures['max']:.1f} |{extra}"

    lines = [
        "# Attack measurements",
        "",
        f"Made by `python bench/attack.py {' '.join(sys.argv[1:])}` on {time.strftime('%Y-%m-%d')}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}: the registry "
        "(`pserve production.ini`, SQLite), the fake identity service and the clients in separate processes "
        "on the same machine.",
        "",
        f"production.ini's waitress settings: `{json.dumps(server_settings())}`.",
        "",
        f"## 1. A flood of {args.flood:,} random tokens over {args.connections} connections, identity service "
        f"slowed to {args.identity_delay * 1000:.0f} ms",
        "",
        "Latency of a user whose token is cached (GET list, keep-alive), ms:",
        "",
        "| | requests | p50 | p99 | max |",
        "|---|---|---|---|---|",
        row("without the flood", flood_result["without"]),
        row("during the flood", flood_result["during"]),
        "",
        f"The flood took {flood_result['flood']['seconds']:.1f} s; its answers by status: "
        f"{json.dumps(flood_result['flood']['statuses'], sort_keys=True)}. Identity calls made: "
        f"{flood_result['identity_calls']:,}; at most {flood_result['max_in_flight']} in flight at once "
        "(`lambda_registry.okeanos.max_concurrent_checks` = 4).",
        "",
        f"## 2. {args.slow_clients} slow clients (a declared 60,000-byte body, one byte every 2 s)",
        "",
        "`/__lbheartbeat__` on a new connection each time, ms (unanswered: no answer within 2 s):",
        "",
        "| server | | polls answered | p50 | p99 | max | unanswered |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, result in (("production.ini", slow), ("waitress defaults", slow_defaults)):
        for when in ("without", "during"):
            figures = result[when]
            lines.append(f"| {label} | {when} the slow clients | {figures['n']} | {figures['p50']:.1f} | "
                         f"{figures['p99']:.1f} | {figures['max']:.1f} | {figures['unanswered']} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=10_000, help="random-token requests")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--identity-delay", type=float, default=0.2)
    parser.add_argument("--slow-clients", type=int, default=200)
    parser.add_argument("--heartbeats", type=int, default=100)
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "attack-results.md"))
    parser.add_argument("--smoke", action="store_true",
                        help=f"a run of seconds ({SMOKE}), that the script works; give --output somewhere else")
    args = parser.parse_args()
    if args.smoke:
        for option, value in SMOKE.items():
            setattr(args, option, value)
    with tempfile.TemporaryDirectory() as folder:
        processes = Processes(folder, args.identity_delay)
        try:
            port, _ = processes.registry()
            print("flood ...", flush=True)
            flood_result = measure_flood(processes, port, args.flood, args.connections)
            print("slow clients on production.ini ...", flush=True)
            slow = measure_slow_clients(port, args.slow_clients, args.heartbeats)
            defaults_port, _ = processes.registry(waitress_defaults=True)
            print("slow clients on waitress's defaults ...", flush=True)
            # Fewer polls: each one that goes unanswered waits 2 s.
            slow_defaults = measure_slow_clients(defaults_port, args.slow_clients, args.heartbeats, 10)
        finally:
            processes.close()
    text = report(args, flood_result, slow, slow_defaults)
    with open(args.output, "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
