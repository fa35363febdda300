"""What bench/run.py and bench/serve.py share: building the apps, seeding."""

import datetime

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql, sqlite

import lambda_registry
from lambda_registry.db.engine import get_engine
from lambda_registry.db.tables import tables_of
from lambda_registry.records import APPLICATIONS, INSTANCES

from bench.baseline import Baseline

TOKEN = "bench-token-0001"
OWNER = "bench-user"


def service_settings(database_url, auth="static", identity_url=None, owner=OWNER, count_cache_seconds="1"):
    """Production-like: production.ini's settings, static tokens for the load."""
    settings = {
        "sqlalchemy.url": database_url,
        "lambda_registry.auth": auth,
        "lambda_registry.static_tokens": f"{TOKEN} {owner}",
        "lambda_registry.max_page_size": "1000",
        "lambda_registry.count_cache_seconds": count_cache_seconds,
        "lambda_registry.retry_attempts": "3",
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
