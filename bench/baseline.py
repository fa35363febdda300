"""The baseline of the benchmarks: a plain WSGI callable doing the same SQL
as the service, with the same driver, and nothing else.

It parses the same JSON, looks the token up in a dict, runs the statements
the service runs for each endpoint (the same transactions, locks and
counter updates) and answers the same envelope. No validation beyond what
the SQL needs, no framework: what remains between it and the service is
the cost of Pyramid, Cornice, colander, SQLAlchemy and our own code.
"""

import datetime
import json
import re
import sqlite3
import threading

import psycopg

ROUTES = [
    ("count", re.compile(r"^/api/lambda_instances/count/?$")),
    ("collection", re.compile(r"^/api/lambda_instances/?$")),
    ("status", re.compile(r"^/api/lambda_instances/([^/]+)/status/?$")),
    ("instance", re.compile(r"^/api/lambda_instances/([^/]+)/?$")),
]
NAMES = {code: name for code, name in enumerate([
    "STARTED", "STOPPED", "PENDING", "STARTING", "STOPPING", "DESTROYING", "DESTROYED", "SCALING_UP",
    "SCALING_DOWN", "FAILED", "CLUSTER_CREATED", "CLUSTER_FAILED", "INIT_DONE", "INIT_FAILED",
    "COMMONS_INSTALLED", "COMMONS_FAILED", "HADOOP_INSTALLED", "HADOOP_FAILED", "KAFKA_INSTALLED",
    "KAFKA_FAILED", "FLINK_INSTALLED", "FLINK_FAILED", "FLUME_INSTALLED", "FLUME_FAILED"])}
FAILED = {9, 11, 13, 15, 17, 19, 21, 23}
ACTIVE = set(NAMES) - FAILED - {6}
COLUMNS = "id, uuid, name, instance_info, status, failure_message, created_at, updated_at"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _stamp(value):
    if isinstance(value, str):  # SQLite gives text back
        value = datetime.datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(row):
    return {
        "uuid": row[1], "name": row[2], "instance_info": json.loads(row[3]), "status": str(row[4]),
        "status_name": NAMES[row[4]], "failure_message": row[5],
        "created_at": _stamp(row[6]), "updated_at": _stamp(row[7]),
    }


class Database:
    """One connection per thread, like a pool; ``?`` placeholders either way."""

    def __init__(self, url):
        self.sqlite = url.startswith("sqlite")
        self.url = url
        self.local = threading.local()

    def connection(self):
        connection = getattr(self.local, "connection", None)
        if connection is None:
            if self.sqlite:
                connection = sqlite3.connect(self.url.split("///", 1)[1], isolation_level=None, check_same_thread=False)
                connection.execute("PRAGMA busy_timeout = 5000")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
            else:
                connection = psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"))
            self.local.connection = connection
        return connection

    def run(self, work, writes):
        connection = self.connection()
        if self.sqlite:
            connection.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
            try:
                result = work(lambda sql, args=(): connection.execute(sql, args))
                connection.execute("COMMIT")
                return result
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        with connection.transaction():
            cursor = connection.cursor()

            def execute(sql, args=()):
                return cursor.execute(sql.replace("?", "%s"), args)

            return work(execute)


def _bump(execute, owner, changes):
    """The service's counter changes: one upsert per table, rows in status order."""
    rows = sorted(changes.items())
    values = ", ".join("(?, ?)" for _ in rows)
    execute(
        f"INSERT INTO lambda_instance_status_counts (status, record_count) VALUES {values} "
        "ON CONFLICT (status) DO UPDATE SET record_count = lambda_instance_status_counts.record_count + excluded.record_count",
        tuple(value for row in rows for value in row),
    )
    values = ", ".join("(?, ?, ?)" for _ in rows)
    execute(
        f"INSERT INTO lambda_instance_owner_counts (owner, status, record_count) VALUES {values} "
        "ON CONFLICT (owner, status) DO UPDATE SET record_count = lambda_instance_owner_counts.record_count + excluded.record_count",
        tuple(value for status, delta in rows for value in (owner, status, delta)),
    )


class Baseline:
    def __init__(self, url, tokens):
        self.db = Database(url)
        self.tokens = tokens
        self.for_update = "" if self.db.sqlite else " FOR UPDATE"

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        for name, pattern in ROUTES:
            match = pattern.match(path)
            if match:
                break
        else:
            return self._answer(start_response, 404, "Not found.", errors=[])
        if name == "count":
            return self._count(start_response)
        header = environ.get("HTTP_AUTHORIZATION", "")
        owner = self.tokens.get(header[6:]) if header[:6].lower() == "token " else None
        if owner is None:
            return self._answer(start_response, 401, "Authentication required.", errors=[])
        if name == "collection" and method == "POST":
            return self._create(environ, start_response, owner)
        if name == "collection":
            return self._list(environ, start_response, owner)
        uuid = match.group(1).lower()
        if method == "POST":
            body = json.loads(self._body(environ))
            return self._change(start_response, owner, uuid, int(body["status"]), body.get("failure_message", ""), "Lambda instances status update accepted.")
        if method == "DELETE":
            return self._change(start_response, owner, uuid, 6, "", "Your request to destroy the specified lambda instance has been accepted.")
        return self._details(start_response, owner, uuid)

    @staticmethod
    def _body(environ):
        return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))

    @staticmethod
    def _answer(start_response, code, description, **parts):
        body = json.dumps({"status": {"short_description": description, "code": code}, **parts}, separators=(",", ":")).encode()
        start_response(f"{code} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _create(self, environ, start_response, owner):
        fields = json.loads(self._body(environ))
        info = fields["instance_info"]
        info = json.dumps(json.loads(info) if isinstance(info, str) and info else (info or {}), separators=(",", ":"))
        status, message, now = int(fields["status"]), fields.get("failure_message", ""), _now()

        def work(execute):
            row = execute(
                "INSERT INTO lambda_instances (owner, uuid, name, instance_info, status, failure_message, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, uuid) DO NOTHING RETURNING id",
                (owner, fields["uuid"].lower(), fields["name"].strip(), info, status, message, now, now),
            ).fetchone()
            if row is None:
                return False
            _bump(execute, owner, {status: 1})
            execute("INSERT INTO lambda_instance_status_changes (instance_id, status, failure_message, at) VALUES (?, ?, ?, ?)", (row[0], status, message, now))
            return True

        if not self.db.run(work, writes=True):
            return self._answer(start_response, 409, "The specified lambda instance has already been created.", errors=[])
        return self._answer(start_response, 202, "Your request to create a new lambda instance has been accepted.", data=[{"id": fields["uuid"]}])

    def _change(self, start_response, owner, uuid, status, message, description):
        now = _now()

        def work(execute):
            row = execute(f"SELECT id, status, failure_message FROM lambda_instances WHERE owner = ? AND uuid = ?{self.for_update}", (owner, uuid)).fetchone()
            if row is None or row[1] == 6:
                return False
            if (row[1], row[2]) != (status, message):
                if row[1] != status:
                    _bump(execute, owner, {row[1]: -1, status: 1})
                execute("UPDATE lambda_instances SET status = ?, failure_message = ?, updated_at = ? WHERE id = ?", (status, message, now, row[0]))
                execute("INSERT INTO lambda_instance_status_changes (instance_id, status, failure_message, at) VALUES (?, ?, ?, ?)", (row[0], status, message, now))
            return True

        if not self.db.run(work, writes=True):
            return self._answer(start_response, 404, "The specified lambda instance doesn't exist.", errors=[])
        return self._answer(start_response, 202, description, data=[{"id": uuid}])

    def _list(self, environ, start_response, owner):
        query = dict(part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part)
        limit, offset = int(query.get("limit", 1000)), int(query.get("offset", 0))

        def work(execute):
            rows = execute(
                f"SELECT {COLUMNS} FROM lambda_instances WHERE owner = ? ORDER BY created_at, uuid LIMIT ? OFFSET ?",
                (owner, limit + 1, offset),
            ).fetchall()
            total = execute("SELECT coalesce(sum(record_count), 0) FROM lambda_instance_owner_counts WHERE owner = ?", (owner,)).fetchone()[0]
            return rows, total

        rows, total = self.db.run(work, writes=False)
        pagination = {"count": int(total), "limit": limit, "offset": offset, "next": None, "previous": None}
        return self._answer(start_response, 200, "Lambda instances.", data=[_record(row) for row in rows[:limit]], pagination=pagination)

    def _details(self, start_response, owner, uuid):
        # The record and its history in one statement, as the service reads them.
        columns = ", ".join("i." + column.strip() for column in COLUMNS.split(","))
        rows = self.db.run(lambda execute: execute(
            f"SELECT {columns}, h.status, h.failure_message, h.at FROM lambda_instances i "
            "LEFT OUTER JOIN lambda_instance_status_changes h ON h.instance_id = i.id "
            "WHERE i.owner = ? AND i.uuid = ? ORDER BY h.id", (owner, uuid)).fetchall(), writes=False)
        if not rows:
            return self._answer(start_response, 404, "The specified lambda instance doesn't exist.", errors=[])
        record = _record(rows[0])
        record["history"] = [{"status": str(row[8]), "status_name": NAMES[row[8]], "failure_message": row[9], "at": _stamp(row[10])} for row in rows]
        return self._answer(start_response, 200, "Lambda instance details.", data=[record])

    def _count(self, start_response):
        counts = dict(self.db.run(lambda execute: execute("SELECT status, record_count FROM lambda_instance_status_counts").fetchall(), writes=False))
        data = {
            "count": str(sum(counts.get(code, 0) for code in ACTIVE)),
            "running": str(counts.get(0, 0)),
            "created": str(sum(counts.values())),
            "failed": str(sum(counts.get(code, 0) for code in FAILED)),
        }
        return self._answer(start_response, 200, "Lambda instances count.", data=data)
