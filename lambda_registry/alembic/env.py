"""Alembic environment: runs on the URL handed in by migrate.py."""

from alembic import context
from sqlalchemy import event

from lambda_registry.storage.engine import get_engine
from lambda_registry.storage.tables import metadata

config = context.config


def run_migrations_online():
    engine = get_engine(config.get_main_option("sqlalchemy.url"))
    if engine.dialect.name == "sqlite":
        # SQLAlchemy's recipe for transactional DDL on SQLite: the driver
        # begins nothing itself (storage/engine.py), a migration is one transaction.
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
