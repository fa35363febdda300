"""Core statements for the read path: compiled once per dialect, run on a
DBAPI cursor.

A read through SQLAlchemy's ``Connection.execute`` costs several times what
SQLite or PostgreSQL take to answer it (docs/performance.md). A
``Statement`` keeps SQLAlchemy for what it is good at (writing the SQL of
each dialect, converting values both ways) and hands the driver the SQL
and parameters, through documented API only: ``ClauseElement.compile``,
``SQLCompiler.construct_expanded_state`` (which also expands ``IN``
lists), ``ExpandedState.processors`` and ``TypeEngine.result_processor``.
Compiled forms are kept per dialect object: two engines of one database
with different drivers never share SQL.
"""

import threading


class Statement:
    def __init__(self, clause):
        self.clause = clause
        self._compiled = {}
        self._lock = threading.Lock()

    def compiled(self, dialect):
        compiled = self._compiled.get(dialect)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.setdefault(dialect, _Compiled(self.clause, dialect))
        return compiled


class _Compiled:
    def __init__(self, clause, dialect):
        self.compiled = clause.compile(dialect=dialect)
        self.positional = dialect.positional
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(clause, "selected_columns", ())
        ]
        # None when every column comes back from the driver as we want it.
        self.result_processors = processors if any(processors) else None

    def sql_and_parameters(self, parameters):
        """The SQL and the driver's parameters (positional or named) for ``parameters``."""
        state = self.compiled.construct_expanded_state(parameters)
        processors = state.processors
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
        """Rows (tuples) with each column converted as SQLAlchemy would."""
        processors = self.result_processors
        if processors is None:
            return rows
        return [
            tuple(value if processor is None or value is None else processor(value)
                  for processor, value in zip(processors, row))
            for row in rows
        ]
