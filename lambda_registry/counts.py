"""The public counts and each owner's total, all of it here: how they are
kept, read, folded, cached and reported.

- **Kept.** A write appends what it changed to its kind's ``count_changes``
  table, in its own transaction: one row per status it touches (+1 record
  here, -1 there, and the deltas of the kind's summed fields). Inserts
  never wait for each other, so concurrent writers of different records
  never take turns on a counter row. (One row per status did exactly that:
  every status update of every user queued on it, docs/performance.md.)
- **Read.** A total is the folded totals (``status_counts``,
  ``owner_counts``) plus the changes not folded yet, in one statement, so
  one snapshot: exact across processes, whatever is being folded meanwhile.
- **Folded.** Every ``lambda_registry.count_fold_every``-th write of a
  process (256) also moves every change into the totals, in the same
  transaction. On PostgreSQL the fold first takes a transaction-level
  advisory lock *if it is free*: a second folder skips its fold rather
  than wait. So the changes any read sums stay few (about that many per
  process between folds), and no writer ever waits for a counter.
- **Cached.** The public counts are polled without a token by every open
  landing page: a process answers them from memory for
  ``lambda_registry.count_cache_seconds``, and its own writes empty the
  entry they change once they commit (other processes' show within the
  cache's seconds).
- **By day.** Each change row also carries the UTC day of its write, and
  a fold adds the changes of each day into ``daily_counts`` (day, status):
  the series of a count by day is the count now minus what changed after
  each day, read from at most a year of those rows and the changes not yet
  folded, whatever the number of records or history entries. Days before
  the series existed show what migration 0008 rebuilt from the histories
  (docs/changes.md "The daily series").
- **Reported.** What each public count says: instances active, running,
  created, failed; applications uploaded, their times started, failed;
  users; active instances at the end of each of the last days.
"""

import datetime
import itertools
import threading
import time

from sqlalchemy import BigInteger, Date, Integer, SmallInteger, bindparam, func, insert, select, text, union_all

from .model.kinds import APPLICATIONS, INSTANCES, KINDS
from .model.statuses import ACTIVE_CODES, APPLICATION_FAILED, FAILED_CODES, RUNNING, UPLOADED
from .storage.statements import UPSERTS, Statement
from .storage.tables import COUNTERS, tables_of

# Writes of a process between two of its folds.
FOLD_EVERY = 256
# pg_try_advisory_xact_lock's key of the fold (any number our database uses for nothing else).
FOLD_LOCK_KEY = 0x6C72_666F_6C64  # "lrfold"
USERS = "users"
DAILY = ":daily"  # the cache entry of a kind's series by day
# The longest series by day (GET /api/lambda_instances/count/daily?days=N).
MAX_DAYS = 366


class KindCounters:
    """The statements of one kind's counters, built once."""

    def __init__(self, kind):
        tables = tables_of(kind)
        self.summed = kind.summed
        self._tables = tables
        changes, totals, owned = tables.count_changes, tables.status_counts, tables.owner_counts
        self._columns = ("owner", "status", "record_count") + tuple(kind.summed) + ("day",)
        # One statement per number of rows a write appends (a move touches two statuses).
        self._append = {rows: Statement(insert(changes).values([
            {column: bindparam(f"{column}_{row}") for column in self._columns} for row in range(rows)
        ])) for rows in (1, 2)}

        counted = ("record_count",) + tuple(kind.summed)
        both = union_all(
            select(totals.c.status, *[totals.c[name] for name in counted]),
            select(changes.c.status, *[changes.c[name] for name in counted]),
        ).subquery()
        self._public = Statement(
            select(both.c.status, *[func.sum(both.c[name]).label(name) for name in counted]).group_by(both.c.status)
        )

        def owned_total(statuses):
            parts = [select(table.c.record_count).where(table.c.owner == bindparam("owner")) for table in (owned, changes)]
            if statuses:
                parts = [part.where(table.c.status.in_(bindparam("statuses", expanding=True)))
                         for part, table in zip(parts, (owned, changes))]
            part = union_all(*parts).subquery()
            return Statement(select(func.coalesce(func.sum(part.c.record_count), 0).label("total")))

        self._owned, self._owned_by_status = owned_total(False), owned_total(True)
        self._fold = self._fold_statements()
        # Every status's total now, and what changed per day after ``:first_day``
        # (folded or not): one statement, one snapshot.
        daily, changes_name, totals_name = tables.daily_counts.name, changes.name, totals.name
        self._by_day = Statement(text(f"""
            SELECT 0 AS daily, CAST(NULL AS DATE) AS day, status, record_count FROM {totals_name}
            UNION ALL SELECT 0, CAST(NULL AS DATE), status, record_count FROM {changes_name}
            UNION ALL SELECT 1, day, status, record_count FROM {daily} WHERE day > :first_day
            UNION ALL SELECT 1, day, status, record_count FROM {changes_name} WHERE day > :first_day""")
            .bindparams(bindparam("first_day", type_=Date()))
            .columns(daily=Integer(), day=Date(), status=SmallInteger(), record_count=BigInteger()))

    def _fold_statements(self):
        """{dialect: [statements]}: every change moved into the totals."""
        tables = self._tables
        changes, totals, owned = tables.count_changes.name, tables.status_counts.name, tables.owner_counts.name
        daily = tables.daily_counts.name
        counted = ["record_count", *self.summed]
        sums = ", ".join(f"sum({name})" for name in counted)
        adds = lambda table: ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counted)  # noqa: E731
        by_day = lambda source: (  # noqa: E731
            f"INSERT INTO {daily} (day, status, record_count) SELECT day, status, sum(record_count) FROM {source} "
            f"WHERE day IS NOT NULL GROUP BY day, status HAVING sum(record_count) <> 0 ON CONFLICT (day, status) "
            f"DO UPDATE SET record_count = {daily}.record_count + excluded.record_count")
        postgresql = f"""
            WITH moved AS (DELETE FROM {changes} RETURNING owner, status, day, {", ".join(counted)}),
            by_day AS ({by_day("moved")}),
            public AS (
                INSERT INTO {totals} (status, {", ".join(counted)})
                SELECT status, {sums} FROM moved GROUP BY status
                ON CONFLICT (status) DO UPDATE SET {adds(totals)}
            )
            INSERT INTO {owned} (owner, status, record_count)
            SELECT owner, status, sum(record_count) FROM moved GROUP BY owner, status HAVING sum(record_count) <> 0
            ON CONFLICT (owner, status) DO UPDATE SET record_count = {owned}.record_count + excluded.record_count"""
        # SQLite's writers take turns: nothing is appended between these three.
        # ("WHERE true": SQLite's own advice for INSERT ... SELECT ... ON CONFLICT.)
        sqlite = [
            f"""INSERT INTO {totals} (status, {", ".join(counted)}) SELECT status, {sums} FROM {changes}
                WHERE true GROUP BY status ON CONFLICT (status) DO UPDATE SET {adds(totals)}""",
            f"""INSERT INTO {owned} (owner, status, record_count) SELECT owner, status, sum(record_count)
                FROM {changes} WHERE true GROUP BY owner, status HAVING sum(record_count) <> 0
                ON CONFLICT (owner, status) DO UPDATE SET record_count = {owned}.record_count + excluded.record_count""",
            by_day(changes),
            f"DELETE FROM {changes}",
        ]
        return {"postgresql": [Statement(text(postgresql))], "sqlite": [Statement(text(sql)) for sql in sqlite]}

    def append(self, executor, owner, changes, day):
        """Record ``{status: (records delta, {summed field: delta})}`` of a
        write on ``day`` (statuses that change nothing are left out)."""
        rows = [
            {"owner": owner, "status": status, "record_count": records, **{name: sums.get(name, 0) for name in self.summed},
             "day": day}
            for status, (records, sums) in sorted(changes.items()) if records or any(sums.values())
        ]
        if rows:
            executor.execute(self._append[len(rows)], {f"{column}_{n}": value
                                                       for n, row in enumerate(rows) for column, value in row.items()})
        return bool(rows)

    def public(self, executor):
        """{status: row of (status, record_count, *summed)} of every user's records."""
        return {row.status: row for row in executor.rows(self._public)}

    def owned(self, executor, owner, statuses=None):
        """How many records the owner has (of these statuses): no scan of the records."""
        if statuses is None:
            return int(executor.first(self._owned, {"owner": owner}).total)
        return int(executor.first(self._owned_by_status, {"owner": owner, "statuses": statuses}).total)

    def fold(self, executor):
        for statement in self._fold[executor.dialect.name]:
            executor.execute(statement)

    def by_day(self, executor, first_day):
        """({status: records now}, {day: {status: what changed that day}}) for the days after ``first_day``."""
        now, changed = {}, {}
        for row in executor.rows(self._by_day, {"first_day": first_day}):
            if row.daily:
                day = changed.setdefault(row.day, {})
                day[row.status] = day.get(row.status, 0) + row.record_count
            else:
                now[row.status] = now.get(row.status, 0) + row.record_count
        return now, changed


def series_by_day(now, changed, statuses, days, today):
    """[(day, records of ``statuses`` at its end)] of the ``days`` days up to ``today``, oldest first:
    each day's figure is now's minus what changed after it."""
    figure = sum(now.get(status, 0) for status in statuses)
    series = []
    for back in range(days):
        day = today - datetime.timedelta(days=back)
        series.append((day, figure))
        figure -= sum(changed.get(day, {}).get(status, 0) for status in statuses)
    return series[::-1]


def instance_figures(public, statuses=None):
    """The public count of instances: active (or those of ``statuses``), running, ever created, failed."""
    records = {status: row.record_count for status, row in public.items()}
    counted = ACTIVE_CODES if statuses is None else statuses
    return {
        "count": sum(records.get(code, 0) for code in counted),
        "running": records.get(RUNNING, 0),
        "created": sum(records.values()),
        "failed": sum(records.get(code, 0) for code in FAILED_CODES),
    }


def application_figures(public):
    """The public count of applications: uploaded, how many times they were started in all, failed."""
    uploaded = public.get(UPLOADED)
    failed = public.get(APPLICATION_FAILED)
    return {
        "count": uploaded.record_count if uploaded else 0,
        "running": uploaded.times_started if uploaded else 0,
        "failed": failed.record_count if failed else 0,
    }


class CountsCache:
    """What each public count was, for ``seconds`` (0: not kept)."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._entries = {}  # name -> (value, until)
        self._generations = {}

    def get(self, name, load):
        """The value of ``name``, from the cache or from ``load()``."""
        if self.seconds <= 0:
            return load()
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and self.clock() < entry[1]:
                return entry[0]
            generation = self._generations.get(name, 0)
        value = load()
        with self._lock:
            # A write that committed while we loaded may not be in ``value``:
            # keep it only if nothing was invalidated meanwhile.
            if generation == self._generations.get(name, 0):
                self._entries[name] = (value, self.clock() + self.seconds)
        return value

    def invalidate(self, name):
        """Forget ``name`` (call it once the write that changed it has committed)."""
        with self._lock:
            self._entries.pop(name, None)
            self._generations[name] = self._generations.get(name, 0) + 1

    def clear(self):
        for name in list(self._entries):
            self.invalidate(name)


class Counts:
    """The counts of one application: its writes' changes, its cache, its folds."""

    def __init__(self, database, cache_seconds, fold_every=FOLD_EVERY):
        self.database = database
        self.cache = CountsCache(cache_seconds)
        self.fold_every = fold_every
        self.kinds = {kind.key: KindCounters(kind) for kind in KINDS}
        self._writes = itertools.count(1)
        self._try_fold_lock = Statement(select(func.pg_try_advisory_xact_lock(FOLD_LOCK_KEY).label("locked")))
        self._users = Statement(select(COUNTERS.c.value).where(COUNTERS.c.name == USERS))
        self._add_user = Statement({
            name: upsert(COUNTERS).values(name=USERS, value=1)
            .on_conflict_do_update(index_elements=["name"], set_={"value": COUNTERS.c.value + 1})
            for name, upsert in UPSERTS.items()
        })

    # -- writes --------------------------------------------------------------
    def record_changed(self, executor, kind, owner, changes, day):
        """In a write of ``kind``'s records on ``day`` (UTC): keep the totals
        exact; ``changes`` is ``{status: (records delta, {summed field: delta})}``."""
        if self.kinds[kind.key].append(executor, owner, changes, day):
            executor.after_commit(lambda: self._forget(kind))
            if next(self._writes) % self.fold_every == 0:
                self.fold(executor)

    def _forget(self, kind):
        self.cache.invalidate(kind.key)
        self.cache.invalidate(kind.key + DAILY)

    def user_added(self, executor):
        """In the write that stored a new user (new users are rare: one row is enough)."""
        executor.execute(self._add_user)
        executor.after_commit(lambda: self.cache.invalidate(USERS))

    def fold(self, executor):
        """Move every change into the totals, unless another transaction is folding (PostgreSQL)."""
        if executor.dialect.name == "postgresql" and not executor.first(self._try_fold_lock).locked:
            return False
        for counters in self.kinds.values():
            counters.fold(executor)
        return True

    # -- reads -----------------------------------------------------------------
    def _public(self, request, kind):
        def load():
            with self.database.read(request) as executor:
                return self.kinds[kind.key].public(executor)

        return self.cache.get(kind.key, load)

    def instances(self, request, statuses=None):
        return instance_figures(self._public(request, INSTANCES), statuses)

    def applications(self, request):
        return application_figures(self._public(request, APPLICATIONS))

    def users(self, request):
        def load():
            with self.database.read(request) as executor:
                row = executor.first(self._users)
                return {"count": 0 if row is None else int(row.value)}

        return self.cache.get(USERS, load)

    def owned(self, executor, kind, owner, statuses=None):
        return self.kinds[kind.key].owned(executor, owner, statuses)

    def active_instances_by_day(self, request, days, today=None):
        """[(day, active instances at its end)] of the last ``days`` UTC days, oldest first, today last."""
        today = today or datetime.datetime.now(datetime.timezone.utc).date()

        def load():
            with self.database.read(request) as executor:
                # A year's days whatever ``days`` is: one cache entry serves every length.
                return today, self.kinds[INSTANCES.key].by_day(executor, today - datetime.timedelta(days=MAX_DAYS))

        loaded_on, (now, changed) = self.cache.get(INSTANCES.key + DAILY, load)
        if loaded_on != today:  # cached over midnight
            self.cache.invalidate(INSTANCES.key + DAILY)
            loaded_on, (now, changed) = self.cache.get(INSTANCES.key + DAILY, load)
        return series_by_day(now, changed, ACTIVE_CODES, days, today)

    def figures(self, request):
        """Every public figure, as the three count endpoints give them (the landing page shows them)."""
        return {"instances": self.instances(request), "applications": self.applications(request),
                "users": self.users(request)}
