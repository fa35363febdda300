"""What the benchmarks share: the apps, the workload of each endpoint, seeding, calling in-process."""

import collections
import contextlib
import datetime
import io
import itertools
import json
import os
import sys
import tempfile
import threading

import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.dialects import postgresql, sqlite

import lambda_registry
from lambda_registry.storage.engine import get_engine
from lambda_registry.storage.tables import tables_of
from lambda_registry.storage.migrate import upgrade
from lambda_registry.model.kinds import APPLICATIONS, INSTANCES

from bench.baseline import Baseline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "bench-token-0001"
OWNER = "bench-user"


def service_settings(database_url, auth="static", identity_url=None, owner=OWNER, count_cache_seconds="1",
                     metrics="false"):
    """Production-like: production.ini's settings, static tokens for the load."""
    settings = {
        "sqlalchemy.url": database_url,
        "lambda_registry.auth": auth,
        "lambda_registry.static_tokens": f"{TOKEN} {owner}",
        "lambda_registry.max_page_size": "1000",
        "lambda_registry.count_cache_seconds": count_cache_seconds,
        "lambda_registry.retry_attempts": "3",
        "lambda_registry.metrics": metrics,
        "pyramid.debug_notfound": "false",
        "pyramid.debug_routematch": "false",
        "pyramid.debug_authorization": "false",
    }
    if identity_url:
        settings["lambda_registry.okeanos.identity_url"] = identity_url
    return settings


def build_app(kind, database_url, **options):
    if kind == "service":
        return lambda_registry.main({}, **service_settings(database_url, **options))
    return Baseline(database_url, {TOKEN: options.get("owner", OWNER)})  # no cache: nothing to turn off


def uuid_for(group, number):
    return f"{group:08x}-0000-4000-8000-{number:012x}"


OWN_FIELDS = {"instance": {"instance_info": '{"nodes":3}'}, "application": {"description": "seeded"}}


def seed(database_url, owner, group, count, status=2, start=0, chunk=20000, kind=INSTANCES, times_started=0):
    """Store ``count`` records of ``kind`` (uuids of ``group``) with one history
    entry each, counters included, as the service would; returns their uuids."""
    engine = get_engine(database_url, 30)
    dialect = engine.dialect.name
    tables = tables_of(kind)
    own = dict(OWN_FIELDS[kind.key], **({"times_started": times_started} if kind is APPLICATIONS else {}))
    records, public, owned = tables.records, tables.status_counts, tables.owner_counts
    upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    uuids = [uuid_for(group, start + n) for n in range(count)]
    moment = datetime.datetime(2026, 1, 1)
    with engine.begin() as connection:
        first_id = connection.execute(select(text("coalesce(max(id), 0)")).select_from(records)).scalar()
        for offset in range(0, count, chunk):
            rows = [
                {
                    "owner": owner, "uuid": uuid, "name": f"seeded {uuid[-6:]}", **own,
                    "status": status, "failure_message": "",
                    "created_at": moment + datetime.timedelta(microseconds=start + offset + n),
                    "updated_at": moment,
                }
                for n, uuid in enumerate(uuids[offset:offset + chunk])
            ]
            connection.execute(insert(records), rows)
        connection.execute(text(
            f"INSERT INTO {kind.history_table} ({kind.history_key}, status, failure_message, at) "
            f"SELECT id, status, failure_message, created_at FROM {kind.table} WHERE id > :first"
        ), {"first": first_id})
        sums = {name: count * times_started for name in kind.summed}
        connection.execute(
            upsert(public).values(status=status, record_count=count, **sums).on_conflict_do_update(
                index_elements=["status"],
                set_={column: public.c[column] + value for column, value in dict(record_count=count, **sums).items()},
            )
        )
        connection.execute(
            upsert(owned).values(owner=owner, status=status, record_count=count).on_conflict_do_update(
                index_elements=["owner", "status"], set_={"record_count": owned.c.record_count + count}
            )
        )
    # Fresh statistics, as autovacuum (PostgreSQL) or a routine ANALYZE
    # (SQLite) would give: without them the planner may sort instead of
    # walking the list's index, and the run would time that accident.
    with engine.connect() as connection:
        if dialect == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
            connection.commit()
    engine.dispose()
    return uuids


# -- the workload ----------------------------------------------------------------

# Instances (issue 15's goals, both servers), then applications and users.
INSTANCE_ENDPOINTS = ["create", "update", "delete", "list", "details", "count"]
ENDPOINTS = INSTANCE_ENDPOINTS + [
    "app create", "app update", "app delete", "app increment", "app decrement", "app list", "app details",
    "app count", "authenticate", "users count",
]
WRITES_IN_ORDER = ["create", "update", "delete"]
# The landing page against the three public counts it shows (the service only:
# the baseline has no page).
PAGE_COMPARED = ["landing", "count", "app count", "users count"]
GROUP = {"seed": 1, "update": 2, "delete": 3, "details": 4, "create": 5, "scale": 6, "app seed": 7, "app update": 8,
         "app delete": 9, "app started": 10, "app details": 11, "app create": 12}
UPDATE_POOL = 256
INSTANCES_PATH, APPLICATIONS_PATH = "/api/lambda_instances/", "/api/lambda_applications/"


class Workload:
    """The requests of each endpoint, endless and thread-safe (itertools.count).

    Every uuid follows from ``prepare``'s seeding (``uuid_for(group, n)``),
    so another process can rebuild the same workload from ``delete_pool``.
    """

    def __init__(self, delete_pool):
        self.counters = collections.defaultdict(itertools.count)
        self.deleted = {
            endpoint: iter([uuid_for(GROUP[endpoint], n) for n in range(delete_pool)])
            for endpoint in ("delete", "app delete")
        }
        self.details = {endpoint: uuid_for(GROUP[endpoint], 0) for endpoint in ("details", "app details")}
        self.lock = threading.Lock()

    def _next(self, endpoint):
        return next(self.counters[endpoint])

    def request(self, endpoint):
        """(method, path, body or None)"""
        if endpoint == "create":
            uuid = uuid_for(GROUP["create"], self._next(endpoint))
            body = {"uuid": uuid, "name": "bench", "instance_info": '{"nodes": 3}', "status": "2", "failure_message": ""}
            return "POST", INSTANCES_PATH, json.dumps(body).encode()
        if endpoint == "app create":
            uuid = uuid_for(GROUP["app create"], self._next(endpoint))
            body = {"uuid": uuid, "name": "bench.jar", "description": "", "status": "1", "failure_message": ""}
            return "POST", APPLICATIONS_PATH, json.dumps(body).encode()
        if endpoint in ("update", "app update"):
            n = self._next(endpoint)
            uuid = uuid_for(GROUP[endpoint if endpoint == "app update" else "update"], n % UPDATE_POOL)
            first = (n // UPDATE_POOL) % 2 == 0  # always a real change
            status = ("10" if first else "12") if endpoint == "update" else ("2" if first else "0")
            path = INSTANCES_PATH if endpoint == "update" else APPLICATIONS_PATH
            return "POST", f"{path}{uuid}/status/", json.dumps({"status": status}).encode()
        if endpoint in ("delete", "app delete"):
            with self.lock:
                uuid = next(self.deleted[endpoint])
            return "DELETE", f"{INSTANCES_PATH if endpoint == 'delete' else APPLICATIONS_PATH}{uuid}", None
        if endpoint in ("app increment", "app decrement"):
            uuid = uuid_for(GROUP["app started"], self._next(endpoint) % UPDATE_POOL)
            return "POST", f"{APPLICATIONS_PATH}{uuid}/{endpoint.split()[1]}_started/", None
        if endpoint in ("details", "app details"):
            return "GET", f"{INSTANCES_PATH if endpoint == 'details' else APPLICATIONS_PATH}{self.details[endpoint]}", None
        return "GET", {
            "landing": "/",
            "list": INSTANCES_PATH + "?limit=50", "count": INSTANCES_PATH + "count",
            "app list": APPLICATIONS_PATH + "?limit=50", "app count": APPLICATIONS_PATH + "count",
            "authenticate": "/api/authenticate/", "users count": "/api/users/count",
        }[endpoint], None


# -- databases ---------------------------------------------------------------

@contextlib.contextmanager
def databases(base_url, folder):
    """Two fresh databases of the same kind: the service's and the baseline's."""
    if base_url is None:
        yield {kind: f"sqlite:///{folder}/{kind}.sqlite" for kind in ("service", "baseline")}
        return
    url = make_url(base_url).set(drivername="postgresql")
    admin = url.render_as_string(hide_password=False)
    names = {kind: f"lambda_registry_bench_{kind}_{os.getpid()}" for kind in ("service", "baseline")}
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names.values():
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {kind: url.set(database=name, drivername="postgresql+psycopg").render_as_string(hide_password=False) for kind, name in names.items()}
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            for name in names.values():
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url, records, delete_pool):
    """Seed a fresh database for every endpoint's requests; their ``Workload``."""
    upgrade(url)
    seed(url, OWNER, GROUP["seed"], records)
    seed(url, OWNER, GROUP["update"], UPDATE_POOL)
    seed(url, OWNER, GROUP["details"], 1)
    seed(url, OWNER, GROUP["delete"], delete_pool)
    seed(url, OWNER, GROUP["app seed"], records // 10, status=0, kind=APPLICATIONS)
    seed(url, OWNER, GROUP["app update"], UPDATE_POOL, status=0, kind=APPLICATIONS)
    # Started a billion times: the decrements never reach 0.
    seed(url, OWNER, GROUP["app started"], UPDATE_POOL, status=0, kind=APPLICATIONS, times_started=10 ** 9)
    seed(url, OWNER, GROUP["app details"], 1, kind=APPLICATIONS)
    seed(url, OWNER, GROUP["app delete"], delete_pool, kind=APPLICATIONS)
    return Workload(delete_pool)



def wsgi_call(app, method, path, body, headers=None, answered=None):
    """The status code of one request to ``app`` in-process; ``headers``:
    more request headers ({name: value}); ``answered``: a dict given the
    response's headers."""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "6543", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body or b""), "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "HTTP_AUTHORIZATION": f"Token {TOKEN}", "HTTP_HOST": "127.0.0.1:6543",
    }
    if body is not None:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status = []

    def start_response(line, response_headers, exc_info=None):
        status.append(line)
        if answered is not None:
            answered.update(response_headers)

    result = app(environ, start_response)
    b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return int(status[0][:3])



@contextlib.contextmanager
def prepared_pair(database_url, records=10_000, delete_pool=20_000):
    """Two fresh seeded databases (service, baseline): ({kind: url}, {kind: Workload})."""
    with tempfile.TemporaryDirectory() as folder, databases(database_url, folder) as urls:
        yield urls, {kind: prepare(url, records, delete_pool) for kind, url in urls.items()}
