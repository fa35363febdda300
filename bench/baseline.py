"""The baseline of the benchmarks: a plain WSGI callable doing the same SQL
as the service, with the same driver, and nothing else.

It parses the same JSON, looks the token up in a dict, runs the statements
the service runs for each endpoint (the same transactions and locks, the
same count-change rows appended and folded every 256th write, the same
history time taken after the lock) and answers the same envelope. No validation beyond what
the SQL needs, no framework: what remains between it and the service is
the cost of Pyramid, Cornice, colander, SQLAlchemy and our own code.
"""

import datetime
import itertools
import json
import re
import sqlite3
import threading

import psycopg

# Plain data (no framework): the same codes and groups as the service's.
from lambda_registry.model.statuses import (
    ACTIVE_CODES as ACTIVE,
    APPLICATION_STATUSES,
    DESTROYED,
    FAILED_CODES as FAILED,
    INSTANCE_STATUSES,
)

INSTANCE_NAMES = [INSTANCE_STATUSES.names[code] for code in range(len(INSTANCE_STATUSES.names))]
APPLICATION_NAMES = [APPLICATION_STATUSES.names[code] for code in range(len(APPLICATION_STATUSES.names))]
FOLD_EVERY = 256  # as the service's lambda_registry.count_fold_every


class Kind:
    """What differs between instances and applications, for the SQL below."""

    def __init__(self, row, key, names, own, summed=(), messages=None):
        self.table, self.history = row + "s", row + "_status_changes"
        self.public, self.owned, self.changes = row + "_status_counts", row + "_owner_counts", row + "_count_changes"
        self.key = key + "_id"
        self.names = names
        self.own = own  # (column, default) between name and status
        self.summed = summed
        self.columns = ["id", "uuid", "name", *[c for c, _ in own], "status", "failure_message", *summed,
                        "created_at", "updated_at"]
        self.messages = messages


INSTANCES = Kind("lambda_instance", "instance", INSTANCE_NAMES, [("instance_info", "{}")], messages={
    "created": "Your request to create a new lambda instance has been accepted.",
    "updated": "Lambda instances status update accepted.",
    "deleted": "Your request to destroy the specified lambda instance has been accepted.",
    "listed": "Lambda instances.", "details": "Lambda instance details.", "counted": "Lambda instances count.",
    "exists": "The specified lambda instance has already been created.",
    "missing": "The specified lambda instance doesn't exist."})
APPLICATIONS = Kind("lambda_application", "application", APPLICATION_NAMES, [("description", "")],
                    summed=("times_started",), messages={
    "created": "Your request to create the specified application has been accepted.",
    "updated": "Lambda application status update accepted.",
    "deleted": "Your request to delete the specified application has been accepted.",
    "listed": "Lambda applications.", "details": "Lambda application details.", "counted": "Lambda applications count.",
    "exists": "The specified lambda application has already been created.",
    "missing": "The specified application doesn't exist.",
    "increment": "Your request to increment the times started of the specified application has been accepted.",
    "decrement": "Your request to decrement the times started of the specified application has been accepted."})
KINDS = {"lambda_instances": INSTANCES, "lambda_applications": APPLICATIONS}
ROUTE = re.compile(r"^/api/(lambda_instances|lambda_applications)(?:/([^/]+))?(?:/(status|increment_started|decrement_started))?/?$")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _stamp(value):
    if isinstance(value, str):  # SQLite gives text back
        value = datetime.datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(kind, row):
    record = {}
    for column, value in zip(kind.columns[1:], row[1:]):
        if column == "status":
            record.update(status=str(value), status_name=kind.names[value])
        elif column in ("created_at", "updated_at"):
            record[column] = _stamp(value)
        elif column == "instance_info":
            record[column] = json.loads(value)
        else:
            record[column] = value
    return record


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
                connection.execute("PRAGMA foreign_keys = ON")
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


def _append(execute, kind, owner, changes):
    """The service's count changes: one row per status that changes, in one INSERT.
    ``changes``: {status: (records delta, summed deltas...)}."""
    rows = [(status, deltas) for status, deltas in sorted(changes.items()) if any(deltas)]
    if not rows:
        return
    columns = ["owner", "status", "record_count", *kind.summed]
    placeholders = ", ".join("(" + ", ".join("?" * len(columns)) + ")" for _ in rows)
    execute(f"INSERT INTO {kind.changes} ({', '.join(columns)}) VALUES {placeholders}",
            tuple(v for status, deltas in rows for v in (owner, status, *deltas)))


def _fold(execute, sqlite):
    """The service's fold: every change moved into the totals (PostgreSQL: if no one else is folding)."""
    if not sqlite and not execute("SELECT pg_try_advisory_xact_lock(119238600649828)").fetchone()[0]:
        return
    for kind in KINDS.values():
        counted = ["record_count", *kind.summed]
        sums = ", ".join(f"sum({c})" for c in counted)
        adds = ", ".join(f"{c} = {kind.public}.{c} + excluded.{c}" for c in counted)
        owned = (f"ON CONFLICT (owner, status) DO UPDATE SET record_count = {kind.owned}.record_count"
                 " + excluded.record_count")
        if sqlite:
            execute(f"INSERT INTO {kind.public} (status, {', '.join(counted)}) SELECT status, {sums} FROM {kind.changes}"
                    f" WHERE true GROUP BY status ON CONFLICT (status) DO UPDATE SET {adds}")
            execute(f"INSERT INTO {kind.owned} (owner, status, record_count) SELECT owner, status, sum(record_count)"
                    f" FROM {kind.changes} WHERE true GROUP BY owner, status HAVING sum(record_count) <> 0 {owned}")
            execute(f"DELETE FROM {kind.changes}")
        else:
            execute(f"WITH moved AS (DELETE FROM {kind.changes} RETURNING owner, status, {', '.join(counted)}),"
                    f" public AS (INSERT INTO {kind.public} (status, {', '.join(counted)}) SELECT status, {sums}"
                    f" FROM moved GROUP BY status ON CONFLICT (status) DO UPDATE SET {adds})"
                    f" INSERT INTO {kind.owned} (owner, status, record_count) SELECT owner, status, sum(record_count)"
                    f" FROM moved GROUP BY owner, status HAVING sum(record_count) <> 0 {owned}")


class Baseline:
    def __init__(self, url, tokens):
        self.db = Database(url)
        self.tokens = tokens
        self.for_update = "" if self.db.sqlite else " FOR UPDATE"
        self._writes = itertools.count(1)

    def _bump(self, execute, kind, owner, changes):
        _append(execute, kind, owner, changes)
        if next(self._writes) % FOLD_EVERY == 0:
            _fold(execute, self.db.sqlite)

    def __call__(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path.rstrip("/") == "/api/users/count":
            return self._users_count(start_response)
        match = ROUTE.match(path)
        if match is None and path.rstrip("/") != "/api/authenticate":
            return self._answer(start_response, 404, "Not found.", errors=[])
        if match is not None and match.group(2) == "count":
            return self._count(start_response, KINDS[match.group(1)])
        header = environ.get("HTTP_AUTHORIZATION", "")
        owner = self.tokens.get(header[6:]) if header[:6].lower() == "token " else None
        if owner is None:
            return self._answer(start_response, 401, "Authentication required.", errors=[])
        if match is None:
            return self._authenticate(start_response, owner)
        kind, uuid, action = KINDS[match.group(1)], match.group(2), match.group(3)
        if uuid is None:
            return self._create(environ, start_response, kind, owner) if method == "POST" else self._list(environ, start_response, kind, owner)
        uuid = uuid.lower()
        if action in ("increment_started", "decrement_started"):
            return self._started(start_response, kind, owner, uuid, +1 if action[0] == "i" else -1)
        if method == "POST":
            body = json.loads(self._body(environ))
            return self._change(start_response, kind, owner, uuid, int(body["status"]), body.get("failure_message", ""))
        if method == "DELETE":
            return self._delete(start_response, kind, owner, uuid)
        return self._details(start_response, kind, owner, uuid)

    @staticmethod
    def _body(environ):
        return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))

    @staticmethod
    def _answer(start_response, code, description, **parts):
        body = json.dumps({"status": {"short_description": description, "code": code}, **parts}, separators=(",", ":")).encode()
        start_response(f"{code} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _lock(self, execute, kind, owner, uuid):
        columns = ", ".join(["id", "status", "failure_message", *kind.summed])
        return execute(f"SELECT {columns} FROM {kind.table} WHERE owner = ? AND uuid = ?{self.for_update}", (owner, uuid)).fetchone()

    @staticmethod
    def _history(execute, kind, record_id, status, message, now):
        execute(f"INSERT INTO {kind.history} ({kind.key}, status, failure_message, at) VALUES (?, ?, ?, ?)",
                (record_id, status, message, now))

    def _create(self, environ, start_response, kind, owner):
        fields = json.loads(self._body(environ))
        own = []
        for column, default in kind.own:
            value = fields.get(column, default)
            if column == "instance_info":
                value = json.dumps(json.loads(value) if isinstance(value, str) and value else (value or {}), separators=(",", ":"))
            own.append(value)
        status, message, now = int(fields["status"]), fields.get("failure_message", ""), _now()
        columns = ["owner", "uuid", "name", *[c for c, _ in kind.own], "status", "failure_message", *kind.summed,
                   "created_at", "updated_at"]
        values = (owner, fields["uuid"].lower(), fields["name"].strip(), *own, status, message, *[0 for _ in kind.summed], now, now)

        def work(execute):
            row = execute(f"INSERT INTO {kind.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                          "ON CONFLICT (owner, uuid) DO NOTHING RETURNING id", values).fetchone()
            if row is None:
                return False
            self._history(execute, kind, row[0], status, message, now)
            self._bump(execute, kind, owner, {status: (1, *[0 for _ in kind.summed])})
            return True

        if not self.db.run(work, writes=True):
            return self._answer(start_response, 409, kind.messages["exists"], errors=[])
        return self._answer(start_response, 202, kind.messages["created"], data=[{"id": fields["uuid"]}])

    def _change(self, start_response, kind, owner, uuid, status, message):
        def work(execute):
            row = self._lock(execute, kind, owner, uuid)
            if row is None or (kind is INSTANCES and row[1] == DESTROYED):
                return False
            now = _now()  # in the write's turn, as the service takes it
            if (row[1], row[2]) != (status, message):
                if row[1] != status:
                    sums = tuple(row[3:])
                    self._bump(execute, kind, owner, {row[1]: (-1, *[-s for s in sums]), status: (1, *sums)})
                execute(f"UPDATE {kind.table} SET status = ?, failure_message = ?, updated_at = ? WHERE id = ?", (status, message, now, row[0]))
                self._history(execute, kind, row[0], status, message, now)
            return True

        if not self.db.run(work, writes=True):
            return self._answer(start_response, 404, kind.messages["missing"], errors=[])
        return self._answer(start_response, 202, kind.messages["updated"], data=[{"id": uuid}])

    def _delete(self, start_response, kind, owner, uuid):
        if kind is INSTANCES:  # destroyed: a status change
            answer = self._change(start_response, kind, owner, uuid, DESTROYED, "")
            return answer

        def work(execute):
            row = self._lock(execute, kind, owner, uuid)
            if row is None:
                return False
            self._bump(execute, kind, owner, {row[1]: (-1, *[-s for s in row[3:]])})
            execute(f"DELETE FROM {kind.table} WHERE id = ?", (row[0],))
            return True

        if not self.db.run(work, writes=True):
            return self._answer(start_response, 404, kind.messages["missing"], errors=[])
        return self._answer(start_response, 202, kind.messages["deleted"], data=[{"id": uuid}])

    def _started(self, start_response, kind, owner, uuid, delta):
        def work(execute):
            row = self._lock(execute, kind, owner, uuid)
            if row is None or row[3] + delta < 0:
                return None
            now = _now()
            self._bump(execute, kind, owner, {row[1]: (0, delta)})
            return execute(f"UPDATE {kind.table} SET times_started = times_started + ?, updated_at = ? WHERE id = ? "
                           "RETURNING times_started", (delta, now, row[0])).fetchone()[0]

        value = self.db.run(work, writes=True)
        if value is None:
            return self._answer(start_response, 409, "Can't decrement.", errors=[])
        verb = "increment" if delta > 0 else "decrement"
        return self._answer(start_response, 202, kind.messages[verb], data=[{"id": uuid, "times_started": value}])

    def _list(self, environ, start_response, kind, owner):
        query = dict(part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part)
        limit, offset = int(query.get("limit", 1000)), int(query.get("offset", 0))

        def work(execute):
            rows = execute(f"SELECT {', '.join(kind.columns)} FROM {kind.table} WHERE owner = ? ORDER BY created_at, uuid "
                           "LIMIT ? OFFSET ?", (owner, limit + 1, offset)).fetchall()
            total = execute(f"SELECT coalesce(sum(record_count), 0) FROM (SELECT record_count FROM {kind.owned} WHERE owner = ?"
                            f" UNION ALL SELECT record_count FROM {kind.changes} WHERE owner = ?) AS owned",
                            (owner, owner)).fetchone()[0]
            return rows, total

        rows, total = self.db.run(work, writes=False)
        pagination = {"count": int(total), "limit": limit, "offset": offset, "next": None, "previous": None}
        return self._answer(start_response, 200, kind.messages["listed"], data=[_record(kind, row) for row in rows[:limit]],
                            pagination=pagination)

    def _details(self, start_response, kind, owner, uuid):
        # The record and its history in one statement, as the service reads them.
        columns = ", ".join("r." + column for column in kind.columns)
        rows = self.db.run(lambda execute: execute(
            f"SELECT {columns}, h.status, h.failure_message, h.at FROM {kind.table} r "
            f"LEFT OUTER JOIN {kind.history} h ON h.{kind.key} = r.id WHERE r.owner = ? AND r.uuid = ? ORDER BY h.id",
            (owner, uuid)).fetchall(), writes=False)
        if not rows:
            return self._answer(start_response, 404, kind.messages["missing"], errors=[])
        width = len(kind.columns)
        record = _record(kind, rows[0][:width])
        record["history"] = [{"status": str(row[width]), "status_name": kind.names[row[width]], "failure_message": row[width + 1],
                              "at": _stamp(row[width + 2])} for row in rows]
        return self._answer(start_response, 200, kind.messages["details"], data=[record])

    def _count(self, start_response, kind):
        columns = ", ".join(["status", "record_count", *kind.summed])
        sums = ", ".join(["status", *[f"sum({c})" for c in ["record_count", *kind.summed]]])
        counts = {row[0]: row[1:] for row in self.db.run(lambda execute: execute(
            f"SELECT {sums} FROM (SELECT {columns} FROM {kind.public} UNION ALL SELECT {columns} FROM {kind.changes})"
            " AS counted GROUP BY status").fetchall(), writes=False)}
        if kind is INSTANCES:
            records = {status: values[0] for status, values in counts.items()}
            data = {
                "count": str(sum(records.get(code, 0) for code in ACTIVE)),
                "running": str(records.get(0, 0)),
                "created": str(sum(records.values())),
                "failed": str(sum(records.get(code, 0) for code in FAILED)),
            }
        else:
            data = {"count": str(counts.get(0, (0, 0))[0]), "running": str(counts.get(0, (0, 0))[1]),
                    "failed": str(counts.get(2, (0, 0))[0])}
        return self._answer(start_response, 200, kind.messages["counted"], data=data)

    def _authenticate(self, start_response, owner):
        """As the service: every authenticate records its caller."""
        now = _now()

        def work(execute):
            added = execute("INSERT INTO lambda_users (user_id, first_seen, last_seen) VALUES (?, ?, ?) "
                            "ON CONFLICT (user_id) DO NOTHING RETURNING user_id", (owner, now, now)).fetchone()
            if added is not None:
                execute("INSERT INTO lambda_counters (name, value) VALUES ('users', 1) "
                        "ON CONFLICT (name) DO UPDATE SET value = lambda_counters.value + excluded.value")
            else:
                execute("UPDATE lambda_users SET last_seen = ? WHERE user_id = ?", (now, owner))

        self.db.run(work, writes=True)
        return self._answer(start_response, 200, "Authenticated.", data=[{"id": owner}])

    def _users_count(self, start_response):
        row = self.db.run(lambda execute: execute("SELECT value FROM lambda_counters WHERE name = 'users'").fetchone(), writes=False)
        return self._answer(start_response, 200, "Lambda users count.", data={"count": str(row[0] if row else 0)})
