"""How the registry's records are kept: the engine, the tables, the one
executor and transaction model (``database.py``), the queries, migrations.

Host code does not write through here: it calls the record services
(``get_components(registry).instances``), which validate first.
"""

from .database import Database, HostSessionDatabase


def database_for(settings):
    """Our own engine, or (``lambda_registry.dbsession``) the host's session."""
    if settings.dbsession is not None:
        # The host's session: its connection and transaction are ours.
        return HostSessionDatabase(settings.dbsession)
    return Database.from_settings(settings)
