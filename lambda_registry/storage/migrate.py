"""Bringing a database to the newest schema with Alembic."""

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from .engine import get_engine, normalise_url


def alembic_config(database_url):
    config = Config()
    config.set_main_option("script_location", "lambda_registry:alembic")
    # Alembic's ini interpolation would read a "%" of a password as a reference.
    config.set_main_option(
        "sqlalchemy.url", normalise_url(database_url).render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(database_url, revision="head"):
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url, revision):
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url):
    """The revision the database's schema is at (None: no schema of ours yet)."""
    engine = get_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def newest_revision(database_url):
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
