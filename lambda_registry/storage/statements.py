"""Core statements compiled once per dialect, for reads and writes alike.

Through ``Connection.execute`` a small statement costs several times what
SQLite or PostgreSQL take to run it, and some statements (multi-row
upserts) are compiled anew on every execution (docs/performance.md). A
``Statement`` keeps SQLAlchemy for what it is good at (the SQL of each
dialect, converting values both ways) and compiles once, through
documented API only: ``ClauseElement.compile``,
``SQLCompiler.construct_expanded_state`` (which also expands ``IN``
lists), ``ExpandedState.processors`` and ``TypeEngine.result_processor``.
The executor (``database.py``) hands the SQL to a DBAPI cursor. Compiled
forms are kept per dialect object: two engines of one database with
different drivers never share SQL. Rows come back as named tuples of the
statement's columns, never read by position.
"""

import collections
import threading

from sqlalchemy.dialects import postgresql, sqlite

# INSERT constructs with ON CONFLICT, per dialect (``Statement({...})`` takes one each).
UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class Statement:
    """A Core statement, or one per dialect name (``{"sqlite": ..., "postgresql": ...}``)
    for constructs that differ (upserts)."""

    def __init__(self, clause):
        self._clauses = clause if isinstance(clause, dict) else None
        self._clause = None if isinstance(clause, dict) else clause
        self._compiled = {}
        self._lock = threading.Lock()

    def clause_for(self, dialect):
        return self._clause if self._clauses is None else self._clauses[dialect.name]

    def compiled(self, dialect):
        compiled = self._compiled.get(dialect)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.setdefault(dialect, _Compiled(self.clause_for(dialect), dialect))
        return compiled


class _Compiled:
    def __init__(self, clause, dialect):
        self.compiled = clause.compile(dialect=dialect)
        # The named tuple of a row: one field per column, by its name or
        # label (unlabelled expressions get positional names: _0, _1, ...).
        # Per dialect: a statement may return more on one (a NOTIFY's result).
        row = collections.namedtuple("Row", [str(column.key) for column in _columns(clause)], rename=True)
        self.make_row = row._make
        self.positional = dialect.positional
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in _columns(clause)
        ]
        # None when every column comes back from the driver as we want it.
        self.result_processors = processors if any(processors) else None
        # What does not change between executions, once known (see below).
        self._fixed = None

    def sql_and_parameters(self, parameters):
        """The SQL and the driver's parameters (positional or named) for ``parameters``."""
        parameters = parameters or {}
        if self._fixed is not None:
            sql, names, processors, constants = self._fixed
            if constants:
                parameters = {**constants, **parameters}
            if self.positional:
                return sql, tuple(processors[name](parameters[name]) if name in processors else parameters[name]
                                  for name in names)
            return sql, {name: processors[name](parameters[name]) if name in processors else parameters[name]
                         for name in names}
        state = self.compiled.construct_expanded_state(parameters)
        processors = state.processors
        if not state.parameter_expansion and state.statement == self.compiled.string:
            # Nothing was expanded or rendered for these values: the SQL and
            # the parameters' order are the statement's own, for any values.
            # The statement's own values (a literal 0 is a parameter too).
            constants = {name: value for name, value in state.parameters.items() if name not in parameters}
            self._fixed = (state.statement, tuple(state.positiontup or state.parameters), dict(processors), constants)
        if self.positional:
            values = tuple(
                processors[name](value) if name in processors else value
                for name, value in zip(state.positiontup, state.positional_parameters)
            )
        else:
            values = {
                name: processors[name](value) if name in processors else value
                for name, value in state.parameters.items()
            }
        return state.statement, values

    def convert(self, rows):
        """Named rows, each column converted as SQLAlchemy would."""
        make_row, processors = self.make_row, self.result_processors
        if processors is None:
            return [make_row(row) for row in rows]
        return [
            make_row(value if processor is None or value is None else processor(value)
                     for processor, value in zip(processors, row))
            for row in rows
        ]


def _columns(clause):
    return getattr(clause, "exported_columns", ())
