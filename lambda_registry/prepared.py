"""Core statements compiled once per dialect and run on the DBAPI cursor.

A write runs five to seven small statements; through ``Connection.execute``
each costs SQLAlchemy's execution machinery (cache-key lookup, execution
context, result wrapping) several times what SQLite or PostgreSQL take to
run it. The writes therefore compile their statements once per dialect and
hand the SQL to the driver, keeping SQLAlchemy's type conversions (its bind
processors) and its exception classes, on the very connection and
transaction of the request's session.
"""

from sqlalchemy import exc as sa_exc


class Prepared:
    def __init__(self, statement):
        self.statement = statement
        self._compiled = {}

    def _for(self, dialect):
        entry = self._compiled.get(dialect.name)
        if entry is None:
            compiled = self.statement.compile(dialect=dialect)
            order = list(compiled.positiontup) if dialect.positional else None
            entry = self._compiled[dialect.name] = (compiled.string, order, dict(compiled._bind_processors))
        return entry

    def execute(self, connection, parameters):
        """Run on ``connection`` (a SQLAlchemy Connection); returns the DBAPI cursor."""
        dialect = connection.dialect
        sql, order, processors = self._for(dialect)
        values = {name: processors[name](value) if name in processors else value for name, value in parameters.items()}
        arguments = tuple(values[name] for name in order) if order is not None else values
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, arguments)
        except dialect.loaded_dbapi.Error as error:
            # The same exception SQLAlchemy would raise: error views, retries
            # (zope.sqlalchemy looks at DBAPIError.orig) and outages see it.
            wrapped = sa_exc.DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error, dialect=dialect)
            if dialect.is_disconnect(error, connection.connection, cursor):
                connection.invalidate(error)
                wrapped.connection_invalidated = True
            raise wrapped from error
        return cursor
