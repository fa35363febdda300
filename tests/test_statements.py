"""Statements compiled once per dialect object (storage/statements.py), run on
real connections of the test database."""

from sqlalchemy import bindparam, func, literal, select

from lambda_registry.counts import Counts
from lambda_registry.model.kinds import INSTANCES
from lambda_registry.services.operations import SELECT_ONE
from lambda_registry.storage.database import Database, Writer
from lambda_registry.storage.record_store import RecordStore
from lambda_registry.storage.statements import Statement
from lambda_registry.storage.tables import tables_of

from .support import UUID

RECORDS = tables_of(INSTANCES).records


def store_of(database):
    return RecordStore(INSTANCES, Counts(database, 0))


def seed(executor, statuses, store):
    for n, status in enumerate(statuses):
        values = {"uuid": f"{n:08d}-0000-4000-8000-000000000000", "name": "n", "instance_info": "{}",
                  "status": status, "failure_message": ""}
        store.create(executor, "alice", values)


def test_a_statement_gives_the_same_rows_on_every_execution_with_its_literals(writer, database):
    seed(writer, [0, 20, 20], store_of(database))
    # coalesce(..., 0): the literal 0 is a parameter of the statement's own.
    counted = Statement(select(func.coalesce(func.count(RECORDS.c.id), 0), literal("x"))
                        .where(RECORDS.c.status == bindparam("status")))
    assert [tuple(writer.first(counted, {"status": status})) for status in (20, 0, 7, 20)] == [
        (2, "x"), (1, "x"), (0, "x"), (2, "x")]


def test_an_expanding_in_list_is_expanded_anew_for_each_execution(writer, database):
    seed(writer, [0, 20, 21, 6], store_of(database))
    by_status = Statement(select(RECORDS.c.status).where(RECORDS.c.status.in_(bindparam("statuses", expanding=True)))
                          .order_by(RECORDS.c.status))
    assert [[row[0] for row in writer.rows(by_status, {"statuses": statuses})]
            for statuses in ([20], [0, 6, 21], [5], [20, 21])] == [[20], [0, 6, 21], [], [20, 21]]


def test_reads_convert_values_as_sqlalchemy_would(database, clean_db):
    store = store_of(database)
    database.write(None, lambda executor: seed(executor, [0], store))
    with database.read(None) as reader:
        locked = store.lock(reader, "alice", "00000000-0000-4000-8000-000000000000")
        row, history = store.details(reader, "alice", "00000000-0000-4000-8000-000000000000")
        assert store.details(reader, "alice", UUID) is None
    # Timestamps a write needs come back as datetimes on both databases
    # (SQLite stores text); those of answers as the ISO text answers show.
    assert type(locked.updated_at).__name__ == "datetime"
    assert row.updated_at == locked.updated_at.isoformat(timespec="microseconds") + "Z" == history[0].history_at


def test_a_connection_read_in_autocommit_writes_in_a_transaction_again(dbengine, clean_db, query):
    """Reads put PostgreSQL connections in autocommit; the pool must give
    them back to writers in transaction mode, or a rollback would undo nothing."""
    database = Database(dbengine, 5, 1)
    for _ in range(dbengine.pool.size() + 1):
        with database.read(None) as reader:
            reader.rows(SELECT_ONE)
    writer = Writer(database)
    values = {"uuid": UUID, "name": "n", "instance_info": "{}", "status": 0, "failure_message": ""}
    store_of(database).create(writer.executor, "alice", values)
    writer.close()  # rolled back
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_each_dialect_object_has_its_own_compiled_form(dbengine):
    other = type(dbengine.dialect)()  # another dialect of the same database
    statement = Statement(select(RECORDS.c.id).where(RECORDS.c.uuid == bindparam("uuid")))
    assert statement.compiled(dbengine.dialect) is statement.compiled(dbengine.dialect)
    assert statement.compiled(other) is not statement.compiled(dbengine.dialect)
