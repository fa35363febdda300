"""Bringing a database to the newest schema with Alembic."""

from alembic import command
from alembic.config import Config

from .engine import normalise_url


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
