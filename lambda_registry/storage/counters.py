"""The counters of a kind of record, kept in the transaction that changes it.

Per status, for everybody (the public count) and per owner (a list's total),
plus the totals of the kind's summed fields per status. Changes are upserts,
so a counter row is born with the first record of its status, whether the
schema came from the migrations or from ``metadata.create_all``. Rows are
always written in status order, so that two writers never lock two counter
rows in opposite orders.
"""

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from .statements import Statement
from .tables import COUNTERS, tables_of

UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
SUFFIXES = ("a", "b")  # a change touches one status, a move two


def _upsert(insert, table, keys, deltas, rows):
    """``INSERT … VALUES (row a)[, (row b)] ON CONFLICT (keys) DO UPDATE SET d = d + excluded.d``."""
    values = [
        {**{key: bindparam(f"k_{key}_{suffix}") for key in keys}, **{d: bindparam(f"d_{d}_{suffix}") for d in deltas}}
        for suffix in SUFFIXES[:rows]
    ]
    statement = insert(table).values(values)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={d: table.c[d] + statement.excluded[d] for d in deltas}
    )


class Counters:
    def __init__(self, kind):
        tables = tables_of(kind)
        self.summed = kind.summed
        public, owned = tables.status_counts, tables.owner_counts
        self._public_deltas = ("record_count",) + tuple(kind.summed)
        # {rows changed: statement}
        self._bump_public = {
            rows: Statement({name: _upsert(insert, public, ("status",), self._public_deltas, rows)
                             for name, insert in UPSERTS.items()})
            for rows in (1, 2)
        }
        self._bump_owner = {
            rows: Statement({name: _upsert(insert, owned, ("owner", "status"), ("record_count",), rows)
                             for name, insert in UPSERTS.items()})
            for rows in (1, 2)
        }
        self._public = Statement(select(public.c.status, *[public.c[d] for d in self._public_deltas]))
        owned_total = select(func.coalesce(func.sum(owned.c.record_count), 0)).where(owned.c.owner == bindparam("owner"))
        self._owned = Statement(owned_total)
        self._owned_by_status = Statement(owned_total.where(owned.c.status.in_(bindparam("statuses", expanding=True))))

    def change(self, db, owner, changes):
        """Apply ``{status: (records delta, {summed field: delta})}`` to the
        public counters and, where records change, to the owner's."""
        rows = sorted((status, delta) for status, delta in changes.items() if delta[0] or any(delta[1].values()))
        if not rows:
            return
        public = {}
        for suffix, (status, (records, sums)) in zip(SUFFIXES, rows):
            public.update({f"k_status_{suffix}": status, f"d_record_count_{suffix}": records})
            public.update({f"d_{name}_{suffix}": sums.get(name, 0) for name in self.summed})
        db.execute(self._bump_public[len(rows)], public)
        owned = [(status, records) for status, (records, _) in rows if records]
        if owned:
            parameters = {}
            for suffix, (status, records) in zip(SUFFIXES, owned):
                parameters.update({f"k_owner_{suffix}": owner, f"k_status_{suffix}": status, f"d_record_count_{suffix}": records})
            db.execute(self._bump_owner[len(owned)], parameters)

    def public(self, db):
        """{status: (records, *summed totals)} of every user's records."""
        return {row[0]: tuple(row[1:]) for row in db.rows(self._public)}

    def owned(self, db, owner, statuses=None):
        """How many records the owner has (of these statuses): the owner's counters, no scan."""
        if statuses is None:
            return int(db.first(self._owned, {"owner": owner})[0])
        return int(db.first(self._owned_by_status, {"owner": owner, "statuses": statuses})[0])


class NamedCounters:
    """Counts that are not per status (``lambda_counters``: how many users)."""

    def __init__(self):
        table = COUNTERS
        self._bump = Statement({
            name: _upsert(insert, table, ("name",), ("value",), 1) for name, insert in UPSERTS.items()
        })
        self._value = Statement(select(table.c.value).where(table.c.name == bindparam("counter")))

    def add(self, db, name, delta):
        db.execute(self._bump, {"k_name_a": name, "d_value_a": delta})

    def value(self, db, name):
        row = db.first(self._value, {"counter": name})
        return 0 if row is None else int(row[0])
