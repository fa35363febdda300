"""How the registry's records are kept: the engine, the tables, the one
executor and transaction model (``database.py``), the queries, migrations.

Host code does not write through here: it calls the record services
(``get_components(registry).instances``), which validate first.
"""

from .database import Database, HostSessionDatabase
from .engine import normalise_url


# Query parameters of a database URL that hold a secret (libpq's and psycopg's names).
SECRET_PARAMETERS = frozenset({"password", "passfile", "sslpassword", "sslkey"})


def describe_database(settings):
    """Which database an application serves, for its start-up log line: the
    URL without its password (``user:pw@`` or ``?password=``), or the host's session."""
    if settings.dbsession is not None:
        return f"the host's session (request.{settings.dbsession})"
    url = normalise_url(settings.database_url)
    hidden = {name: "***" if name.lower() in SECRET_PARAMETERS else value for name, value in url.query.items()}
    return url.set(query=hidden).render_as_string(hide_password=True)


def database_for(settings):
    """Our own engine, or (``lambda_registry.dbsession``) the host's session."""
    if settings.dbsession is not None:
        # The host's session: its connection and transaction are ours.
        return HostSessionDatabase(settings.dbsession)
    return Database.from_settings(settings)
